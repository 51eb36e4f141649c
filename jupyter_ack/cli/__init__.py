"""The ``jupyter-ack`` command (also ``jupyter ack``): a thin shell over the core."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from .main import main as run

    return run(argv)

"""Example pipeline definitions shipped with the package (used by ``jupyter-ack demo``)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def example_path(name: str = "abalone") -> Path:
    """Path of a bundled example definition, e.g. ``example_path("abalone")``."""
    return HERE / f"{name}.json"

"""Notebook views over the core: the ``%ack_*`` magics, the live :class:`StatusPanel` and the
handoff card (anywidget; their static HTML comes from ``jupyter_ack.render.html``).
Importing this package is cheap; anywidget is imported with ``StatusPanel``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_ack.notebook.panel import StatusPanel

__all__ = ["StatusPanel"]


def __getattr__(name: str) -> Any:
    if name == "StatusPanel":
        from jupyter_ack.notebook.panel import StatusPanel

        return StatusPanel
    raise AttributeError(f"module 'jupyter_ack.notebook' has no attribute {name!r}")

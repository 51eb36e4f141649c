"""Exceptions the user is meant to read.

Every error the tool reports to a person derives from :class:`JupyterAckError`: its ``str`` is
one line saying what is wrong, and ``hint`` says how to fix it. Front ends (CLI, magics) print
those two and never a traceback.
"""

from __future__ import annotations


class JupyterAckError(Exception):
    """An error with a one-line message and an optional hint for the user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SourceError(JupyterAckError):
    """A pipeline definition could not be read from the source the user named."""

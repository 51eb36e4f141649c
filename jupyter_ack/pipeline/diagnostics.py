"""Diagnostics: what is wrong with a pipeline definition, where, and how to fix it.

The JSON shape of :meth:`Diagnostic.to_json` is a public contract (``jupyter-ack validate
--format json``): keep its keys and meanings stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

VALIDATE_HINT = "run `jupyter-ack validate` on it and fix the errors"

SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a definition.

    ``path`` is a JSON pointer (RFC 6901) into the definition; ``line`` and ``column`` (1-based)
    are filled in when the definition came from text, so editors and terminals can jump there.
    """

    severity: Severity
    code: str
    message: str
    path: str | None = None
    step: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def at(self, line: int, column: int) -> Diagnostic:
        return replace(self, line=line, column=column)


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def counts(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for d in diagnostics:
        out[d.severity] += 1
    return out


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    """``"2 errors, 1 warning"``; ``"no problems"`` when empty."""
    c = counts(diagnostics)
    parts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for word, n in (("error", c["error"]), ("warning", c["warning"]), ("note", c["info"]))
        if n
    ]
    return ", ".join(parts) if parts else "no problems"


def sort_key(d: Diagnostic) -> tuple[int, int, int]:
    big = 1 << 30
    return (SEVERITY_RANK[d.severity], d.line or big, d.column or big)

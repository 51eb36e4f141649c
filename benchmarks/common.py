"""What every benchmark reports: rows of one table, some of them side by side with what a
user would run instead (the ratio is measured in the same run, on the same machine).

A benchmark module exposes ``run(quick: bool) -> list[Row]``; ``python -m benchmarks`` runs
them all, prints one table and writes the rows as JSON. ``quick`` mode must keep the whole
runner under two minutes (CI runs it); the full mode gives the README's figures.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """One measured figure. ``value`` is in ``unit``; ``target`` says what we promise (text,
    e.g. "< 300 ms") and ``ok`` whether this run kept it (None: no target). A side-by-side
    row also names what it is compared with (``other``) and that figure (``other_value``,
    same unit): ``ratio`` is other / ours, so above 1 means we are faster (or lighter)."""

    group: str
    name: str
    value: float
    unit: str
    target: str | None = None
    ok: bool | None = None
    other: str | None = None
    other_value: float | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.other_value is None or not self.value:
            return None
        return self.other_value / self.value

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def skipped(group: str, name: str, why: str) -> Row:
    """A row that could not be measured here (a tool is missing): said, not hidden."""
    return Row(group, name, float("nan"), "", note=f"skipped: {why}")


def timed(fn: Callable[[], Any], repeat: int = 5) -> list[float]:
    """Wall times of ``repeat`` calls, in ms."""
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def check(value: float, limit: float) -> bool:
    return value < limit

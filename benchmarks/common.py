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


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def check(value: float, limit: float) -> bool:
    return value < limit


def missed(row: Row) -> bool:
    """A row with a target that this run did not keep."""
    return row.target is not None and row.ok is False


def fmt(value: float | None) -> str:
    """A figure with as many digits as it deserves; "—" for none (a skipped row)."""
    if value is None or value != value:  # None or NaN
        return "—"
    size = abs(value)
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


TIMES = "\u00d7"  # the multiplication sign


def ratio_text(row: Row) -> str:
    """ "4.8x faster", "2.0x fewer requests", "3.1x less"... (with the sign U+00D7) for a
    side-by-side row."""
    ratio = row.ratio
    if ratio is None and row.value == 0 and row.other_value:
        return f"none vs {fmt(row.other_value)}"
    if ratio is None or ratio != ratio:
        return ""
    if 0.95 <= ratio <= 1.05:
        return "about the same"
    if row.unit in ("ms", "s"):
        better, worse = "faster", "slower"
    elif row.unit in ("MB", "KB", "kB", "bytes", "B"):
        better, worse = "less", "more"
    else:
        better, worse = f"fewer {row.unit}", f"more {row.unit}"
    size, word = (ratio, better) if ratio >= 1 else (1 / ratio, worse)
    return f"{size:.1f}{TIMES} {word}" if size < 10 else f"{size:,.0f}{TIMES} {word}"


def verdict(row: Row) -> str:
    if row.target is None or row.ok is None:
        return ""
    return "ok" if row.ok else "MISSED"


def table(rows: list[Row], *, markdown: bool = False, notes: bool = True) -> str:
    """The rows as a text table (or a Markdown one): group, name, value, target, ok, and for
    side-by-side rows the other tool, its figure and the ratio; notes last (unless not)."""
    head = ["group", "benchmark", "value", "target", "ok", "instead", "its value", "ratio", "note"]
    body = []
    for r in rows:
        value = f"{fmt(r.value)} {r.unit}".strip() if r.value == r.value else "—"
        other = f"{fmt(r.other_value)} {r.unit}".strip() if r.other_value is not None else ""
        body.append(
            [
                r.group,
                r.name,
                value,
                r.target or "",
                verdict(r),
                r.other or "",
                other,
                ratio_text(r),
                r.note or "",
            ]
        )
    used = [i for i in range(len(head)) if i < 3 or any(line[i] for line in body)]
    if not notes:
        used = [i for i in used if head[i] != "note"]
    head = [head[i] for i in used]
    body = [[line[i] for i in used] for line in body]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in body]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    last = len(head) - 1
    out = [
        "  ".join(
            h.ljust(w) if i < last else h for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    out.append("  ".join("-" * w for w in widths))
    for line in body:
        out.append(
            "  ".join(
                c.ljust(w) if i < last else c
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    return "\n".join(out)

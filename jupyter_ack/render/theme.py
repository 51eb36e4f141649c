"""One palette for every picture of a pipeline: the static SVG, the notebook panel and the
JupyterLab sidebar. Python draws with it directly; the front ends receive :func:`to_json`
and set it as CSS custom properties (``--jack-*``), so a colour is changed here only.
"""

from __future__ import annotations

from typing import Any

# step type -> the band on the left of its box
TYPE_COLOURS: dict[str, str] = {
    "Processing": "#3b82f6",
    "Training": "#8b5cf6",
    "Tuning": "#a855f7",
    "Transform": "#06b6d4",
    "Condition": "#f59e0b",
    "Fail": "#ef4444",
    "RegisterModel": "#10b981",
    "Model": "#10b981",
    "CreateModel": "#10b981",
    "Lambda": "#f97316",
    "Callback": "#f97316",
    "ForEach": "#eab308",
}
DEFAULT_TYPE = "#64748b"

# step or run status -> (fill, stroke); a step with no status yet is IDLE
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "Starting": ("#dbeafe", "#2563eb"),
    "Executing": ("#bfdbfe", "#1d4ed8"),
    "Stopping": ("#e5e7eb", "#6b7280"),
    "Stopped": ("#e5e7eb", "#4b5563"),
    "Failed": ("#fee2e2", "#dc2626"),
    "Succeeded": ("#dcfce7", "#16a34a"),
}
IDLE = ("#ffffff", "#cbd5e1")

# edge kind -> (colour, SVG dash array or "")
EDGES: dict[str, tuple[str, str]] = {
    "data": ("#475569", ""),
    "property_file": ("#b45309", "2 3"),
    "depends_on": ("#94a3b8", "6 4"),
    "condition": ("#d97706", ""),
}

# diff mark -> (fill, stroke): steps added or changed in the newer definition of a diff are
# drawn in these; removed ones (absent from the newer DAG) are listed in the removed colour
DIFF_COLOURS: dict[str, tuple[str, str]] = {
    "added": ("#dcfce7", "#16a34a"),
    "changed": ("#fef3c7", "#d97706"),
    "removed": ("#fee2e2", "#dc2626"),
}

# the rectangle drawn around the steps of one branch (a Condition's if or else, a ForEach
# body): (fill, stroke); the stroke is dashed and the group's label is written in MUTED
GROUP = ("#f8fafc", "#94a3b8")

TEXT = "#0f172a"
MUTED = "#64748b"
DANGER = "#dc2626"
WARNING = "#d97706"
INFO = "#2563eb"
OK = "#16a34a"
RUNNING = "#1d4ed8"
SEVERITY = {"error": DANGER, "warning": WARNING, "info": INFO}


def status_fill(status: str | None) -> tuple[str, str]:
    """(fill, stroke) of a step box in this status."""
    return STATUS_COLOURS.get(status or "", IDLE)


def status_text(status: str | None) -> str:
    """The colour a status word is written in."""
    if status in STATUS_COLOURS:
        return STATUS_COLOURS[str(status)][1]
    return MUTED if status in (None, "", "Pending") else RUNNING


def diff_fill(mark: str | None) -> tuple[str, str]:
    """(fill, stroke) of a step box marked ``added`` or ``changed`` by a diff."""
    return DIFF_COLOURS.get(mark or "", IDLE)


def edge_style(kind: str) -> str:
    """The SVG ``style`` of an edge of this kind."""
    colour, dash = EDGES.get(kind, EDGES["data"])
    return f"stroke:{colour}" + (f";stroke-dasharray:{dash}" if dash else "")


def to_json() -> dict[str, Any]:
    """The palette as the front ends take it."""
    return {
        "types": TYPE_COLOURS,
        "default_type": DEFAULT_TYPE,
        "status": {k: list(v) for k, v in STATUS_COLOURS.items()},
        "idle": list(IDLE),
        "edges": {k: list(v) for k, v in EDGES.items()},
        "diff": {k: list(v) for k, v in DIFF_COLOURS.items()},
        "group": list(GROUP),
        "text": TEXT,
        "muted": MUTED,
        "danger": DANGER,
        "ok": OK,
        "running": RUNNING,
    }

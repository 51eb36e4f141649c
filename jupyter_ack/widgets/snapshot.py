"""The panel as static HTML, for outputs no widget front end will render (nbconvert, GitHub,
a notebook opened without the kernel): the status-coloured SVG plus an escaped step table.

Plain functions over the core's models: no anywidget import, so tests and the magics can use
them anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..render import STATUS_COLOURS, esc

if TYPE_CHECKING:
    from ..definition import PipelineDefinition
    from ..status import RunStatus


def step_status(run: RunStatus | None) -> dict[str, str]:
    """Step name -> status, the form ``PipelineDefinition.to_svg`` colours by."""
    return {} if run is None else {s.name: s.status for s in run.steps}


def run_header_html(run: RunStatus | None) -> str:
    """One line: run name, status, pipeline, elapsed seconds and the failure reason."""
    if run is None:
        return '<div class="jack-run"><em>no run started</em> (add --execute to start one)</div>'
    colour = STATUS_COLOURS.get(run.status, ("#ffffff", "#64748b"))[1]
    took = run.duration_seconds()
    parts = [
        f"<strong>{esc(run.name)}</strong>",
        f'<span class="jack-run-status" style="color:{colour};font-weight:600">'
        f"{esc(run.status)}</span>",
        f"pipeline {esc(run.pipeline)}",
    ]
    if took is not None:
        parts.append(f"{took:.0f} s")
    if run.parameters:
        parts.append(
            "parameters " + ", ".join(f"{esc(k)}={esc(v)}" for k, v in run.parameters.items())
        )
    reason = run.problem or run.failure_reason
    if reason:
        parts.append(f'<span style="color:#dc2626">{esc(reason)}</span>')
    return '<div class="jack-run">' + " \u00b7 ".join(parts) + "</div>"


def steps_table_html(run: RunStatus | None) -> str:
    """The steps as a table; every value escaped (step names come from users)."""
    if run is None or not run.steps:
        return ""
    rows = "".join(
        f'<tr data-step="{esc(s.name)}"><td>{esc(s.name)}</td><td>{esc(s.status)}</td>'
        f"<td>{esc(s.start or '')}</td><td>{esc(s.end or '')}</td>"
        f"<td>{esc(s.failure_reason or '')}</td></tr>"
        for s in run.steps
    )
    return (
        '<table class="jack-steps"><thead><tr><th>step</th><th>status</th><th>start</th>'
        f"<th>end</th><th>failure</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def snapshot_html(definition: PipelineDefinition | None, run: RunStatus | None) -> str:
    """The whole static view: header, coloured DAG (when the definition is known), steps."""
    dag = ""
    if definition is not None and definition.data is not None:
        svg = definition.to_svg(status=step_status(run))
        dag = f'<div style="overflow:auto;max-height:640px">{svg}</div>'
    return f'<div class="jack-snapshot">{run_header_html(run)}{dag}{steps_table_html(run)}</div>'

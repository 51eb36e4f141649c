"""HTML of the core's values for notebooks: a definition (its DAG and diagnostics) and a run
(header, status-coloured DAG, steps). Static and escaped: what nbconvert, GitHub or a notebook
opened without its kernel show, and the live panel's fallback. No widget imports here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jupyter_ack.pipeline.diagnostics import Diagnostic, summary
from jupyter_ack.render import theme
from jupyter_ack.render.svg import esc

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.pipeline.diff import DefinitionDiff
    from jupyter_ack.status.model import RunStatus


def diagnostics_html(diagnostics: Sequence[Diagnostic]) -> str:
    if not diagnostics:
        return f'<p style="color:{theme.OK};margin:4px 0">\u2714 no problems found</p>'
    rows = []
    for d in diagnostics:
        where = d.step or ""
        if d.line is not None:
            where = f"{where} line {d.line}:{d.column}".strip()
        elif d.path:
            where = f"{where} {d.path}".strip()
        hint = f'<div style="color:{theme.MUTED}">{esc(d.hint)}</div>' if d.hint else ""
        rows.append(
            "<tr>"
            f'<td style="color:{theme.SEVERITY[d.severity]};font-weight:600">'
            f"{esc(d.severity)}</td>"
            f"<td><code>{esc(d.code)}</code></td>"
            f"<td>{esc(d.message)}{hint}</td>"
            f"<td><code>{esc(where)}</code></td>"
            "</tr>"
        )
    return (
        '<table class="jack-diagnostics" style="border-collapse:collapse;margin:4px 0">'
        "<thead><tr><th>severity</th><th>code</th><th>message</th><th>where</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def definition_html(defn: PipelineDefinition) -> str:
    diagnostics = defn.validate()
    head = esc(defn.name or "pipeline definition")
    if defn.data is None:
        meta = esc(f"from {defn.source}: not valid JSON")
        body = ""
    else:
        n = len(defn.dag.nodes)
        meta = esc(
            f"{n} step{'s' * (n != 1)} \u00b7 {len(defn.parameters)} parameters \u00b7 "
            f"sha256 {(defn.sha256 or '')[:12]} \u00b7 {summary(diagnostics)} \u00b7 "
            f"from {defn.source}"
        )
        body = f'<div style="overflow:auto;max-height:640px">{defn.to_svg()}</div>'
    return (
        '<div class="jack-definition">'
        f'<div><strong>{head}</strong> <span style="color:{theme.MUTED}">{meta}</span></div>'
        f"{body}{diagnostics_html(diagnostics)}</div>"
    )


def step_status(run: RunStatus | None) -> dict[str, str]:
    """Step name -> status, the form ``PipelineDefinition.to_svg`` colours by."""
    return {} if run is None else {s.name: s.status for s in run.steps}


def run_header_html(run: RunStatus | None) -> str:
    """One line: run name, status, pipeline, elapsed seconds and the failure reason."""
    if run is None:
        return '<div class="jack-run"><em>no run started</em> (add --execute to start one)</div>'
    colour = theme.status_text(run.status)
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
        parts.append(f'<span style="color:{theme.DANGER}">{esc(reason)}</span>')
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


def diff_html(d: DefinitionDiff) -> str:
    """A definition diff: the newer DAG with added and changed steps marked, the removed steps
    listed (they are not in that DAG), and a table of every change. All text escaped: names,
    pointers and values come from the definitions."""
    from jupyter_ack.render.svg import svg

    added, changed, removed = (theme.DIFF_COLOURS[k] for k in ("added", "changed", "removed"))
    meta = esc(f"{d.a.source} \u2192 {d.b.source} \u00b7 {d.summary()}")
    head = (
        f"<div><strong>{esc(d.b.name or 'pipeline definition')}: changes</strong> "
        f'<span style="color:{theme.MUTED}">{meta}</span></div>'
    )
    if d.same:
        return f'<div class="jack-diff">{head}</div>'
    legend = " ".join(
        f'<span style="background:{fill};border:1px solid {stroke};padding:0 6px;'
        f'border-radius:4px">{word}</span>'
        for word, (fill, stroke) in (("added", added), ("changed", changed), ("removed", removed))
    )
    drawing = ""
    if d.b.data is not None and d.b.dag.nodes:
        picture = svg(d.b.layout, title=d.b.name, marks=d.marks())
        drawing = f'<div style="overflow:auto;max-height:640px">{picture}</div>'
    gone = ""
    if d.steps_removed:
        names = ", ".join(
            f'<span data-step="{esc(s.name)}">{esc(s.name)}</span> ({esc(s.type or "no type")})'
            for s in d.steps_removed
        )
        gone = (
            f'<div class="jack-diff-removed" style="color:{removed[1]};margin:4px 0">'
            f"removed steps: {names}</div>"
        )
    colour = {"+": added[1], "-": removed[1], "~": changed[1]}
    rows = "".join(
        f'<tr><td style="color:{colour[r.mark]};font-weight:700">{esc(r.mark)}</td>'
        f"<td>{esc(r.what)}</td><td>{esc(r.name)}</td><td><code>{esc(r.detail)}</code></td>"
        f"<td><code>{esc(r.old)}</code></td><td><code>{esc(r.new)}</code></td></tr>"
        for r in d.rows()
    )
    table = (
        '<table class="jack-diff-changes" style="border-collapse:collapse;margin:4px 0">'
        "<thead><tr><th></th><th>what</th><th>name</th><th>where</th><th>old</th>"
        f"<th>new</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return f'<div class="jack-diff">{head}<div>{legend}</div>{drawing}{gone}{table}</div>'

"""Drawings of the step graph: SVG (from the shared layout), Mermaid and Graphviz dot.

The SVG is inline and static: no script, no external reference, every name escaped, so it is
safe in a notebook output, a handoff page or an email. Step names come from users and are
always treated as text.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from jupyter_ack.pipeline.dag import Dag
from jupyter_ack.pipeline.diagnostics import Diagnostic
from jupyter_ack.pipeline.layout import GROUP_LABEL_INSET, GROUP_LABEL_RISE, Layout
from jupyter_ack.render import theme
from jupyter_ack.render.text import BIDI_CONTROLS

if TYPE_CHECKING:
    pass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# bidirectional controls: invisible, they reorder the text around them (see render.text)
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def esc(text: object) -> str:
    """Escape for HTML and XML text and attributes; control characters become U+FFFD and
    bidirectional controls their visible escape (the text ``\\u202e``)."""
    shown = _BIDI.sub(lambda m: f"\\u{ord(m.group(0)):04x}", str(text))
    return html.escape(_CONTROL.sub("\ufffd", shown), quote=True)


def svg(
    layout: Layout,
    *,
    status: dict[str, str] | None = None,
    diagnostics: Iterable[Diagnostic] = (),
    title: str | None = None,
    marks: dict[str, str] | None = None,
) -> str:
    """The layout as a standalone SVG document (also valid inline in HTML).

    ``marks`` (step name -> ``added`` or ``changed``, from a definition diff) colours those
    steps with the theme's diff palette, so a review sees at a glance what a change touches.
    """
    status = status or {}
    marks = marks or {}
    flagged = _flagged_steps(diagnostics)
    uid = "jack" + hashlib.sha1(repr(layout.to_json()).encode()).hexdigest()[:8]
    w, h = max(layout.width, 120.0), max(layout.height, 40.0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jack-dag" width="{w:g}" height="{h:g}" '
        f'viewBox="0 0 {w:g} {h:g}" role="img" aria-label="{esc(title or "pipeline")} steps" '
        'font-family="system-ui, -apple-system, Segoe UI, sans-serif">',
        f"<title>{esc(title or 'pipeline')}</title>",
        "<defs>",
    ]
    for kind, (colour, _dash) in theme.EDGES.items():
        out.append(
            f'<marker id="{uid}-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
            f'fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    group_fill, group_stroke = theme.GROUP
    for g in layout.groups:  # behind the edges and the boxes
        name = f"{g.parent} \u00b7 {g.branch}" if g.branch else g.parent
        out.append(
            f'<g class="jack-group" data-parent="{esc(g.parent)}" '
            f'data-branch="{esc(g.branch or "")}">'
            f"<title>{esc(name)}</title>"
            f'<rect x="{g.x:g}" y="{g.y:g}" width="{g.width:g}" height="{g.height:g}" rx="10" '
            f'fill="{group_fill}" stroke="{group_stroke}" stroke-width="1.2" '
            'stroke-dasharray="5 4"/>'
            f'<text x="{g.x + GROUP_LABEL_INSET:g}" y="{g.y + g.height - GROUP_LABEL_RISE:g}" '
            f'font-size="11" '
            f'fill="{theme.MUTED}">{esc(g.label)}</text></g>'
        )
    if not layout.nodes:
        out.append(
            f'<text x="{w / 2:g}" y="{h / 2:g}" text-anchor="middle" fill="{theme.MUTED}">'
            "no steps</text>"
        )
    for e in layout.edges:
        d = edge_path(e.points)
        (x1, y1), (x2, y2) = e.points[0], e.points[1]
        out.append(
            f'<path class="jack-edge jack-edge-{e.kind}" d="{d}" fill="none" '
            f'style="{theme.edge_style(e.kind)};stroke-width:1.4" '
            f'marker-end="url(#{uid}-{e.kind})"><title>{esc(e.source)} \u2192 {esc(e.target)} '
            f"({e.kind.replace('_', ' ')})</title></path>"
        )
        if e.label:
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
            colour = theme.EDGES["condition"][0]
            out.append(
                f'<text x="{lx + 4:g}" y="{ly:g}" font-size="11" fill="{colour}">'
                f"{esc(e.label)}</text>"
            )
    for n in layout.nodes:
        state = status.get(n.name)
        mark = marks.get(n.name)
        fill, stroke = theme.status_fill(state)
        if mark and not state:
            fill, stroke = theme.diff_fill(mark)
        if n.name in flagged and not state:
            stroke = theme.DANGER
        band = theme.TYPE_COLOURS.get(n.type or "", theme.DEFAULT_TYPE)
        tip = f"{n.name} ({n.type or 'no type'})" + (f": {state}" if state else "")
        subtitle = f"{n.type or '?'} \u00b7 {state}" if state else (n.type or "?")
        diff_attr = ""
        if mark:
            tip += f" [{mark}]"
            if not state:
                subtitle += f" \u00b7 {mark}"
            diff_attr = f' data-diff="{esc(mark)}"'
        if n.name in flagged:
            tip += "\n" + "\n".join(flagged[n.name])
        out.append(
            f'<g class="jack-node" data-step="{esc(n.name)}" data-status="{esc(state or "")}"'
            f"{diff_attr}>"
            f"<title>{esc(tip)}</title>"
            f'<rect x="{n.x:g}" y="{n.y:g}" width="{n.width:g}" height="{n.height:g}" rx="7" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
            f'<rect x="{n.x:g}" y="{n.y:g}" width="5" height="{n.height:g}" rx="2" fill="{band}"/>'
            f'<text x="{n.x + 14:g}" y="{n.y + 20:g}" font-size="12.5" font-weight="600" '
            f'fill="{theme.TEXT}">{esc(n.label)}</text>'
            f'<text x="{n.x + 14:g}" y="{n.y + 36:g}" font-size="11" fill="{theme.MUTED}">'
            f"{esc(subtitle)}</text>"
        )
        if n.name in flagged:
            out.append(
                f'<circle cx="{n.x + n.width - 12:g}" cy="{n.y + 12:g}" r="6" '
                f'fill="{theme.DANGER}"/>'
                f'<text x="{n.x + n.width - 12:g}" y="{n.y + 16:g}" font-size="10" '
                'text-anchor="middle" fill="#fff" font-weight="700">!</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def edge_path(points: Sequence[tuple[float, float]]) -> str:
    """SVG path data through the points: curves between layers, straight lines within."""
    (x0, y0), (xn, yn) = points[0], points[-1]
    if len(points) == 2 and yn <= y0:  # a back edge of a cycle: loop around on the right
        return (
            f"M{x0:g},{y0:g} C{x0 + 120:g},{y0 + 60:g} {xn + 120:g},{yn - 60:g} {xn:g},{yn - 1:g}"
        )
    parts = [f"M{x0:g},{y0:g}"]
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        yb_end = yb - 1 if (xb, yb) == (xn, yn) else yb
        if xa == xb:
            parts.append(f"L{xb:g},{yb_end:g}")
        else:
            bend = max(16.0, (yb - ya) / 2)
            parts.append(f"C{xa:g},{ya + bend:g} {xb:g},{yb - bend:g} {xb:g},{yb_end:g}")
    return " ".join(parts)


def _flagged_steps(diagnostics: Iterable[Diagnostic]) -> dict[str, list[str]]:
    flagged: dict[str, list[str]] = {}
    for d in diagnostics:
        if d.step and d.severity == "error":
            flagged.setdefault(d.step, []).append(f"{d.code}: {d.message}")
    return flagged


# Mermaid --------------------------------------------------------------------------------------

_MERMAID_ARROWS = {"data": "-->", "property_file": "-.->", "depends_on": "-.->", "condition": "==>"}


def _mermaid_text(text: str) -> str:
    """Mermaid labels in quotes: entities for characters Mermaid or HTML would interpret."""
    out = []
    for ch in _CONTROL.sub("\ufffd", text):
        if ch in '"#<>&`\\' or ch in "\n\r\t":
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def mermaid(dag: Dag) -> str:
    """A Mermaid flowchart; nested steps sit in a subgraph per branch."""
    ids = {name: f"s{i}" for i, name in enumerate(dag.nodes)}
    lines = ["flowchart TD"]
    groups: dict[tuple[str, str], list[str]] = {}
    for node in dag.nodes.values():
        if node.parent is not None:
            groups.setdefault((node.parent, node.branch or ""), []).append(node.name)
    grouped = {name for members in groups.values() for name in members}

    def node_line(name: str, indent: str) -> str:
        node = dag.nodes[name]
        label = _mermaid_text(name) + (
            f"<br/><i>{_mermaid_text(node.type)}</i>" if node.type else ""
        )
        shape = ("{{", "}}") if node.type == "Condition" else ("[", "]")
        return f'{indent}{ids[name]}{shape[0]}"{label}"{shape[1]}'

    for name in dag.nodes:
        if name not in grouped:
            lines.append(node_line(name, "  "))
    for gi, ((parent, branch), members) in enumerate(groups.items()):
        title = f"{_mermaid_text(parent)}: {branch}"
        lines.append(f'  subgraph g{gi}["{title}"]')
        lines.extend(node_line(m, "    ") for m in members)
        lines.append("  end")
    for e in dag.edges:
        arrow = _MERMAID_ARROWS[e.kind]
        target = dag.nodes[e.target]
        label = f"|{target.branch}|" if e.kind == "condition" and target.branch else ""
        lines.append(f"  {ids[e.source]} {arrow}{label} {ids[e.target]}")
    return "\n".join(lines) + "\n"


# Graphviz dot -------------------------------------------------------------------------------

_DOT_STYLES = {
    "data": "",
    "property_file": f' style=dotted color="{theme.EDGES["property_file"][0]}"',
    "depends_on": f' style=dashed color="{theme.EDGES["depends_on"][0]}"',
    "condition": f' color="{theme.EDGES["condition"][0]}"',
}


def _dot_string(text: str) -> str:
    cleaned = _CONTROL.sub("\ufffd", text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + cleaned.replace("\n", "\\n").replace("\r", "\\r") + '"'


def dot(dag: Dag, title: str | None = None) -> str:
    """A Graphviz digraph; nested steps sit in a cluster per branch."""
    lines = [
        f"digraph {_dot_string(title or 'pipeline')} {{",
        "  rankdir=TB;",
        f'  node [shape=box style="rounded,filled" fillcolor="{theme.IDLE[0]}" '
        'fontname="Helvetica"];',
    ]
    groups: dict[tuple[str, str], list[str]] = {}
    for node in dag.nodes.values():
        if node.parent is not None:
            groups.setdefault((node.parent, node.branch or ""), []).append(node.name)
    grouped = {name for members in groups.values() for name in members}

    def node_line(name: str) -> str:
        node = dag.nodes[name]
        shape = " shape=diamond" if node.type == "Condition" else ""
        colour = theme.TYPE_COLOURS.get(node.type or "", theme.DEFAULT_TYPE)
        label = _dot_string(f"{name}\n{node.type}" if node.type else name)
        return f'{_dot_string(name)} [label={label} color="{colour}"{shape}];'

    lines.extend("  " + node_line(n) for n in dag.nodes if n not in grouped)
    for gi, ((parent, branch), members) in enumerate(groups.items()):
        lines.append(f"  subgraph cluster_{gi} {{")
        lines.append(f"    label={_dot_string(f'{parent}: {branch}')}; style=dashed;")
        lines.extend("    " + node_line(m) for m in members)
        lines.append("  }")
    for e in dag.edges:
        target = dag.nodes[e.target]
        label = (
            f" label={_dot_string(target.branch)}"
            if e.kind == "condition" and target.branch
            else ""
        )
        attrs = f"{_DOT_STYLES[e.kind]}{label}".strip()
        lines.append(f"  {_dot_string(e.source)} -> {_dot_string(e.target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"

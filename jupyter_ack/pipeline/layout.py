"""A layered (Sugiyama-style) layout of the step graph, top to bottom.

Computed once in Python and sent as coordinates to every front end (notebook panel, sidebar,
SVG), so they all draw the same picture. Deterministic: the same DAG gives the same layout.

1. Layers: longest path from the sources (back edges of a cycle are ignored), then sources
   are pulled down next to their first successor.
2. Order within layers: barycenter sweeps, down and up, each followed by a transpose pass
   (adjacent swaps kept when they lower the crossings), keeping the order with the fewest
   crossings. The steps of a Condition branch (and the long edges inside it) stay together,
   ``if`` before ``else`` when nothing else decides, and branches keep the same order in
   every layer they share.
3. Boxes: as wide as their label needs (estimated with the advance widths of a bold
   sans-serif), between ``NODE_WIDTH`` and ``MAX_NODE_WIDTH``; longer names are cut with an
   ellipsis in ``label`` (the full name stays in ``name`` for a tooltip).
4. Coordinates: nodes move toward the mean of their neighbours, never overlapping; each branch
   is a group whose rectangle (``Layout.groups``) encloses its steps and no other step, and
   groups of different branches keep apart.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jupyter_ack.pipeline.dag import Dag

NODE_WIDTH = 200.0  # the narrowest box; a box grows to fit its label, up to MAX_NODE_WIDTH
MAX_NODE_WIDTH = 300.0
NODE_HEIGHT = 46.0
H_GAP = 28.0
V_GAP = 54.0
MARGIN = 16.0
LABEL_SIZE = 12.5  # px, bold: the step name
SUBTITLE_SIZE = 11.0  # px: the step type under it
LABEL_LEFT = 14.0  # the label starts this far into its box (after the type band)
LABEL_RIGHT = 22.0  # and ends at least this far from its right edge (room for the error badge)
GROUP_PAD = 10.0  # a group's rectangle around its members, sideways
GROUP_TOP = 10.0  # above its top members (and a nested group's rectangle)
GROUP_BOTTOM = 22.0  # below its bottom members (and a nested group's rectangle): its label
GROUP_GAP = 16.0  # between a group's rectangle and a box or another group beside it
EDGE_GAP = 8.0  # between a group's rectangle and a long edge passing by
EDGE_ROOM = 20.0  # at least this much vertical room for edges between group rectangles
GROUP_LABEL_SIZE = 11.0
GROUP_LABEL_INSET = 8.0  # the group label's distance from the rectangle's left and right
GROUP_LABEL_RISE = 7.0  # and the height of its baseline above the rectangle's bottom
SWEEPS = 6
VIRTUAL_WIDTH = 12.0
MAX_VIRTUAL_NODES = 20_000  # past this, the longest edges are drawn straight
# The transpose refinement (adjacent swaps) runs after every barycenter sweep in graphs of up to
# TRANSPOSE_EVERY_SWEEP nodes and edges, then on the best order; it stops after TRANSPOSE_WORK
# units of work (neighbour positions compared) so that a 5,000-step graph lays out in ~1 s.
TRANSPOSE_WORK = 150_000
TRANSPOSE_EVERY_SWEEP = 5_000
TRANSPOSE_PASSES = 8
_BRANCH_RANK = {"if": 0, "body": 0, "else": 1}

# Advance widths (1/1000 em) of printable ASCII (U+0020 to U+007E) in a sans-serif, bold (the
# step names) and regular (types, group labels): the wider of DejaVu Sans and Liberation Sans
# (the metrics of Helvetica and Arial), so a label fits wherever the front end draws it.
_BOLD_ADVANCE = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365,
    696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 611,
    1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 556, 775, 637, 995, 837, 850,
    733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 556,
    500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
)  # fmt: skip
_REGULAR_ADVANCE = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 556,
    1015, 684, 686, 722, 770, 667, 611, 778, 752, 295, 500, 667, 557, 863, 748, 787,
    667, 787, 722, 667, 611, 732, 684, 989, 685, 667, 685, 390, 337, 390, 838, 556,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_MIDDLE_DOT_ADVANCE = 380  # U+00B7, between a group's parent and branch
_WIDE_ADVANCE = 1000  # full-width (CJK) characters, U+FFFD, the ellipsis
_OTHER_ADVANCE = 800  # any other character: wider than most letters
_ESCAPE_ADVANCE = 6 * 700  # a format control (bidi override) is drawn as its escape, \u202e
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class NodeBox:
    name: str
    label: str
    type: str
    x: float
    y: float
    width: float
    height: float
    layer: int
    parent: str | None
    branch: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "layer": self.layer,
            "parent": self.parent,
            "branch": self.branch,
        }


@dataclass(frozen=True)
class EdgePath:
    source: str
    target: str
    kind: str
    points: tuple[tuple[float, float], ...]
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "kind": self.kind,
            "points": [list(p) for p in self.points],
            "label": self.label,
        }


@dataclass(frozen=True)
class GroupBox:
    """The rectangle around the steps of one branch (``if``, ``else``, ForEach ``body``) of the
    step ``parent``, drawn behind them. ``label`` is ``"<parent> · <branch>"``, cut with an
    ellipsis to fit the rectangle, written in its bottom left corner (``GROUP_LABEL_INSET``
    from the left, baseline ``GROUP_LABEL_RISE`` above the bottom), where edges coming into
    the group do not run. Outer groups come before the groups nested in them."""

    parent: str
    branch: str | None
    label: str
    x: float
    y: float
    width: float
    height: float

    def to_json(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "branch": self.branch,
            "label": self.label,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True)
class Layout:
    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgePath, ...]
    width: float
    height: float
    crossings: int
    groups: tuple[GroupBox, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
            "groups": [g.to_json() for g in self.groups],
        }


# Label widths ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _advance(ch: str, bold: bool = True) -> int:
    """The advance width of one character, in 1/1000 em, erring on the wide side."""
    code = ord(ch)
    if 32 <= code < 127:
        return (_BOLD_ADVANCE if bold else _REGULAR_ADVANCE)[code - 32]
    if ch == "\u00b7":
        return _MIDDLE_DOT_ADVANCE
    category = unicodedata.category(ch)
    if category in ("Mn", "Me"):  # combining marks sit on the previous character
        return 0
    if category == "Cf":
        return _ESCAPE_ADVANCE
    if category[0] == "C" or unicodedata.east_asian_width(ch) in ("W", "F"):
        return _WIDE_ADVANCE  # controls are drawn as U+FFFD
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed != ch:  # an accented letter, a ligature: as wide as its parts
        return sum(_advance(c, bold) for c in decomposed)
    return _WIDE_ADVANCE if ch == ELLIPSIS else _OTHER_ADVANCE


def text_width(text: str, size: float = LABEL_SIZE, *, bold: bool = True) -> float:
    """The estimated width in px of ``text`` in a sans-serif of ``size`` px."""
    return sum(_advance(ch, bold) for ch in text) * size / 1000


def fit_text(text: str, room: float, size: float = LABEL_SIZE, *, bold: bool = True) -> str:
    """``text`` if it fits in ``room`` px, else its longest prefix that fits with "…" after."""
    if text_width(text, size, bold=bold) <= room:
        return text
    budget = room * 1000 / size - _advance(ELLIPSIS, bold)
    used, cut = 0, 0
    for i, ch in enumerate(text):
        used += _advance(ch, bold)
        if used > budget:
            break
        cut = i + 1
    return text[:cut].rstrip() + ELLIPSIS


def truncate(name: str, width: float = NODE_WIDTH) -> str:
    """The label of a step named ``name`` in a box ``width`` px wide."""
    return fit_text(name, width - LABEL_LEFT - LABEL_RIGHT)


def box_size(name: str, type_: str = "") -> tuple[str, float]:
    """(label, width) of a step's box: wide enough for its name (and type) within
    [``NODE_WIDTH``, ``MAX_NODE_WIDTH``]; the label is the name, cut to fit past that."""
    subtitle = text_width(type_, SUBTITLE_SIZE, bold=False)
    need = max(text_width(name), subtitle) + LABEL_LEFT + LABEL_RIGHT
    width = float(min(MAX_NODE_WIDTH, max(NODE_WIDTH, math.ceil(need))))
    return truncate(name, width), width


# The layout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    """The branches as nested groups: ``keys[g]`` is (parent step, branch), ``outer[g]`` the
    group it sits in (-1: none, always a lower index), ``paths[g]`` the groups from the
    outermost down to ``g``, and ``lo[g]``..``hi[g]`` the layers its members span."""

    keys: list[tuple[str, str | None]]
    outer: list[int]
    paths: list[tuple[int, ...]]
    lo: list[int]
    hi: list[int]


def layout(dag: Dag) -> Layout:
    names = list(dag.nodes)
    n = len(names)
    ix = {name: i for i, name in enumerate(names)}
    all_edges = [(ix[e.source], ix[e.target]) for e in dag.edges]
    forward = _acyclic(n, all_edges)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, t in forward:
        succs[s].append(t)
        preds[t].append(s)
    layer = _layers(n, preds, succs)
    nodes = list(dag.nodes.values())

    # Groups: the steps of each branch of a Condition (or ForEach body), nested as they are.
    keys: list[tuple[str, str | None]] = []
    group_of: dict[tuple[str, str | None], int] = {}
    own = [-1] * n
    for v, nd in enumerate(nodes):
        if nd.parent is not None:
            own[v] = group_of.setdefault((nd.parent, nd.branch), len(group_of))
            if own[v] == len(keys):
                keys.append((nd.parent, nd.branch))
    outer = [own[ix[p]] if p in ix else -1 for p, _ in keys]
    gpaths: list[tuple[int, ...]] = []
    for g in range(len(keys)):
        if outer[g] >= g:  # a parent is found before its steps; never loop
            outer[g] = -1
        gpaths.append((*gpaths[outer[g]], g) if outer[g] >= 0 else (g,))
    paths: list[tuple[int, ...]] = [gpaths[own[v]] if own[v] >= 0 else () for v in range(n)]
    span_lo, span_hi = [len(names)] * len(keys), [-1] * len(keys)
    for v in range(n):
        for g in paths[v]:
            span_lo[g] = min(span_lo[g], layer[v])
            span_hi[g] = max(span_hi[g], layer[v])
    groups = _Groups(keys, outer, gpaths, span_lo, span_hi)
    grank = [_BRANCH_RANK.get(branch or "", 0) for _, branch in keys]

    sizes = [box_size(nd.name, nd.type) for nd in nodes]
    widths = [w for _, w in sizes]

    def inside(path: tuple[int, ...], at: int) -> tuple[int, ...]:
        k = 0
        while k < len(path) and span_lo[path[k]] <= at <= span_hi[path[k]]:
            k += 1
        return path[:k]

    # Long edges get a chain of thin virtual nodes, one per layer they cross, so that they
    # are routed between the boxes instead of through them. A virtual node belongs to the
    # groups of the edge's ends whose layers it is in: the edge enters or leaves the group
    # there, and keeps with its steps.
    vpreds: list[list[int]] = [[] for _ in range(n)]
    vsuccs: list[list[int]] = [[] for _ in range(n)]
    chains: dict[tuple[int, int], list[int]] = {}
    budget = MAX_VIRTUAL_NODES
    for s, t in sorted(forward, key=lambda e: layer[e[1]] - layer[e[0]]):
        span = layer[t] - layer[s]
        chain: list[int] = []
        if 1 < span <= budget:
            budget -= span - 1
            for k in range(1, span):
                v = len(layer)
                layer.append(layer[s] + k)
                from_s, to_t = inside(paths[s], layer[v]), inside(paths[t], layer[v])
                if from_s[: len(to_t)] == to_t:
                    paths.append(from_s)
                elif to_t[: len(from_s)] == from_s:
                    paths.append(to_t)
                else:  # between sibling groups: in the groups both are in
                    common = itertools.takewhile(
                        lambda p: p[0] == p[1], zip(from_s, to_t, strict=False)
                    )
                    paths.append(tuple(g for g, _ in common))
                widths.append(VIRTUAL_WIDTH)
                vpreds.append([])
                vsuccs.append([])
                chain.append(v)
        chains[(s, t)] = chain
        hops = [s, *chain, t]
        for up, down in itertools.pairwise(hops):
            vsuccs[up].append(down)
            vpreds[down].append(up)

    depth = max(layer, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    for v in range(len(layer)):
        layers[layer[v]].append(v)
    order, crossings, gkey = _order(layers, vpreds, vsuccs, paths, grank, layer)
    xs = _coordinates(order, vpreds, vsuccs, widths, paths, n, groups, gkey)

    # Rows: as far apart as the group rectangles between them need.
    rel_top, rel_bottom = _group_margins(groups, paths, layer)
    top_need, bottom_need = [0.0] * depth, [0.0] * depth
    for g in range(len(keys)):
        top_need[span_lo[g]] = max(top_need[span_lo[g]], rel_top[g])
        bottom_need[span_hi[g]] = max(bottom_need[span_hi[g]], rel_bottom[g])
    row = [MARGIN + (top_need[0] if depth else 0.0)]
    for li in range(1, depth):
        room = max(V_GAP, bottom_need[li - 1] + top_need[li] + EDGE_ROOM)
        row.append(row[-1] + NODE_HEIGHT + room)

    # Group rectangles: around their own members (steps and the long edges inside), and
    # around the groups nested in them, innermost first.
    inf = math.inf
    g_left, g_right = [inf] * len(keys), [-inf] * len(keys)
    g_top, g_bottom = [inf] * len(keys), [-inf] * len(keys)
    for v in range(len(layer)):
        if paths[v]:
            g = paths[v][-1]
            g_left[g] = min(g_left[g], xs[v] - widths[v] / 2 - GROUP_PAD)
            g_right[g] = max(g_right[g], xs[v] + widths[v] / 2 + GROUP_PAD)
            g_top[g] = min(g_top[g], row[layer[v]] - GROUP_TOP)
            g_bottom[g] = max(g_bottom[g], row[layer[v]] + NODE_HEIGHT + GROUP_BOTTOM)
    for g in range(len(keys) - 1, -1, -1):
        up = outer[g]
        if up >= 0:
            g_left[up] = min(g_left[up], g_left[g] - GROUP_PAD)
            g_right[up] = max(g_right[up], g_right[g] + GROUP_PAD)
            g_top[up] = min(g_top[up], g_top[g] - GROUP_TOP)
            g_bottom[up] = max(g_bottom[up], g_bottom[g] + GROUP_BOTTOM)

    min_x = min(
        itertools.chain((xs[v] - widths[v] / 2 for v in range(len(xs))), g_left), default=0.0
    )

    def shift(x: float) -> float:
        return round(x - min_x + MARGIN, 1)

    def left(v: int) -> float:
        return shift(xs[v] - widths[v] / 2)

    boxes = [
        NodeBox(
            name=nd.name,
            label=sizes[v][0],
            type=nd.type,
            x=left(v),
            y=row[layer[v]],
            width=widths[v],
            height=NODE_HEIGHT,
            layer=layer[v],
            parent=nd.parent,
            branch=nd.branch,
        )
        for v, nd in enumerate(nodes)
    ]
    rects: list[GroupBox] = []
    for g in sorted(range(len(keys)), key=lambda g: (len(gpaths[g]), g)):
        x0, x1 = shift(g_left[g]), shift(g_right[g])
        y0, y1 = round(g_top[g], 1), round(g_bottom[g], 1)
        parent, branch = keys[g]
        label = _group_label(parent, branch, x1 - x0 - 2 * GROUP_LABEL_INSET)
        rects.append(GroupBox(parent, branch, label, x0, y0, round(x1 - x0, 1), round(y1 - y0, 1)))

    paths_out: list[EdgePath] = []
    for e in dag.edges:
        s, t = ix[e.source], ix[e.target]
        src, dst = boxes[s], boxes[t]
        points = [(src.x + src.width / 2, src.y + src.height)]
        for v in chains.get((s, t), ()):
            cx = left(v) + VIRTUAL_WIDTH / 2
            points += [(cx, row[layer[v]]), (cx, row[layer[v]] + NODE_HEIGHT)]
        points.append((dst.x + dst.width / 2, dst.y))
        branch = dst.branch if e.kind == "condition" and dst.branch in ("if", "else") else None
        paths_out.append(EdgePath(e.source, e.target, e.kind, tuple(points), branch))
    width = max(
        itertools.chain(
            (left(v) + widths[v] for v in range(len(xs))), (r.x + r.width for r in rects)
        ),
        default=0.0,
    )
    height = max(
        itertools.chain((b.y + b.height for b in boxes), (r.y + r.height for r in rects)),
        default=0.0,
    )
    return Layout(
        tuple(boxes),
        tuple(paths_out),
        round(width + MARGIN, 1),
        round(height + MARGIN, 1),
        crossings,
        tuple(rects),
    )


def _group_label(parent: str, branch: str | None, room: float) -> str:
    """``"<parent> · <branch>"`` in ``room`` px: the parent's name is cut if need be, so that
    the branch stays readable."""
    tail = f" \u00b7 {branch}" if branch else ""
    size = GROUP_LABEL_SIZE
    if text_width(parent + tail, size, bold=False) <= room:
        return parent + tail
    rest = room - text_width(tail, size, bold=False)
    if rest < text_width("M" + ELLIPSIS, size, bold=False):
        return fit_text(parent + tail, room, size, bold=False)
    return fit_text(parent, rest, size, bold=False) + tail


def _group_margins(
    groups: _Groups, paths: list[tuple[int, ...]], layer: list[int]
) -> tuple[list[float], list[float]]:
    """How far each group's rectangle reaches above its top row and below its bottom row."""
    count = len(groups.keys)
    top, bottom = [0.0] * count, [0.0] * count
    for v, path in enumerate(paths):
        if path:
            g = path[-1]
            if layer[v] == groups.lo[g]:
                top[g] = GROUP_TOP
            if layer[v] == groups.hi[g]:
                bottom[g] = GROUP_BOTTOM
    for g in range(count - 1, -1, -1):
        up = groups.outer[g]
        if up >= 0:
            if groups.lo[g] == groups.lo[up]:
                top[up] = max(top[up], top[g] + GROUP_TOP)
            if groups.hi[g] == groups.hi[up]:
                bottom[up] = max(bottom[up], bottom[g] + GROUP_BOTTOM)
    return top, bottom


def _acyclic(n: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The edges minus the back edges of a depth-first search in document order."""
    out_edges: list[list[int]] = [[] for _ in range(n)]
    for s, t in edges:
        out_edges[s].append(t)
    state = [0] * n  # 0 new, 1 on the stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, 0)]
        while stack:
            v, i = stack[-1]
            if i < len(out_edges[v]):
                stack[-1] = (v, i + 1)
                w = out_edges[v][i]
                if state[w] == 1:
                    back.add((v, w))
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, 0))
            else:
                state[v] = 2
                stack.pop()
    return [e for e in edges if e not in back and e[0] != e[1]]


def _layers(n: int, preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    indegree = [len(p) for p in preds]
    queue = [v for v in range(n) if indegree[v] == 0]
    layer = [0] * n
    topo: list[int] = []
    for v in queue:  # the queue grows while we walk it
        topo.append(v)
        for w in succs[v]:
            layer[w] = max(layer[w], layer[v] + 1)
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    for v in reversed(topo):
        if not preds[v] and succs[v]:
            layer[v] = max(layer[v], min(layer[w] for w in succs[v]) - 1)
    return layer


def _order(
    layers: list[list[int]],
    preds: list[list[int]],
    succs: list[list[int]],
    paths: list[tuple[int, ...]],
    grank: list[int],
    layer: list[int],
) -> tuple[list[list[int]], int, list[tuple[float, int, int]]]:
    """The order of every layer, its crossings, and the order of the groups (a sort key per
    group): sibling groups come in that order in every layer they share."""
    pos = [0.0] * len(layer)
    leaf_id = len(grank)  # sort ids of single nodes come after the group ids

    def place(order: list[list[int]]) -> None:
        for row in order:
            mid = (len(row) - 1) / 2
            for i, v in enumerate(row):
                pos[v] = i - mid

    def arrange(row: list[int], neighbours: list[list[int]]) -> list[int]:
        bary: dict[int, float] = {}
        for v in row:
            near = neighbours[v]
            bary[v] = sum(pos[w] for w in near) / len(near) if near else pos[v]
        if not any(paths[v] for v in row):
            return sorted(row, key=lambda v: (bary[v], v))
        # A group sorts as one block at its members' mean, recursively: the members of a
        # branch stay together, and so do the members of a branch nested in it.
        sums: dict[int, float] = {}
        counts: dict[int, int] = {}
        for v in row:
            for g in paths[v]:
                sums[g] = sums.get(g, 0.0) + bary[v]
                counts[g] = counts.get(g, 0) + 1

        def key(v: int) -> tuple[float, ...]:
            out: list[float] = []
            for g in paths[v]:
                out += (sums[g] / counts[g], grank[g], g)
            out += (bary[v], 0, leaf_id + v)
            return tuple(out)

        return sorted(row, key=key)

    order = [sorted(row) for row in layers]
    place(order)
    no_neighbours: list[list[int]] = [[] for _ in pos]
    order = [arrange(row, no_neighbours) for row in order]
    best_key = _consistent(order, paths, grank)
    place(order)
    best = [list(row) for row in order]
    best_cost = _crossings_between(best, preds)
    work = [TRANSPOSE_WORK]
    every_sweep = len(layer) + sum(map(len, preds)) <= TRANSPOSE_EVERY_SWEEP
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        sequence = range(1, len(order)) if down else range(len(order) - 2, -1, -1)
        for li in sequence:
            order[li] = arrange(order[li], preds if down else succs)
            place([order[li]])
        key = _consistent(order, paths, grank)
        if every_sweep:
            _transpose(order, preds, succs, paths, layer, work)
        place(order)
        cost = _crossings_between(order, preds)
        if cost < best_cost:
            best, best_cost, best_key = [list(row) for row in order], cost, key
    if _transpose(best, preds, succs, paths, layer, work):
        best_cost = _crossings_between(best, preds)
    return best, best_cost, best_key


def _blocks(
    segment: list[int], level: int, paths: list[tuple[int, ...]]
) -> tuple[list[list[int]], list[int]]:
    """``segment`` cut into blocks at nesting ``level``: the runs of members of one group of
    that level (id g), and the nodes outside any (id ``-1 - v``)."""
    blocks: list[list[int]] = []
    ids: list[int] = []
    for v in segment:
        k = paths[v][level] if len(paths[v]) > level else -1 - v
        if ids and ids[-1] == k:
            blocks[-1].append(v)
        else:
            blocks.append([v])
            ids.append(k)
    return blocks, ids


def _consistent(
    order: list[list[int]], paths: list[tuple[int, ...]], grank: list[int]
) -> list[tuple[float, int, int]]:
    """Put sibling groups in the same order in every layer (by their members' mean position
    over all layers), so that their rectangles can be kept apart; returns the sort key."""
    count = len(grank)
    if not count:
        return []
    sums, counts = [0.0] * count, [0] * count
    for row in order:
        mid = (len(row) - 1) / 2
        for i, v in enumerate(row):
            for g in paths[v]:
                sums[g] += i - mid
                counts[g] += 1
    key = [(sums[g] / max(counts[g], 1), grank[g], g) for g in range(count)]

    def arrange(segment: list[int], level: int) -> list[int]:
        blocks, ids = _blocks(segment, level, paths)
        slots = [i for i, k in enumerate(ids) if k >= 0]
        ranked = sorted(slots, key=lambda i: key[ids[i]])
        new_blocks, new_ids = list(blocks), list(ids)
        for slot, src in zip(slots, ranked, strict=True):
            new_blocks[slot], new_ids[slot] = blocks[src], ids[src]
        out: list[int] = []
        for k, block in zip(new_ids, new_blocks, strict=True):
            out += arrange(block, level + 1) if k >= 0 and len(block) > 1 else block
        return out

    for li, row in enumerate(order):
        if any(paths[v] for v in row):
            order[li] = arrange(row, 0)
    return key


def _transpose(
    order: list[list[int]],
    preds: list[list[int]],
    succs: list[list[int]],
    paths: list[tuple[int, ...]],
    layer: list[int],
    work: list[int],
) -> bool:
    """Swap neighbours in a layer while that lowers the crossings (with the layers above and
    below), until no swap helps, ``TRANSPOSE_PASSES`` passes are done, or ``work`` (shared by
    the calls) runs out. Two single steps swap, or a step and a whole group of the same
    level: a branch stays together. Whether anything moved."""
    index = [0] * len(layer)
    for row in order:
        for i, v in enumerate(row):
            index[v] = i
    moved = False
    for _ in range(TRANSPOSE_PASSES):
        improved = False
        for li, row in enumerate(order):
            if len(row) < 2 or work[0] <= 0:
                continue
            up = {v: sorted(index[u] for u in preds[v] if layer[u] == li - 1) for v in row}
            down = {v: sorted(index[w] for w in succs[v] if layer[w] == li + 1) for v in row}
            work[0] -= len(row) + sum(len(up[v]) + len(down[v]) for v in row)
            new = _transpose_blocks(row, 0, paths, up, down, work)
            if new != row:
                order[li] = new
                for i, v in enumerate(new):
                    index[v] = i
                improved = moved = True
        if not improved or work[0] <= 0:
            break
    return moved


def _transpose_blocks(
    segment: list[int],
    level: int,
    paths: list[tuple[int, ...]],
    up: dict[int, list[int]],
    down: dict[int, list[int]],
    work: list[int],
) -> list[int]:
    """One transpose pass over the blocks of ``segment`` at nesting ``level`` (a step outside
    any group of that level is a block of its own), then inside each group block. Two groups
    never swap: their order is the same in every layer (``_consistent``)."""
    blocks, ids = _blocks(segment, level, paths)
    if len(blocks) > 1:
        ups = [sorted(p for v in b for p in up[v]) for b in blocks]
        downs = [sorted(p for v in b for p in down[v]) for b in blocks]
        for i in range(len(blocks) - 1):
            if work[0] <= 0:
                break
            j = i + 1
            if ids[i] >= 0 and ids[j] >= 0:
                continue
            work[0] -= len(ups[i]) + len(ups[j]) + len(downs[i]) + len(downs[j])
            kept_a, swapped_a = _pair_crossings(ups[i], ups[j])
            kept_b, swapped_b = _pair_crossings(downs[i], downs[j])
            if swapped_a + swapped_b < kept_a + kept_b:
                blocks[i], blocks[j] = blocks[j], blocks[i]
                ids[i], ids[j] = ids[j], ids[i]
                ups[i], ups[j] = ups[j], ups[i]
                downs[i], downs[j] = downs[j], downs[i]
    out: list[int] = []
    for k, block in zip(ids, blocks, strict=True):
        if k >= 0 and len(block) > 1:
            out += _transpose_blocks(block, level + 1, paths, up, down, work)
        else:
            out += block
    return out


def _pair_crossings(left: list[int], right: list[int]) -> tuple[int, int]:
    """Crossings between the edges to neighbours at sorted positions ``left`` and ``right``
    when their blocks are in this order, and when swapped."""
    kept = swapped = 0
    for p in left:
        kept += bisect_left(right, p)
        swapped += len(right) - bisect_right(right, p)
    return kept, swapped


def _crossings_between(order: list[list[int]], preds: list[list[int]]) -> int:
    index: dict[int, int] = {}
    for row in order:
        for i, v in enumerate(row):
            index[v] = i
    total = 0
    for li in range(1, len(order)):
        above = set(order[li - 1])
        pairs = sorted((index[u], index[v]) for v in order[li] for u in preds[v] if u in above)
        total += _inversions([b for _, b in pairs])
    return total


def _inversions(seq: list[int]) -> int:
    """Pairs i < j with seq[i] > seq[j], counted with a sorted prefix (n log n)."""
    seen: list[int] = []
    count = 0
    for value in seq:
        k = bisect_right(seen, value)
        count += len(seen) - k
        seen.insert(k, value)
    return count


# Coordinates ----------------------------------------------------------------------------------


def _coordinates(
    order: list[list[int]],
    preds: list[list[int]],
    succs: list[list[int]],
    widths: list[float],
    paths: list[tuple[int, ...]],
    real: int,
    groups: _Groups,
    gkey: list[tuple[float, int, int]],
) -> list[float]:
    """Centre x of every node: start packed, then move toward the neighbours' mean; last,
    keep every group's rectangle clear of the nodes and groups beside it, in every layer it
    spans."""
    xs = [0.0] * len(widths)
    sep = _Separation(widths, paths, real, groups, gkey)
    gaps = [[sep.gap(a, b) for a, b in itertools.pairwise(row)] for row in order]
    for row, row_gaps in zip(order, gaps, strict=True):
        for i in range(1, len(row)):
            xs[row[i]] = xs[row[i - 1]] + row_gaps[i - 1]
        shift = (xs[row[0]] + xs[row[-1]]) / 2 if row else 0.0
        for v in row:
            xs[v] -= shift
    for sweep in range(8):
        down = sweep % 2 == 0
        neighbours = preds if down else succs
        for li in range(len(order)) if down else range(len(order) - 1, -1, -1):
            row, row_gaps = order[li], gaps[li]
            want = [
                sum(xs[w] for w in neighbours[v]) / len(neighbours[v]) if neighbours[v] else xs[v]
                for v in row
            ]
            lo = list(want)
            for i in range(1, len(lo)):
                lo[i] = max(lo[i], lo[i - 1] + row_gaps[i - 1])
            hi = list(want)
            for i in range(len(hi) - 2, -1, -1):
                hi[i] = min(hi[i], hi[i + 1] - row_gaps[i])
            for i, v in enumerate(row):
                xs[v] = (lo[i] + hi[i]) / 2
    if any(hi > lo for lo, hi in zip(groups.lo, groups.hi, strict=True)):
        xs = sep.project(order, xs)
    return xs


class _Separation:
    """Separation constraints ``x[b] >= x[a] + d`` between neighbours in a layer, through the
    borders of the groups between them: variable ``n + 2g`` is group g's left border and
    ``n + 2g + 1`` its right one, shared by all the layers g spans, so that a node beside a
    group in any layer stays outside the group's rectangle."""

    def __init__(
        self,
        widths: list[float],
        paths: list[tuple[int, ...]],
        real: int,
        groups: _Groups,
        gkey: list[tuple[float, int, int]],
    ) -> None:
        self.widths = widths
        self.paths = paths
        self.real = real
        self.groups = groups
        self.gkey = gkey

    def _path(self, item: int) -> tuple[int, ...]:
        return self.paths[item] if item >= 0 else self.groups.paths[-1 - item]

    def _links(self, a: int, b: int) -> tuple[list[int], list[int], float, float, float]:
        """Between items ``a`` and ``b`` (a node, or ``-1 - g`` for a group g with no member
        in the layer): the groups closed (innermost first) and opened (outermost first), the
        gap between the last border closed and the first opened, and the half widths."""
        pa, pb = self._path(a), self._path(b)
        common = 0
        while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
            common += 1
        closing = list(reversed(pa[common:]))
        opening = list(pb[common:])
        if a < 0:
            closing = closing[1:]  # a's own border is its right border
        if b < 0:
            opening = opening[:-1]
        side_a = "group" if closing or a < 0 else ("edge" if a >= self.real else "node")
        side_b = "group" if opening or b < 0 else ("edge" if b >= self.real else "node")
        if side_a == "group" or side_b == "group":
            middle = EDGE_GAP if "edge" in (side_a, side_b) else GROUP_GAP
        else:
            middle = H_GAP / 2 if "edge" in (side_a, side_b) else H_GAP
        half_a = self.widths[a] / 2 if a >= 0 else 0.0
        half_b = self.widths[b] / 2 if b >= 0 else 0.0
        return closing, opening, middle, half_a, half_b

    def gap(self, a: int, b: int) -> float:
        """The least distance between the centres of neighbours ``a`` and ``b``."""
        if not self.paths[a] and not self.paths[b]:
            small = a >= self.real or b >= self.real
            return (self.widths[a] + self.widths[b]) / 2 + (H_GAP / 2 if small else H_GAP)
        closing, opening, middle, half_a, half_b = self._links(a, b)
        return half_a + GROUP_PAD * (len(closing) + len(opening)) + middle + half_b

    def project(self, order: list[list[int]], xs: list[float]) -> list[float]:
        """The positions nearest ``xs`` (averaging the leftmost and the rightmost feasible
        solutions) that meet every constraint. Groups whose order disagrees between layers
        (a cycle of constraints) are kept apart layer by layer only."""
        rows = self._with_absent_groups(order, xs)
        dropped: set[int] = set()
        for _ in range(len(self.groups.keys) + 1):
            count, out = self._constraints(rows, dropped)
            topo = _topological(count, out)
            if len(topo) == count:
                break
            done = set(topo)
            base = len(xs)
            stuck = {
                g
                for g in range(len(self.groups.keys))
                if g not in dropped and (base + 2 * g not in done or base + 2 * g + 1 not in done)
            }
            if not stuck:  # cannot happen: the constraints in one layer have no cycle
                return xs
            dropped |= stuck
            rows = [[item for item in row if item >= 0 or -1 - item not in dropped] for row in rows]
        else:
            return xs
        inf = math.inf
        lo = [*xs, *([-inf] * (count - len(xs)))]
        for v in topo:
            for w, d in out[v]:
                if lo[v] + d > lo[w]:
                    lo[w] = lo[v] + d
        hi = [*xs, *([inf] * (count - len(xs)))]
        for v in reversed(topo):
            for w, d in out[v]:
                if hi[w] - d < hi[v]:
                    hi[v] = hi[w] - d
        return [(lo[v] + hi[v]) / 2 for v in range(len(xs))]

    def _with_absent_groups(self, order: list[list[int]], xs: list[float]) -> list[list[int]]:
        """The layers, with an item ``-1 - g`` for each group g that spans a layer without a
        member in it, where g's members' centre falls between its neighbours."""
        groups = self.groups
        count = len(groups.keys)
        left, right = [math.inf] * count, [-math.inf] * count
        for v, path in enumerate(self.paths):
            for g in path:
                left[g] = min(left[g], xs[v])
                right[g] = max(right[g], xs[v])
        centre = [(left[g] + right[g]) / 2 for g in range(count)]
        missing: dict[int, list[int]] = {}
        for g in sorted(range(count), key=lambda g: (len(groups.paths[g]), g)):
            for li in range(groups.lo[g], groups.hi[g] + 1):
                missing.setdefault(li, []).append(g)
        rows = [list(row) for row in order]
        for li, candidates in sorted(missing.items()):
            row = rows[li]
            present = {g for v in row for g in self.paths[v]}
            absent: set[int] = set()
            for g in candidates:
                if g in present or any(up in absent for up in groups.paths[g][:-1]):
                    continue
                at = self._slot(row, g, xs, centre)
                if at >= 0:
                    row.insert(at, -1 - g)
                    absent.add(g)
        return rows

    def _slot(self, row: list[int], g: int, xs: list[float], centre: list[float]) -> int:
        """Where in ``row`` the absent group g goes (-1: nowhere): inside the groups it is
        nested in, in no other group, after its sibling groups that come before it and
        before those after it, nearest its centre."""
        path = self.groups.paths[g]
        mine, outer, level = set(path), set(path[:-1]), len(path) - 1
        paths = [self._path(item) for item in row]
        # sibling groups: before g (-1), after g (1), or none (0), for each item
        side = [0] * len(row)
        for i, p in enumerate(paths):
            if len(p) > level and p[:level] == path[:-1]:
                side[i] = -1 if self.gkey[p[level]] < self.gkey[g] else 1
        after_ok = [True] * (len(row) + 1)  # no sibling that goes after g left of slot i
        for i in range(len(row)):
            after_ok[i + 1] = after_ok[i] and side[i] != 1
        before_ok = [True] * (len(row) + 1)  # no sibling that goes before g right of slot i
        for i in range(len(row) - 1, -1, -1):
            before_ok[i] = before_ok[i + 1] and side[i] != -1

        def x(item: int) -> float:
            return xs[item] if item >= 0 else centre[-1 - item]

        best, best_distance = -1, math.inf
        for i in range(len(row) + 1):
            if not (after_ok[i] and before_ok[i]):
                continue
            pa = set(paths[i - 1]) if i > 0 else set()
            pb = set(paths[i]) if i < len(row) else set()
            if not (pa & pb) <= mine or not outer <= (pa | pb):
                continue
            xa = x(row[i - 1]) if i > 0 else -math.inf
            xb = x(row[i]) if i < len(row) else math.inf
            distance = max(xa - centre[g], centre[g] - xb, 0.0)
            if distance < best_distance:
                best, best_distance = i, distance
        return best

    def _constraints(
        self, rows: list[list[int]], dropped: set[int]
    ) -> tuple[int, list[list[tuple[int, float]]]]:
        """(number of variables, constraints as out[a] = [(b, d), ...])."""
        base = len(self.widths)
        count = base + 2 * len(self.groups.keys)
        out: list[list[tuple[int, float]]] = [[] for _ in range(count)]
        local: dict[tuple[int, int, int], int] = {}

        def border(g: int, li: int, side: int) -> int:
            nonlocal count
            if g not in dropped:
                return base + 2 * g + side
            key = (g, li, side)
            if key not in local:
                local[key] = count
                count += 1
                out.append([])
            return local[key]

        for li, row in enumerate(rows):
            for a, b in itertools.pairwise(row):
                closing, opening, middle, half_a, half_b = self._links(a, b)
                cur = a if a >= 0 else border(-1 - a, li, 1)
                d = half_a
                for g in closing:
                    nxt = border(g, li, 1)
                    out[cur].append((nxt, d + GROUP_PAD))
                    cur, d = nxt, 0.0
                d += middle
                for g in opening:
                    nxt = border(g, li, 0)
                    out[cur].append((nxt, d))
                    cur, d = nxt, GROUP_PAD
                if b >= 0:
                    out[cur].append((b, d + half_b))
                else:
                    out[cur].append((border(-1 - b, li, 0), d))
            if row:  # the groups the row starts and ends in hold its first and last items
                first, last = row[0], row[-1]
                lefts = [border(g, li, 0) for g in self._path(first)]
                if first >= 0:
                    lefts.append(first)
                for x, y in itertools.pairwise(lefts):
                    out[x].append((y, GROUP_PAD + (self.widths[y] / 2 if y == first else 0.0)))
                rights = [border(g, li, 1) for g in reversed(self._path(last))]
                if last >= 0:
                    rights.insert(0, last)
                for x, y in itertools.pairwise(rights):
                    out[x].append((y, GROUP_PAD + (self.widths[x] / 2 if x == last else 0.0)))
        return count, out


def _topological(count: int, out: list[list[tuple[int, float]]]) -> list[int]:
    """The variables in an order where every constraint points forward (Kahn); those on or
    after a cycle are left out."""
    indegree = [0] * count
    for edges in out:
        for w, _ in edges:
            indegree[w] += 1
    queue = [v for v in range(count) if indegree[v] == 0]
    for v in queue:  # the queue grows while we walk it
        for w, _ in out[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    return queue

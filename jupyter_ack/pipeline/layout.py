"""A layered (Sugiyama-style) layout of the step graph, top to bottom.

Computed once in Python and sent as coordinates to every front end (notebook panel, sidebar,
SVG), so they all draw the same picture. Deterministic: the same DAG gives the same layout.

The steps, and where each lives:

1. Layers: ``ordering``. A long edge then gets a chain of thin virtual nodes, one per layer
   it crosses, so that it is routed between the boxes instead of through them.
2. Order within layers, with few crossings and each branch kept together: ``ordering``.
3. Boxes as wide as their labels need, longer names cut with an ellipsis: ``textfit``.
4. Coordinates, with the group rectangles kept apart: ``placement``. Here, rows as far apart
   as the rectangles between them need, then the boxes, rectangles and edge paths in px.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from jupyter_ack.pipeline.dag import Dag
from jupyter_ack.pipeline.ordering import acyclic, assign_layers, order_layers
from jupyter_ack.pipeline.placement import (
    GROUP_BOTTOM,
    GROUP_PAD,
    GROUP_TOP,
    Groups,
    coordinates,
    group_margins,
)
from jupyter_ack.pipeline.textfit import box_size, group_label

NODE_HEIGHT = 46.0
V_GAP = 54.0
MARGIN = 16.0
EDGE_ROOM = 20.0  # at least this much vertical room for edges between group rectangles
GROUP_LABEL_INSET = 8.0  # the group label's distance from the rectangle's left and right
GROUP_LABEL_RISE = 7.0  # and the height of its baseline above the rectangle's bottom
VIRTUAL_WIDTH = 12.0
MAX_VIRTUAL_NODES = 20_000  # past this, the longest edges are drawn straight
_BRANCH_RANK = {"if": 0, "body": 0, "else": 1}


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


def layout(dag: Dag) -> Layout:
    names = list(dag.nodes)
    n = len(names)
    ix = {name: i for i, name in enumerate(names)}
    all_edges = [(ix[e.source], ix[e.target]) for e in dag.edges]
    forward = acyclic(n, all_edges)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, t in forward:
        succs[s].append(t)
        preds[t].append(s)
    layer = assign_layers(n, preds, succs)
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
    groups = Groups(keys, outer, gpaths, span_lo, span_hi)
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
    order, crossings, gkey = order_layers(layers, vpreds, vsuccs, paths, grank, layer)
    xs = coordinates(order, vpreds, vsuccs, widths, paths, n, groups, gkey)

    # Rows: as far apart as the group rectangles between them need.
    rel_top, rel_bottom = group_margins(groups, paths, layer)
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
        label = group_label(parent, branch, x1 - x0 - 2 * GROUP_LABEL_INSET)
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

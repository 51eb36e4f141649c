"""A layered (Sugiyama-style) layout of the step graph, top to bottom.

Computed once in Python and sent as coordinates to every front end (notebook panel, sidebar,
SVG), so they all draw the same picture. Deterministic: the same DAG gives the same layout.

1. Layers: longest path from the sources (back edges of a cycle are ignored), then sources
   are pulled down next to their first successor.
2. Order within layers: barycenter sweeps, down and up, keeping the order with the fewest
   crossings; the steps of a Condition branch stay together, ``if`` before ``else``.
3. Coordinates: nodes move toward the mean of their neighbours, never overlapping.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from jupyter_ack.pipeline.dag import Dag

NODE_WIDTH = 200.0
NODE_HEIGHT = 46.0
H_GAP = 28.0
V_GAP = 54.0
MARGIN = 16.0
CHAR_WIDTH = 7.0  # average advance of the 12.5px label font
SWEEPS = 6
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
class Layout:
    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgePath, ...]
    width: float
    height: float
    crossings: int

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }


def truncate(name: str, width: float = NODE_WIDTH) -> str:
    room = max(4, int((width - 20) / CHAR_WIDTH))
    return name if len(name) <= room else name[: room - 1] + "\u2026"


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

    # Long edges get a chain of thin virtual nodes, one per layer they cross, so that they
    # are routed between the boxes instead of through them.
    nodes = list(dag.nodes.values())
    group: list[tuple[str | None, str | None]] = [
        (nd.parent, nd.branch) if nd.parent is not None else (nd.name, None) for nd in nodes
    ]
    branch_rank = [_BRANCH_RANK.get(nd.branch or "", 0) for nd in nodes]
    widths = [NODE_WIDTH] * n
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
                group.append((f"\0{v}", None))
                branch_rank.append(0)
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
    order = _order(layers, vpreds, vsuccs, group, branch_rank)
    crossings = _crossings_between(order, vpreds)
    xs = _coordinates(order, vpreds, vsuccs, widths)

    min_x = min((xs[v] - widths[v] / 2 for v in range(len(xs))), default=0.0)

    def left(v: int) -> float:
        return round(xs[v] - widths[v] / 2 - min_x + MARGIN, 1)

    def top(v: int) -> float:
        return MARGIN + layer[v] * (NODE_HEIGHT + V_GAP)

    boxes = [
        NodeBox(
            name=nd.name,
            label=truncate(nd.name),
            type=nd.type,
            x=left(v),
            y=top(v),
            width=NODE_WIDTH,
            height=NODE_HEIGHT,
            layer=layer[v],
            parent=nd.parent,
            branch=nd.branch,
        )
        for v, nd in enumerate(nodes)
    ]
    paths: list[EdgePath] = []
    for e in dag.edges:
        s, t = ix[e.source], ix[e.target]
        a, b = boxes[s], boxes[t]
        points = [(a.x + a.width / 2, a.y + a.height)]
        for v in chains.get((s, t), ()):
            cx = left(v) + VIRTUAL_WIDTH / 2
            points += [(cx, top(v)), (cx, top(v) + NODE_HEIGHT)]
        points.append((b.x + b.width / 2, b.y))
        label = b.branch if e.kind == "condition" and b.branch in ("if", "else") else None
        paths.append(EdgePath(e.source, e.target, e.kind, tuple(points), label))
    width = max((left(v) + widths[v] for v in range(len(xs))), default=0.0) + MARGIN
    height = max((b.y + b.height for b in boxes), default=0.0) + MARGIN
    return Layout(tuple(boxes), tuple(paths), round(width, 1), round(height, 1), crossings)


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
    group: list[tuple[str | None, str | None]],
    branch_rank: list[int],
) -> list[list[int]]:
    pos = [0.0] * sum(len(layer) for layer in layers)

    def place(order: list[list[int]]) -> None:
        for layer in order:
            mid = (len(layer) - 1) / 2
            for i, v in enumerate(layer):
                pos[v] = i - mid

    def arrange(layer: list[int], neighbours: list[list[int]]) -> list[int]:
        bary: dict[int, float] = {}
        for v in layer:
            near = neighbours[v]
            bary[v] = sum(pos[w] for w in near) / len(near) if near else pos[v]
        members: dict[tuple[str | None, str | None], list[int]] = {}
        for v in layer:
            members.setdefault(group[v], []).append(v)
        group_bary = {g: sum(bary[v] for v in vs) / len(vs) for g, vs in members.items()}
        return sorted(layer, key=lambda v: (group_bary[group[v]], branch_rank[v], bary[v], v))

    order = [sorted(layer) for layer in layers]
    place(order)
    no_neighbours: list[list[int]] = [[] for _ in pos]
    order = [arrange(layer, no_neighbours) for layer in order]
    place(order)
    best = [list(layer) for layer in order]
    best_cost = _crossings_between(best, preds)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        sequence = range(1, len(order)) if down else range(len(order) - 2, -1, -1)
        for li in sequence:
            order[li] = arrange(order[li], preds if down else succs)
            place([order[li]])
        cost = _crossings_between(order, preds)
        if cost < best_cost:
            best, best_cost = [list(layer) for layer in order], cost
    return best


def _crossings_between(order: list[list[int]], preds: list[list[int]]) -> int:
    index: dict[int, int] = {}
    for layer in order:
        for i, v in enumerate(layer):
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


def _coordinates(
    order: list[list[int]],
    preds: list[list[int]],
    succs: list[list[int]],
    widths: list[float],
) -> list[float]:
    """Centre x of every node: start packed, then move toward the neighbours' mean."""
    xs = [0.0] * len(widths)

    def gap(a: int, b: int) -> float:
        small = min(widths[a], widths[b]) < NODE_WIDTH
        return (widths[a] + widths[b]) / 2 + (H_GAP / 2 if small else H_GAP)

    gaps = [[gap(a, b) for a, b in itertools.pairwise(layer)] for layer in order]
    for layer, layer_gaps in zip(order, gaps, strict=True):
        for i in range(1, len(layer)):
            xs[layer[i]] = xs[layer[i - 1]] + layer_gaps[i - 1]
        shift = (xs[layer[0]] + xs[layer[-1]]) / 2 if layer else 0.0
        for v in layer:
            xs[v] -= shift
    for sweep in range(8):
        down = sweep % 2 == 0
        neighbours = preds if down else succs
        for li in range(len(order)) if down else range(len(order) - 1, -1, -1):
            layer, layer_gaps = order[li], gaps[li]
            want = [
                sum(xs[w] for w in neighbours[v]) / len(neighbours[v]) if neighbours[v] else xs[v]
                for v in layer
            ]
            lo = list(want)
            for i in range(1, len(lo)):
                lo[i] = max(lo[i], lo[i - 1] + layer_gaps[i - 1])
            hi = list(want)
            for i in range(len(hi) - 2, -1, -1):
                hi[i] = min(hi[i], hi[i + 1] - layer_gaps[i])
            for i, v in enumerate(layer):
                xs[v] = (lo[i] + hi[i]) / 2
    return xs

"""Which layer each step goes in, and its place in the layer: steps 1 and 2 of the layout.

Fewer edge crossings make a pipeline readable, and a Condition's branches read best when each
stays in one piece: so the order keeps the steps of a branch together, at the cost of a few
crossings. Deterministic: ties are broken by document order.

1. Layers: longest path from the sources (back edges of a cycle are ignored), then sources
   are pulled down next to their first successor.
2. Order within layers: barycenter sweeps, down and up, each followed by a transpose pass
   (adjacent swaps kept when they lower the crossings), keeping the order with the fewest
   crossings. The steps of a Condition branch (and the long edges inside it) stay together,
   ``if`` before ``else`` when nothing else decides, and branches keep the same order in
   every layer they share.

A node is an index; ``paths[v]`` are the groups (branches) node ``v`` is in, outermost first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

SWEEPS = 6
# The transpose refinement (adjacent swaps) runs after every barycenter sweep in graphs of up to
# TRANSPOSE_EVERY_SWEEP nodes and edges, then on the best order; it stops after TRANSPOSE_WORK
# units of work (neighbour positions compared) so that a 5,000-step graph lays out in ~1 s.
TRANSPOSE_WORK = 150_000
TRANSPOSE_EVERY_SWEEP = 5_000
TRANSPOSE_PASSES = 8


def acyclic(n: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
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


def assign_layers(n: int, preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    """The layer of each of the ``n`` nodes of an acyclic graph: its longest path from a
    source, except that a source sits just above its nearest successor (not at the top,
    with a long edge down to it)."""
    topo = topological(succs)
    layer = [0] * n
    for v in topo:
        for w in succs[v]:
            layer[w] = max(layer[w], layer[v] + 1)
    for v in reversed(topo):
        if not preds[v] and succs[v]:
            layer[v] = max(layer[v], min(layer[w] for w in succs[v]) - 1)
    return layer


def order_layers(
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
    index = _positions(order, len(layer))
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
    index = _positions(order, len(preds))
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


def _positions(order: list[list[int]], count: int) -> list[int]:
    """The index of each of the ``count`` nodes in its layer."""
    index = [0] * count
    for row in order:
        for i, v in enumerate(row):
            index[v] = i
    return index


def topological(succs: list[list[int]]) -> list[int]:
    """The nodes in an order where every edge points forward (Kahn, ties in index order);
    those on or after a cycle are left out."""
    indegree = [0] * len(succs)
    for targets in succs:
        for w in targets:
            indegree[w] += 1
    queue = [v for v in range(len(succs)) if indegree[v] == 0]
    for v in queue:  # the queue grows while we walk it
        for w in succs[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    return queue

"""Where each node goes across its layer, and how far group rectangles reach: step 4 of
the layout.

Nodes move toward the mean of their neighbours (so edges run as straight as they can),
never overlapping; each branch is a group whose rectangle (``Layout.groups``) encloses its
steps and no other step, and groups of different branches keep apart, so that a reader can
tell at a glance which steps a Condition runs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from jupyter_ack.pipeline.ordering import topological

H_GAP = 28.0
GROUP_PAD = 10.0  # a group's rectangle around its members, sideways
GROUP_TOP = 10.0  # above its top members (and a nested group's rectangle)
GROUP_BOTTOM = 22.0  # below its bottom members (and a nested group's rectangle): its label
GROUP_GAP = 16.0  # between a group's rectangle and a box or another group beside it
EDGE_GAP = 8.0  # between a group's rectangle and a long edge passing by


@dataclass(frozen=True)
class Groups:
    """The branches as nested groups: ``keys[g]`` is (parent step, branch), ``outer[g]`` the
    group it sits in (-1: none, always a lower index), ``paths[g]`` the groups from the
    outermost down to ``g``, and ``lo[g]``..``hi[g]`` the layers its members span."""

    keys: list[tuple[str, str | None]]
    outer: list[int]
    paths: list[tuple[int, ...]]
    lo: list[int]
    hi: list[int]


def coordinates(
    order: list[list[int]],
    preds: list[list[int]],
    succs: list[list[int]],
    widths: list[float],
    paths: list[tuple[int, ...]],
    real: int,
    groups: Groups,
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
        groups: Groups,
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
            topo = topological([[w for w, _ in edges] for edges in out])
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


def group_margins(
    groups: Groups, paths: list[tuple[int, ...]], layer: list[int]
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

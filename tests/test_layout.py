"""The shared layout: deterministic, edges point down, no overlaps, branches kept together
and drawn as groups, labels fitted to their boxes, few crossings."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from jupyter_ack import load
from jupyter_ack.pipeline.layout import Layout, layout
from jupyter_ack.pipeline.textfit import (
    ELLIPSIS,
    LABEL_LEFT,
    LABEL_RIGHT,
    MAX_NODE_WIDTH,
    NODE_WIDTH,
    text_width,
)

XSS = "<img src=x onerror=alert(1)>"


def chain_with_fan(n: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        deps = sorted({f"S{rng.randrange(i)}" for _ in range(rng.randint(0, 3))}) if i else []
        steps.append({"Name": f"S{i}", "Type": "Processing", "DependsOn": deps, "Arguments": {}})
    return {"Version": "2020-12-01", "Steps": steps}


def overlaps(boxes: Any) -> list[tuple[str, str]]:
    by_layer: dict[int, list[Any]] = {}
    for b in boxes:
        by_layer.setdefault(b.layer, []).append(b)
    bad = []
    for row in by_layer.values():
        row.sort(key=lambda b: b.x)
        for a, b in itertools.pairwise(row):
            if a.x + a.width > b.x + 0.01:
                bad.append((a.name, b.name))
    return bad


def test_example_layout(example: dict[str, Any]) -> None:
    lay = load(example).layout
    boxes = {b.name: b for b in lay.nodes}
    # One crossing is the fewest possible with these layers: an exhaustive search over every
    # order of every layer (long edges as chains of virtual nodes) finds none with 0, since
    # Train->Register, Train->Create, Check->Register and Check->Create form a K2,2 whose
    # crossing-free drawings put Check's other children (the else step) inside the if branch.
    assert lay.crossings == 1
    assert overlaps(lay.nodes) == []
    for e in load(example).dag.edges:
        assert boxes[e.source].layer < boxes[e.target].layer, e
    # sources sit on top, the branch steps below their condition
    assert boxes["PreprocessAbaloneData"].layer == 0
    assert boxes["RegisterAbaloneModel"].layer == boxes["CheckMSEAbaloneEvaluation"].layer + 1
    # if-branch steps on one side of the else-branch step
    row = sorted(
        (b for b in lay.nodes if b.layer == boxes["AbaloneMSEFail"].layer), key=lambda b: b.x
    )
    assert [b.branch for b in row] == ["if", "if", "else"]
    assert 0 < lay.width < 2000
    assert 0 < lay.height < 1000


def test_long_edges_are_routed_around_boxes(example: dict[str, Any]) -> None:
    lay = load(example).layout
    boxes = lay.nodes
    for e in lay.edges:
        for x, y in e.points[1:-1]:
            for b in boxes:
                inside = b.x < x < b.x + b.width and b.y <= y <= b.y + b.height
                assert not inside, (e.source, e.target, b.name)


def test_deterministic() -> None:
    data = chain_with_fan(60, seed=3)
    assert layout(load(data).dag).to_json() == layout(load(data).dag).to_json()


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_have_no_overlaps(seed: int) -> None:
    data = chain_with_fan(80, seed=seed)
    lay = load(data).layout
    assert overlaps(lay.nodes) == []
    boxes = {b.name: b for b in lay.nodes}
    for e in load(data).dag.edges:
        assert boxes[e.source].layer < boxes[e.target].layer


def test_crossing_reduction_untangles_a_swapped_bipartite_graph() -> None:
    """A top row whose document order is the reverse of its children's: 0 crossings reachable."""
    n = 6
    steps: list[dict[str, Any]] = [
        {"Name": f"T{i}", "Type": "Processing", "Arguments": {}} for i in range(n)
    ]
    steps += [
        {"Name": f"B{i}", "Type": "Processing", "DependsOn": [f"T{n - 1 - i}"], "Arguments": {}}
        for i in range(n)
    ]
    lay = load({"Version": "2020-12-01", "Steps": steps}).layout
    assert lay.crossings == 0


def test_cycle_still_lays_out() -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "A", "Type": "Processing", "DependsOn": ["B"], "Arguments": {}},
            {"Name": "B", "Type": "Processing", "DependsOn": ["A"], "Arguments": {}},
        ],
    }
    lay = load(data).layout
    assert len(lay.nodes) == 2
    assert len(lay.edges) == 2


def test_empty_and_to_json() -> None:
    lay = load({"Version": "2020-12-01", "Steps": []}).layout
    assert lay.nodes == ()
    doc = load(chain_with_fan(5)).layout.to_json()
    assert set(doc) == {"width", "height", "nodes", "edges", "groups"}
    assert doc["groups"] == []
    assert set(doc["nodes"][0]) >= {"name", "label", "x", "y", "width", "height", "layer"}


def test_long_names_are_truncated_in_labels() -> None:
    name = "a" * 64
    lay = load(
        {"Version": "2020-12-01", "Steps": [{"Name": name, "Type": "Processing", "Arguments": {}}]}
    ).layout
    (box,) = lay.nodes
    assert box.name == name
    assert box.label.endswith("\u2026")
    assert len(box.label) < len(name)


# Labels and box widths ------------------------------------------------------------------------

NAMES = [
    "A",
    "CheckMSEAbaloneEvaluation",  # the example's: overflowed its 200px box
    "PreprocessAbaloneData",
    "W" * 30,  # wide letters
    "i" * 60,  # narrow letters: 60 of them still fit
    "M" * 64,
    "Évaluer-le-modèle-ÀÉÎÕÜ",
    "学習ステップのモデルを評価する",  # full-width characters
    "tab\tand\u202eoverride",  # drawn as escapes
    XSS * 3,
    "a" * 64,
]


def names_definition(names: list[str]) -> dict[str, Any]:
    steps = [{"Name": name, "Type": "Processing", "Arguments": {}} for name in names]
    for prev, step in itertools.pairwise(steps):
        step["DependsOn"] = [prev["Name"]]
    return {"Version": "2020-12-01", "Steps": steps}


def test_label_width_estimate_is_per_character() -> None:
    assert text_width("W") > text_width("n") > text_width("i")
    assert text_width("M" * 10) > 10 * 7.0  # the old flat 7px a character was too little
    # measured in DejaVu Sans Bold 12.5px: 204px; the estimate must not be under it
    assert text_width("CheckMSEAbaloneEvaluation") >= 204
    assert text_width("é") == text_width("e")
    assert text_width("学") >= 12.5


def test_every_label_fits_its_box_or_is_cut() -> None:
    lay = load(names_definition(NAMES)).layout
    boxes = {b.name: b for b in lay.nodes}
    assert set(boxes) == set(NAMES)
    for b in lay.nodes:
        assert NODE_WIDTH <= b.width <= MAX_NODE_WIDTH, b.name
        assert LABEL_LEFT + text_width(b.label) + LABEL_RIGHT <= b.width, b.name
        if b.label != b.name:  # cut: only at the widest box, with an ellipsis
            assert b.width == MAX_NODE_WIDTH
            assert b.label.endswith(ELLIPSIS)
            assert b.name.startswith(b.label[:-1])
    assert boxes["A"].width == NODE_WIDTH
    check = boxes["CheckMSEAbaloneEvaluation"]
    assert check.label == check.name
    assert check.width > NODE_WIDTH  # grown to fit
    assert boxes["i" * 60].label == "i" * 60
    assert boxes["M" * 64].label.endswith(ELLIPSIS)
    assert boxes["W" * 30].label.endswith(ELLIPSIS)
    assert overlaps(lay.nodes) == []


def test_example_labels_fit(example: dict[str, Any]) -> None:
    for b in load(example).layout.nodes:
        assert b.label == b.name
        assert LABEL_LEFT + text_width(b.label) + LABEL_RIGHT <= b.width, b.name


@pytest.mark.parametrize("seed", range(3))
def test_boxes_of_many_widths_never_overlap(seed: int) -> None:
    rng = random.Random(seed)
    data = chain_with_fan(60, seed=seed)
    renames = {s["Name"]: s["Name"] + "X" * rng.randrange(40) for s in data["Steps"]}
    for step in data["Steps"]:
        step["Name"] = renames[step["Name"]]
        step["DependsOn"] = [renames[d] for d in step["DependsOn"]]
    lay = load(data).layout
    assert len({b.width for b in lay.nodes}) > 5
    assert overlaps(lay.nodes) == []


# Groups ----------------------------------------------------------------------------------------


def members(lay: Layout) -> dict[tuple[str, str | None], set[str]]:
    """The steps inside each branch, nested ones included."""
    up = {b.name: (b.parent, b.branch) for b in lay.nodes}
    out: dict[tuple[str, str | None], set[str]] = {}
    for b in lay.nodes:
        key = up[b.name]
        while key[0] is not None:
            out.setdefault((key[0], key[1]), set()).add(b.name)
            key = up.get(key[0], (None, None))
    return out


def area(r: Any) -> tuple[float, float, float, float]:
    return (r.x, r.y, r.x + r.width, r.y + r.height)


def meet(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def within(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def group_problems(lay: Layout) -> list[str]:
    """Every group encloses exactly its members' boxes, meets no other box, and meets another
    group only if one is nested in the other; all inside the picture."""
    found = members(lay)
    problems = []
    if sorted((g.parent, g.branch or "") for g in lay.groups) != sorted(
        (p, b or "") for p, b in found
    ):
        problems.append("not one group per branch")
    for g in lay.groups:
        rect = area(g)
        if g.x < 0 or g.y < 0 or rect[2] > lay.width or rect[3] > lay.height:
            problems.append(f"{g.parent}/{g.branch} outside the picture")
        inside = found.get((g.parent, g.branch), set())
        for b in lay.nodes:
            if b.name in inside and not within(area(b), rect):
                problems.append(f"{g.parent}/{g.branch} does not enclose {b.name}")
            if b.name not in inside and meet(area(b), rect):
                problems.append(f"{g.parent}/{g.branch} meets {b.name}")
    for g, h in itertools.combinations(lay.groups, 2):
        a, b = area(g), area(h)
        if meet(a, b) and not within(a, b) and not within(b, a):
            problems.append(f"{g.parent}/{g.branch} meets {h.parent}/{h.branch}")
    return problems


def test_example_groups_enclose_their_branches(example: dict[str, Any]) -> None:
    lay = load(example).layout
    by_branch = {(g.parent, g.branch): g for g in lay.groups}
    check = "CheckMSEAbaloneEvaluation"
    assert set(by_branch) == {(check, "if"), (check, "else")}
    assert by_branch[(check, "if")].label == f"{check} \u00b7 if"
    assert by_branch[(check, "else")].label == f"{check} \u00b7 else"
    assert members(lay) == {
        (check, "if"): {"RegisterAbaloneModel", "CreateAbaloneModel", "NotifyModelRegistered"},
        (check, "else"): {"AbaloneMSEFail"},
    }
    assert group_problems(lay) == []
    # the branch rectangles sit below the condition
    boxes = {b.name: b for b in lay.nodes}
    for g in lay.groups:
        assert g.y > boxes[check].y + boxes[check].height
    doc = lay.to_json()
    assert [set(g) for g in doc["groups"]] == [
        {"parent", "branch", "label", "x", "y", "width", "height"}
    ] * 2


def nested(seed: int, n: int = 30) -> dict[str, Any]:
    """Conditions nested in branches, with dependencies across branches and layers."""
    rng = random.Random(seed)
    names: list[str] = []

    def step(depth: int) -> dict[str, Any]:
        name = f"S{len(names)}"
        deps = sorted({rng.choice(names) for _ in range(rng.randint(0, 2))}) if names else []
        names.append(name)
        out: dict[str, Any] = {"Name": name, "Type": "Processing", "Arguments": {}}
        if depth < 2 and rng.random() < 0.25:
            ifs = [step(depth + 1) for _ in range(rng.randint(1, 4))]
            elses = [step(depth + 1) for _ in range(rng.randint(0, 3))]
            out = {
                "Name": name,
                "Type": "Condition",
                "Arguments": {"Conditions": [], "IfSteps": ifs, "ElseSteps": elses},
            }
        if deps:
            out["DependsOn"] = deps
        return out

    steps = []
    while len(names) < n:
        steps.append(step(0))
    return {"Version": "2020-12-01", "Steps": steps}


@pytest.mark.parametrize("seed", range(12))
def test_nested_branches_get_clear_groups(seed: int) -> None:
    lay = load(nested(seed)).layout
    assert lay.groups
    assert group_problems(lay) == []
    assert overlaps(lay.nodes) == []


def test_groups_with_a_foreign_step_between_their_layers() -> None:
    """A branch whose steps are two layers apart, with a step outside the branch in the
    layer between them: the group's rectangle must go round it."""
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "Start", "Type": "Processing", "Arguments": {}},
            {
                "Name": "Check",
                "Type": "Condition",
                "DependsOn": ["Start"],
                "Arguments": {
                    "Conditions": [],
                    "IfSteps": [
                        {"Name": "First", "Type": "Processing", "Arguments": {}},
                        {
                            "Name": "Last",
                            "Type": "Processing",
                            "DependsOn": ["Outside"],
                            "Arguments": {},
                        },
                    ],
                    "ElseSteps": [{"Name": "Other", "Type": "Fail", "Arguments": {}}],
                },
            },
            {"Name": "Outside", "Type": "Processing", "DependsOn": ["First"], "Arguments": {}},
        ],
    }
    lay = load(data).layout
    boxes = {b.name: b for b in lay.nodes}
    assert boxes["First"].layer < boxes["Outside"].layer < boxes["Last"].layer
    assert group_problems(lay) == []


# Crossings -------------------------------------------------------------------------------------


def dependencies(deps: list[list[int]]) -> dict[str, Any]:
    steps = [
        {"Name": f"S{i}", "Type": "Processing", "DependsOn": [f"S{d}" for d in ds], "Arguments": {}}
        for i, ds in enumerate(deps)
    ]
    return {"Version": "2020-12-01", "Steps": steps}


@pytest.mark.parametrize(
    "deps",
    [
        # barycenter sweeps alone leave 1 crossing here, and 2 in the next: swapping two
        # neighbours in a layer (transpose) removes them
        [[], [0], [0, 1], [2], [0, 2, 3], [2, 3], [0, 4, 5]],
        [[], [], [1], [1, 2], [], [2, 3], [0, 1, 2], [2, 6]],
    ],
)
def test_transpose_removes_crossings_the_sweeps_leave(deps: list[list[int]]) -> None:
    assert load(dependencies(deps)).layout.crossings == 0

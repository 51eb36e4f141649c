"""The shared layout: deterministic, edges point down, no overlaps, branches kept together."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from jupyter_ack import load
from jupyter_ack.pipeline.layout import layout


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
    assert lay.crossings <= 1  # the if-branch grouping costs at most one
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
    assert set(doc) == {"width", "height", "nodes", "edges"}
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

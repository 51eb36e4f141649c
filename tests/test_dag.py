"""The step graph: nodes with their nesting, edges with their kinds."""

from __future__ import annotations

from typing import Any

from jupyter_ack import load
from jupyter_ack.pipeline.dag import build_dag


def edges(data: Any) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in build_dag(data).edges}


def test_example_graph(example: dict[str, Any]) -> None:
    dag = load(example).dag
    assert list(dag.nodes) == [
        "PreprocessAbaloneData",
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
        "RegisterAbaloneModel",
        "CreateAbaloneModel",
        "NotifyModelRegistered",
        "AbaloneMSEFail",
    ]
    assert dag.nodes["RegisterAbaloneModel"].parent == "CheckMSEAbaloneEvaluation"
    assert dag.nodes["RegisterAbaloneModel"].branch == "if"
    assert dag.nodes["AbaloneMSEFail"].branch == "else"
    assert dag.nodes["TrainAbaloneModel"].parent is None
    assert edges(example) == {
        ("PreprocessAbaloneData", "TrainAbaloneModel", "data"),
        ("PreprocessAbaloneData", "EvaluateAbaloneModel", "data"),
        ("TrainAbaloneModel", "EvaluateAbaloneModel", "data"),
        ("EvaluateAbaloneModel", "CheckMSEAbaloneEvaluation", "property_file"),
        ("TrainAbaloneModel", "RegisterAbaloneModel", "data"),
        ("TrainAbaloneModel", "CreateAbaloneModel", "data"),
        ("CheckMSEAbaloneEvaluation", "RegisterAbaloneModel", "condition"),
        ("CheckMSEAbaloneEvaluation", "CreateAbaloneModel", "condition"),
        ("CheckMSEAbaloneEvaluation", "NotifyModelRegistered", "condition"),
        ("CheckMSEAbaloneEvaluation", "AbaloneMSEFail", "condition"),
        ("RegisterAbaloneModel", "NotifyModelRegistered", "depends_on"),
        ("CreateAbaloneModel", "NotifyModelRegistered", "data"),
    }


def test_graph_json_contract(example: dict[str, Any]) -> None:
    doc = load(example).graph_json()
    assert set(doc) == {"nodes", "edges"}
    assert all(set(n) == {"name", "type", "parent", "branch"} for n in doc["nodes"])
    assert all(set(e) == {"from", "to", "kind"} for e in doc["edges"])
    assert {e["kind"] for e in doc["edges"]} <= {"depends_on", "data", "property_file", "condition"}


def test_condition_arguments_do_not_leak_branch_references() -> None:
    """A Get inside a branch step is that step's edge, not the condition's."""
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "A", "Type": "Processing", "Arguments": {}},
            {
                "Name": "C",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [],
                    "IfSteps": [
                        {
                            "Name": "B",
                            "Type": "Processing",
                            "Arguments": {"x": {"Get": "Steps.A.Foo"}},
                        }
                    ],
                    "ElseSteps": [],
                },
            },
        ],
    }
    assert edges(data) == {("A", "B", "data"), ("C", "B", "condition")}


def test_one_edge_per_pair_most_specific_kind() -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "A", "Type": "Processing", "Arguments": {}},
            {
                "Name": "B",
                "Type": "Processing",
                "DependsOn": ["A"],
                "Arguments": {"x": {"Get": "Steps.A.X"}},
            },
        ],
    }
    assert edges(data) == {("A", "B", "data")}


def test_v3_depends_on_objects_and_for_each_body() -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "A", "Type": "Training", "Arguments": {}},
            {
                "Name": "OnFail",
                "Type": "Lambda",
                "DependsOn": [{"Step": "A", "Trigger": "Failed"}],
                "Arguments": {},
            },
            {
                "Name": "Fan",
                "Type": "ForEach",
                "Arguments": {
                    "IterableItems": [1, 2],
                    "ForEachBody": [
                        {
                            "Name": "Item",
                            "Type": "Processing",
                            "Arguments": {"x": {"Get": "Steps.A.Y"}},
                        }
                    ],
                },
            },
        ],
    }
    dag = build_dag(data)
    assert dag.nodes["Item"].parent == "Fan"
    assert dag.nodes["Item"].branch == "body"
    assert edges(data) == {
        ("A", "OnFail", "depends_on"),
        ("Fan", "Item", "condition"),
        ("A", "Item", "data"),
    }


def test_json_get_on_s3_uri_is_data() -> None:
    """@step functions read each other's results through Std:JsonGet with an S3Uri."""
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": "f1", "Type": "Training", "Arguments": {}},
            {
                "Name": "f2",
                "Type": "Training",
                "Arguments": {
                    "x": {
                        "Std:JsonGet": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [{"Get": "Steps.f1.OutputDataConfig.S3OutputPath"}],
                                }
                            },
                            "Path": "Result",
                        }
                    }
                },
            },
        ],
    }
    assert edges(data) == {("f1", "f2", "data")}


def test_malformed_input_is_tolerated() -> None:
    for data in (
        None,
        [],
        {"Steps": 3},
        {"Steps": [1, "x", {"Name": 4}, {"Name": "A", "Arguments": 5}]},
    ):
        dag = build_dag(data)
        assert dag.to_json()["edges"] == []
    assert list(build_dag({"Steps": [{"Name": "A"}]}).nodes) == ["A"]


def test_dangling_references_make_no_edges() -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "A",
                "Type": "Processing",
                "DependsOn": ["Z"],
                "Arguments": {"x": {"Get": "Steps.Y.Z"}},
            }
        ],
    }
    assert edges(data) == set()

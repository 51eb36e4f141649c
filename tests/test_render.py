"""Drawings: SVG is well-formed, static and escaped; Mermaid and dot quote every name."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from jupyter_ack import load
from jupyter_ack.render import theme

XSS = "<img src=x onerror=alert(1)>"
SVG_NS = "{http://www.w3.org/2000/svg}"


def hostile() -> dict[str, Any]:
    """Names and types no renderer may interpret (validation flags them; drawing must cope)."""
    return {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": XSS, "Type": "Processing", "Arguments": {}},
            {"Name": 'quote"brace}semi;', "Type": "<script>", "DependsOn": [XSS], "Arguments": {}},
            {
                "Name": "ctl\x01\x1b[31m",
                "Type": "Training",
                "DependsOn": ['quote"brace}semi;'],
                "Arguments": {},
            },
            {
                "Name": "C&D",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [],
                    "IfSteps": [{"Name": "back\\slash\nnew", "Type": "Fail", "Arguments": {}}],
                    "ElseSteps": [],
                },
                "DependsOn": [XSS],
            },
        ],
    }


def test_svg_is_wellformed_static_and_escaped() -> None:
    defn = load(hostile())
    svg = defn.to_svg()
    root = ET.fromstring(svg)  # raises if not well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    assert not list(root.iter(f"{SVG_NS}script"))
    assert not list(root.iter(f"{SVG_NS}foreignObject"))
    for el in root.iter():
        assert not any(k.lower().startswith("on") for k in el.attrib), el.attrib
    assert XSS not in svg  # only its escaped form
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    steps = {g.get("data-step") for g in root.iter(f"{SVG_NS}g")}
    assert XSS in steps  # the parser reads the original name back, as text
    assert "\x1b" not in svg
    assert "\x01" not in svg


def test_svg_shows_status_and_flags_errors(example: dict[str, Any]) -> None:
    example["Steps"][1]["Arguments"]["RoleArn"] = "<<ROLE_ARN>>"
    defn = load(example)
    root = ET.fromstring(
        defn.to_svg(status={"PreprocessAbaloneData": "Succeeded", "TrainAbaloneModel": "Executing"})
    )
    nodes = {g.get("data-step"): g for g in root.iter(f"{SVG_NS}g")}
    assert nodes["PreprocessAbaloneData"].get("data-status") == "Succeeded"
    assert nodes["TrainAbaloneModel"].get("data-status") == "Executing"
    assert nodes["EvaluateAbaloneModel"].get("data-status") == ""
    flagged = [name for name, g in nodes.items() if g.find(f"{SVG_NS}circle") is not None]
    assert flagged == ["TrainAbaloneModel"]


def test_svg_of_empty_pipeline() -> None:
    ET.fromstring(load({"Version": "2020-12-01", "Steps": []}).to_svg())


def test_mermaid_quotes_everything() -> None:
    text = load(hostile()).to_mermaid()
    assert text.startswith("flowchart TD\n")
    assert "<img" not in text
    assert "<script>" not in text
    assert "#60;img src=x onerror=alert(1)#62;" in text
    assert "quote#34;brace}semi;" in text
    assert "\x1b" not in text
    assert "subgraph" in text  # the condition's branch
    assert text.count("\n  s") >= 4


def test_mermaid_edge_styles(example: dict[str, Any]) -> None:
    text = load(example).to_mermaid()
    assert "==>|if|" in text
    assert "==>|else|" in text
    assert "-.->" in text


def test_dot_quotes_everything() -> None:
    text = load(hostile()).to_dot()
    assert '"quote\\"brace}semi;"' in text
    assert "back\\\\slash\\nnew" in text
    assert "subgraph cluster_0" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is installed by .ci/run")
@pytest.mark.parametrize("source", ["example", "hostile"])
def test_graphviz_accepts_dot(source: str, example: dict[str, Any]) -> None:
    defn = load(example if source == "example" else hostile())
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=defn.to_dot(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in proc.stdout


def test_notebook_html_escapes_diagnostics() -> None:
    html = load(hostile())._repr_mimebundle_()["text/html"]
    assert XSS not in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html  # the unknown type, shown in the diagnostics table


def test_notebook_html_for_invalid_json() -> None:
    html = load('{"Version": ')._repr_mimebundle_()["text/html"]
    assert "JSON_SYNTAX" in html
    assert "<svg" not in html


def test_svg_draws_groups_behind_the_boxes(example: dict[str, Any]) -> None:
    defn = load(example)
    root = ET.fromstring(defn.to_svg())
    children = list(root)
    groups = [el for el in children if el.get("class") == "jack-group"]
    assert [(g.get("data-parent"), g.get("data-branch")) for g in groups] == [
        (b.parent, b.branch) for b in defn.layout.groups
    ]
    assert {g.get("data-branch") for g in groups} == {"if", "else"}
    first_edge = next(i for i, el in enumerate(children) if el.tag == f"{SVG_NS}path")
    first_node = next(i for i, el in enumerate(children) if el.get("class") == "jack-node")
    assert all(children.index(g) < first_edge < first_node for g in groups)  # behind
    fill, stroke = theme.GROUP
    for g, box in zip(groups, defn.layout.groups, strict=True):
        rect = g.find(f"{SVG_NS}rect")
        assert rect is not None
        assert rect.get("stroke-dasharray")  # dashed
        assert (rect.get("fill"), rect.get("stroke")) == (fill, stroke)
        assert float(rect.get("width") or 0) == box.width
        title = g.find(f"{SVG_NS}title")
        assert title is not None
        assert title.text == f"CheckMSEAbaloneEvaluation \u00b7 {box.branch}"
        assert "".join(g.itertext()).endswith(box.label)
    assert theme.to_json()["group"] == list(theme.GROUP)


def test_svg_node_tooltips_hold_the_full_name() -> None:
    long_name = "Evaluate" + "Model" * 20
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {"Name": long_name, "Type": "Processing", "Arguments": {}},
            {"Name": "short", "Type": "Processing", "DependsOn": [long_name], "Arguments": {}},
        ],
    }
    defn = load(data)
    root = ET.fromstring(defn.to_svg())
    nodes = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "jack-node"]
    assert len(nodes) == len(defn.layout.nodes) == 2
    for g in nodes:
        title = g.find(f"{SVG_NS}title")
        assert title is not None
        assert title.text is not None
        assert title.text.startswith(str(g.get("data-step")))
    cut = next(b for b in defn.layout.nodes if b.name == long_name)
    assert cut.label.endswith("\u2026")
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert cut.label in texts
    assert long_name not in texts  # only in the tooltip


def test_svg_escapes_cut_labels_and_group_labels() -> None:
    """Hostile names as a condition (so a group label) and as a step long enough to be cut."""
    data = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": XSS,
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [],
                    "IfSteps": [{"Name": XSS * 4, "Type": "Processing", "Arguments": {}}],
                    "ElseSteps": [{"Name": "x&y", "Type": "Fail", "Arguments": {}}],
                },
            }
        ],
    }
    defn = load(data)
    assert all(g.label.startswith("<img") for g in defn.layout.groups)
    svg = defn.to_svg()
    root = ET.fromstring(svg)
    assert "<img" not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert not list(root.iter(f"{SVG_NS}script"))
    for el in root.iter():
        assert not any(k.lower().startswith("on") for k in el.attrib), el.attrib
    groups = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "jack-group"]
    assert {g.get("data-parent") for g in groups} == {XSS}  # read back as text
    steps = {g.get("data-step") for g in root.iter(f"{SVG_NS}g")}
    assert XSS * 4 in steps
    assert "x&amp;y" in svg

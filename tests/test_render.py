"""Drawings: SVG is well-formed, static and escaped; Mermaid and dot quote every name."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from jupyter_ack import load

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

"""The CLI contract of DESIGN.md: JSON shapes, exit codes 0/1/2, one line per diagnostic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.examples import example_path
from tests.conftest import DATA, Result

EXAMPLE = str(example_path())


def write(tmp_path: Path, data: Any, name: str = "p.json") -> str:
    f = tmp_path / name
    f.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return str(f)


def test_validate_ok_text(cli: Any) -> None:
    r: Result = cli("validate", EXAMPLE)
    assert r.code == 0
    assert r.out.startswith("\u2713 ")
    assert "no problems" in r.out
    assert "8 steps" in r.out
    assert r.err == ""


def test_validate_json_contract(cli: Any, tmp_path: Path) -> None:
    r = cli("validate", EXAMPLE, "--format", "json")
    doc = r.json()
    assert r.code == 0
    assert doc == {"ok": True, "sha256": doc["sha256"], "diagnostics": []}
    assert len(doc["sha256"]) == 64

    bad = json.loads(example_path().read_text())
    bad["Steps"][0]["Type"] = "Procesing"  # a warning only: still exit 0
    r = cli("validate", write(tmp_path, bad), "--format", "json")
    assert r.code == 0
    (d,) = r.json()["diagnostics"]
    assert set(d) == {"severity", "code", "message", "path", "step", "line", "column", "hint"}
    assert (d["severity"], d["code"], d["step"]) == (
        "warning",
        "UNKNOWN_STEP_TYPE",
        "PreprocessAbaloneData",
    )
    assert isinstance(d["line"], int)
    assert isinstance(d["column"], int)
    assert d["path"] == "/Steps/0/Type"


def test_validate_errors_exit_1(cli: Any) -> None:
    r = cli("validate", str(DATA / "seed-cut-string.json"), "--format", "json")
    assert r.code == 1
    doc = r.json()
    assert doc["ok"] is False
    assert doc["sha256"] is None
    assert doc["diagnostics"][0]["code"] == "JSON_SYNTAX"
    assert doc["diagnostics"][0]["line"] == 29


def test_validate_text_is_one_line_per_diagnostic(cli: Any, tmp_path: Path) -> None:
    bad = json.loads(example_path().read_text())
    bad["Steps"][0]["Name"] = "bad name"
    bad["Steps"][1]["Arguments"]["RoleArn"] = "<<ROLE>>\n"
    f = write(tmp_path, bad)
    r = cli("validate", f)
    assert r.code == 1
    lines = r.out.strip().split("\n")
    assert len(lines) == 1 + len(
        json.loads(cli("validate", f, "--format", "json").out)["diagnostics"]
    )
    assert lines[0].startswith(f"{f}:")
    assert " error NAME_INVALID: " in r.out
    assert lines[-1].startswith("\u2717 ")
    assert "errors" in lines[-1]
    assert "\x1b[" not in r.out  # not a terminal: no colour


def test_validate_colour_when_forced(cli: Any, tmp_path: Path) -> None:
    r = cli("validate", str(DATA / "seed-truncated.json"), env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[1;31merror\x1b[0m" in r.out


def test_stdin_and_unreadable_inputs(cli: Any, tmp_path: Path) -> None:
    r = cli("validate", "-", stdin=example_path().read_text())
    assert r.code == 0
    assert "<stdin>" in r.out
    for args in (
        ["validate", str(tmp_path / "nope.json")],
        ["graph", "no_such_module_x.y:z"],
        ["validate", str(tmp_path)],
    ):
        r = cli(*args)
        assert r.code == 2, args
        assert r.err.startswith("error: ")
        assert "Traceback" not in r.err
        assert len(r.err.strip().split("\n")) <= 2


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["validate"],
        ["validate", EXAMPLE, "--format", "yaml"],
        ["graph", EXAMPLE, "--format", "png"],
        ["nonsense"],
    ],
)
def test_bad_usage_exits_2(cli: Any, args: list[str]) -> None:
    r = cli(*args)
    assert r.code == 2
    assert "Traceback" not in r.err


def test_graph_json_contract(cli: Any) -> None:
    r = cli("graph", EXAMPLE)
    assert r.code == 0
    doc = r.json()
    assert set(doc) == {"nodes", "edges"}
    assert {
        "name": "AbaloneMSEFail",
        "type": "Fail",
        "parent": "CheckMSEAbaloneEvaluation",
        "branch": "else",
    } in doc["nodes"]
    assert {
        "from": "EvaluateAbaloneModel",
        "to": "CheckMSEAbaloneEvaluation",
        "kind": "property_file",
    } in doc["edges"]


def test_graph_formats(cli: Any, tmp_path: Path) -> None:
    assert cli("graph", EXAMPLE, "--format", "mermaid").out.startswith("flowchart TD")
    assert cli("graph", EXAMPLE, "--format", "dot").out.startswith('digraph "pipeline"')
    out = tmp_path / "dag.svg"
    r = cli("graph", EXAMPLE, "--format", "svg", "-o", str(out))
    assert r.code == 0
    assert r.out == ""
    ET.fromstring(out.read_text())


def test_graph_of_invalid_json_exits_1_with_diagnostics(cli: Any) -> None:
    r = cli("graph", str(DATA / "seed-truncated.json"))
    assert r.code == 1
    assert r.out == ""
    assert "JSON_SYNTAX" in r.err


def test_graph_with_errors_still_draws_but_exits_1(cli: Any, tmp_path: Path) -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "A", "Type": "Processing", "DependsOn": ["Z"], "Arguments": {}}],
    }
    r = cli("graph", write(tmp_path, data))
    assert r.code == 1
    assert r.json()["nodes"][0]["name"] == "A"
    assert "DEPENDS_ON_UNKNOWN" in r.err


def test_python_reference(cli: Any, tmp_path: Path) -> None:
    script = tmp_path / "mk.py"
    script.write_text(f"import json\npipeline = json.loads(open({EXAMPLE!r}).read())\n")
    r = cli("validate", f"{script}:pipeline", "--format", "json")
    assert r.code == 0, r.err


def test_no_traceback_on_control_characters(cli: Any, tmp_path: Path) -> None:
    data = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "evil\x1b[2J", "Type": "X", "Arguments": {}}],
    }
    r = cli("validate", write(tmp_path, data))
    assert r.code == 1
    assert "\x1b" not in r.out
    assert "evil\\x1b[2J" in r.out


def test_version(cli: Any) -> None:
    r = cli("--version")
    assert r.code == 0
    assert r.out.startswith("jupyter-ack ")


def test_reachable_as_jupyter_subcommand() -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    assert jupyter.exists(), "jupyter_core provides the `jupyter` command"
    env = {**os.environ, "PATH": f"{jupyter.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(jupyter), "ack", "validate", EXAMPLE],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no problems" in proc.stdout


def test_demo_offline(cli: Any, tmp_path: Path) -> None:
    r = cli("demo", "--offline", "--output-dir", str(tmp_path / "out"))
    assert r.code == 0, r.err
    assert "no problems" in r.out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "graph.json",
        "layout.json",
        "pipeline.dot",
        "pipeline.mmd",
        "pipeline.svg",
    ]

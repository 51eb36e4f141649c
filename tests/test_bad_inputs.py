"""The bad-input corpus (tests/data/bad/cases.yaml): every case gives its diagnostic or
message and its exit code, as one short message and never a traceback.

Definitions go through ``jupyter_ack.load(...).validate()`` and through the installed
``jupyter-ack validate --format json``; CLI cases through the installed command; manifests
cases through ``jupyter_ack.ack.manifests.manifests``; magic cases through an in-process
IPython shell with ``%load_ext jupyter_ack``. Nothing here needs AWS or a cluster: no bucket
is configured, and every case stops before a cluster would be asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_ack import load
from jupyter_ack.ack.manifests import manifests
from jupyter_ack.config import KEYS
from jupyter_ack.errors import ManifestError
from jupyter_ack.examples import example_path
from tests.conftest import DATA, Result

BAD = DATA / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))[
    "cases"
]
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
KINDS = ("definition", "cli", "manifests", "magic")
REQUIRED = {
    "definition": {"file", "code", "exit"},
    "cli": {"args", "exit", "stderr"},
    "manifests": {"definition", "kwargs", "error"},
    "magic": {"magic", "line", "where", "expect"},
}
DIAGNOSTIC_LINE = re.compile(r": (error|warning|info) [A-Z][A-Z_]+: ")


def of_kind(kind: str) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in CASES if case["kind"] == kind]


def test_the_corpus_is_well_formed() -> None:
    """Unique ids, at least 50 cases over every kind, the keys each kind needs, and every
    definition file in use (a file no case names is a case someone forgot to write)."""
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 50
    for case in CASES:
        assert case["kind"] in KINDS, case
        assert REQUIRED[case["kind"]] <= case.keys(), case
        assert case.get("why"), case
    named = {case["file"] for case in CASES if case["kind"] == "definition"}
    on_disk = {p.name for p in (BAD / "definitions").iterdir()}
    assert named == on_disk


# definitions -------------------------------------------------------------------------------


def matching(diagnostics: list[dict[str, Any]], case: dict[str, Any]) -> list[dict[str, Any]]:
    """The diagnostics that are the one the case expects."""
    found = []
    for d in diagnostics:
        if d["code"] != case["code"] or d["severity"] != case.get("severity", "error"):
            continue
        if "path" in case and d["path"] != case["path"]:
            continue
        if "step" in case and d["step"] != case["step"]:
            continue
        if "message" in case and case["message"] not in d["message"]:
            continue
        if "hint" in case and case["hint"] not in (d["hint"] or ""):
            continue
        found.append(d)
    return found


@pytest.mark.parametrize("case", of_kind("definition"))
def test_definition_validates_to_its_code(case: dict[str, Any]) -> None:
    defn = load(BAD / "definitions" / case["file"])
    diagnostics = [d.to_json() for d in defn.validate()]
    assert matching(diagnostics, case), diagnostics
    assert defn.ok is (case["exit"] == 0)
    for d in diagnostics:
        assert d["hint"] is None or d["hint"].strip(), d  # a hint is never blank


@pytest.mark.parametrize("case", of_kind("definition"))
def test_definition_through_the_cli(case: dict[str, Any], cli: Any) -> None:
    r: Result = cli("validate", str(BAD / "definitions" / case["file"]), "--format", "json")
    assert r.code == case["exit"], r.err
    assert r.err == ""
    doc = r.json()
    assert doc["ok"] is (case["exit"] == 0)
    assert matching(doc["diagnostics"], case), doc["diagnostics"]
    for d in doc["diagnostics"]:  # where it is, for an editor to jump to
        assert d["path"] is None or isinstance(d["line"], int), d


# CLI arguments -----------------------------------------------------------------------------


def no_defaults(tmp: Path) -> dict[str, str]:
    """An environment with no jupyter-ack defaults: no role, bucket or namespace to fall back
    on, and an empty Jupyter config folder."""
    env = {f"JUPYTER_ACK_{key.upper()}": "" for key in KEYS}
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    return env


def fill(text: str, tmp: Path) -> str:
    return text.format(
        example=example_path(), bad=BAD, defs=BAD / "definitions", tmp=tmp, role=ROLE
    )


def check_stderr(kind: str, err: str) -> None:
    """The shape of stderr the case expects (see the header of cases.yaml)."""
    lines = err.strip().splitlines()
    if kind == "empty":
        assert err == ""
    elif kind == "one-line":
        assert lines, "nothing on stderr"
        assert lines[0].startswith("error: ")
        assert len(lines) <= 2
        assert len(lines) == 1 or lines[1].startswith("  hint: ")
    elif kind == "usage":
        assert lines[0].startswith("usage: ")
        assert len([line for line in lines if ": error: " in line]) == 1
        assert lines[-1].startswith("(see ")
    elif kind == "diagnostics":
        assert any(DIAGNOSTIC_LINE.search(line) for line in lines), lines
    else:
        assert kind == "any", kind


@pytest.mark.parametrize("case", of_kind("cli"))
def test_cli_arguments(case: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    for name, text in (case.get("write") or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    args = [fill(str(a), tmp_path) for a in case["args"]]
    r: Result = cli(*args, stdin=case.get("stdin"), env=no_defaults(tmp_path))
    assert "Traceback" not in r.err + r.out
    assert r.code == case["exit"], (r.out, r.err)
    check_stderr(case["stderr"], r.err)
    if "err" in case:
        assert case["err"] in r.err
    if "out" in case:
        assert case["out"] in r.out


# manifests inputs --------------------------------------------------------------------------


@pytest.mark.parametrize("case", of_kind("manifests"))
def test_manifests_inputs(case: dict[str, Any]) -> None:
    source = example_path() if case["definition"] == "example" else BAD / case["definition"]
    kwargs = {"role_arn": ROLE, "name": "abalone", **case["kwargs"]}
    for key, value in kwargs.get("parameters", {}).items():
        if value == "{long}":
            kwargs["parameters"][key] = "s3://bucket/" + "x" * 1100
    with pytest.raises(ManifestError) as caught:
        manifests(load(source), **kwargs)
    assert case["error"] in str(caught.value)
    assert "\n" not in str(caught.value)  # one line, whatever the view


# magics ------------------------------------------------------------------------------------


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """IPython's shell with ``%load_ext jupyter_ack`` and no defaults at all: no bucket to
    publish to and no cluster configured, so nothing leaves the process."""
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_ack.notebook import magics

    for key in KEYS:
        monkeypatch.delenv(f"JUPYTER_ACK_{key.upper()}", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    ip = InteractiveShell.instance()
    if "jupyter_ack" in ip.extension_manager.loaded:
        ip.run_line_magic("reload_ext", "jupyter_ack")
    else:
        ip.run_line_magic("load_ext", "jupyter_ack")
    assert magics._magics is not None
    settings = magics._magics.settings
    for key in KEYS:
        settings.set(key, None)
    yield ip
    for key in KEYS:
        settings.set(key, None)


def variable(source: str) -> Any:
    """A notebook variable: the example's data, or a file's JSON (its text if not JSON)."""
    if source == "example":
        return json.loads(example_path().read_text(encoding="utf-8"))
    text = (BAD / source).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@pytest.mark.parametrize("case", of_kind("magic"))
def test_magic_lines(case: dict[str, Any], shell: Any) -> None:
    from IPython.utils.capture import capture_output

    for name, source in (case.get("variables") or {}).items():
        shell.user_ns[name] = variable(source)
    with capture_output() as out:
        shell.run_cell(f"%{case['magic']} {case['line']}")
    assert "Traceback" not in out.stdout + out.stderr
    html = "\n".join(str(o.data.get("text/html", "")) for o in out.outputs)
    if case["where"] == "html":
        assert "jack-error" in html
        shown = html
    else:
        assert case["where"] == "stderr"
        assert "UsageError" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
        shown = out.stderr
    for words in case["expect"]:
        assert words in shown, shown

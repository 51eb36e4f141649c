"""Definition diffs: the pure comparison, its text / JSON / HTML renderings, S3 versions as
sources, and the ``jupyter-ack diff`` contract (exit 0 same, 1 different, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
import pytest

import jupyter_ack
from jupyter_ack.errors import SourceError
from jupyter_ack.pipeline.definition import PipelineDefinition
from jupyter_ack.pipeline.diff import ELLIPSIS, MISSING, VALUE_LIMIT, DefinitionDiff, diff
from jupyter_ack.pipeline.sources import latest_versions, load, split_version
from jupyter_ack.render import theme
from tests.conftest import Result

TRAIN, COND, FAIL = "TrainAbaloneModel", "CheckMSEAbaloneEvaluation", "AbaloneMSEFail"


def defn(data: Any, name: str = "abalone-demo") -> PipelineDefinition:
    return jupyter_ack.load(json.loads(json.dumps(data)), name=name)


def step(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A step by name, nested ones included (the tests edit definitions in place)."""
    todo = list(data["Steps"])
    while todo:
        s = todo.pop()
        if s["Name"] == name:
            return s  # type: ignore[no-any-return]
        args = s.get("Arguments", {})
        for key in ("IfSteps", "ElseSteps", "ForEachBody"):
            todo.extend(args.get(key, []))
    raise KeyError(name)


def pointers(d: DefinitionDiff, name: str) -> dict[str, tuple[str, Any, Any]]:
    (changed,) = [c for c in d.steps_changed if c.name == name]
    return {v.pointer: (v.op, v.old, v.new) for v in changed.changes}


# the comparison -------------------------------------------------------------------------------


def test_identical_definitions_are_the_same(example: dict[str, Any], example_text: str) -> None:
    d = defn(example).diff(jupyter_ack.load(example_text))
    assert d.same
    assert d.identical
    assert d.to_text() == "no differences\n"
    doc = d.to_json()
    assert set(doc) == {
        "same",
        "identical",
        "a",
        "b",
        "summary",
        "steps",
        "parameters",
        "edges",
        "other",
    }
    assert doc["same"] is True
    assert doc["steps"] == {"added": [], "removed": [], "changed": []}
    assert doc["edges"] == {"added": [], "removed": []}
    assert doc["a"]["sha256"] == doc["b"]["sha256"] == defn(example).sha256


def test_diff_method_loads_any_source(example: dict[str, Any], tmp_path: Path) -> None:
    new = json.loads(json.dumps(example))
    step(new, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = 4
    f = tmp_path / "new.json"
    f.write_text(json.dumps(new))
    d = defn(example).diff(str(f))
    assert d.b.source == str(f)
    assert [c.name for c in d.steps_changed] == [TRAIN]


def test_reordered_steps_are_the_same_but_not_identical(example: dict[str, Any]) -> None:
    other = json.loads(json.dumps(example))
    other["Steps"].reverse()
    d = diff(defn(example), defn(other))
    assert d.same
    assert not d.identical
    assert d.to_text().startswith("no differences (")


def test_changed_step_gives_pointers_with_old_and_new(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    train = step(new, TRAIN)
    train["Arguments"]["ResourceConfig"]["InstanceCount"] = 2
    train["Arguments"]["HyperParameters"]["eta"] = "0.3"
    del train["Arguments"]["HyperParameters"]["gamma"]
    train["Arguments"]["HyperParameters"]["seed"] = "7"
    d = defn(example).diff(defn(new))
    assert not d.same
    assert [c.name for c in d.steps_changed] == [TRAIN]
    assert not d.steps_added
    assert not d.steps_removed
    assert not d.edges_added
    assert pointers(d, TRAIN) == {
        "/Arguments/ResourceConfig/InstanceCount": ("replace", 1, 2),
        "/Arguments/HyperParameters/eta": ("replace", "0.2", "0.3"),
        "/Arguments/HyperParameters/gamma": ("remove", "4", MISSING),
        "/Arguments/HyperParameters/seed": ("add", MISSING, "7"),
    }
    (changed,) = d.to_json()["steps"]["changed"]
    assert changed["name"] == TRAIN
    assert changed["type"] == "Training"
    assert changed["moved"] is None
    assert {
        "pointer": "/Arguments/HyperParameters/gamma",
        "op": "remove",
        "old": "4",
        "new": None,
    } in changed["changes"]
    assert (
        "~ step TrainAbaloneModel /Arguments/ResourceConfig/InstanceCount: 1 -> 2"
        in d.to_text().splitlines()
    )
    assert '~ step TrainAbaloneModel /Arguments/HyperParameters/seed: (none) -> "7"' in (
        d.to_text()
    )
    assert d.to_text().splitlines()[-1] == "1 step changed"


@pytest.mark.parametrize(("old", "new"), [(1, 1.0), (1, True), (0, False), ("1", 1), (None, 0)])
def test_values_compare_as_json_not_as_python(example: dict[str, Any], old: Any, new: Any) -> None:
    a, b = json.loads(json.dumps(example)), json.loads(json.dumps(example))
    step(a, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = old
    step(b, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = new
    d = diff(defn(a), defn(b))
    assert pointers(d, TRAIN) == {"/Arguments/ResourceConfig/InstanceCount": ("replace", old, new)}


def test_added_and_removed_steps_with_their_edges(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    new["Steps"] = [s for s in new["Steps"] if s["Name"] != "EvaluateAbaloneModel"]
    new["Steps"].append(
        {
            "Name": "Report",
            "Type": "Lambda",
            "DependsOn": [TRAIN],
            "Arguments": {"Model": {"Get": "Steps.TrainAbaloneModel.ModelArtifacts"}},
        }
    )
    d = diff(defn(example), defn(new))
    assert [(s.name, s.type, s.parent) for s in d.steps_added] == [("Report", "Lambda", None)]
    assert [s.name for s in d.steps_removed] == ["EvaluateAbaloneModel"]
    assert d.steps_removed[0].path == "/Steps/2"  # where it was, in the older definition
    added = {(e.source, e.target, e.kind) for e in d.edges_added}
    removed = {(e.source, e.target, e.kind) for e in d.edges_removed}
    assert added == {(TRAIN, "Report", "data")}  # DependsOn too: one edge, the specific kind
    assert removed == {
        ("PreprocessAbaloneData", "EvaluateAbaloneModel", "data"),
        (TRAIN, "EvaluateAbaloneModel", "data"),
        ("EvaluateAbaloneModel", COND, "property_file"),
    }
    text = d.to_text().splitlines()
    assert "+ step Report (Lambda)" in text
    assert "- step EvaluateAbaloneModel (Processing)" in text
    assert "+ edge TrainAbaloneModel -> Report (data)" in text
    assert "- edge EvaluateAbaloneModel -> CheckMSEAbaloneEvaluation (property_file)" in text
    doc = d.to_json()
    assert doc["edges"]["added"] == [{"from": TRAIN, "to": "Report", "kind": "data"}]
    assert doc["steps"]["added"][0] == {
        "name": "Report",
        "type": "Lambda",
        "path": "/Steps/3",  # after the three remaining top-level steps
        "parent": None,
        "branch": None,
    }


def test_an_edge_whose_kind_changed_is_removed_and_added(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    notify = step(new, "NotifyModelRegistered")
    notify["Arguments"] = {"Artifacts": {"Get": "Steps.RegisterAbaloneModel.ModelPackageArn"}}
    notify.pop("DependsOn", None)
    d = diff(defn(example), defn(new))
    assert [(e.source, e.kind) for e in d.edges_added if e.target == "NotifyModelRegistered"] == [
        ("RegisterAbaloneModel", "data")
    ]
    assert ("RegisterAbaloneModel", "depends_on") in [
        (e.source, e.kind) for e in d.edges_removed if e.target == "NotifyModelRegistered"
    ]


def test_nested_branch_steps_are_steps(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    cond = step(new, COND)["Arguments"]
    step(new, FAIL)["Arguments"]["ErrorMessage"] = "MSE too high"
    cond["ElseSteps"].append({"Name": "Alert", "Type": "Lambda", "Arguments": {}})
    moved = cond["IfSteps"].pop(cond["IfSteps"].index(step(new, "CreateAbaloneModel")))
    cond["ElseSteps"].append(moved)
    d = diff(defn(example), defn(new))
    # the parent's own content did not change: its branches are steps of their own
    assert COND not in {c.name for c in d.steps_changed}
    assert [(s.name, s.parent, s.branch) for s in d.steps_added] == [("Alert", COND, "else")]
    assert pointers(d, FAIL)["/Arguments/ErrorMessage"][0] == "replace"
    (create,) = [c for c in d.steps_changed if c.name == "CreateAbaloneModel"]
    assert create.moved == ((COND, "if"), (COND, "else"))
    assert create.changes == ()
    assert d.to_json()["steps"]["changed"][-1]["moved"] == {
        "old": {"parent": COND, "branch": "if"},
        "new": {"parent": COND, "branch": "else"},
    }
    text = d.to_text()
    assert "+ step Alert (Lambda, in CheckMSEAbaloneEvaluation (else))" in text
    assert (
        "~ step CreateAbaloneModel moved: CheckMSEAbaloneEvaluation (if) -> "
        "CheckMSEAbaloneEvaluation (else)" in text
    )
    assert d.marks() == {"Alert": "added", FAIL: "changed", "CreateAbaloneModel": "changed"}


def test_parameter_changes(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    params = {p["Name"]: p for p in new["Parameters"]}
    params["ProcessingInstanceCount"]["DefaultValue"] = 2
    params["MseThreshold"]["Type"] = "String"
    params["MseThreshold"]["DefaultValue"] = "6.0"
    new["Parameters"] = [p for p in new["Parameters"] if p["Name"] != "ModelApprovalStatus"]
    new["Parameters"].append({"Name": "Region", "Type": "String", "DefaultValue": "eu-west-1"})
    d = diff(defn(example), defn(new))
    assert not d.steps_changed  # the steps read parameters; they did not change
    assert [p.name for p in d.parameters_added] == ["Region"]
    assert [p.name for p in d.parameters_removed] == ["ModelApprovalStatus"]
    assert {(c.name, c.fields) for c in d.parameters_changed} == {
        ("ProcessingInstanceCount", ("default_value",)),
        ("MseThreshold", ("type", "default_value")),
    }
    doc = d.to_json()["parameters"]
    assert doc["added"] == [
        {"name": "Region", "type": "String", "default_value": "eu-west-1", "enum_values": None}
    ]
    mse = next(c for c in doc["changed"] if c["name"] == "MseThreshold")
    assert (mse["old"]["type"], mse["new"]["type"]) == ("Float", "String")
    text = d.to_text().splitlines()
    assert "~ parameter ProcessingInstanceCount default: 1 -> 2" in text
    assert '~ parameter MseThreshold type: "Float" -> "String"' in text
    assert '+ parameter Region (String, default "eu-west-1")' in text
    assert '- parameter ModelApprovalStatus (String, default "PendingManualApproval")' in text


def test_other_top_level_content(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    new["PipelineExperimentConfig"] = {"ExperimentName": "fixed"}
    d = diff(defn(example), defn(new))
    assert [(v.pointer, v.op) for v in d.other] == [
        ("/PipelineExperimentConfig/ExperimentName", "replace"),
        ("/PipelineExperimentConfig/TrialName", "remove"),
    ]
    assert d.to_json()["other"][0]["new"] == "fixed"


def test_long_values_are_shortened_in_every_rendering(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    long_text = "x" * 1000
    step(new, TRAIN)["Arguments"]["HyperParameters"]["eta"] = long_text
    step(new, FAIL)["Arguments"]["Details"] = {"Std:Join": {"Values": ["y" * 500]}}
    d = diff(defn(example), defn(new))
    assert pointers(d, TRAIN)["/Arguments/HyperParameters/eta"][2] == long_text  # kept whole
    doc = d.to_json()
    eta = next(
        v for c in doc["steps"]["changed"] for v in c["changes"] if v["pointer"].endswith("eta")
    )
    assert len(eta["new"]) == VALUE_LIMIT
    assert eta["new"].endswith(ELLIPSIS)
    assert eta["old"] == "0.2"  # short values stay as they are
    message = next(c for c in doc["steps"]["changed"] if c["name"] == FAIL)["changes"][0]
    assert (message["pointer"], message["op"]) == ("/Arguments/Details", "add")
    assert isinstance(message["new"], str)  # a long object: its JSON text, cut
    assert message["new"].startswith('{"Std:Join":')
    assert message["new"].endswith(ELLIPSIS)
    assert len(message["new"]) == VALUE_LIMIT
    for line in d.to_text().splitlines():
        assert len(line) < 2 * VALUE_LIMIT + 100, line
    assert long_text not in d._repr_html_()


def test_terminal_text_shows_control_characters(example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    step(new, TRAIN)["Name"] = "Train\x1b[2J\x1b]0;pwned\x07"
    text = diff(defn(example), defn(new)).to_text()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "+ step Train\\x1b[2J\\x1b]0;pwned\\x07 (Training)" in text


def test_html_escapes_step_names_and_marks_the_newer_dag(example: dict[str, Any]) -> None:
    xss = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    new = json.loads(json.dumps(example))
    new["Steps"].append({"Name": xss, "Type": "Lambda", "Arguments": {"Msg": xss}})
    step(new, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = 2
    new["Steps"] = [s for s in new["Steps"] if s["Name"] != "EvaluateAbaloneModel"]
    d = diff(defn(example), defn(new))
    bundle = d._repr_mimebundle_()
    html = bundle["text/html"]
    assert bundle["text/plain"] == d.to_text()
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    root = ET.fromstring(html)  # well formed: nothing injected broke out of its element
    assert {el.tag.rsplit("}", 1)[-1] for el in root.iter()} & {"script", "img"} == set()
    nodes = {
        g.get("data-step"): g
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if g.get("class") == "jack-node"
    }
    assert nodes[xss].get("data-diff") == "added"
    assert nodes[TRAIN].get("data-diff") == "changed"
    assert nodes["PreprocessAbaloneData"].get("data-diff") is None
    rect = nodes[TRAIN].find("{http://www.w3.org/2000/svg}rect")
    assert rect is not None
    assert (rect.get("fill"), rect.get("stroke")) == theme.DIFF_COLOURS["changed"]
    assert "EvaluateAbaloneModel" not in nodes  # removed: not in the newer DAG, but listed
    (removed,) = [el for el in root.iter("div") if el.get("class") == "jack-diff-removed"]
    assert "EvaluateAbaloneModel" in "".join(removed.itertext())
    (table,) = [el for el in root.iter("table") if el.get("class") == "jack-diff-changes"]
    cells = ["".join(td.itertext()) for td in table.iter("td")]
    assert xss in cells
    assert "/Arguments/ResourceConfig/InstanceCount" in cells


def test_the_palette_carries_the_diff_colours() -> None:
    assert set(theme.to_json()["diff"]) == {"added", "changed", "removed"}
    assert theme.diff_fill("added") == theme.DIFF_COLOURS["added"]
    assert theme.diff_fill(None) == theme.IDLE


def test_same_definitions_show_no_drawing(example: dict[str, Any]) -> None:
    html = defn(example).diff(defn(example))._repr_html_()
    assert "no differences" in html
    assert "<svg" not in html


def test_diff_is_not_imported_with_the_package() -> None:
    probe = (
        "import sys, jupyter_ack\n"
        "d = jupyter_ack.load('{\"Steps\": []}')\n"
        "before = 'jupyter_ack.pipeline.diff' in sys.modules\n"
        "same = d.diff(d).same\n"
        "print(before, same)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# S3 versions as sources ------------------------------------------------------------------------


def test_split_version() -> None:
    assert split_version("s3://b/k.json") == ("s3://b/k.json", None)
    assert split_version("s3://b/k.json?versionId=abc.1_2") == ("s3://b/k.json", "abc.1_2")
    assert split_version("s3://b/odd?key.json?versionId=v%2B1") == ("s3://b/odd?key.json", "v+1")
    for bad in ("s3://b/k?versionId=", "s3://b/k?versionId=a%20b", "s3://b/k?versionId=a%1Bb"):
        with pytest.raises(SourceError, match="is not an S3 version id") as info:
            split_version(bad)
        assert "\x1b" not in str(info.value)


@pytest.fixture
def versioned(aws_env: dict[str, str], request: pytest.FixtureRequest) -> str:
    name = "d-" + request.node.name.lower().replace("_", "-")[:50].strip("-")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def put(bucket: str, key: str, data: Any) -> str:
    body = json.dumps(data).encode()
    return str(boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)["VersionId"])


def test_load_reads_the_named_version(versioned: str, example: dict[str, Any]) -> None:
    changed = json.loads(json.dumps(example))
    step(changed, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = 3
    v1 = put(versioned, "p/definition.json", example)
    v2 = put(versioned, "p/definition.json", changed)
    old = load(f"s3://{versioned}/p/definition.json?versionId={v1}")
    assert old.data == example
    assert old.source == f"s3://{versioned}/p/definition.json?versionId={v1}"
    assert load(f"s3://{versioned}/p/definition.json?versionId={v2}").data == changed
    assert load(f"s3://{versioned}/p/definition.json").data == changed  # no version: the latest
    assert latest_versions(f"s3://{versioned}/p/definition.json") == (
        f"s3://{versioned}/p/definition.json?versionId={v1}",
        f"s3://{versioned}/p/definition.json?versionId={v2}",
    )


def test_a_missing_version_is_one_clear_line(versioned: str, example: dict[str, Any]) -> None:
    put(versioned, "p/definition.json", example)
    uri = f"s3://{versioned}/p/definition.json"
    with pytest.raises(SourceError) as info:
        load(f"{uri}?versionId=nope")
    assert str(info.value) == f"no version nope of {uri}"
    assert info.value.hint is not None
    assert f"aws s3api list-object-versions --bucket {versioned} --prefix p/definition.json" in (
        info.value.hint
    )


def test_latest_versions_needs_two(versioned: str, aws_env: dict[str, str]) -> None:
    put(versioned, "p/definition.json", {"Steps": []})
    put(versioned, "p/definition.json.bak", {"Steps": []})  # a longer key: not a version
    with pytest.raises(SourceError, match="one version only"):
        latest_versions(f"s3://{versioned}/p/definition.json")
    with pytest.raises(SourceError, match="no versions found"):
        latest_versions(f"s3://{versioned}/p/none.json")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="plain-unversioned")
    s3.put_object(Bucket="plain-unversioned", Key="definition.json", Body=b"{}")
    with pytest.raises(SourceError, match="not versioned"):
        latest_versions("s3://plain-unversioned/definition.json")


# the command ---------------------------------------------------------------------------------


def write(tmp_path: Path, data: Any, name: str) -> str:
    f = tmp_path / name
    f.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return str(f)


def test_cli_identical_files_exit_0(cli: Any, tmp_path: Path, example: dict[str, Any]) -> None:
    a = write(tmp_path, example, "a.json")
    b = write(tmp_path, json.dumps(example), "b.json")  # other formatting, same definition
    r: Result = cli("diff", a, b)
    assert (r.code, r.out, r.err) == (0, "no differences\n", "")
    r = cli("diff", a, b, "--format", "json")
    assert r.code == 0
    assert r.json()["same"] is True
    assert r.json()["identical"] is True


def test_cli_different_files_exit_1(cli: Any, tmp_path: Path, example: dict[str, Any]) -> None:
    new = json.loads(json.dumps(example))
    step(new, FAIL)["Arguments"]["ErrorMessage"] = "too high"
    a, b = write(tmp_path, example, "a.json"), write(tmp_path, new, "b.json")
    r: Result = cli("diff", a, b)
    assert r.code == 1, r.err
    assert r.out.splitlines() == [
        "~ step AbaloneMSEFail /Arguments/ErrorMessage: "
        '{"Std:Join":{"On":" ","Values":["Execution failed due to MSE >",'
        '{"Get":"Parameters.MseThreshold"}]}} -> "too high"',
        "1 step changed",
    ]
    doc = cli("diff", a, b, "--format", "json").json()
    assert doc["same"] is False
    assert doc["steps"]["changed"][0]["name"] == FAIL
    assert doc["steps"]["changed"][0]["changes"][0]["new"] == "too high"
    assert doc["a"]["source"] == a
    assert doc["b"]["source"] == b


@pytest.mark.parametrize(
    "args",
    [
        ("diff",),
        ("diff", "a.json", "b.json", "c.json"),
        ("diff", "only-one.json"),
        ("diff", "no-such-a.json", "no-such-b.json"),
    ],
)
def test_cli_bad_arguments_exit_2(cli: Any, args: tuple[str, ...]) -> None:
    r: Result = cli(*args)
    assert r.code == 2, r
    assert r.out == ""
    assert "Traceback" not in r.err


def test_cli_invalid_json_exits_2(cli: Any, tmp_path: Path, example: dict[str, Any]) -> None:
    r: Result = cli("diff", write(tmp_path, example, "a.json"), write(tmp_path, "{", "b.json"))
    assert r.code == 2
    assert "JSON_SYNTAX" in r.err
    assert r.out == ""


def test_cli_diff_of_two_published_versions(
    cli: Any, versioned: str, aws_env: dict[str, str], example: dict[str, Any]
) -> None:
    from jupyter_ack.bundle.publish import publish

    changed = json.loads(json.dumps(example))
    step(changed, TRAIN)["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.4xlarge"
    first = publish(defn(example), bucket=versioned)
    second = publish(defn(changed), bucket=versioned)
    assert first.version_id
    assert second.version_id
    a = f"{first.s3_uri}?versionId={first.version_id}"
    b = f"{second.s3_uri}?versionId={second.version_id}"
    r: Result = cli("diff", a, b, env=aws_env)
    assert r.code == 1, r.err
    assert (
        "~ step TrainAbaloneModel /Arguments/ResourceConfig/InstanceType: "
        '{"Get":"Parameters.TrainingInstanceType"} -> "ml.m5.4xlarge"' in r.out.splitlines()
    )
    r = cli("diff", a, a, env=aws_env)
    assert (r.code, r.out) == (0, "no differences\n")


def test_cli_one_object_compares_its_two_newest_versions(
    cli: Any, versioned: str, aws_env: dict[str, str], example: dict[str, Any]
) -> None:
    uri = f"s3://{versioned}/team/definition.json"
    second = json.loads(json.dumps(example))
    step(second, TRAIN)["Arguments"]["ResourceConfig"]["InstanceCount"] = 2
    third = json.loads(json.dumps(second))
    step(third, FAIL)["Arguments"]["ErrorMessage"] = "stop"
    put(versioned, "team/definition.json", example)
    v2 = put(versioned, "team/definition.json", second)
    v3 = put(versioned, "team/definition.json", third)
    r: Result = cli("diff", uri, "--format", "json", env=aws_env)
    assert r.code == 1, r.err
    doc = r.json()
    assert doc["a"]["source"] == f"{uri}?versionId={v2}"
    assert doc["b"]["source"] == f"{uri}?versionId={v3}"
    assert [c["name"] for c in doc["steps"]["changed"]] == [FAIL]  # not the older change
    r = cli("diff", uri, env=aws_env)
    assert r.code == 1
    assert r.out.startswith("~ step AbaloneMSEFail /Arguments/ErrorMessage: ")


def test_cli_one_object_with_one_version_exits_2(
    cli: Any, versioned: str, aws_env: dict[str, str], example: dict[str, Any]
) -> None:
    put(versioned, "solo/definition.json", example)
    r: Result = cli("diff", f"s3://{versioned}/solo/definition.json", env=aws_env)
    assert r.code == 2
    assert r.err.splitlines()[0] == (
        f"error: s3://{versioned}/solo/definition.json: one version only: "
        "nothing to compare it with"
    )


def test_cli_missing_version_exits_2_with_one_line(
    cli: Any, versioned: str, aws_env: dict[str, str], example: dict[str, Any]
) -> None:
    v1 = put(versioned, "p/definition.json", example)
    uri = f"s3://{versioned}/p/definition.json"
    r: Result = cli("diff", f"{uri}?versionId={v1}", f"{uri}?versionId=no-such", env=aws_env)
    assert r.code == 2
    assert r.out == ""
    errors = [line for line in r.err.splitlines() if not line.startswith("  hint:")]
    assert errors == [f"error: no version no-such of {uri}"]
    assert "list-object-versions" in r.err

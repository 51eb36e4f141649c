"""Every diagnostic code: what triggers it, where it points, and that valid input stays clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack import Diagnostic, load
from tests.conftest import DATA


def codes(defn_source: Any, **kw: Any) -> list[str]:
    return [d.code for d in load(defn_source, **kw).validate()]


def only(defn_source: Any, code: str) -> Diagnostic:
    found = [d for d in load(defn_source).validate() if d.code == code]
    assert len(found) == 1, found
    return found[0]


def minimal(*steps: dict[str, Any], params: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Version": "2020-12-01", "Steps": list(steps)}
    if params is not None:
        out["Parameters"] = params
    return out


def step(name: str, typ: str = "Processing", **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": typ, "Arguments": extra.pop("Arguments", {}), **extra}


def test_bundled_example_is_clean(example: dict[str, Any]) -> None:
    assert load(example).validate() == []


# JSON_SYNTAX ---------------------------------------------------------------------------------


def test_seed_string_cut_in_the_middle() -> None:
    """A line pasted with its string cut off, the rest of the file intact."""
    d = only(DATA / "seed-cut-string.json", "JSON_SYNTAX")
    text = (DATA / "seed-cut-string.json").read_text()
    line = text.split("\n")[d.line - 1]  # type: ignore[operator]
    assert d.line == 29
    assert d.column == len(line) + 1  # the end of the line, where the string should close
    assert "line ends inside a string" in d.message
    assert d.hint
    assert "cut off" in d.hint


def test_seed_definition_truncated() -> None:
    d = only(DATA / "seed-truncated.json", "JSON_SYNTAX")
    assert (d.line, d.column) == (140, 41)
    assert d.hint
    assert "truncated" in d.hint


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ('{"Version": "2020-12-01",}', (1, 26), "trailing comma"),
        ("{'Version': '2020-12-01'}", (1, 2), "double quotes"),
        ('{"Steps": [1, 2,]}', (1, 17), "trailing comma"),
        ('{"a": 1} {"b": 2}', (1, 10), "more after the end"),
        ("", (1, 1), "empty"),
        ('{"a": NaN}', None, "NaN"),
    ],
)
def test_syntax_errors_have_position_and_hint(text: str, where: Any, hint: str) -> None:
    d = only(text if text else " ", "JSON_SYNTAX") if text else only("", "JSON_SYNTAX")
    if where is not None:
        assert (d.line, d.column) == where
    assert d.hint
    assert hint in d.hint


def test_deeply_nested_json_is_a_diagnostic() -> None:
    d = only("[" * 100_000 + "]" * 100_000, "JSON_SYNTAX")
    assert "nested too deeply" in d.message


# SCHEMA --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ([], "", "JSON object"),
        ({"Steps": [step("A")]}, "", "Version is missing"),
        ({"Version": 2020, "Steps": [step("A")]}, "/Version", "must be a string"),
        ({"Version": "2020-12-01"}, "", "Steps is missing"),
        ({"Version": "2020-12-01", "Steps": {}}, "/Steps", "must be a list"),
        ({"Version": "2020-12-01", "Steps": []}, "/Steps", "no steps"),
        (minimal("A"), "/Steps/0", "must be an object"),
        (minimal({"Type": "Processing", "Arguments": {}}), "/Steps/0", "Name is missing"),
        (
            minimal({"Name": 3, "Type": "Processing", "Arguments": {}}),
            "/Steps/0/Name",
            "must be a string",
        ),
        (minimal({"Name": "A", "Arguments": {}}), "/Steps/0", "Type is missing"),
        (minimal({"Name": "A", "Type": "Processing"}), "/Steps/0", "Arguments is missing"),
        (minimal(step("A", Arguments=[])), "/Steps/0/Arguments", "must be an object"),
        (minimal(step("A"), params={"a": 1}), "/Parameters", "must be a list"),
        (minimal(step("A"), params=[{"Type": "String"}]), "/Parameters/0", "Name is missing"),
        (minimal(step("A"), params=[{"Name": "p"}]), "/Parameters/0", "Type is missing"),
        (minimal(step("A", DependsOn="B")), "/Steps/0/DependsOn", "DependsOn must be a list"),
        (
            minimal(step("A", DependsOn=[{"Trigger": "x"}])),
            "/Steps/0/DependsOn/0",
            "DependsOn entry",
        ),
        (
            minimal(step("A", Arguments={"x": {"Get": 5}})),
            "/Steps/0/Arguments/x/Get",
            "Get expression",
        ),
        (minimal(step("A", Arguments={"s": "\ud800"})), "/Steps/0/Arguments/s", "surrogate"),
    ],
)
def test_schema(data: Any, path: str, words: str) -> None:
    d = only(data, "SCHEMA")
    assert d.path == path
    assert words in d.message
    assert d.severity == "error"


def test_schema_error_in_text_has_line_and_column() -> None:
    text = (
        '{\n  "Version": "2020-12-01",\n  "Steps": [\n'
        '    {"Name": "A", "Type": "Processing", "Arguments": 7}\n  ]\n}'
    )
    d = only(text, "SCHEMA")
    line = text.split("\n")[3]
    assert (d.line, d.column) == (4, line.index("7") + 1)


# versions, names, duplicates -----------------------------------------------------------------


def test_unsupported_version() -> None:
    d = only({"Version": "2019-01-01", "Steps": [step("A")]}, "UNSUPPORTED_VERSION")
    assert d.path == "/Version"
    assert d.hint
    assert "2020-12-01" in d.hint


def test_duplicate_step_across_branches() -> None:
    cond = step(
        "C", "Condition", Arguments={"Conditions": [], "IfSteps": [step("A")], "ElseSteps": []}
    )
    d = only(minimal(step("A"), cond), "DUPLICATE_STEP")
    assert d.step == "A"
    assert d.path == "/Steps/1/Arguments/IfSteps/0"
    assert "/Steps/0" in d.message


def test_unknown_step_type_is_a_warning() -> None:
    d = only(minimal(step("A", "Procesing")), "UNKNOWN_STEP_TYPE")
    assert d.severity == "warning"
    assert d.hint
    assert "'Processing'" in d.hint
    assert load(minimal(step("A", "Procesing"))).ok


@pytest.mark.parametrize("name", ["has space", "dot.ted", "", "semi;colon", "ünïcode"])
def test_step_name_invalid(name: str) -> None:
    d = only(minimal(step(name)), "NAME_INVALID")
    assert d.path == "/Steps/0/Name"


def test_pipeline_name_invalid() -> None:
    assert "NAME_INVALID" in codes(minimal(step("A")), name="my_pipeline")
    assert "NAME_INVALID" not in codes(minimal(step("A")), name="my-pipeline-2")


# references ----------------------------------------------------------------------------------


def test_dangling_step_parameter_and_property_file(example: dict[str, Any]) -> None:
    train = example["Steps"][1]["Arguments"]
    train["ResourceConfig"]["InstanceType"] = {"Get": "Parameters.TrainingInstanceTyp"}
    train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    cond = example["Steps"][3]["Arguments"]["Conditions"][0]
    cond["LeftValue"]["Std:JsonGet"]["PropertyFile"]["Get"] = (
        "Steps.EvaluateAbaloneModel.PropertyFiles.EvalReport"
    )
    found = {d.message: d for d in load(example).validate() if d.code == "DANGLING_REFERENCE"}
    assert set(found) == {
        "refers to parameter 'TrainingInstanceTyp', which does not exist",
        "refers to step 'Preprocess', which does not exist",
        "refers to property file 'EvalReport' of step 'EvaluateAbaloneModel', which does not exist",
    }
    param = found["refers to parameter 'TrainingInstanceTyp', which does not exist"]
    assert param.step == "TrainAbaloneModel"
    assert param.hint
    assert param.hint.startswith("did you mean 'TrainingInstanceType'")
    assert param.path == "/Steps/1/Arguments/ResourceConfig/InstanceType/Get"


def test_dangling_execution_and_unknown_root() -> None:
    data = minimal(
        step(
            "A", Arguments={"a": {"Get": "Execution.PipelineExecutionID"}, "b": {"Get": "Foo.Bar"}}
        )
    )
    messages = sorted(d.message for d in load(data).validate())
    assert messages == [
        "refers to 'Foo.Bar', which does not exist",
        "refers to execution variable 'PipelineExecutionID', which does not exist",
    ]


def test_depends_on_unknown_and_v3_object_form() -> None:
    data = minimal(
        step("Train"), step("Eval", DependsOn=["Trian", {"Step": "Train", "Trigger": "Failed"}])
    )
    d = only(data, "DEPENDS_ON_UNKNOWN")
    assert d.path == "/Steps/1/DependsOn/0"
    assert d.hint == "did you mean 'Train'?"


# cycles --------------------------------------------------------------------------------------


def test_cycle_names_its_steps_in_order() -> None:
    data = minimal(
        step("A", DependsOn=["C"]),
        step("B", Arguments={"x": {"Get": "Steps.A.ProcessingOutputConfig"}}),
        step("C", DependsOn=["B"]),
        step("D", DependsOn=["A"]),
    )
    d = only(data, "CYCLE")
    assert d.message == "steps form a cycle: A -> B -> C -> A"
    assert d.step == "A"


def test_self_dependency_is_a_cycle() -> None:
    d = only(minimal(step("A", DependsOn=["A"])), "CYCLE")
    assert d.message == "steps form a cycle: A -> A"


def test_two_separate_cycles() -> None:
    data = minimal(
        step("A", DependsOn=["B"]), step("B", DependsOn=["A"]), step("C", DependsOn=["C"])
    )
    assert codes(data).count("CYCLE") == 2


# placeholders, parameters, size, quotas ------------------------------------------------------


@pytest.mark.parametrize("marker", ["<<YOUR_BUCKET_NAME>>", "{{ bucket }}", "<YOUR_ROLE_ARN>"])
def test_placeholder(example: dict[str, Any], marker: str) -> None:
    example["Steps"][0]["Arguments"]["RoleArn"] = f"arn:aws:iam::{marker}:role/x"
    d = only(example, "PLACEHOLDER")
    assert d.severity == "error"
    assert d.step == "PreprocessAbaloneData"
    assert d.path == "/Steps/0/Arguments/RoleArn"
    assert marker in d.message


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ({"Name": "p", "Type": "Str"}, "unknown type 'Str'"),
        (
            {"Name": "p", "Type": "Integer", "DefaultValue": "1"},
            "Integer but its default is a string",
        ),
        (
            {"Name": "p", "Type": "Integer", "DefaultValue": True},
            "Integer but its default is a boolean",
        ),
        ({"Name": "p", "Type": "Float", "DefaultValue": "x"}, "Float but its default"),
        ({"Name": "p", "Type": "Boolean", "DefaultValue": 1}, "Boolean but its default"),
        ({"Name": "p q", "Type": "String"}, "not valid"),
        (
            {"Name": "p", "Type": "String", "DefaultValue": "c", "EnumValues": ["a", "b"]},
            "not one of",
        ),
    ],
)
def test_parameter_invalid(param: dict[str, Any], words: str) -> None:
    d = only(minimal(step("A"), params=[param]), "PARAMETER_INVALID")
    assert words in d.message


def test_parameter_duplicate_and_count() -> None:
    dup = [{"Name": "p", "Type": "String"}, {"Name": "p", "Type": "String"}]
    assert "declared twice" in only(minimal(step("A"), params=dup), "PARAMETER_INVALID").message
    many = [{"Name": f"p{i}", "Type": "String"} for i in range(201)]
    assert "at most 200" in only(minimal(step("A"), params=many), "PARAMETER_INVALID").message
    ok = [{"Name": f"p{i}", "Type": "Float", "DefaultValue": 1} for i in range(200)]
    assert codes(minimal(step("A"), params=ok)) == []


def test_size_limit(example: dict[str, Any]) -> None:
    example["Metadata"] = {"blob": "x" * 1_048_576}
    d = only(example, "SIZE_LIMIT")
    assert d.severity == "error"
    example["Metadata"] = {"blob": "x" * 300_000}
    d = only(example, "SIZE_LIMIT")
    assert d.severity == "info"
    assert d.hint
    assert "--server-side" in d.hint


def test_quotas() -> None:
    steps = [step(f"S{i}") for i in range(51)]
    assert "51 steps" in only(minimal(*steps), "QUOTA").message
    branch = step(
        "C",
        "Condition",
        Arguments={
            "Conditions": [],
            "IfSteps": [step(f"B{i}") for i in range(21)],
            "ElseSteps": [],
        },
    )
    assert "21 steps in IfSteps" in only(minimal(branch), "QUOTA").message
    long_name = "x" * 65
    d = only(minimal(step(long_name)), "QUOTA")
    assert d.severity == "warning"
    assert "65 characters" in d.message
    assert codes(minimal(*[step(f"S{i}") for i in range(50)])) == []


def test_diagnostics_are_sorted_errors_first(example: dict[str, Any]) -> None:
    example["Steps"][0]["Type"] = "Procesing"
    example["Steps"][2]["Arguments"]["RoleArn"] = "<<ROLE>>"
    found = load(example).validate()
    assert [d.severity for d in found] == ["error", "warning"]


def test_json_shape_of_a_diagnostic() -> None:
    d = only(minimal(step("A", "Procesing")), "UNKNOWN_STEP_TYPE")
    assert set(d.to_json()) == {
        "severity",
        "code",
        "message",
        "path",
        "step",
        "line",
        "column",
        "hint",
    }
    json.dumps(d.to_json())


def test_line_numbers_point_at_the_value(tmp_path: Path, example_text: str) -> None:
    bad = example_text.replace('"Type": "Fail"', '"Type": "Fial"')
    d = only(bad, "UNKNOWN_STEP_TYPE")
    line = bad.split("\n")[d.line - 1]  # type: ignore[operator]
    assert line[d.column - 1 :].startswith('"Fial"')  # type: ignore[operator]

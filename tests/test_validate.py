"""Every diagnostic code: what triggers it, where it points, and that valid input stays clean."""

from __future__ import annotations

import json
import re
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


# create-time rules the SDK does not check (sources in jupyter_ack/pipeline/rules.py) --------

REALISTIC = [
    DATA / "sdk_v3_abalone.json",
    DATA / "sdk_v3_step_decorator.json",
    # SDK v3 output with StepRetryPolicy / SageMakerJobStepRetryPolicy, CacheConfig "T12H",
    # In, Not and Or conditions and a Lambda step's OutputParameters
    DATA / "bad" / "inputs" / "sdk_v3_retry_conditions.json",
    Path(__file__).resolve().parent.parent / "jupyter_ack" / "examples" / "abalone.json",
]
NEW_CODES = {
    "FAIL_STEP_DOWNSTREAM",
    "CONDITION_INVALID",
    "RETRY_POLICY_INVALID",
    "CACHE_CONFIG_INVALID",
    "PROPERTY_FILE_INVALID",
    "UNKNOWN_PROPERTY",
    "ARGUMENT_LIMIT",
}


@pytest.mark.parametrize("path", REALISTIC, ids=lambda p: p.name)
def test_realistic_pipelines_stay_clean(path: Path) -> None:
    """Pipelines the SDK built (v3, offline, with tests/sdk_pipelines.py) and the bundled
    example: no diagnostic at all."""
    assert load(path).validate() == []


def cond(
    name: str, conditions: Any = None, *, outer: dict[str, Any] | None = None, **args: Any
) -> dict[str, Any]:
    """A Condition step: ``args`` go into its Arguments, ``outer`` beside them (DependsOn)."""
    arguments = {"IfSteps": [], "ElseSteps": [], **args}
    if conditions is not None:
        arguments["Conditions"] = conditions
    return step(name, "Condition", Arguments=arguments, **(outer or {}))


EQUALS = {"Type": "Equals", "LeftValue": {"Get": "Parameters.MyInt"}, "RightValue": 1}
MY_INT = [{"Name": "MyInt", "Type": "Integer", "DefaultValue": 2}]


def test_depends_on_a_fail_step_is_refused() -> None:
    """The SDK's integration test test_invalid_pipeline_depended_on_fail_step, as JSON."""
    data = minimal(
        cond("CondStep", [EQUALS], outer={"DependsOn": ["FailStep"]}),
        step("FailStep", "Fail", Arguments={"ErrorMessage": "Failed pipeline execution"}),
        params=MY_INT,
    )
    d = only(data, "FAIL_STEP_DOWNSTREAM")
    assert d.severity == "error"
    assert d.step == "CondStep"
    assert d.path == "/Steps/0/DependsOn/0"
    assert "CondStep can not depends on FailStep" in d.message
    assert d.hint
    assert not load(data).ok


def test_fail_step_downstream_v3_trigger_form_and_a_property_read() -> None:
    data = minimal(
        step("F", "Fail", Arguments={"ErrorMessage": "no"}),
        step("A", DependsOn=[{"Step": "F", "Trigger": "Failed"}]),
        step("B", Arguments={"x": {"Get": "Steps.F.ErrorMessage"}}),
    )
    found = [d for d in load(data).validate() if d.code == "FAIL_STEP_DOWNSTREAM"]
    assert [(d.step, d.path) for d in found] == [
        ("A", "/Steps/1/DependsOn/0"),
        ("B", "/Steps/2/Arguments/x/Get"),
    ]
    assert "has no properties" in found[1].message


def test_a_fail_step_may_read_other_steps() -> None:
    """test_two_step_fail_pipeline_with_join_fn: a Fail step whose message reads a Condition's
    Outcome, after a Condition with empty branches; SageMaker creates and runs it."""
    message = {"Std:Join": {"On": ": ", "Values": ["Failed", {"Get": "Steps.CondStep.Outcome"}]}}
    data = minimal(
        cond("CondStep", [EQUALS]),
        step("FailStep", "Fail", Arguments={"ErrorMessage": message}),
        params=MY_INT,
    )
    assert load(data).validate() == []


@pytest.mark.parametrize(
    ("condition", "path", "words"),
    [
        ({"Type": "Equals", "LeftValue": 1}, "/Steps/0/Arguments/Conditions/0", "RightValue"),
        ({"LeftValue": 1, "RightValue": 2}, "/Steps/0/Arguments/Conditions/0", "Type is missing"),
        ("x > 1", "/Steps/0/Arguments/Conditions/0", "must be an object"),
        ({"Type": "In", "QueryValue": 1}, "/Steps/0/Arguments/Conditions/0", "Values"),
        ({"Type": "Or"}, "/Steps/0/Arguments/Conditions/0", "Conditions (a list)"),
        ({"Type": "Not", "Condition": [EQUALS]}, "/Steps/0/Arguments/Conditions/0", "Condition"),
        (
            {
                "Type": "Or",
                "Conditions": [EQUALS, {"Type": "Not", "Condition": {"Type": "Equals"}}],
            },
            "/Steps/0/Arguments/Conditions/0/Conditions/1/Condition",
            "LeftValue and RightValue",
        ),
    ],
)
def test_condition_invalid(condition: Any, path: str, words: str) -> None:
    d = only(minimal(cond("C", [condition]), params=MY_INT), "CONDITION_INVALID")
    assert d.severity == "error"
    assert d.path == path
    assert d.step == "C"
    assert words in d.message


def test_condition_step_without_conditions() -> None:
    d = only(minimal(cond("C")), "CONDITION_INVALID")
    assert d.path == "/Steps/0/Arguments"
    assert "without Conditions" in d.message
    assert d.hint
    assert '"Conditions"' in d.hint
    d = only(minimal(cond("C", {"Type": "Equals"})), "CONDITION_INVALID")
    assert d.path == "/Steps/0/Arguments/Conditions"


def test_unknown_condition_type_is_a_warning() -> None:
    d = only(
        minimal(cond("C", [{"Type": "GreaterThen", "LeftValue": 1, "RightValue": 2}])),
        "CONDITION_INVALID",
    )
    assert d.severity == "warning"
    assert d.path == "/Steps/0/Arguments/Conditions/0/Type"
    assert d.hint
    assert "'GreaterThan'" in d.hint


def test_every_sdk_condition_shape_is_clean() -> None:
    """The shapes the SDK's conditions.py writes, and the definition schema's In form."""
    param = {"Get": "Parameters.MyInt"}
    conditions = [
        {"Type": t, "LeftValue": param, "RightValue": 1}
        for t in ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")
    ] + [
        {"Type": "In", "QueryValue": param, "Values": [1, 2]},
        {"Type": "In", "Value": param, "In": [1, 2]},
        {"Type": "Not", "Condition": EQUALS},
        {"Type": "Or", "Conditions": [EQUALS, {"Type": "Not", "Condition": EQUALS}]},
    ]
    assert load(minimal(cond("C", conditions), params=MY_INT)).validate() == []
    assert load(minimal(cond("C", []))).validate() == []  # empty: the SDK allows it


DOCS_RETRY = {  # the developer guide's example, "Configuring a retry policy"
    "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR"],
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxAttempts": 5,
}


@pytest.mark.parametrize(
    ("policy", "path", "words"),
    [
        ({"MaxAttempts": 3}, "/Steps/0/RetryPolicies/0", "needs ExceptionType"),
        ({"ExceptionType": []}, "/Steps/0/RetryPolicies/0/ExceptionType", "empty"),
        (
            {"ExceptionType": ["Step.SERVICE_FAULTS"]},
            "/Steps/0/RetryPolicies/0/ExceptionType/0",
            "'Step.SERVICE_FAULTS'",
        ),
        (
            {"ExceptionType": "Sagemaker.CAPACITY_ERROR"},
            "/Steps/0/RetryPolicies/0/ExceptionType",
            "not one",
        ),
        (
            {**DOCS_RETRY, "ExpireAfterMin": 10},
            "/Steps/0/RetryPolicies/0",
            "both MaxAttempts and ExpireAfterMin",
        ),
        ({**DOCS_RETRY, "MaxAttempts": 21}, "/Steps/0/RetryPolicies/0/MaxAttempts", "0 to 20"),
        (
            {**DOCS_RETRY, "MaxAttempts": "5"},
            "/Steps/0/RetryPolicies/0/MaxAttempts",
            "whole number",
        ),
        (
            {"ExceptionType": ["Step.THROTTLING"], "ExpireAfterMin": 14_401},
            "/Steps/0/RetryPolicies/0/ExpireAfterMin",
            "0 to 14,400",
        ),
        (
            {**DOCS_RETRY, "IntervalSeconds": 43_201},
            "/Steps/0/RetryPolicies/0/IntervalSeconds",
            "0 to 43,200",
        ),
        ({**DOCS_RETRY, "BackoffRate": -1}, "/Steps/0/RetryPolicies/0/BackoffRate", "0 or more"),
        ("Step.THROTTLING", "/Steps/0/RetryPolicies/0", "must be an object"),
    ],
)
def test_retry_policy_invalid(policy: Any, path: str, words: str) -> None:
    d = only(minimal(step("T", "Training", RetryPolicies=[policy])), "RETRY_POLICY_INVALID")
    assert (d.severity, d.path, d.step) == ("error", path, "T")
    assert words in d.message


def test_retry_policies_valid_and_misplaced() -> None:
    sdk = {  # StepRetryPolicy(...).to_request() and SageMakerJobStepRetryPolicy
        "BackoffRate": 2.0,
        "IntervalSeconds": 10,
        "ExpireAfterMin": 5,
        "ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"],
    }
    good = [DOCS_RETRY, sdk, {"ExceptionType": ["SageMaker.RESOURCE_LIMIT"], "MaxAttempts": 0}]
    assert load(minimal(step("T", "Training", RetryPolicies=good))).validate() == []
    d = only(minimal(step("T", "Training", RetryPolicies={})), "RETRY_POLICY_INVALID")
    assert "must be a list" in d.message
    d = only(minimal(cond("C", [], outer={"RetryPolicies": [DOCS_RETRY]})), "RETRY_POLICY_INVALID")
    assert d.severity == "warning"
    assert d.path == "/Steps/0/RetryPolicies"


@pytest.mark.parametrize(
    "expire",
    ["P30D", "p30d", "PT1H", "T12H", "30d", "5y", "T16m", "30dT5h", "P4DT12H", "P1Y2M3W4DT5H6M7S"],
)
def test_cache_expire_after_accepted(expire: str) -> None:
    """The forms of the developer guide ("30d", "T16m") and of the SDK ("p30d", "T12H")."""
    data = minimal(step("P", CacheConfig={"Enabled": True, "ExpireAfter": expire}))
    assert load(data).validate() == []


@pytest.mark.parametrize("expire", ["30 days", "P", "PT", "1h", "3600", "", 30, "P1.5D"])
def test_cache_expire_after_invalid(expire: Any) -> None:
    d = only(
        minimal(step("P", CacheConfig={"Enabled": True, "ExpireAfter": expire})),
        "CACHE_CONFIG_INVALID",
    )
    assert (d.severity, d.path, d.step) == ("error", "/Steps/0/CacheConfig/ExpireAfter", "P")
    assert "ISO 8601" in d.message
    assert d.hint
    assert "P30D" in d.hint


def test_cache_config_enabled_and_shape() -> None:
    d = only(
        minimal(step("P", CacheConfig={"Enabled": "true", "ExpireAfter": "P1D"})),
        "CACHE_CONFIG_INVALID",
    )
    assert d.path == "/Steps/0/CacheConfig/Enabled"
    d = only(minimal(step("P", CacheConfig={"Enabled": True})), "CACHE_CONFIG_INVALID")
    assert d.severity == "warning"
    assert "without ExpireAfter" in d.message
    d = only(minimal(step("P", CacheConfig=True)), "CACHE_CONFIG_INVALID")
    assert "must be an object" in d.message
    assert load(minimal(step("P", CacheConfig={"Enabled": False}))).validate() == []


def processing(name: str, outputs: list[Any], files: list[Any]) -> dict[str, Any]:
    return step(
        name,
        Arguments={"ProcessingOutputConfig": {"Outputs": outputs}},
        PropertyFiles=files,
    )


REPORT = {"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "e.json"}


def test_property_file_output_must_exist(example: dict[str, Any]) -> None:
    example["Steps"][2]["PropertyFiles"][0]["OutputName"] = "evaluaton"
    d = only(example, "PROPERTY_FILE_INVALID")
    assert d.step == "EvaluateAbaloneModel"
    assert d.path == "/Steps/2/PropertyFiles/0/OutputName"
    assert "'evaluaton'" in d.message
    assert d.hint == "did you mean 'evaluation'?"


def test_property_file_on_a_training_step_and_missing_fields() -> None:
    data = minimal(step("T", "Training", PropertyFiles=[REPORT]))
    d = only(data, "PROPERTY_FILE_INVALID")
    assert d.path == "/Steps/0/PropertyFiles"
    assert "Processing steps only" in d.message
    no_path = {"PropertyFileName": "Report", "OutputName": "evaluation"}
    d = only(
        minimal(processing("P", [{"OutputName": "evaluation"}], [no_path])), "PROPERTY_FILE_INVALID"
    )
    assert "needs FilePath" in d.message
    # an output name that is an expression cannot be checked: no guess
    dynamic = [{"OutputName": {"Get": "Parameters.Out"}}]
    params = [{"Name": "Out", "Type": "String"}]
    assert codes(minimal(processing("P", dynamic, [REPORT]), params=params)) == []
    assert codes(minimal(processing("P", [{"OutputName": "evaluation"}], [REPORT]))) == []


def test_unknown_property_of_a_step_type() -> None:
    data = minimal(
        step("Train", "Training"),
        step("Eval", Arguments={"m": {"Get": "Steps.Train.ModelArtifact.S3ModelArtifacts"}}),
    )
    d = only(data, "UNKNOWN_PROPERTY")
    assert (d.step, d.path) == ("Eval", "/Steps/1/Arguments/m/Get")
    assert "'ModelArtifact' of Training step 'Train'" in d.message
    assert d.hint == "did you mean 'ModelArtifacts'?"


def test_condition_and_lambda_properties() -> None:
    """A Condition step has Outcome only; Lambda and Callback steps have OutputParameters."""
    data = minimal(
        cond("C", []),
        step("L", "Lambda"),
        step(
            "P",
            Arguments={
                "a": {"Get": "Steps.C.Outcome"},
                "b": {"Get": "Steps.L.OutputParameters['model_name']"},
                "c": {"Get": "Steps.C.Outcomes"},
                "d": {"Get": "Steps.L.Outputs['x']"},
            },
        ),
    )
    found = [d for d in load(data).validate() if d.code == "UNKNOWN_PROPERTY"]
    hints = {d.path: d.hint for d in found}
    assert hints == {
        "/Steps/2/Arguments/c/Get": "did you mean 'Outcome'?",
        "/Steps/2/Arguments/d/Get": "did you mean 'OutputParameters'?",
    }
    # step types whose properties are not listed (EMR, ...) are not guessed at
    emr = minimal(step("E", "EMR"), step("P", Arguments={"x": {"Get": "Steps.E.Anything"}}))
    assert codes(emr) == []


def test_step_properties_cover_botocore() -> None:
    """rules.STEP_PROPERTIES holds every member of the Describe* shapes the SDK reads: a newer
    botocore with new members fails here rather than in a user's valid pipeline."""
    botocore_loaders = pytest.importorskip("botocore.loaders")
    from jupyter_ack.pipeline.rules import STEP_PROPERTIES, STEP_PROPERTY_SHAPES

    model = botocore_loaders.Loader().load_service_model("sagemaker", "service-2")
    for typ, shapes in STEP_PROPERTY_SHAPES.items():
        members = {m for shape in shapes for m in model["shapes"][shape]["members"]}
        assert members <= STEP_PROPERTIES[typ], (typ, sorted(members - STEP_PROPERTIES[typ]))


def test_argument_limits() -> None:
    inputs = [{"InputName": f"in{i}"} for i in range(11)]
    d = only(minimal(step("P", Arguments={"ProcessingInputs": inputs})), "ARGUMENT_LIMIT")
    assert (d.severity, d.path, d.step) == ("error", "/Steps/0/Arguments/ProcessingInputs", "P")
    assert "at most 10" in d.message
    assert codes(minimal(step("P", Arguments={"ProcessingInputs": inputs[:10]}))) == []
    channels = [{"ChannelName": f"c{i}"} for i in range(21)]
    d = only(
        minimal(step("T", "Training", Arguments={"InputDataConfig": channels})), "ARGUMENT_LIMIT"
    )
    assert "at most 20" in d.message


def test_cycle_through_a_branch_and_other_known_rejections() -> None:
    """Reading a step of one's own branch is a cycle (parent -> branch -> parent); a misspelt
    execution variable and a JsonGet on an undeclared property file dangle."""
    branch_cycle = minimal(
        cond(
            "C",
            [
                {
                    "Type": "Equals",
                    "LeftValue": {"Get": "Steps.Inner.ProcessingJobStatus"},
                    "RightValue": "x",
                }
            ],
            IfSteps=[step("Inner")],
        )
    )
    assert "steps form a cycle: C -> Inner -> C" in only(branch_cycle, "CYCLE").message
    json_get = {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.P.PropertyFiles.Report"}, "Path": "a"}
    }
    data = minimal(
        step("P"), step("Q", Arguments={"x": json_get, "y": {"Get": "Execution.StartDatetime"}})
    )
    messages = sorted(d.message for d in load(data).validate() if d.code == "DANGLING_REFERENCE")
    assert messages == [
        "refers to execution variable 'StartDatetime', which does not exist",
        "refers to property file 'Report' of step 'P', which does not exist",
    ]


def test_codes_are_stable_contracts() -> None:
    """The codes the README documents are all still emitted, and the new ones are new
    UPPER_SNAKE names (a rename would break scripts that match on them)."""
    package = Path(__file__).resolve().parent.parent / "jupyter_ack" / "pipeline"
    source = "".join(p.read_text() for p in package.glob("*.py"))
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert {"JSON_SYNTAX", "SCHEMA", "CYCLE", "DANGLING_REFERENCE"} <= documented
    for code in documented | NEW_CODES:
        assert re.fullmatch(r"[A-Z]+(_[A-Z]+)*", code)
        assert f'"{code}"' in source, code

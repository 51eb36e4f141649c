"""The SageMaker simulation: the clock model at exact instants, then boto3 over HTTP against
moto extended by it (and once in process, under ``mock_aws``, with a fake clock)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.sandbox.sagemaker import (
    ExecutionOverrides,
    MotoHandle,
    SimulationSettings,
    active_settings,
    install,
    start_moto,
)
from jupyter_ack.sandbox.simulation import (
    EXECUTION_FAILURE_REASON,
    ExecutionState,
    Plan,
    RunConfig,
    RunEvents,
    SelectionError,
    StepState,
    check_selection,
    evaluate,
)
from tests.sandbox.conftest import (
    GROUP,
    VERSION,
    condition,
    execution_manifest,
    pipeline_manifest,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
ABALONE = (ROOT / "jupyter_ack" / "examples" / "abalone.json").read_text(encoding="utf-8")
SDK_V3 = (ROOT / "tests" / "data" / "sdk_v3_abalone.json").read_text(encoding="utf-8")
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
T0 = 1000.0

# A (10 s) -> B and C (10 s each, in parallel) -> Cond (2 s) -> if: R -> L | else: F (2 s)
DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "Threshold", "Type": "Float", "DefaultValue": 6.0}],
    "Steps": [
        {"Name": "A", "Type": "Processing", "Arguments": {}},
        {"Name": "B", "Type": "Training", "Arguments": {"In": {"Get": "Steps.A.Out"}}},
        {"Name": "C", "Type": "Processing", "DependsOn": ["A"], "Arguments": {}},
        {
            "Name": "Cond",
            "Type": "Condition",
            "DependsOn": ["B", "C"],
            "Arguments": {
                "Conditions": [],
                "IfSteps": [
                    {"Name": "R", "Type": "RegisterModel", "Arguments": {}},
                    {"Name": "L", "Type": "Lambda", "DependsOn": ["R"], "Arguments": {}},
                ],
                "ElseSteps": [
                    {
                        "Name": "F",
                        "Type": "Fail",
                        "Arguments": {
                            "ErrorMessage": {
                                "Std:Join": {
                                    "On": " ",
                                    "Values": ["MSE above", {"Get": "Parameters.Threshold"}],
                                }
                            }
                        },
                    }
                ],
            },
        },
    ],
}


def model(
    definition: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
    **settings: Any,
) -> tuple[Plan, RunConfig]:
    plan = Plan.from_definition(definition or DEFINITION, parameters, "abc123def456")
    base: dict[str, Any] = {"step_seconds": 10.0, "quick_seconds": 2.0, "stop_seconds": 1.0}
    return plan, RunConfig.snapshot(SimulationSettings(**{**base, **settings}), plan)


def statuses(state: ExecutionState) -> dict[str, str]:
    return {s.name: s.status for s in state.steps}


def step(state: ExecutionState, name: str) -> StepState:
    found = state.step(name)
    assert found is not None, f"{name} is not listed: {statuses(state)}"
    return found


# The clock model ------------------------------------------------------------------------------


def test_steps_start_when_their_predecessors_succeed() -> None:
    plan, config = model()
    events = RunEvents(start=T0)

    def at(t: float) -> ExecutionState:
        return evaluate(plan, config, events, t)

    assert statuses(at(T0 + 0.5)) == {"A": "Starting"}  # the first tenth of its time
    assert statuses(at(T0 + 5)) == {"A": "Executing"}
    assert statuses(at(T0 + 15)) == {"A": "Succeeded", "B": "Executing", "C": "Executing"}
    assert statuses(at(T0 + 21))["Cond"] == "Executing"
    mid = at(T0 + 23)
    assert statuses(mid) == {
        "A": "Succeeded",
        "B": "Succeeded",
        "C": "Succeeded",
        "Cond": "Succeeded",
        "R": "Executing",
    }
    cond = step(mid, "Cond")
    assert (cond.outcome, cond.start, cond.end) == (True, T0 + 20, T0 + 22)
    assert (mid.status, mid.failure_reason) == ("Executing", None)
    done = at(T0 + 42)
    assert (done.status, done.last_modified) == ("Succeeded", T0 + 42)
    assert [s.name for s in done.steps] == ["A", "B", "C", "Cond", "R", "L"]  # F never listed
    assert [(s.start, s.end) for s in done.steps][-1] == (1032, 1042)


def test_else_branch_runs_the_fail_step_with_its_message() -> None:
    plan, config = model(parameters={"Threshold": "7.5"}, condition_outcomes={"Cond": False})
    events = RunEvents(start=T0)
    during = evaluate(plan, config, events, T0 + 23)
    assert (statuses(during)["F"], during.status) == ("Executing", "Executing")
    state = evaluate(plan, config, events, T0 + 24)
    fail = step(state, "F")
    assert fail.status == "Failed"
    assert fail.failure_reason == fail.error_message == "MSE above 7.5"
    assert step(state, "Cond").outcome is False
    assert set(statuses(state)) == {"A", "B", "C", "Cond", "F"}  # not R, not L
    assert (state.status, state.failure_reason) == ("Failed", EXECUTION_FAILURE_REASON)


def test_injected_failure_lets_running_steps_finish_then_fails() -> None:
    plan, config = model(fail_steps={"B": "AlgorithmError: boom"}, step_durations={"C": 15.0})
    events = RunEvents(start=T0)
    state = evaluate(plan, config, events, T0 + 22)
    assert statuses(state) == {"A": "Succeeded", "B": "Failed", "C": "Executing"}
    b = step(state, "B")
    assert (b.failure_reason, b.end) == ("AlgorithmError: boom", T0 + 20)
    assert state.status == "Executing"  # C still runs
    final = evaluate(plan, config, events, T0 + 100)
    assert statuses(final) == {"A": "Succeeded", "B": "Failed", "C": "Succeeded"}  # no Cond
    assert (final.status, final.failure_reason) == ("Failed", EXECUTION_FAILURE_REASON)
    assert final.last_modified == T0 + 25


def test_stop_turns_running_steps_to_stopping_then_stopped() -> None:
    plan, config = model()
    events = RunEvents(start=T0, stop_at=T0 + 15)
    before = evaluate(plan, config, events, T0 + 14.9)
    assert before.status == "Executing"
    stopping = evaluate(plan, config, events, T0 + 15.5)
    assert stopping.status == "Stopping"
    assert statuses(stopping) == {"A": "Succeeded", "B": "Stopping", "C": "Stopping"}
    stopped = evaluate(plan, config, events, T0 + 50)
    assert (stopped.status, stopped.failure_reason) == ("Stopped", None)
    assert statuses(stopped) == {"A": "Succeeded", "B": "Stopped", "C": "Stopped"}
    assert step(stopped, "B").end == T0 + 16
    assert stopped.last_modified == T0 + 16


def test_stop_at_the_instant_a_step_ends_starts_nothing_new() -> None:
    plan, config = model()
    events = RunEvents(start=T0, stop_at=T0 + 10)
    state = evaluate(plan, config, events, T0 + 10.5)
    assert (state.status, statuses(state)) == ("Stopping", {"A": "Succeeded"})
    assert evaluate(plan, config, events, T0 + 11).status == "Stopped"


def test_parallelism_limits_running_steps_and_can_change() -> None:
    plan, config = model()
    serial = RunEvents(start=T0, parallelism=1)
    state = evaluate(plan, config, serial, T0 + 15)
    assert statuses(state) == {"A": "Succeeded", "B": "Executing"}  # C waits, document order
    assert step(evaluate(plan, config, serial, T0 + 25), "C").start == T0 + 20
    widened = RunEvents(start=T0, parallelism=1, parallelism_changes=[(T0 + 12, 2)])
    assert step(evaluate(plan, config, widened, T0 + 13), "C").start == T0 + 12


def test_retry_runs_failed_steps_again_then_the_rest() -> None:
    plan, config = model(fail_steps={"B": "boom"})
    events = RunEvents(start=T0)
    assert evaluate(plan, config, events, T0 + 25).status == "Failed"
    events.retries.append(T0 + 30)
    assert evaluate(plan, config, events, T0 + 25).status == "Failed"  # the past is unchanged
    again = evaluate(plan, config, events, T0 + 35)
    assert again.status == "Executing"
    b = step(again, "B")
    assert (b.status, b.attempt, b.start) == ("Executing", 2, T0 + 30)
    done = evaluate(plan, config, events, T0 + 100)
    assert (done.status, done.last_modified) == ("Succeeded", T0 + 62)
    assert statuses(done) == dict.fromkeys(["A", "B", "C", "Cond", "R", "L"], "Succeeded")


def test_steps_after_a_branch_not_taken_never_run() -> None:
    definition = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Cond",
                "Type": "Condition",
                "Arguments": {
                    "IfSteps": [{"Name": "Yes", "Type": "Processing", "Arguments": {}}],
                    "ElseSteps": [{"Name": "No", "Type": "Processing", "Arguments": {}}],
                },
            },
            {"Name": "AfterNo", "Type": "Training", "DependsOn": ["No"], "Arguments": {}},
            {"Name": "AfterYes", "Type": "Training", "DependsOn": ["Yes"], "Arguments": {}},
        ],
    }
    plan, config = model(definition)
    state = evaluate(plan, config, RunEvents(start=T0), T0 + 100)
    assert statuses(state) == dict.fromkeys(["Cond", "Yes", "AfterYes"], "Succeeded")
    assert state.status == "Succeeded"


def test_for_each_body_runs_once_after_its_parent() -> None:
    definition = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Each",
                "Type": "ForEach",
                "Arguments": {"ForEachBody": [{"Name": "Body", "Type": "Training"}]},
            }
        ],
    }
    plan, config = model(definition)
    state = evaluate(plan, config, RunEvents(start=T0), T0 + 5)
    body = step(state, "Body")
    assert (body.status, body.start) == ("Executing", T0 + 2)


def test_an_empty_pipeline_succeeds_at_once() -> None:
    plan, config = model({"Version": "2020-12-01", "Steps": []})
    state = evaluate(plan, config, RunEvents(start=T0), T0)
    assert (state.status, state.steps) == ("Succeeded", ())


def test_render_evaluates_join_parameters_and_execution_id() -> None:
    plan = Plan.from_definition(DEFINITION, {}, "abc123def456")
    assert plan.fail_message("F") == "MSE above 6.0"  # the declared default
    join = {"Std:Join": {"On": "/", "Values": ["x", {"Get": "Execution.PipelineExecutionId"}, 2]}}
    assert plan.render(join) == "x/abc123def456/2"
    assert plan.render(True) == "true"
    other = {"Get": "Steps.B.ModelArtifacts.S3ModelArtifacts"}
    assert plan.render(other) == json.dumps(other)


def test_a_selective_plan_runs_only_its_steps_in_dag_order() -> None:
    plan, config = model()
    selective = plan.selecting(["B", "Cond", "R", "L", "F"])
    events = RunEvents(start=T0)
    # A and C are not selected: their results count as reused, so B starts at once.
    assert statuses(evaluate(selective, config, events, T0 + 5)) == {"B": "Executing"}
    done = evaluate(selective, config, events, T0 + 100)
    assert [s.name for s in done.steps] == ["B", "Cond", "R", "L"]  # F: the else branch
    assert [(s.start, s.end) for s in done.steps] == [
        (T0, T0 + 10),
        (T0 + 10, T0 + 12),
        (T0 + 12, T0 + 22),
        (T0 + 22, T0 + 32),
    ]
    assert (done.status, done.last_modified) == ("Succeeded", T0 + 32)


def test_a_selective_plan_keeps_injected_failures_and_runs_branches_it_selects() -> None:
    plan, config = model(fail_steps={"B": "boom"})
    failed = evaluate(plan.selecting(["B", "Cond"]), config, RunEvents(start=T0), T0 + 100)
    assert statuses(failed) == {"B": "Failed"}
    assert (failed.status, failed.failure_reason) == ("Failed", EXECUTION_FAILURE_REASON)
    # R sits in Cond's if branch; Cond is reused, not run, so it chooses nothing here.
    branch = evaluate(plan.selecting(["R", "L"]), config, RunEvents(start=T0), T0 + 100)
    assert (statuses(branch), branch.status) == ({"R": "Succeeded", "L": "Succeeded"}, "Succeeded")


def test_check_selection_returns_the_reused_steps_or_says_what_is_wrong() -> None:
    plan = Plan.from_definition(DEFINITION)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/source123456"
    b_failed = {"A": "Succeeded", "B": "Failed", "C": "Succeeded"}
    assert check_selection(plan, ["B", "Cond", "R", "L", "F", "B"], b_failed, arn) == ("A", "C")
    assert check_selection(plan, ["A", "B"], None, None) == ()  # nothing upstream: no source
    refused = [
        (
            ["Nope", "A", "Other"],
            b_failed,
            "Invalid SelectedSteps: the steps [Nope, Other] are not in the pipeline definition.",
        ),
        (
            ["A", "Cond"],
            b_failed,
            "Invalid SelectedSteps: all steps on the paths between two selected steps must be "
            "selected too; not selected: [B, C].",
        ),
        (
            ["B", "C"],
            None,
            "Invalid SourcePipelineExecutionArn: null. The selected steps [B, C] have "
            "dependencies on [A]",
        ),
        (
            ["Cond", "R"],
            b_failed,
            f"Invalid SourcePipelineExecutionArn: {arn}. The selected steps [Cond] have "
            "dependencies on [B] that did not succeed in the source pipeline execution "
            "(B: Failed).",
        ),
        (
            ["L"],
            {"A": "Succeeded"},
            f"Invalid SourcePipelineExecutionArn: {arn}. The selected steps [L] have "
            "dependencies on [Cond, R] that did not succeed in the source pipeline execution "
            "(Cond: did not run, R: did not run).",
        ),
    ]
    for names, source, message in refused:
        with pytest.raises(SelectionError) as info:
            check_selection(plan, names, source, arn if source is not None else None)
        assert str(info.value) == message


# boto3 over HTTP against moto ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_handle() -> Iterator[MotoHandle]:
    handle = start_moto(SimulationSettings(step_seconds=0.05))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sim(moto_handle: MotoHandle) -> Iterator[SimulationSettings]:
    """Fresh settings for each test, installed (another module may have installed its own),
    and the previous ones back afterwards: settings are per process."""
    previous = active_settings()
    moto_handle.reset()
    try:
        yield install(SimulationSettings(step_seconds=0.05))
    finally:
        install(previous)


@pytest.fixture
def sm(moto_handle: MotoHandle) -> Any:
    import boto3

    return boto3.client(
        "sagemaker",
        endpoint_url=moto_handle.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Poll until ``done(fetch())``, with a deadline: the synchronisation, never a bare sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s; last: {value}")
        time.sleep(0.01)


def start(sm: Any, definition: str, name: str = "abalone", **kwargs: Any) -> str:
    sm.create_pipeline(PipelineName=name, PipelineDefinition=definition, RoleArn=ROLE)
    return str(sm.start_pipeline_execution(PipelineName=name, **kwargs)["PipelineExecutionArn"])


def finished(sm: Any, arn: str, timeout: float = 10.0) -> dict[str, Any]:
    result: dict[str, Any] = wait(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
        lambda r: r["PipelineExecutionStatus"] not in ("Executing", "Stopping"),
        timeout,
    )
    return result


def all_steps(sm: Any, arn: str, **kwargs: Any) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for page in sm.get_paginator("list_pipeline_execution_steps").paginate(
        PipelineExecutionArn=arn, **kwargs
    ):
        steps += page["PipelineExecutionSteps"]
    return steps


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def test_abalone_runs_through_its_steps_to_success(sim: SimulationSettings, sm: Any) -> None:
    arn = start(
        sm,
        ABALONE,
        PipelineExecutionDisplayName="first-run",
        PipelineExecutionDescription="a test",
        PipelineParameters=[{"Name": "MseThreshold", "Value": "7.5"}],
    )
    first = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert first["PipelineExecutionStatus"] == "Executing"
    done = finished(sm, arn)
    assert done["PipelineExecutionStatus"] == "Succeeded"
    assert "FailureReason" not in done
    assert done["PipelineExecutionDisplayName"] == "first-run"
    assert done["PipelineExecutionDescription"] == "a test"
    assert done["CreationTime"] < done["LastModifiedTime"]
    execution_id = arn.rsplit("/", 1)[1]
    steps = {s["StepName"]: s for s in all_steps(sm, arn)}
    assert set(steps) == {
        "PreprocessAbaloneData",
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
        "RegisterAbaloneModel",
        "CreateAbaloneModel",
        "NotifyModelRegistered",
    }  # not AbaloneMSEFail: the else branch
    assert {s["StepStatus"] for s in steps.values()} == {"Succeeded"}
    assert all(s["AttemptCount"] == 1 and "CacheHitResult" not in s for s in steps.values())
    assert all(s["StartTime"] <= s["EndTime"] for s in steps.values())
    prefix = "arn:aws:sagemaker:us-east-1:123456789012"
    train = steps["TrainAbaloneModel"]["Metadata"]["TrainingJob"]["Arn"]
    assert re.fullmatch(
        rf"{prefix}:training-job/pipelines-{execution_id}-trainabalonemodel-[a-z0-9]{{10}}", train
    )
    assert steps["PreprocessAbaloneData"]["Metadata"]["ProcessingJob"]["Arn"].startswith(
        f"{prefix}:processing-job/pipelines-{execution_id}-preprocessabalonedata-"
    )
    assert steps["CreateAbaloneModel"]["Metadata"]["Model"]["Arn"].startswith(f"{prefix}:model/")
    assert steps["RegisterAbaloneModel"]["Metadata"] == {
        "RegisterModel": {"Arn": f"{prefix}:model-package/abalonemodelpackagegroup/1"}
    }
    assert steps["CheckMSEAbaloneEvaluation"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert steps["NotifyModelRegistered"]["Metadata"] == {
        "Lambda": {
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:notify-model-registered",
            "OutputParameters": [],
        }
    }
    # Order follows the DAG: each step started no earlier than its predecessors ended.
    assert steps["TrainAbaloneModel"]["StartTime"] >= steps["PreprocessAbaloneData"]["EndTime"]
    assert steps["NotifyModelRegistered"]["StartTime"] >= steps["RegisterAbaloneModel"]["EndTime"]
    summary = sm.list_pipeline_executions(PipelineName="abalone")["PipelineExecutionSummaries"]
    assert [(s["PipelineExecutionArn"], s["PipelineExecutionStatus"]) for s in summary] == [
        (arn, "Succeeded")
    ]
    params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert params["PipelineParameters"] == [{"Name": "MseThreshold", "Value": "7.5"}]


def test_steps_page_by_two_in_both_orders(sim: SimulationSettings, sm: Any) -> None:
    arn = start(sm, SDK_V3, PipelineParameters=[{"Name": "NotifyOnRegistration", "Value": "false"}])
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    first = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, MaxResults=2)
    assert len(first["PipelineExecutionSteps"]) == 2
    assert first["NextToken"]
    newest_first = all_steps(sm, arn, PaginationConfig={"PageSize": 2})
    oldest_first = all_steps(sm, arn, SortOrder="Ascending", PaginationConfig={"PageSize": 2})
    names = [s["StepName"] for s in newest_first]
    assert names == [
        "NotifyModelRegistered",
        "RegisterAbaloneModel",
        "CheckAbaloneMse",
        "EvaluateAbaloneModel",
        "TrainAbaloneModel",
        "PreprocessAbaloneData",
    ]
    assert [s["StepName"] for s in oldest_first] == names[::-1]
    starts = [s["StartTime"] for s in newest_first]
    assert starts == sorted(starts, reverse=True)


def test_injected_failure_fails_the_execution(sim: SimulationSettings, sm: Any) -> None:
    sim.fail_steps["TrainAbaloneModel"] = "AlgorithmError: out of memory"
    arn = start(sm, ABALONE)
    done = finished(sm, arn)
    assert done["PipelineExecutionStatus"] == "Failed"
    assert done["FailureReason"] == "Step failure: One or multiple steps failed."
    steps = {s["StepName"]: s for s in all_steps(sm, arn)}
    assert set(steps) == {"PreprocessAbaloneData", "TrainAbaloneModel"}
    assert steps["TrainAbaloneModel"]["StepStatus"] == "Failed"
    assert steps["TrainAbaloneModel"]["FailureReason"] == "AlgorithmError: out of memory"
    summary = sm.list_pipeline_executions(PipelineName="abalone")["PipelineExecutionSummaries"][0]
    assert summary["PipelineExecutionStatus"] == "Failed"
    assert summary["PipelineExecutionFailureReason"] == done["FailureReason"]


def test_else_branch_fail_step_by_display_name(sim: SimulationSettings, sm: Any) -> None:
    sim.executions["else-run"] = ExecutionOverrides(
        condition_outcomes={"CheckMSEAbaloneEvaluation": False}
    )
    arn = start(
        sm,
        ABALONE,
        PipelineExecutionDisplayName="else-run",
        PipelineParameters=[{"Name": "MseThreshold", "Value": "9.5"}],
    )
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Failed"
    steps = {s["StepName"]: s for s in all_steps(sm, arn)}
    assert "RegisterAbaloneModel" not in steps
    assert steps["CheckMSEAbaloneEvaluation"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    fail = steps["AbaloneMSEFail"]
    assert fail["StepStatus"] == "Failed"
    assert fail["FailureReason"] == "Execution failed due to MSE > 9.5"
    assert fail["Metadata"] == {"Fail": {"ErrorMessage": "Execution failed due to MSE > 9.5"}}


def test_stop_stops_running_steps_then_the_execution(sim: SimulationSettings, sm: Any) -> None:
    sim.step_seconds, sim.stop_seconds = 30.0, 0.5
    arn = start(sm, ABALONE)
    wait(lambda: all_steps(sm, arn), lambda steps: len(steps) == 1)  # the first step started
    sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    stopping = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert stopping["PipelineExecutionStatus"] == "Stopping"
    assert [s["StepStatus"] for s in all_steps(sm, arn)] == ["Stopping"]
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Stopped"
    (only,) = all_steps(sm, arn)
    assert (only["StepName"], only["StepStatus"]) == ("PreprocessAbaloneData", "Stopped")
    assert "EndTime" in only
    assert "FailureReason" not in only
    again = error_of(lambda: sm.stop_pipeline_execution(PipelineExecutionArn=arn))
    assert (again["Code"], again["Status"]) == ("ValidationException", 400)
    assert "Only pipelines with 'Executing' status can be stopped" in again["Message"]


def test_unknown_execution_or_pipeline_is_resource_not_found(
    sim: SimulationSettings, sm: Any
) -> None:
    missing = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/nosuchrun123"
    calls: list[Callable[[], Any]] = [
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=missing),
        lambda: sm.list_pipeline_execution_steps(PipelineExecutionArn=missing),
        lambda: sm.stop_pipeline_execution(PipelineExecutionArn=missing),
        lambda: sm.retry_pipeline_execution(PipelineExecutionArn=missing),
        lambda: sm.update_pipeline_execution(
            PipelineExecutionArn=missing, PipelineExecutionDisplayName="x"
        ),
    ]
    for call in calls:
        error = error_of(call)
        assert (error["Code"], error["Status"]) == ("ResourceNotFound", 400)
        assert missing in error["Message"]
    for call in (
        lambda: sm.start_pipeline_execution(PipelineName="nope"),
        lambda: sm.describe_pipeline(PipelineName="nope"),
    ):
        assert error_of(call)["Code"] == "ResourceNotFound"


def test_invalid_requests_are_validation_errors(sim: SimulationSettings, sm: Any) -> None:
    sm.create_pipeline(PipelineName="abalone", PipelineDefinition=ABALONE, RoleArn=ROLE)
    for parameters in (
        [{"Name": "NoSuchParameter", "Value": "1"}],
        [{"Name": "ProcessingInstanceCount", "Value": "two"}],
        [{"Name": "ModelApprovalStatus", "Value": ""}],
    ):
        error = error_of(
            lambda p=parameters: sm.start_pipeline_execution(  # type: ignore[misc]
                PipelineName="abalone", PipelineParameters=p
            )
        )
        assert (error["Code"], error["Status"]) == ("ValidationException", 400)
    assert sm.list_pipeline_executions(PipelineName="abalone")["PipelineExecutionSummaries"] == []
    arn = sm.start_pipeline_execution(PipelineName="abalone")["PipelineExecutionArn"]

    def list_steps(**kwargs: Any) -> Callable[[], Any]:
        return lambda: sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, **kwargs)

    too_many = error_of(list_steps(MaxResults=101))
    assert too_many["Code"] == "ValidationException"
    assert too_many["Message"] == (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    )
    assert error_of(list_steps(SortOrder="Sideways"))["Code"] == "ValidationException"
    assert error_of(list_steps(NextToken="!!"))["Code"] == "ValidationException"


def test_update_changes_display_name_description_parallelism(
    sim: SimulationSettings, sm: Any
) -> None:
    sim.step_seconds = 30.0
    arn = start(sm, ABALONE)
    before = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert re.fullmatch(r"execution-\d{13}", before["PipelineExecutionDisplayName"])
    wait(lambda: time.time(), lambda now: now > before["LastModifiedTime"].timestamp() + 0.01)
    sm.update_pipeline_execution(
        PipelineExecutionArn=arn,
        PipelineExecutionDisplayName="renamed",
        PipelineExecutionDescription="now described",
        ParallelismConfiguration={"MaxParallelExecutionSteps": 3},
    )
    after = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert after["PipelineExecutionDisplayName"] == "renamed"
    assert after["PipelineExecutionDescription"] == "now described"
    assert after["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 3}
    assert after["LastModifiedTime"] > before["LastModifiedTime"]


def test_retry_reruns_the_failed_step(sim: SimulationSettings, sm: Any) -> None:
    sim.fail_steps["EvaluateAbaloneModel"] = "ClientError: bad input"
    arn = start(sm, ABALONE)
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Failed"
    sm.retry_pipeline_execution(PipelineExecutionArn=arn)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == (
        "Executing"
    )
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    steps = {s["StepName"]: s for s in all_steps(sm, arn)}
    assert steps["EvaluateAbaloneModel"]["AttemptCount"] == 2
    assert steps["EvaluateAbaloneModel"]["StepStatus"] == "Succeeded"
    assert steps["TrainAbaloneModel"]["AttemptCount"] == 1
    error = error_of(lambda: sm.retry_pipeline_execution(PipelineExecutionArn=arn))
    assert error["Code"] == "ValidationException"


def test_list_executions_pages_filters_and_stays_consistent(
    sim: SimulationSettings, sm: Any
) -> None:
    sim.fail_steps["PreprocessAbaloneData"] = "boom"
    arns = [start(sm, ABALONE)]
    finished(sm, arns[0])  # one after the other: distinct creation times
    for _ in range(2):
        arns.append(sm.start_pipeline_execution(PipelineName="abalone")["PipelineExecutionArn"])
        finished(sm, arns[-1])
    pages = list(
        sm.get_paginator("list_pipeline_executions").paginate(
            PipelineName="abalone", PaginationConfig={"PageSize": 2}
        )
    )
    summaries = [s for page in pages for s in page["PipelineExecutionSummaries"]]
    assert len(pages) == 2
    assert [s["PipelineExecutionArn"] for s in summaries] == arns[::-1]  # newest first
    for summary in summaries:
        described = sm.describe_pipeline_execution(
            PipelineExecutionArn=summary["PipelineExecutionArn"]
        )
        assert (
            summary["PipelineExecutionStatus"] == described["PipelineExecutionStatus"] == "Failed"
        )
        assert summary["PipelineExecutionFailureReason"] == described["FailureReason"]
        assert summary["StartTime"] == described["CreationTime"]
    first = sm.describe_pipeline_execution(PipelineExecutionArn=arns[0])["CreationTime"]
    later = sm.list_pipeline_executions(PipelineName="abalone", CreatedAfter=first)
    assert [s["PipelineExecutionArn"] for s in later["PipelineExecutionSummaries"]] == [
        arns[2],
        arns[1],
    ]


def test_start_is_idempotent_per_client_token(sim: SimulationSettings, sm: Any) -> None:
    token = "t" * 32
    first = start(sm, ABALONE, ClientRequestToken=token)
    again = sm.start_pipeline_execution(PipelineName="abalone", ClientRequestToken=token)
    assert again["PipelineExecutionArn"] == first
    assert (
        len(sm.list_pipeline_executions(PipelineName="abalone")["PipelineExecutionSummaries"]) == 1
    )


def test_reset_forgets_everything(
    moto_handle: MotoHandle, sim: SimulationSettings, sm: Any
) -> None:
    start(sm, ABALONE)
    moto_handle.reset()
    assert sm.list_pipelines()["PipelineSummaries"] == []


# Re-runs: selective execution, versions, the execution list ------------------------------------

# A re-run from EvaluateAbaloneModel: the step and everything downstream of it.
FROM_EVALUATE = [
    "EvaluateAbaloneModel",
    "CheckMSEAbaloneEvaluation",
    "RegisterAbaloneModel",
    "CreateAbaloneModel",
    "NotifyModelRegistered",
    "AbaloneMSEFail",
]
MISSING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/nosuchrun123"


def selection(source: str | None, *steps: str) -> dict[str, Any]:
    """A SelectiveExecutionConfig as the API takes it (and DescribePipelineExecution gives it)."""
    config: dict[str, Any] = {"SelectedSteps": [{"StepName": name} for name in steps]}
    if source is not None:
        config["SourcePipelineExecutionArn"] = source
    return config


def failed_run(sim: SimulationSettings, sm: Any, step: str = "EvaluateAbaloneModel") -> str:
    """Create the abalone pipeline and run it once, failing at ``step`` (that run only)."""
    sim.executions["source"] = ExecutionOverrides(fail_steps={step: "ClientError: bad input"})
    arn = start(sm, ABALONE, PipelineExecutionDisplayName="source")
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Failed"
    return arn


def rerun(sm: Any, source: str | None, *steps: str, **kwargs: Any) -> str:
    started = sm.start_pipeline_execution(
        PipelineName="abalone", SelectiveExecutionConfig=selection(source, *steps), **kwargs
    )
    return str(started["PipelineExecutionArn"])


def summaries(sm: Any, **kwargs: Any) -> list[dict[str, Any]]:
    pages = sm.get_paginator("list_pipeline_executions").paginate(PipelineName="abalone", **kwargs)
    return [s for page in pages for s in page["PipelineExecutionSummaries"]]


def test_selective_rerun_from_the_failed_step_runs_it_and_what_follows(
    sim: SimulationSettings, sm: Any
) -> None:
    source = failed_run(sim, sm)
    before = {s["StepName"]: s for s in all_steps(sm, source)}
    assert before["EvaluateAbaloneModel"]["StepStatus"] == "Failed"
    arn = rerun(sm, source, *FROM_EVALUATE, PipelineExecutionDisplayName="rerun-1")
    described = finished(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert "FailureReason" not in described
    assert described["PipelineExecutionDisplayName"] == "rerun-1"
    assert described["SelectiveExecutionConfig"] == selection(source, *FROM_EVALUATE)

    steps = all_steps(sm, arn)
    by_name = {s["StepName"]: s for s in steps}
    reused = {name for name, s in by_name.items() if "SelectiveExecutionResult" in s}
    ran = set(by_name) - reused
    assert reused == {"PreprocessAbaloneData", "TrainAbaloneModel"}  # what Evaluate needs
    assert ran == set(FROM_EVALUATE) - {"AbaloneMSEFail"}  # the else branch is not taken
    for name in reused:  # the source's own result, marked with where it comes from
        assert by_name[name] == {
            **before[name],
            "SelectiveExecutionResult": {"SourcePipelineExecutionArn": source},
        }
    execution_id = arn.rsplit("/", 1)[1]
    for name in ran:
        assert (by_name[name]["StepStatus"], by_name[name]["AttemptCount"]) == ("Succeeded", 1)
        assert by_name[name]["StartTime"] >= described["CreationTime"]
    evaluate_job = by_name["EvaluateAbaloneModel"]["Metadata"]["ProcessingJob"]["Arn"]
    assert f"/pipelines-{execution_id}-evaluateabalonemodel-" in evaluate_job
    assert (
        by_name["CheckMSEAbaloneEvaluation"]["StartTime"]
        >= by_name["EvaluateAbaloneModel"]["EndTime"]
    )
    assert [s["StepName"] for s in steps][-2:] == ["TrainAbaloneModel", "PreprocessAbaloneData"]
    oldest_first = all_steps(sm, arn, SortOrder="Ascending", PaginationConfig={"PageSize": 3})
    assert oldest_first == steps[::-1]

    untouched = sm.describe_pipeline_execution(PipelineExecutionArn=source)
    assert untouched["PipelineExecutionStatus"] == "Failed"
    assert "SelectiveExecutionConfig" not in untouched
    assert all("SelectiveExecutionResult" not in s for s in all_steps(sm, source))


def test_selective_reruns_keep_injected_failures_and_chain(
    sim: SimulationSettings, sm: Any
) -> None:
    first = failed_run(sim, sm)
    sim.fail_steps["RegisterAbaloneModel"] = "ValidationError: no such group"
    second = rerun(sm, first, *FROM_EVALUATE)
    done = finished(sm, second)
    assert (done["PipelineExecutionStatus"], done["FailureReason"]) == (
        "Failed",
        EXECUTION_FAILURE_REASON,
    )
    failed = [s for s in all_steps(sm, second) if s["StepStatus"] == "Failed"]
    assert [(s["StepName"], s["FailureReason"]) for s in failed] == [
        ("RegisterAbaloneModel", "ValidationError: no such group")
    ]
    sim.fail_steps.clear()  # the cause is fixed: re-run the failed step from the second run
    third = rerun(sm, second, "RegisterAbaloneModel", "NotifyModelRegistered")
    assert finished(sm, third)["PipelineExecutionStatus"] == "Succeeded"
    by_name = {s["StepName"]: s for s in all_steps(sm, third)}
    assert {n for n, s in by_name.items() if "SelectiveExecutionResult" not in s} == {
        "RegisterAbaloneModel",
        "NotifyModelRegistered",
    }
    reused = {n: s for n, s in by_name.items() if "SelectiveExecutionResult" in s}
    assert set(reused) == {
        "PreprocessAbaloneData",  # reused by the second run from the first, now from the second
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
        "CreateAbaloneModel",
    }
    assert {
        s["SelectiveExecutionResult"]["SourcePipelineExecutionArn"] for s in reused.values()
    } == {second}
    first_id = first.rsplit("/", 1)[1]
    assert (
        f"/pipelines-{first_id}-" in reused["TrainAbaloneModel"]["Metadata"]["TrainingJob"]["Arn"]
    )
    assert {s["StepStatus"] for s in reused.values()} == {"Succeeded"}


def test_selective_execution_refusals(sim: SimulationSettings, sm: Any) -> None:
    from botocore.config import Config

    source = failed_run(sim, sm, "TrainAbaloneModel")
    sm.create_pipeline(PipelineName="other", PipelineDefinition=ABALONE, RoleArn=ROLE)
    other = sm.start_pipeline_execution(PipelineName="other")["PipelineExecutionArn"]
    finished(sm, other)

    def refused(config: dict[str, Any], client: Any = sm) -> tuple[str, str]:
        error = error_of(
            lambda: client.start_pipeline_execution(
                PipelineName="abalone", SelectiveExecutionConfig=config
            )
        )
        assert error["Status"] == 400  # SageMaker's ResourceNotFound is a 400 as well
        return str(error["Code"]), str(error["Message"])

    fifty_one = [f"Step{i}" for i in range(51)]
    unchecked = boto3_client(sm, Config(parameter_validation=False))
    cases: list[tuple[dict[str, Any], Any, str, str]] = [
        (
            selection(MISSING_ARN, "TrainAbaloneModel"),
            sm,
            "ResourceNotFound",
            f"Pipeline execution '{MISSING_ARN}' does not exist.",
        ),
        (
            selection(other, "TrainAbaloneModel"),
            sm,
            "ValidationException",
            f"Invalid SourcePipelineExecutionArn: {other}. It is an execution of pipeline "
            "'other', not of pipeline 'abalone'.",
        ),
        (
            selection("not-an-arn", "TrainAbaloneModel"),
            sm,
            "ValidationException",
            "1 validation error detected: Value 'not-an-arn' at "
            "'selectiveExecutionConfig.sourcePipelineExecutionArn' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$",
        ),
        (
            selection(source, "TrainAbaloneModel", "NoSuchStep"),
            sm,
            "ValidationException",
            "Invalid SelectedSteps: the steps [NoSuchStep] are not in the pipeline definition.",
        ),
        (
            selection(source, *fifty_one),
            sm,
            "ValidationException",
            f"1 validation error detected: Value '[{', '.join(fifty_one)}]' at "
            "'selectiveExecutionConfig.selectedSteps' failed to satisfy constraint: Member "
            "must have length less than or equal to 50",
        ),
        (
            selection(source),
            unchecked,  # boto3 itself refuses an empty list before sending it
            "ValidationException",
            "1 validation error detected: Value '[]' at 'selectiveExecutionConfig.selectedSteps' "
            "failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            selection(source, "EvaluateAbaloneModel", "CheckMSEAbaloneEvaluation"),
            sm,
            "ValidationException",
            f"Invalid SourcePipelineExecutionArn: {source}. The selected steps "
            "[EvaluateAbaloneModel] have dependencies on [TrainAbaloneModel] that did not "
            "succeed in the source pipeline execution (TrainAbaloneModel: Failed).",
        ),
        (
            selection(source, "CheckMSEAbaloneEvaluation"),
            sm,
            "ValidationException",
            f"Invalid SourcePipelineExecutionArn: {source}. The selected steps "
            "[CheckMSEAbaloneEvaluation] have dependencies on [EvaluateAbaloneModel] that did "
            "not succeed in the source pipeline execution (EvaluateAbaloneModel: did not run).",
        ),
        (
            selection(None, "TrainAbaloneModel"),
            sm,
            "ValidationException",
            "Invalid SourcePipelineExecutionArn: null. The selected steps [TrainAbaloneModel] "
            "have dependencies on [PreprocessAbaloneData]",  # the API's words
        ),
        (
            selection(source, "TrainAbaloneModel", "CheckMSEAbaloneEvaluation"),
            sm,
            "ValidationException",
            "Invalid SelectedSteps: all steps on the paths between two selected steps must be "
            "selected too; not selected: [EvaluateAbaloneModel].",
        ),
    ]
    for config, client, code, message in cases:
        assert refused(config, client) == (code, message)

    # A source still running, then stopping, is refused; it must have finished.
    sim.stop_seconds = 60.0
    sim.executions["long"] = ExecutionOverrides(step_durations={"PreprocessAbaloneData": 60.0})
    long = sm.start_pipeline_execution(PipelineName="abalone", PipelineExecutionDisplayName="long")
    long_arn = long["PipelineExecutionArn"]
    for status in ("Executing", "Stopping"):
        assert refused(selection(long_arn, "TrainAbaloneModel")) == (
            "ValidationException",
            f"Invalid SourcePipelineExecutionArn: {long_arn}. The source pipeline execution is "
            f"in status {status}; it must be Succeeded, Failed or Stopped.",
        )
        if status == "Executing":
            sm.stop_pipeline_execution(PipelineExecutionArn=long_arn)
    assert {s["PipelineExecutionArn"] for s in summaries(sm)} == {source, long_arn}  # none added

    # Selecting from the first step needs no source at all.
    first_only = rerun(sm, None, "PreprocessAbaloneData")
    assert finished(sm, first_only)["PipelineExecutionStatus"] == "Succeeded"
    assert [s["StepName"] for s in all_steps(sm, first_only)] == ["PreprocessAbaloneData"]
    assert "SelectiveExecutionResult" not in all_steps(sm, first_only)[0]


def boto3_client(sm: Any, config: Any) -> Any:
    """Another SageMaker client to the same endpoint, with a botocore ``Config``."""
    import boto3

    return boto3.client(
        "sagemaker",
        endpoint_url=sm.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def test_selective_rerun_runs_the_current_version_and_reuses_by_step_name(
    sim: SimulationSettings, sm: Any
) -> None:
    source = failed_run(sim, sm)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=source)["PipelineVersionId"] == 1
    fixed = json.loads(ABALONE)
    evaluate_step = next(s for s in fixed["Steps"] if s["Name"] == "EvaluateAbaloneModel")
    evaluate_step["DisplayName"] = "Evaluate (fixed)"
    update = sm.update_pipeline(PipelineName="abalone", PipelineDefinition=json.dumps(fixed))
    assert update["PipelineVersionId"] == 2
    same = sm.update_pipeline(
        PipelineName="abalone", PipelineDefinition=json.dumps(fixed, indent=1)
    )
    assert same["PipelineVersionId"] == 2  # formatting is not a new definition

    arn = rerun(sm, source, *FROM_EVALUATE)
    described = finished(sm, arn)
    assert (described["PipelineExecutionStatus"], described["PipelineVersionId"]) == (
        "Succeeded",
        2,
    )
    by_name = {s["StepName"]: s for s in all_steps(sm, arn)}
    assert by_name["EvaluateAbaloneModel"]["StepDisplayName"] == "Evaluate (fixed)"
    assert "SelectiveExecutionResult" in by_name["TrainAbaloneModel"]  # matched by name
    ran_with = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)
    assert json.loads(ran_with["PipelineDefinition"]) == fixed

    # The definition a source ran with can be run again by its version ...
    old = sm.start_pipeline_execution(PipelineName="abalone", PipelineVersionId=1)
    old_arn = old["PipelineExecutionArn"]
    assert sm.describe_pipeline_execution(PipelineExecutionArn=old_arn)["PipelineVersionId"] == 1
    old_definition = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=old_arn)
    assert json.loads(old_definition["PipelineDefinition"]) == json.loads(ABALONE)
    missing = error_of(
        lambda: sm.start_pipeline_execution(PipelineName="abalone", PipelineVersionId=3)
    )
    assert (missing["Code"], missing["Message"]) == (
        "ResourceNotFound",
        "Pipeline version 3 of pipeline 'abalone' does not exist (versions: 1 to 2).",
    )
    finished(sm, old_arn)

    # ... but a step added upstream since the source ran has no result to reuse.
    fixed["Steps"].insert(0, {"Name": "CheckData", "Type": "Processing", "Arguments": {}})
    evaluate_step["DependsOn"] = ["CheckData"]
    update = sm.update_pipeline(PipelineName="abalone", PipelineDefinition=json.dumps(fixed))
    assert update["PipelineVersionId"] == 3
    error = error_of(lambda: rerun(sm, source, *FROM_EVALUATE))
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        f"Invalid SourcePipelineExecutionArn: {source}. The selected steps "
        "[EvaluateAbaloneModel] have dependencies on [CheckData] that did not succeed in the "
        "source pipeline execution (CheckData: did not run).",
    )


def test_stopped_and_finished_executions_stay_listed_sorted_and_paged(
    sim: SimulationSettings, sm: Any
) -> None:
    sim.executions["fails"] = ExecutionOverrides(fail_steps={"PreprocessAbaloneData": "boom"})
    sim.executions["to-stop"] = ExecutionOverrides(step_durations={"TrainAbaloneModel": 60.0})
    succeeded = start(sm, ABALONE, PipelineExecutionDisplayName="succeeds")
    finished(sm, succeeded)  # one after the other: distinct creation times
    failed = sm.start_pipeline_execution(
        PipelineName="abalone", PipelineExecutionDisplayName="fails"
    )
    failed_arn = failed["PipelineExecutionArn"]
    finished(sm, failed_arn)
    stopped = sm.start_pipeline_execution(
        PipelineName="abalone", PipelineExecutionDisplayName="to-stop"
    )["PipelineExecutionArn"]
    wait(lambda: all_steps(sm, stopped), lambda steps: len(steps) == 2)  # Train has started
    sm.stop_pipeline_execution(PipelineExecutionArn=stopped)
    assert finished(sm, stopped)["PipelineExecutionStatus"] == "Stopped"

    newest_first = summaries(sm)
    assert [
        (s["PipelineExecutionArn"], s["PipelineExecutionStatus"], s["PipelineExecutionDisplayName"])
        for s in newest_first
    ] == [
        (stopped, "Stopped", "to-stop"),
        (failed_arn, "Failed", "fails"),
        (succeeded, "Succeeded", "succeeds"),
    ]
    reasons = [s.get("PipelineExecutionFailureReason") for s in newest_first]
    assert reasons == [None, EXECUTION_FAILURE_REASON, None]
    arns = [stopped, failed_arn, succeeded]
    assert [s["PipelineExecutionArn"] for s in summaries(sm, SortOrder="Ascending")] == arns[::-1]
    by_arn = summaries(sm, SortBy="PipelineExecutionArn", SortOrder="Ascending")
    assert [s["PipelineExecutionArn"] for s in by_arn] == sorted(arns)
    by_arn_desc = summaries(sm, SortBy="PipelineExecutionArn")
    assert [s["PipelineExecutionArn"] for s in by_arn_desc] == sorted(arns, reverse=True)

    page = sm.list_pipeline_executions(PipelineName="abalone", MaxResults=1)
    pages = [page]
    while "NextToken" in page:
        page = sm.list_pipeline_executions(
            PipelineName="abalone", MaxResults=1, NextToken=page["NextToken"]
        )
        pages.append(page)
    assert [p["PipelineExecutionSummaries"] for p in pages] == [[s] for s in newest_first]

    created = {
        arn: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["CreationTime"]
        for arn in arns
    }
    before = summaries(sm, CreatedBefore=created[stopped])
    assert [s["PipelineExecutionArn"] for s in before] == [failed_arn, succeeded]
    between = summaries(sm, CreatedAfter=created[succeeded], CreatedBefore=created[stopped])
    assert [s["PipelineExecutionArn"] for s in between] == [failed_arn]
    bad = error_of(lambda: sm.list_pipeline_executions(PipelineName="abalone", SortBy="Name"))
    assert (bad["Code"], bad["Message"]) == (
        "ValidationException",
        "1 validation error detected: Value 'Name' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [CreationTime, PipelineExecutionArn]",
    )

    # A Stopped execution is a valid source: re-run what it did not finish.
    arn = rerun(sm, stopped, "TrainAbaloneModel", *FROM_EVALUATE)
    assert finished(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    reused = [s["StepName"] for s in all_steps(sm, arn) if "SelectiveExecutionResult" in s]
    assert reused == ["PreprocessAbaloneData"]


def test_display_name_round_trip_and_validation(sim: SimulationSettings, sm: Any) -> None:
    arn = start(sm, ABALONE, PipelineExecutionDisplayName="Re-run--2-of-abalone")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionDisplayName"] == "Re-run--2-of-abalone"
    assert summaries(sm)[0]["PipelineExecutionDisplayName"] == "Re-run--2-of-abalone"
    longest = "a" * 82
    finished(
        sm,
        sm.start_pipeline_execution(PipelineName="abalone", PipelineExecutionDisplayName=longest)[
            "PipelineExecutionArn"
        ],
    )
    assert summaries(sm)[0]["PipelineExecutionDisplayName"] == longest
    for bad in ("-starts-with-a-dash", "ends-with-a-dash-", "has_underscore", "a" * 83):
        error = error_of(
            lambda b=bad: sm.start_pipeline_execution(  # type: ignore[misc]
                PipelineName="abalone", PipelineExecutionDisplayName=b
            )
        )
        assert (error["Code"], error["Status"]) == ("ValidationException", 400)
        assert error["Message"] == (
            f"1 validation error detected: Value '{bad}' at 'pipelineExecutionDisplayName' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$"
        )
    assert len(summaries(sm)) == 2


# In process, under mock_aws, with a fake clock -------------------------------------------------


@pytest.fixture
def fake_clock() -> Iterator[list[float]]:
    """Settings whose clock reads ``now[0]``, installed, and the previous ones back afterwards."""
    now = [5000.0]
    previous = active_settings()
    install(SimulationSettings(step_seconds=10.0, clock=lambda: now[0]))
    try:
        yield now
    finally:
        install(previous)


def test_in_process_with_a_fake_clock_gives_exact_states(fake_clock: list[float]) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sm = boto3.client(
            "sagemaker",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        arn = start(sm, ABALONE)
        assert arn.startswith("arn:aws:sagemaker:eu-west-1:123456789012:pipeline/abalone/")
        fake_clock[0] = 5015.0
        steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
            ("TrainAbaloneModel", "Executing"),
            ("PreprocessAbaloneData", "Succeeded"),
        ]
        assert steps[0]["StartTime"].timestamp() == 5010.0
        assert steps[1]["EndTime"].timestamp() == 5010.0
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert described["PipelineExecutionDisplayName"] == "execution-5000000"
        assert described["CreationTime"].timestamp() == 5000.0
        fake_clock[0] = 6000.0
        final = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert final["PipelineExecutionStatus"] == "Succeeded"


# Through the ACK controller emulator ------------------------------------------------------------


@pytest.fixture
def ack(sandbox: Any) -> Iterator[Any]:
    """The module's sandbox with its own simulation settings active (other tests here install
    theirs), and the previous ones back afterwards."""
    previous = active_settings()
    install(sandbox.simulation)
    try:
        yield sandbox
    finally:
        install(previous)


def test_ack_selective_rerun_and_deleted_runs_stay_listed(
    ack: Any, custom: Any, namespace: str
) -> None:
    def create(plural: str, body: dict[str, Any]) -> None:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)

    def status(obj: dict[str, Any] | None) -> dict[str, Any]:
        return dict((obj or {}).get("status") or {})

    def reaches(*states: str) -> Callable[[dict[str, Any] | None], bool]:
        return lambda obj: status(obj).get("pipelineExecutionStatus") in states

    def delete(name: str) -> None:
        custom.delete_namespaced_custom_object(
            GROUP, VERSION, namespace, "pipelineexecutions", name
        )
        wait_for(custom, "pipelineexecutions", namespace, name, lambda obj: obj is None)

    pipeline = f"rerun-{namespace}"[:60].rstrip("-")
    ack.simulation.executions[f"{pipeline}-source"] = ExecutionOverrides(
        fail_steps={"EvaluateAbaloneModel": "ClientError: bad input"}
    )
    ack.simulation.executions[f"{pipeline}-long"] = ExecutionOverrides(
        step_durations={"PreprocessAbaloneData": 60.0}
    )
    create("pipelines", pipeline_manifest(pipeline, ABALONE, namespace))
    wait_for(
        custom,
        "pipelines",
        namespace,
        pipeline,
        lambda obj: (condition(obj, "ACK.ResourceSynced") or {}).get("status") == "True",
    )
    create(
        "pipelineexecutions",
        execution_manifest(
            "source", pipeline, namespace, pipelineExecutionDisplayName=f"{pipeline}-source"
        ),
    )
    source = wait_for(custom, "pipelineexecutions", namespace, "source", reaches("Failed"))
    source_arn = status(source)["ackResourceMetadata"]["arn"]

    selective = {
        "sourcePipelineExecutionARN": source_arn,
        "selectedSteps": [{"stepName": name} for name in FROM_EVALUATE],
    }
    create(
        "pipelineexecutions",
        execution_manifest("rerun", pipeline, namespace, selectiveExecutionConfig=selective),
    )
    done = wait_for(
        custom, "pipelineexecutions", namespace, "rerun", reaches("Failed", "Succeeded")
    )
    assert status(done)["pipelineExecutionStatus"] == "Succeeded"
    rerun_arn = status(done)["ackResourceMetadata"]["arn"]
    sm = ack.aws_client("sagemaker")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=rerun_arn)
    assert described["SelectiveExecutionConfig"] == selection(source_arn, *FROM_EVALUATE)
    reused = [s["StepName"] for s in all_steps(sm, rerun_arn) if "SelectiveExecutionResult" in s]
    assert reused == ["TrainAbaloneModel", "PreprocessAbaloneData"]

    # A refused selection is an AWS error in the conditions (retried: not a terminal code).
    bad = {"sourcePipelineExecutionARN": source_arn, "selectedSteps": [{"stepName": "Nope"}]}
    create(
        "pipelineexecutions",
        execution_manifest("bad", pipeline, namespace, selectiveExecutionConfig=bad),
    )
    refused = wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "bad",
        lambda obj: condition(obj, "ACK.Recoverable") is not None,
    )
    message = (condition(refused, "ACK.Recoverable") or {}).get("message", "")
    assert "ValidationException: Invalid SelectedSteps: the steps [Nope]" in message
    delete("bad")

    # Deleting the objects leaves the SageMaker records; a running one is stopped first.
    create(
        "pipelineexecutions",
        execution_manifest(
            "long", pipeline, namespace, pipelineExecutionDisplayName=f"{pipeline}-long"
        ),
    )
    running = wait_for(custom, "pipelineexecutions", namespace, "long", reaches("Executing"))
    long_arn = status(running)["ackResourceMetadata"]["arn"]
    for name in ("source", "rerun", "long"):
        delete(name)
    rows = wait(
        lambda: sm.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"],
        lambda rows: all(r["PipelineExecutionStatus"] != "Stopping" for r in rows),
    )
    assert {r["PipelineExecutionArn"]: r["PipelineExecutionStatus"] for r in rows} == {
        source_arn: "Failed",
        rerun_arn: "Succeeded",
        long_arn: "Stopped",
    }

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
    StepState,
    evaluate,
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

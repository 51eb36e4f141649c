"""Run operations beyond submit, end to end on the sandbox through the CLI: a stopped run stays
visible (status, history, list), re-run with new parameters, and a selective re-run from the
step that failed."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_ack.sandbox import Sandbox
from jupyter_ack.sandbox.simulation import ExecutionOverrides
from tests.conftest import run
from tests.sandbox.conftest import EXAMPLE, ROLE, wait_for

JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))


def cli(sandbox: Sandbox, *args: str) -> Any:
    return run([JUPYTER_ACK, *args], env={**sandbox.env, "NO_COLOR": "1"}, timeout=120)


def submit(sandbox: Sandbox, namespace: str, pipeline: str, run_name: str, *extra: str) -> Any:
    r = cli(
        sandbox,
        "submit",
        str(EXAMPLE),
        "--name",
        pipeline,
        "--role-arn",
        ROLE,
        "--execute",
        "--run-name",
        run_name,
        "-n",
        namespace,
        *extra,
    )
    assert r.code in (0, 1), r.err
    return r


def sagemaker_state(sandbox: Sandbox, pipeline: str, display_name: str, wanted: str) -> None:
    """Until SageMaker reports the run named ``display_name`` in state ``wanted`` (bounded)."""
    sm = sandbox.aws_client("sagemaker")
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        for s in sm.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]:
            if s.get("PipelineExecutionDisplayName") == display_name:
                last = s["PipelineExecutionStatus"]
        if last == wanted:
            return
        time.sleep(0.1)  # polling SageMaker's API: it offers no event to wait on
    raise AssertionError(f"{display_name} is {last}, not {wanted}")


def test_a_stopped_run_stays_visible(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    sandbox.simulation.executions["keep-1"] = ExecutionOverrides(
        step_durations={"PreprocessAbaloneData": 60.0}
    )
    submit(sandbox, namespace, "abalone-keep", "keep-1")
    wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "keep-1",
        lambda o: ((o or {}).get("status") or {}).get("pipelineExecutionStatus") == "Executing",
    )
    assert cli(sandbox, "stop", "keep-1", "-n", namespace).code == 0
    wait_for(custom, "pipelineexecutions", namespace, "keep-1", lambda o: o is None)
    sagemaker_state(sandbox, "abalone-keep", "keep-1", "Stopped")

    status = cli(sandbox, "status", "keep-1", "-n", namespace, "--format", "json")
    assert status.code == 1, status.err  # a stopped run is not a success
    doc = json.loads(status.out)
    assert (doc["name"], doc["status"], doc["in_cluster"]) == ("keep-1", "Stopped", False)
    assert doc["steps_source"] == "sagemaker"
    assert "PreprocessAbaloneData" in {s["name"] for s in doc["steps"]}

    history = cli(sandbox, "history", "abalone-keep", "-n", namespace)
    assert history.code == 0, history.err
    row = next(line for line in history.out.splitlines() if line.startswith("keep-1"))
    assert "Stopped" in row
    assert "(object gone)" in row
    by_object = cli(sandbox, "history", "abalone-keep", "-n", namespace, "--format", "json")
    assert [r["status"] for r in json.loads(by_object.out)] == ["Stopped"]

    listing = cli(sandbox, "list", "-n", namespace)
    assert listing.code == 0, listing.err
    row = next(line for line in listing.out.splitlines() if line.startswith("keep-1"))
    assert "Stopped" in row

    again = cli(sandbox, "stop", "keep-1", "-n", namespace)
    assert again.code == 1
    assert "no longer in namespace" in again.err
    assert "Stopped" in again.err


def test_rerun_from_the_failed_step_runs_only_it_and_what_follows(
    sandbox: Sandbox, namespace: str
) -> None:
    sandbox.simulation.executions["fails-1"] = ExecutionOverrides(
        fail_steps={"TrainAbaloneModel": "AlgorithmError: the loss went to NaN"}
    )
    failed = submit(sandbox, namespace, "abalone-rerun", "fails-1", "--wait")
    assert failed.code == 1
    assert "TrainAbaloneModel" in failed.out

    later = cli(sandbox, "rerun", "fails-1", "--from-step", "EvaluateAbaloneModel", "-n", namespace)
    assert later.code == 1
    assert "need TrainAbaloneModel (Failed) from run fails-1" in later.err
    assert "--from-step TrainAbaloneModel" in later.err
    gap = cli(
        sandbox,
        "rerun",
        "fails-1",
        "--steps",
        "TrainAbaloneModel,CheckMSEAbaloneEvaluation",
        "-n",
        namespace,
    )
    assert gap.code == 1
    assert "must be selected too: EvaluateAbaloneModel" in gap.err

    r = cli(
        sandbox,
        "rerun",
        "fails-1",
        "--from-step",
        "TrainAbaloneModel",
        "--run-name",
        "fixed-1",
        "--wait",
        "-n",
        namespace,
    )
    assert r.code == 0, r.out + r.err
    assert "pipelineexecutions/fixed-1 created (re-run of fails-1)" in r.out

    status = json.loads(cli(sandbox, "status", "fixed-1", "-n", namespace, "--format", "json").out)
    assert status["status"] == "Succeeded"
    ran = {s["name"] for s in status["steps"] if not s["from_run"]}
    taken = {s["name"] for s in status["steps"] if s["from_run"]}
    assert "PreprocessAbaloneData" not in ran  # upstream of the selection: not run again
    assert "PreprocessAbaloneData" in taken
    assert {"TrainAbaloneModel", "EvaluateAbaloneModel"} <= ran
    assert status["selected_steps"][0] == "TrainAbaloneModel"

    sm = sandbox.aws_client("sagemaker")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=status["arn"])
    source = described["SelectiveExecutionConfig"]["SourcePipelineExecutionArn"]
    assert source.endswith(
        json.loads(cli(sandbox, "status", "fails-1", "-n", namespace, "--format", "json").out)[
            "arn"
        ].rsplit("/", 1)[-1]
    )


def test_rerun_with_a_new_parameter_value(sandbox: Sandbox, namespace: str) -> None:
    submit(sandbox, namespace, "abalone-params", "first-1", "-p", "MseThreshold=7.0", "--wait")
    r = cli(
        sandbox,
        "rerun",
        "first-1",
        "-p",
        "MseThreshold=9.5",
        "--run-name",
        "second-1",
        "--wait",
        "-n",
        namespace,
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["run"] == "second-1"
    assert doc["status"]["parameters"]["MseThreshold"] == "9.5"
    sm = sandbox.aws_client("sagemaker")
    seen = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=doc["status"]["arn"])
    values = {p["Name"]: p["Value"] for p in seen["PipelineParameters"]}
    assert values["MseThreshold"] == "9.5"  # what SageMaker was started with


def test_rerun_refuses_what_sagemaker_would(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    submit(sandbox, namespace, "abalone-refuse", "done-1", "--wait")
    unknown = cli(sandbox, "rerun", "done-1", "--from-step", "NoSuchStep", "-n", namespace)
    assert unknown.code == 1
    assert "no step 'NoSuchStep' in pipeline abalone-refuse" in unknown.err
    bad = cli(sandbox, "rerun", "done-1", "-p", "Bogus=1", "-n", namespace)
    assert bad.code == 1
    assert "unknown parameter 'Bogus'" in bad.err
    missing = cli(sandbox, "rerun", "nope", "-n", namespace)
    assert missing.code == 1
    assert "no run 'nope'" in missing.err
    both = cli(sandbox, "rerun", "done-1", "--from-step", "A", "--steps", "B", "-n", namespace)
    assert both.code == 2

    sandbox.simulation.executions["busy-1"] = ExecutionOverrides(
        step_durations={"PreprocessAbaloneData": 60.0}
    )
    submit(sandbox, namespace, "abalone-refuse", "busy-1")
    wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "busy-1",
        lambda o: ((o or {}).get("status") or {}).get("pipelineExecutionStatus") == "Executing",
    )
    busy = cli(sandbox, "rerun", "busy-1", "--from-step", "TrainAbaloneModel", "-n", namespace)
    assert busy.code == 1
    assert "run busy-1 is Executing" in busy.err
    runs = custom.list_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", namespace, "pipelineexecutions"
    )["items"]
    assert sorted(o["metadata"]["name"] for o in runs) == ["busy-1", "done-1"]  # nothing created
    cli(sandbox, "stop", "busy-1", "-n", namespace)

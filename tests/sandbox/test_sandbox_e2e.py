"""End to end on the sandbox: kubectl applies ACK objects, the controller emulator runs them on
the SageMaker simulation, and everything is observed over HTTP as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from jupyter_ack.sandbox import Sandbox
from tests.sandbox.conftest import (
    EXAMPLE,
    GROUP,
    VERSION,
    condition,
    execution_manifest,
    kubectl,
    pipeline_manifest,
    wait_for,
)

DEFINITION = json.dumps(json.loads(EXAMPLE.read_text()), separators=(",", ":"))


def apply(sandbox: Sandbox, *docs: dict[str, Any], server_side: bool = False) -> None:
    args = ["apply", "-f", "-"] + (["--server-side"] if server_side else [])
    kubectl(sandbox, *args, stdin=yaml.safe_dump_all(docs))


def synced(obj: dict[str, Any] | None) -> bool:
    c = condition(obj, "ACK.ResourceSynced")
    return c is not None and c["status"] == "True"


def finished(obj: dict[str, Any] | None) -> bool:
    state = ((obj or {}).get("status") or {}).get("pipelineExecutionStatus")
    return state in ("Succeeded", "Failed", "Stopped")


def test_apply_pipeline_and_run_it_to_success(
    sandbox: Sandbox, custom: Any, namespace: str
) -> None:
    apply(sandbox, pipeline_manifest("abalone", DEFINITION, namespace))
    pipeline = wait_for(custom, "pipelines", namespace, "abalone", synced)
    assert pipeline is not None
    assert pipeline["status"]["pipelineStatus"] == "Active"
    assert pipeline["status"]["ackResourceMetadata"]["arn"].endswith(":pipeline/abalone")
    assert pipeline["metadata"]["finalizers"] == ["finalizers.sagemaker.services.k8s.aws/Pipeline"]
    assert [c["type"] for c in pipeline["status"]["conditions"]] == ["ACK.ResourceSynced", "Ready"]

    seen: list[str] = []

    def record(obj: dict[str, Any] | None) -> bool:
        state = ((obj or {}).get("status") or {}).get("pipelineExecutionStatus")
        if state and (not seen or seen[-1] != state):
            seen.append(state)
        return finished(obj)

    apply(
        sandbox,
        execution_manifest(
            "run-1",
            "abalone",
            namespace,
            pipelineParameters=[{"name": "MseThreshold", "value": "7.5"}],
        ),
    )
    run = wait_for(custom, "pipelineexecutions", namespace, "run-1", record)
    assert run is not None
    assert seen == ["Executing", "Succeeded"]
    sync = condition(run, "ACK.ResourceSynced")
    assert sync is not None
    assert (sync["status"], sync["message"]) == (
        "True",
        "PipelineExecution is in Succeeded status.",
    )
    arn = run["status"]["ackResourceMetadata"]["arn"]

    sm = sandbox.aws_client("sagemaker")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    names = {s["StepName"]: s["StepStatus"] for s in steps}
    assert set(names.values()) == {"Succeeded"}
    assert "TrainAbaloneModel" in names
    assert "RegisterAbaloneModel" in names
    assert "AbaloneMSEFail" not in names  # the else branch was not taken
    params = {
        p["Name"]: p["Value"]
        for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
            "PipelineParameters"
        ]
    }
    assert params["MseThreshold"] == "7.5"


def test_kubectl_shows_printer_columns(sandbox: Sandbox, custom: Any, namespace: str) -> None:
    apply(sandbox, pipeline_manifest("cols", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "cols", synced)
    sandbox.fail_step("TrainAbaloneModel", "AlgorithmError: out of memory")
    try:
        apply(sandbox, execution_manifest("cols-run", "cols", namespace))
        run = wait_for(custom, "pipelineexecutions", namespace, "cols-run", finished)
    finally:
        sandbox.simulation.fail_steps.clear()
    assert run is not None
    assert run["status"]["pipelineExecutionStatus"] == "Failed"
    out = kubectl(sandbox, "get", "pipelines", "-n", namespace).stdout
    # a CRD with printer columns gets no Age column unless it declares one (as the real server)
    assert out.split("\n")[0].split() == ["NAME", "STATUS"]
    assert out.split("\n")[1].split()[:2] == ["cols", "Active"]
    wide = kubectl(sandbox, "get", "pipelineexecutions", "-n", namespace, "-o", "wide").stdout
    header, row = wide.split("\n")[:2]
    assert header.split() == ["NAME", "FAILURE-REASON", "STATUS"]
    assert "Failed" in row
    narrow = kubectl(sandbox, "get", "pipelineexecutions", "-n", namespace).stdout
    assert "FAILURE-REASON" not in narrow


def test_failed_step_fails_the_run_with_its_reason(
    sandbox: Sandbox, custom: Any, namespace: str
) -> None:
    apply(sandbox, pipeline_manifest("fails", DEFINITION, namespace), server_side=True)
    wait_for(custom, "pipelines", namespace, "fails", synced)
    sandbox.fail_step("EvaluateAbaloneModel", "ClientError: evaluation.py exited with 1")
    try:
        apply(sandbox, execution_manifest("fails-1", "fails", namespace), server_side=True)
        run = wait_for(custom, "pipelineexecutions", namespace, "fails-1", finished)
    finally:
        sandbox.simulation.fail_steps.clear()
    assert run is not None
    assert run["status"]["pipelineExecutionStatus"] == "Failed"
    assert run["status"]["failureReason"]
    assert condition(run, "ACK.Terminal") is None  # a failed run is not a terminal ACK error
    steps = sandbox.aws_client("sagemaker").list_pipeline_execution_steps(
        PipelineExecutionArn=run["status"]["ackResourceMetadata"]["arn"]
    )["PipelineExecutionSteps"]
    failed = [s for s in steps if s["StepStatus"] == "Failed"]
    assert [s["StepName"] for s in failed] == ["EvaluateAbaloneModel"]
    assert failed[0]["FailureReason"] == "ClientError: evaluation.py exited with 1"


def test_deleting_a_running_execution_stops_it(
    sandbox: Sandbox, custom: Any, namespace: str
) -> None:
    apply(sandbox, pipeline_manifest("stopme", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "stopme", synced)
    sandbox.simulation.step_seconds = 30.0
    try:
        apply(sandbox, execution_manifest("long", "stopme", namespace))
        run = wait_for(
            custom,
            "pipelineexecutions",
            namespace,
            "long",
            lambda o: ((o or {}).get("status") or {}).get("pipelineExecutionStatus") == "Executing",
        )
        assert run is not None
        arn = run["status"]["ackResourceMetadata"]["arn"]
        kubectl(sandbox, "delete", "pipelineexecution", "long", "-n", namespace, "--wait=false")
        wait_for(custom, "pipelineexecutions", namespace, "long", lambda o: o is None)
    finally:
        sandbox.simulation.step_seconds = 0.2
    described = sandbox.aws_client("sagemaker").describe_pipeline_execution(
        PipelineExecutionArn=arn
    )
    assert described["PipelineExecutionStatus"] == "Stopped"  # the SageMaker record stays


def test_retain_policy_leaves_the_run_alone(sandbox: Sandbox, custom: Any, namespace: str) -> None:
    apply(sandbox, pipeline_manifest("keep", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "keep", synced)
    sandbox.simulation.step_seconds = 30.0
    try:
        manifest = execution_manifest("kept", "keep", namespace)
        manifest["metadata"]["annotations"] = {"services.k8s.aws/deletion-policy": "retain"}
        apply(sandbox, manifest)
        run = wait_for(
            custom,
            "pipelineexecutions",
            namespace,
            "kept",
            lambda o: bool(
                ((o or {}).get("status") or {}).get("ackResourceMetadata", {}).get("arn")
            ),
        )
        assert run is not None
        arn = run["status"]["ackResourceMetadata"]["arn"]
        kubectl(sandbox, "delete", "pipelineexecution", "kept", "-n", namespace)
        wait_for(custom, "pipelineexecutions", namespace, "kept", lambda o: o is None)
        state = sandbox.aws_client("sagemaker").describe_pipeline_execution(
            PipelineExecutionArn=arn
        )
        assert state["PipelineExecutionStatus"] == "Executing"
    finally:
        sandbox.simulation.step_seconds = 0.2


def test_execution_before_its_pipeline_is_terminal_until_edited(
    sandbox: Sandbox, custom: Any, namespace: str
) -> None:
    apply(sandbox, execution_manifest("early", "not-yet", namespace))
    run = wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "early",
        lambda o: condition(o, "ACK.Terminal") is not None,
    )
    terminal = condition(run, "ACK.Terminal")
    assert terminal is not None
    assert terminal["status"] == "True"
    assert "ResourceNotFound" in terminal["message"]
    sync = condition(run, "ACK.ResourceSynced")
    assert sync is not None
    assert sync["status"] == "False"
    ready = condition(run, "Ready")
    assert ready is not None
    assert ready["status"] == "False"

    # creating the pipeline alone does not retry a terminal error ...
    apply(sandbox, pipeline_manifest("not-yet", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "not-yet", synced)
    # ... editing the spec does
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "pipelineexecutions",
        "early",
        {"spec": {"pipelineExecutionDescription": "retry"}},
    )
    run = wait_for(custom, "pipelineexecutions", namespace, "early", finished)
    assert run is not None
    assert run["status"]["pipelineExecutionStatus"] == "Succeeded"
    assert condition(run, "ACK.Terminal") is None


def test_every_poll_rewrites_the_conditions(sandbox: Sandbox, custom: Any, namespace: str) -> None:
    """Like the real controller: a MODIFIED event per poll even when nothing changed."""
    apply(sandbox, pipeline_manifest("polls", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "polls", synced)
    sandbox.simulation.step_seconds = 30.0
    times: set[str] = set()

    def collect(obj: dict[str, Any] | None) -> bool:
        sync = condition(obj, "ACK.ResourceSynced")
        if sync and ((obj or {}).get("status") or {}).get("pipelineExecutionStatus") == "Executing":
            times.add(sync["lastTransitionTime"] + str(obj["metadata"]["resourceVersion"]))  # type: ignore[index]
        return len(times) >= 3

    try:
        apply(sandbox, execution_manifest("polled", "polls", namespace))
        wait_for(custom, "pipelineexecutions", namespace, "polled", collect)
    finally:
        sandbox.simulation.step_seconds = 0.2
    assert len(times) >= 3


def test_pipeline_definition_update(sandbox: Sandbox, custom: Any, namespace: str) -> None:
    apply(sandbox, pipeline_manifest("upd", DEFINITION, namespace))
    wait_for(custom, "pipelines", namespace, "upd", synced)
    changed = json.loads(DEFINITION)
    changed["Parameters"][0]["DefaultValue"] = 2
    manifest = pipeline_manifest("upd", json.dumps(changed), namespace)
    apply(sandbox, manifest)
    sm = sandbox.aws_client("sagemaker")

    def updated(obj: dict[str, Any] | None) -> bool:
        text = sm.describe_pipeline(PipelineName="upd")["PipelineDefinition"]
        return synced(obj) and json.loads(text)["Parameters"][0]["DefaultValue"] == 2

    wait_for(custom, "pipelines", namespace, "upd", updated)


def test_sandbox_command_up_detach_env_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    exe = Path(sys.executable).with_name("jupyter-ack")
    up = subprocess.run(
        [
            str(exe),
            "sandbox",
            "up",
            "--detach",
            "--state-dir",
            str(state),
            "--ack-period",
            "1",
            "--step-seconds",
            "0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        assert up.returncode == 0, up.stderr
        assert "is up" in up.stdout
        env_out = subprocess.run(
            [str(exe), "sandbox", "env", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in env_out.strip().split("\n")
        )
        assert set(exports) == {
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "KUBECONFIG",
        }
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        crd = subprocess.run(
            ["kubectl", "get", "crd", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "KUBECONFIG": exports["KUBECONFIG"]},
            check=True,
        ).stdout
        assert (
            "customresourcedefinition.apiextensions.k8s.io/pipelines.sagemaker.services.k8s.aws"
            in crd
        )
        again = subprocess.run(
            [str(exe), "sandbox", "up", "--detach", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        down = subprocess.run(
            [str(exe), "sandbox", "down", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert down.returncode == 0, down.stderr
    gone = subprocess.run(
        [str(exe), "sandbox", "env", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert gone.returncode == 1
    assert "no sandbox is running" in gone.stderr


def test_sandbox_binds_loopback_only(sandbox: Sandbox) -> None:
    import ipaddress

    assert sandbox.kube_url.startswith("https://127.0.0.1:")
    assert sandbox.kube.addresses
    for address in sandbox.kube.addresses:
        assert ipaddress.ip_address(address[0]).is_loopback, address
    assert sandbox.aws_endpoint.startswith("http://127.0.0.1:")
    assert sandbox.started_in is not None
    assert sandbox.started_in < 10


def test_rbac_denial_reaches_kubectl(tmp_path: Path) -> None:
    with Sandbox(
        tmp_path / "s", ack_period=0.3, step_seconds=0.1, tokens={"alice-token": "alice"}
    ) as sb:
        sb.kube.deny(user="alice", verb="create", group=GROUP, resource="pipelineexecutions")
        denied = kubectl(
            sb,
            "create",
            "-f",
            "-",
            stdin=yaml.safe_dump(execution_manifest("x", "p", "default")),
            check=False,
        )
        assert denied.returncode != 0
        assert 'User "alice" cannot create resource "pipelineexecutions"' in denied.stderr
        allowed = kubectl(
            sb,
            "create",
            "-f",
            "-",
            stdin=yaml.safe_dump(pipeline_manifest("p", DEFINITION, "default")),
            check=False,
        )
        assert allowed.returncode == 0, allowed.stderr


def test_demo_runs_the_whole_flow_on_the_sandbox(tmp_path: Path) -> None:
    """The README's first command: validate, draw, publish, submit, follow to Succeeded."""
    exe = Path(sys.executable).with_name("jupyter-ack")
    proc = subprocess.run(
        [str(exe), "demo", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for words in (
        "no problems",
        "up in",
        "definition.json",
        "pipelines/abalone-demo applied",
        "created",
        "Succeeded",
    ):
        assert words in proc.stdout, words
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "Succeeded"
    assert len(run["steps"]) == 7

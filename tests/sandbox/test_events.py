"""Step status pushed by SageMaker's events (EventBridge -> SQS) instead of polled, on the
sandbox: `jupyter-ack events setup`, the simulation's events, following a run from them with
no ListPipelineExecutionSteps, the fall back to polling, and the errors."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.aws import events as aws_events
from jupyter_ack.aws import eventsetup
from jupyter_ack.ops.runs import Run
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.sandbox.sagemaker import (
    EMITTER,
    SimulationSettings,
    active_settings,
    emit_events,
    install,
)
from jupyter_ack.status import events as status_events
from jupyter_ack.status.follow import follow
from jupyter_ack.status.model import RunStatus
from tests.conftest import run
from tests.sandbox.conftest import EXAMPLE, ROLE

JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))
STEP_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"


def cli(sandbox: Sandbox, *args: str, env: dict[str, str] | None = None) -> Any:
    return run(
        [JUPYTER_ACK, *args], env={**sandbox.env, "NO_COLOR": "1", **(env or {})}, timeout=120
    )


@pytest.fixture
def aws_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's AWS clients reach the sandbox; no events queue unless a test sets one."""
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(status_events.ENV, raising=False)
    status_events.use_queue(None)
    previous = active_settings()
    install(sandbox.simulation)  # other modules' tests may have installed their settings
    yield
    install(previous)
    status_events.use_queue(None)


@pytest.fixture
def list_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ListPipelineExecutionSteps the sandbox's SageMaker answers (its ARN)."""
    from moto.sagemaker.responses import SageMakerResponse

    calls: list[str] = []
    original = SageMakerResponse.list_pipeline_execution_steps

    def counted(self: Any) -> Any:
        calls.append(str(self._get_param("PipelineExecutionArn")))
        return original(self)

    monkeypatch.setattr(SageMakerResponse, "list_pipeline_execution_steps", counted)
    return calls


def statuses_by_step(seen: list[RunStatus]) -> dict[str, list[str]]:
    """Each step's statuses in the order the follower reported them (repeats dropped)."""
    out: dict[str, list[str]] = {}
    for status in seen:
        for step in status.steps:
            got = out.setdefault(step.name, [])
            if not got or got[-1] != step.status:
                got.append(step.status)
    return out


# setup ------------------------------------------------------------------------------------------


def test_setup_is_idempotent_and_prints_the_queue(sandbox: Sandbox) -> None:
    first = cli(sandbox, "events", "setup", "--queue", "setup-twice")
    assert first.code == 0, first.err
    assert "created the queue setup-twice" in first.out
    assert "created the rule setup-twice" in first.out
    url = next(
        line.split("=", 1)[1]
        for line in first.out.splitlines()
        if "export JUPYTER_ACK_EVENTS_QUEUE=" in line
    )
    assert url.endswith("/123456789012/setup-twice")
    assert "c.AckConfig.events_queue" in first.out
    again = cli(sandbox, "events", "setup", "--queue", "setup-twice")
    assert again.code == 0, again.err
    assert "already set up: nothing changed" in again.out
    assert f"JUPYTER_ACK_EVENTS_QUEUE={url}" in again.out
    doc = cli(sandbox, "events", "setup", "--queue", "setup-twice", "--format", "json").json()
    assert doc["changes"] == []
    assert doc["queue_url"] == url

    ev, sqs = sandbox.aws_client("events"), sandbox.aws_client("sqs")
    rule = ev.describe_rule(Name="setup-twice")
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": [STEP_CHANGE, EXECUTION_CHANGE],
    }
    assert rule["State"] == "ENABLED"
    targets = ev.list_targets_by_rule(Rule="setup-twice")["Targets"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert [t["Arn"] for t in targets] == [attrs["QueueArn"]]
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": eventsetup.POLICY_SID,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": attrs["QueueArn"],
            "Condition": {"ArnEquals": {"aws:SourceArn": rule["Arn"]}},
        }
    ]
    # someone's own statement survives a setup that puts ours back
    mine = {"Sid": "Mine", "Effect": "Deny", "Principal": "*", "Action": "sqs:*"}
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [mine]})},
    )
    fixed = cli(sandbox, "events", "setup", "--queue", "setup-twice")
    assert "set the queue policy" in fixed.out
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert [s["Sid"] for s in json.loads(attrs["Policy"])["Statement"]] == [
        "Mine",
        eventsetup.POLICY_SID,
    ]
    checked = cli(sandbox, "events", "check", "--queue", url)
    assert checked.code == 0, checked.err
    assert f"rule may send   {rule['Arn']}" in checked.out


def test_setup_dry_run_prints_the_rule_and_policies_and_makes_nothing(sandbox: Sandbox) -> None:
    r = cli(sandbox, "events", "setup", "--queue", "dry-q", "--dry-run", "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["rule"]["Name"] == "dry-q"
    assert doc["rule"]["EventPattern"]["detail-type"] == [STEP_CHANGE, EXECUTION_CHANGE]
    assert doc["queue_policy"]["Statement"][0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:events:REGION:ACCOUNT_ID:rule/dry-q"}
    }
    user = doc["iam_policy_user"]["Statement"][0]["Action"]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= set(user)
    setup_actions = {a for s in doc["iam_policy_setup"]["Statement"] for a in s["Action"]}
    assert {"events:PutRule", "events:PutTargets", "sqs:CreateQueue", "sqs:SetQueueAttributes"} <= (
        setup_actions
    )
    text = cli(sandbox, "events", "setup", "--queue", "dry-q", "--print")
    assert "# queue policy (resource-based)" in text.out
    assert "nothing was made" in text.out
    queues = sandbox.aws_client("sqs").list_queues(QueueNamePrefix="dry-q")
    assert not queues.get("QueueUrls")


def test_bad_queue_and_no_credentials_are_one_line(sandbox: Sandbox) -> None:
    gone = f"{sandbox.aws_endpoint}/123456789012/no-such-queue"
    r = cli(sandbox, "events", "check", "--queue", gone)
    assert r.code == 1
    assert "Traceback" not in r.err
    assert r.err.splitlines()[0] == (
        f"error: reading the events queue {gone}: AWS.SimpleQueueService.NonExistentQueue: "
        "The specified queue does not exist."
    )
    bad = cli(sandbox, "events", "setup", "--queue", "no.fifo")
    assert bad.code == 2
    assert "is not a queue name" in bad.err
    nobody = run(
        [JUPYTER_ACK, "events", "setup"],
        env={
            "NO_COLOR": "1",
            "AWS_ENDPOINT_URL": sandbox.aws_endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        drop=(
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
    )
    assert nobody.code == 1
    assert "Traceback" not in nobody.err
    assert nobody.err.startswith(
        "error: looking for the queue jupyter-ack-events: no AWS credentials found\n"
    )
    assert len(nobody.err.splitlines()) == 2  # the line, and its hint


# following a run from events -----------------------------------------------------------------


def test_follow_with_events_reports_every_step_change_and_never_lists(
    sandbox: Sandbox, namespace: str, aws_env: None, list_calls: list[str]
) -> None:
    queue = eventsetup.setup("follow-events").queue_url
    status_events.use_queue(queue)
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    seen: list[RunStatus] = []
    result = submit(
        jupyter_ack.load(EXAMPLE, name="abalone-events"),
        role_arn=ROLE,
        execute=True,
        wait=True,
        cluster=cluster,
        on_status=seen.append,
        wait_timeout=60,
    )
    assert result.run is not None
    final = result.run
    assert list_calls == []  # not one ListPipelineExecutionSteps while it ran
    assert final.succeeded
    assert final.steps_source == status_events.SOURCE
    assert final.arn is not None
    # every step change, in order, each step through each of its states
    changes = statuses_by_step(seen)
    truth = sandbox.aws_client("sagemaker").list_pipeline_execution_steps(
        PipelineExecutionArn=final.arn, SortOrder="Ascending"
    )["PipelineExecutionSteps"]
    assert set(changes) == {s["StepName"] for s in truth}
    for name, states in changes.items():
        assert states == ["Starting", "Executing", "Succeeded"], name
    # the final status is complete: SageMaker's list, to the second (events' precision)
    assert [(s.name, s.status) for s in final.steps] == [
        (s["StepName"], s["StepStatus"]) for s in truth
    ]
    for step, listed in zip(final.steps, truth, strict=True):
        assert step.start == listed["StartTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
        assert step.end == listed["EndTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
    train = next(s for s in final.steps if s.name == "TrainAbaloneModel")
    assert train.job_arn is not None
    assert ":training-job/" in train.job_arn
    assert train.console_url is not None
    assert "#/jobs/" in train.console_url


def test_the_cli_follows_from_events_with_the_queue_in_the_environment(
    sandbox: Sandbox, namespace: str, list_calls: list[str]
) -> None:
    made = cli(sandbox, "events", "setup", "--queue", "follow-cli", "--format", "json")
    queue = made.json()["queue_url"]
    r = cli(
        sandbox,
        "submit",
        str(EXAMPLE),
        "--name",
        "abalone-events-cli",
        "--role-arn",
        ROLE,
        "--execute",
        "--wait",
        "-n",
        namespace,
        env={status_events.ENV: queue},
    )
    assert r.code == 0, r.err + r.out
    assert list_calls == []
    final = r.out[r.out.rindex("Succeeded  pipeline") :]
    for step in ("PreprocessAbaloneData", "TrainAbaloneModel", "NotifyModelRegistered"):
        assert step in final
    assert "steps sagemaker (events)" in final


def test_a_failed_step_comes_with_its_reason_and_no_listing(
    sandbox: Sandbox, namespace: str, aws_env: None, list_calls: list[str]
) -> None:
    status_events.use_queue(eventsetup.setup("follow-failed").queue_url)
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    sandbox.fail_step("TrainAbaloneModel", "AlgorithmError: the loss went to NaN")
    try:
        result = submit(
            jupyter_ack.load(EXAMPLE, name="abalone-events-bad"),
            role_arn=ROLE,
            execute=True,
            wait=True,
            cluster=cluster,
            wait_timeout=60,
        )
    finally:
        sandbox.simulation.fail_steps.clear()
    final = result.run
    assert final is not None
    assert list_calls == []
    assert final.status == "Failed"
    failed = final.failed_step
    assert failed is not None
    assert failed.name == "TrainAbaloneModel"
    assert failed.failure_reason == "AlgorithmError: the loss went to NaN"
    # the execution's reason is not in its event: one DescribePipelineExecution brought it
    assert final.failure_reason == "Step failure: One or multiple steps failed."
    assert [s.status for s in final.steps] == ["Succeeded", "Failed"]


def test_a_run_that_had_started_is_listed_once(
    sandbox: Sandbox,
    namespace: str,
    aws_env: None,
    list_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    result = submit(
        jupyter_ack.load(EXAMPLE, name="abalone-events-old"),
        role_arn=ROLE,
        execute=True,
        wait=True,
        cluster=cluster,
        wait_timeout=60,
    )
    assert result.run is not None
    assert result.run.succeeded
    before = len(list_calls)  # polled: it was followed without a queue
    status_events.use_queue(eventsetup.setup("follow-later").queue_url)
    monkeypatch.setattr(status_events, "FRESH_SECONDS", 0.0)  # it started long ago
    again = Run(cluster, result.run.name).status()
    assert len(list_calls) - before == 1  # the events of its start are not ours to read
    assert again.steps_source == status_events.SOURCE
    assert [(s.name, s.status) for s in again.steps] == [
        (s.name, s.status) for s in result.run.steps
    ]


def test_falls_back_to_polling_when_the_queue_does_not_exist(
    sandbox: Sandbox, namespace: str, aws_env: None
) -> None:
    gone = f"{sandbox.aws_endpoint}/123456789012/never-made"
    status_events.use_queue(gone)
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    result = submit(
        jupyter_ack.load(EXAMPLE, name="abalone-events-gone"),
        role_arn=ROLE,
        execute=True,
        wait=True,
        cluster=cluster,
        wait_timeout=60,
    )
    final = result.run
    assert final is not None
    assert final.succeeded
    assert {s.status for s in final.steps} == {"Succeeded"}
    assert final.steps_source == (
        f"sagemaker (polled: reading the events queue {gone}: "
        "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.)"
    )
    assert "\n" not in final.steps_source


def test_one_consumer_per_queue_released_after_the_last_follower(
    sandbox: Sandbox,
    namespace: str,
    aws_env: None,
    custom: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.sandbox.conftest import execution_manifest, pipeline_manifest

    monkeypatch.setattr(aws_events, "IDLE_RELEASE", 0.0)
    queue = eventsetup.setup("shared-consumer").queue_url
    sandbox.simulation.step_seconds = 2.0
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    try:
        definition = EXAMPLE.read_text(encoding="utf-8")
        custom.create_namespaced_custom_object(
            "sagemaker.services.k8s.aws",
            "v1alpha1",
            namespace,
            "pipelines",
            pipeline_manifest("shared", definition, namespace),
        )
        for name in ("run-a", "run-b"):
            custom.create_namespaced_custom_object(
                "sagemaker.services.k8s.aws",
                "v1alpha1",
                namespace,
                "pipelineexecutions",
                execution_manifest(name, "shared", namespace),
            )
        stepping = {name: threading.Event() for name in ("run-a", "run-b")}

        def seen(name: str) -> Any:
            def on_change(status: RunStatus) -> None:
                if status.steps:
                    stepping[name].set()

            return on_change

        leases = [follow(cluster, n, seen(n), events_queue=queue) for n in stepping]
        for name, flag in stepping.items():
            assert flag.wait(30), name
        found = aws_events.consumer(queue)
        assert found is not None
        assert found.subscribers == 2  # one consumer reads the queue for both followers
        for lease in leases:
            step_events = lease.follower.step_events
            assert step_events is not None
            assert step_events._subscription.consumer is found
        for lease in leases:
            lease.close()
        assert aws_events.consumer(queue) is None
        assert found.stopped
    finally:
        sandbox.simulation.step_seconds = 0.2


# the simulation's events, exactly, with a fake clock --------------------------------------------


@pytest.fixture
def fake_clock() -> Iterator[list[float]]:
    now = [5000.0]
    previous = active_settings()
    install(SimulationSettings(step_seconds=10.0, clock=lambda: now[0]))
    try:
        yield now
    finally:
        install(previous)


def test_the_simulation_sends_each_change_with_the_documented_shape(
    fake_clock: list[float],
) -> None:
    import boto3
    from moto import mock_aws

    definition = EXAMPLE.read_text(encoding="utf-8")
    with mock_aws():

        def aws(service: str) -> Any:
            return boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        sm, sqs, ev = aws("sagemaker"), aws("sqs"), aws("events")
        sm.create_pipeline(PipelineName="abalone", PipelineDefinition=definition, RoleArn=ROLE)
        arn = sm.start_pipeline_execution(PipelineName="abalone")["PipelineExecutionArn"]
        sent = EMITTER.sent
        fake_clock[0] = 5005.0
        emit_events()  # no rule yet: nothing is sent, and nothing is kept for later
        assert EMITTER.sent == sent
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        ev.put_rule(
            Name="r",
            EventPattern=json.dumps(eventsetup.event_pattern()),
            State="ENABLED",
        )
        ev.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}])
        fake_clock[0] = 5015.0
        emit_events()
        fake_clock[0] = 9000.0
        emit_events()
        bodies = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages")
            if not got:
                break
            bodies += [json.loads(m["Body"]) for m in got]
            for m in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    first = bodies[0]
    assert first["source"] == "aws.sagemaker"
    assert first["detail-type"] == STEP_CHANGE
    # (moto's delivery leaves out the envelope's "account", which EventBridge sends)
    assert first["region"] == "eu-west-1"
    assert first["time"] == "1970-01-01T01:23:30Z"  # 5010: the change's own time
    assert first["resources"] == [arn.split("/execution/")[0], arn]
    assert first["detail"] == {
        "metadata": {"processingJob": {"arn": first["detail"]["metadata"]["processingJob"]["arn"]}},
        "stepStartTime": "1970-01-01T01:23:20Z",
        "stepEndTime": "1970-01-01T01:23:30Z",
        "stepName": "PreprocessAbaloneData",
        "stepType": "Processing",
        "previousStepStatus": "Executing",
        "currentStepStatus": "Succeeded",
        "pipelineArn": arn.split("/execution/")[0],
        "pipelineExecutionArn": arn,
    }
    assert ":processing-job/pipelines-" in first["detail"]["metadata"]["processingJob"]["arn"]
    # every step goes Starting -> Executing -> Succeeded, each change once, in order
    chains: dict[str, list[str]] = {}
    for body in bodies[1:-1]:
        assert body["detail-type"] == STEP_CHANGE
        detail = body["detail"]
        chain = chains.setdefault(detail["stepName"], [])
        assert detail.get("previousStepStatus") == (chain[-1] if chain else None)
        chain.append(detail["currentStepStatus"])
    assert all(c == ["Starting", "Executing", "Succeeded"] for c in chains.values()), chains
    last = bodies[-1]
    assert last["detail-type"] == EXECUTION_CHANGE
    assert last["detail"]["previousPipelineExecutionStatus"] == "Executing"
    assert last["detail"]["currentPipelineExecutionStatus"] == "Succeeded"
    assert last["detail"]["executionStartTime"] == "1970-01-01T01:23:20Z"
    assert last["detail"]["pipelineExecutionArn"] == arn
    assert "executionEndTime" in last["detail"]

"""Faults injected during real runs on the sandbox: dropped and cut watches, 410 storms, 500
and 429 bursts, slow answers, SageMaker throttling, S3 failing mid-publish, and 20 submits
racing for one run name.
Asserted: the right final state, no missed terminal transition, exactly one Pipeline and one
run, and a bundle that is complete or absent, never partial."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.sandbox.simulation import ExecutionOverrides
from jupyter_ack.status.follow import follow
from jupyter_ack.status.model import RunStatus
from tests.faults.recording import Seen
from tests.sandbox.conftest import EXAMPLE, ROLE

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
STEPS = 7  # steps the example runs when the model is good enough (MseThreshold 7.0)
GOOD = {"MseThreshold": "7.0"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ack_period=0.3, step_seconds=0.3) as sb:
        yield sb


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from jupyter_ack.aws.clients import reset_clients

    reset_clients()
    return sandbox


def objects(sb: Sandbox, plural: str, namespace: str = "default") -> list[dict[str, Any]]:
    from kubernetes import client

    api = client.CustomObjectsApi(sb.kube_client())
    items: list[dict[str, Any]] = api.list_namespaced_custom_object(
        GROUP, VERSION, namespace, plural
    )["items"]
    return items


def test_a_run_survives_a_storm_of_faults(env: Sandbox) -> None:
    """Every kind of API trouble while the run moves: the follower still sees it end, with
    every step's final state."""
    sb = env
    sb.simulation.executions["storm-1"] = ExecutionOverrides(
        step_durations={"TrainAbaloneModel": 3.0}
    )
    cluster = connect(kubeconfig=str(sb.kubeconfig))
    defn = jupyter_ack.load(EXAMPLE, name="abalone-storm")
    submit(defn, role_arn=ROLE, execute=True, run_name="storm-1", cluster=cluster, parameters=GOOD)
    seen = Seen()

    def training(items: list[RunStatus]) -> bool:
        steps = items[-1].steps if items else ()
        return any(s.name == "TrainAbaloneModel" and s.status == "Executing" for s in steps)

    injected = 0
    with follow(cluster, "storm-1", seen) as lease:
        seen.wait(training)
        # while TrainAbaloneModel runs: cut and closed watches, 410s, 5xx and 429 bursts
        for fault in (
            lambda: sb.faults.drop_watches(abort=True),
            lambda: sb.faults.compact(),
            lambda: sb.faults.drop_watches(abort=False),
            lambda: sb.faults.fail_requests(4, 500, path_contains="/namespaces/default/"),
            lambda: sb.faults.compact(),
            lambda: sb.faults.fail_requests(3, 429, path_contains="/namespaces/default/"),
            lambda: sb.faults.drop_watches(abort=True),
            lambda: sb.faults.delay(0.2),
        ):
            fault()
            injected += 1
        final = lease.wait(timeout=90)
        sb.faults.clear()
    assert injected == 8
    assert final is not None
    assert final.status == "Succeeded", final
    assert final.settled
    assert len(final.steps) == STEPS
    assert {s.status for s in final.steps} == {"Succeeded"}  # no terminal transition missed
    assert [o["metadata"]["name"] for o in objects(sb, "pipelineexecutions")].count("storm-1") == 1


def test_twenty_racing_submits_make_one_run(env: Sandbox) -> None:
    """20 submits of one run name at once (a retry storm, a double click): one Pipeline, one
    PipelineExecution, one SageMaker execution; every submit names that run."""
    sb = env
    defn = jupyter_ack.load(EXAMPLE, name="abalone-race")
    results: list[Any] = []
    errors: list[BaseException] = []
    go = threading.Barrier(20)

    def one() -> None:
        try:
            cluster = connect(kubeconfig=str(sb.kubeconfig), namespace="race")
            go.wait(timeout=30)
            results.append(
                submit(
                    defn,
                    role_arn=ROLE,
                    execute=True,
                    run_name="race-1",
                    cluster=cluster,
                    parameters=GOOD,
                )
            )
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    from kubernetes import client

    client.CoreV1Api(sb.kube_client()).create_namespace({"metadata": {"name": "race"}})
    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(results) == 20
    assert {r.run_name for r in results} == {"race-1"}
    assert sum(r.execution_created for r in results) == 1
    assert [o["metadata"]["name"] for o in objects(sb, "pipelines", "race")] == ["abalone-race"]
    assert [o["metadata"]["name"] for o in objects(sb, "pipelineexecutions", "race")] == ["race-1"]
    with follow(connect(kubeconfig=str(sb.kubeconfig), namespace="race"), "race-1") as lease:
        final = lease.wait(timeout=90)
    assert final is not None
    assert final.status == "Succeeded"
    listed = sb.aws_client("sagemaker").list_pipeline_executions(PipelineName="abalone-race")
    assert len(listed["PipelineExecutionSummaries"]) == 1  # one run in SageMaker too


def test_s3_failing_mid_publish_leaves_no_partial_bundle(env: Sandbox) -> None:
    """The bundle's last file (handoff.json) is written last: a failure before it leaves no
    bundle that verifies; publishing again completes it."""
    import boto3

    from jupyter_ack.aws.clients import reset_clients
    from jupyter_ack.bundle.publish import publish
    from jupyter_ack.bundle.verify import fetch
    from jupyter_ack.errors import HandoffError, JupyterAckError

    sb = env
    s3 = sb.aws_client("s3")
    s3.create_bucket(Bucket="faults")
    s3.put_bucket_versioning(Bucket="faults", VersioningConfiguration={"Status": "Enabled"})
    defn = jupyter_ack.load(EXAMPLE, name="abalone-partial")
    puts: list[str] = []

    def fail_on_the_execution_manifest(params: dict[str, Any], **_: Any) -> None:
        puts.append(params["Key"])
        if params["Key"].endswith("pipeline-execution.yaml"):
            raise ConnectionError("injected: the network went away mid-publish")

    session = boto3.session.Session()
    session.events.register("before-parameter-build.s3.PutObject", fail_on_the_execution_manifest)
    original = boto3.session.Session
    boto3.session.Session = lambda *a, **k: session  # type: ignore[assignment,misc]
    reset_clients()
    try:
        with pytest.raises(JupyterAckError):
            publish(defn, bucket="faults", role_arn=ROLE)
    finally:
        boto3.session.Session = original  # type: ignore[misc]
        reset_clients()
    assert puts[-1].endswith("pipeline-execution.yaml")
    folder = f"s3://faults/jupyter-ack/abalone-partial/{defn.sha256}"
    with pytest.raises(HandoffError, match="incomplete"):
        fetch(folder + "/")  # no handoff.json: the bundle is absent, not half there
    done = publish(defn, bucket="faults", role_arn=ROLE)
    bundle = fetch(done.handoff_uri)
    assert bundle.ok, bundle.problems


def test_sagemaker_throttling_slows_the_step_poller_but_misses_nothing(env: Sandbox) -> None:
    """SageMaker answers ThrottlingException to ListPipelineExecutionSteps for a while: the
    poller backs off, and the run's final step list still arrives complete."""
    import boto3
    from botocore.exceptions import ClientError

    from jupyter_ack.aws.clients import reset_clients

    sb = env
    throttled: list[str] = []

    def throttle(**_: Any) -> None:
        if len(throttled) < 3:
            throttled.append("ListPipelineExecutionSteps")
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "ListPipelineExecutionSteps",
            )

    session = boto3.session.Session()
    session.events.register("before-call.sagemaker.ListPipelineExecutionSteps", throttle)
    original = boto3.session.Session
    boto3.session.Session = lambda *a, **k: session  # type: ignore[assignment,misc]
    reset_clients()
    try:
        cluster = connect(kubeconfig=str(sb.kubeconfig))
        defn = jupyter_ack.load(EXAMPLE, name="abalone-throttled")
        result = submit(
            defn,
            role_arn=ROLE,
            execute=True,
            wait=True,
            wait_timeout=120,
            run_name="throttled-1",
            cluster=cluster,
            parameters=GOOD,
        )
    finally:
        boto3.session.Session = original  # type: ignore[misc]
        reset_clients()
    assert len(throttled) == 3  # SageMaker did push back (the poller waited 2, 4, 8 s)
    assert result.run is not None
    assert result.run.status == "Succeeded"
    assert result.run.steps_source == "sagemaker"
    assert len(result.run.steps) == STEPS
    assert {s.status for s in result.run.steps} == {"Succeeded"}

"""Submit, follow, list, stop: the engine and the DevOps CLI, end to end on the sandbox."""

from __future__ import annotations

import itertools
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ack.watch import Informer
from jupyter_ack.errors import ClusterError
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.status.follow import follow
from tests.conftest import run
from tests.sandbox.conftest import EXAMPLE, GROUP, ROLE, VERSION, execution_manifest, wait_for

JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))


def cli(sandbox: Sandbox, *args: str) -> Any:
    return run([JUPYTER_ACK, *args], env={**sandbox.env, "NO_COLOR": "1"}, timeout=120)


def test_submit_execute_wait_succeeds(sandbox: Sandbox, namespace: str) -> None:
    r = cli(
        sandbox,
        "submit",
        str(EXAMPLE),
        "--name",
        "abalone-ok",
        "--role-arn",
        ROLE,
        "--execute",
        "--wait",
        "-n",
        namespace,
        "-p",
        "MseThreshold=7",
    )
    assert r.code == 0, r.err + r.out
    assert "ACK SageMaker CRDs found" in r.out
    assert "pipelines/abalone-ok applied" in r.out
    assert "created" in r.out
    assert "Succeeded" in r.out
    assert "TrainAbaloneModel" in r.out  # the steps, from SageMaker


def test_submit_failed_step_exits_1_with_reason(sandbox: Sandbox, namespace: str) -> None:
    sandbox.fail_step("TrainAbaloneModel", "AlgorithmError: the loss went to NaN")
    try:
        r = cli(
            sandbox,
            "submit",
            str(EXAMPLE),
            "--name",
            "abalone-bad",
            "--role-arn",
            ROLE,
            "--execute",
            "--wait",
            "-n",
            namespace,
        )
    finally:
        sandbox.simulation.fail_steps.clear()
    assert r.code == 1, r.out
    assert "failed at step TrainAbaloneModel: AlgorithmError: the loss went to NaN" in r.out


def test_python_api_follows_the_run(
    sandbox: Sandbox, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sandbox.env.items():  # AWS credentials reach (the sandbox's) SageMaker
        monkeypatch.setenv(key, value)
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    seen: list[str] = []
    result = submit(
        jupyter_ack.load(EXAMPLE, name="abalone-api"),
        role_arn=ROLE,
        execute=True,
        wait=True,
        cluster=cluster,
        on_status=lambda r: seen.append(r.status),
    )
    assert result.run is not None
    assert result.run.succeeded
    assert {s.status for s in result.run.steps} == {"Succeeded"}
    assert result.run.steps_source == "sagemaker"
    assert seen[0] in ("Pending", "Executing")
    assert seen[-1] == "Succeeded"
    train = next(s for s in result.run.steps if s.name == "TrainAbaloneModel")
    assert train.job_arn
    assert ":training-job/" in train.job_arn
    assert train.console_url
    assert "#/jobs/" in train.console_url
    assert train.logs_url
    assert "TrainingJobs" in train.logs_url


def test_resubmit_unchanged_changes_nothing(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    args = ("submit", str(EXAMPLE), "--name", "abalone-same", "--role-arn", ROLE, "-n", namespace)
    assert cli(sandbox, *args).code == 0
    before = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "pipelines", "abalone-same"
    )
    again = cli(sandbox, *args)
    assert again.code == 0
    assert "pipelines/abalone-same unchanged" in again.out
    after = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "pipelines", "abalone-same"
    )
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    runs = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "pipelineexecutions")[
        "items"
    ]
    assert runs == []


def test_retry_after_a_network_fault_makes_one_run(
    sandbox: Sandbox, namespace: str, custom: Any
) -> None:
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    defn = jupyter_ack.load(EXAMPLE, name="abalone-retry")
    sandbox.faults.fail_requests(1, status=500, path_contains="pipelineexecutions")
    first = submit(defn, role_arn=ROLE, execute=True, run_name="nightly-1", cluster=cluster)
    assert first.execution_created
    second = submit(defn, role_arn=ROLE, execute=True, run_name="nightly-1", cluster=cluster)
    assert not second.execution_created  # same name: found, not started again
    wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "nightly-1",
        lambda o: (
            ((o or {}).get("status") or {}).get("pipelineExecutionStatus")
            in ("Executing", "Succeeded")
        ),
    )
    runs = sandbox.aws_client("sagemaker").list_pipeline_executions(PipelineName="abalone-retry")
    assert len(runs["PipelineExecutionSummaries"]) == 1


def test_dry_run_writes_nothing(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    r = cli(
        sandbox,
        "submit",
        str(EXAMPLE),
        "--name",
        "abalone-dry",
        "--role-arn",
        ROLE,
        "--execute",
        "--dry-run",
        "-n",
        namespace,
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["dry_run"] is True
    assert doc["run"]
    for plural in ("pipelines", "pipelineexecutions"):
        assert (
            custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"] == []
        )


def test_stop_and_list(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    sandbox.simulation.step_seconds = 30.0
    try:
        r = cli(
            sandbox,
            "submit",
            str(EXAMPLE),
            "--name",
            "abalone-stop",
            "--role-arn",
            ROLE,
            "--execute",
            "--run-name",
            "to-stop",
            "-n",
            namespace,
        )
        assert r.code == 0, r.err
        wait_for(
            custom,
            "pipelineexecutions",
            namespace,
            "to-stop",
            lambda o: ((o or {}).get("status") or {}).get("pipelineExecutionStatus") == "Executing",
        )
        listing = cli(sandbox, "list", "-n", namespace)
        assert listing.code == 0
        assert "abalone-stop" in listing.out
        assert "to-stop" in listing.out
        assert "Executing" in listing.out
        stop = cli(sandbox, "stop", "to-stop", "-n", namespace)
        assert stop.code == 0, stop.err
        assert "ACK stops the run" in stop.out
        wait_for(custom, "pipelineexecutions", namespace, "to-stop", lambda o: o is None)
    finally:
        sandbox.simulation.step_seconds = 0.2
    summaries = sandbox.aws_client("sagemaker").list_pipeline_executions(
        PipelineName="abalone-stop"
    )
    assert [s["PipelineExecutionStatus"] for s in summaries["PipelineExecutionSummaries"]] == [
        "Stopped"
    ]


def test_status_json_of_a_finished_run(sandbox: Sandbox, namespace: str) -> None:
    r = cli(
        sandbox,
        "submit",
        str(EXAMPLE),
        "--name",
        "abalone-st",
        "--role-arn",
        ROLE,
        "--execute",
        "--run-name",
        "st-1",
        "--wait",
        "-n",
        namespace,
    )
    assert r.code == 0, r.err
    s = cli(sandbox, "status", "st-1", "-n", namespace, "--format", "json")
    assert s.code == 0, s.err
    doc = json.loads(s.out.strip().split("\n")[-1])
    assert doc["status"] == "Succeeded"
    assert doc["finished"] is True
    assert {step["name"] for step in doc["steps"]} >= {"PreprocessAbaloneData", "TrainAbaloneModel"}
    missing = cli(sandbox, "status", "nope", "-n", namespace)
    assert missing.code == 1
    assert "no run 'nope'" in missing.err


def test_execution_before_pipeline_reports_terminal(
    sandbox: Sandbox, namespace: str, custom: Any
) -> None:
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "pipelineexecutions",
        execution_manifest("orphan", "no-such-pipeline", namespace),
    )
    wait_for(
        custom,
        "pipelineexecutions",
        namespace,
        "orphan",
        lambda o: any(
            c.get("type") == "ACK.Terminal"
            for c in ((o or {}).get("status") or {}).get("conditions") or []
        ),
    )
    s = cli(sandbox, "status", "orphan", "-n", namespace)
    assert s.code == 1
    assert "ResourceNotFound" in s.out


# failures before anything is written ---------------------------------------------------------


def test_missing_crds(tmp_path: Path) -> None:
    from jupyter_ack.sandbox.kubeapi import KubeApiServer

    with KubeApiServer(crds=[]) as bare:
        bare.write_kubeconfig(tmp_path / "kubeconfig")
        r = run(
            [JUPYTER_ACK, "submit", str(EXAMPLE), "--name", "x", "--role-arn", ROLE],
            env={"KUBECONFIG": str(tmp_path / "kubeconfig"), "NO_COLOR": "1"},
        )
    assert r.code == 1
    assert "no ACK SageMaker CRDs" in r.err
    assert "helm install" in r.err
    assert "Traceback" not in r.err


def test_unreachable_cluster(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
                "users": [{"name": "u", "user": {}}],
            }
        )
    )
    r = run([JUPYTER_ACK, "list"], env={"KUBECONFIG": str(config), "NO_COLOR": "1"}, timeout=60)
    assert r.code == 1
    assert "cannot reach http://127.0.0.1:9" in r.err
    assert len(r.err.strip().split("\n")) == 2
    assert "Traceback" not in r.err
    wrong = run(
        [JUPYTER_ACK, "list", "--context", "prod"], env={"KUBECONFIG": str(config), "NO_COLOR": "1"}
    )
    assert wrong.code == 1
    assert "no context 'prod'" in wrong.err
    assert "gone" in wrong.err


def test_rbac_denial_names_the_rule(tmp_path: Path) -> None:
    with Sandbox(
        tmp_path / "rbac", ack_period=0.3, step_seconds=0.1, tokens={"t-bob": "bob"}
    ) as sb:
        sb.kube.deny(user="bob", verb="create", group=GROUP, resource="pipelineexecutions")
        r = cli(
            sb, "submit", str(EXAMPLE), "--name", "abalone-rbac", "--role-arn", ROLE, "--execute"
        )
    assert r.code == 1
    assert 'User "bob" cannot create resource "pipelineexecutions"' in r.err
    assert 'resources: ["pipelineexecutions"], verbs: ["create"]' in r.err


def test_expired_token(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "auth", ack_period=0.3, tokens={"good": "carol"}) as sb:
        config = sb.kubeconfig.read_text().replace("good", "expired-token")
        (tmp_path / "stale").write_text(config)
        r = run(
            [JUPYTER_ACK, "list"],
            env={**sb.env, "KUBECONFIG": str(tmp_path / "stale"), "NO_COLOR": "1"},
        )
    assert r.code == 1
    assert "rejected your credentials" in r.err


def test_connect_errors_are_cluster_errors(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="no Kubernetes configuration"):
        connect(kubeconfig=str(tmp_path / "missing"))


# the watch -----------------------------------------------------------------------------------


def test_watch_survives_dropped_connections_and_410_without_missing_a_transition(
    sandbox: Sandbox, namespace: str, custom: Any
) -> None:
    """Each change is reported, in order, whether the watch resumed or had to relist."""
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    inf = Informer(cluster, "pipelineexecutions").start()
    seen: list[str] = []
    got = threading.Condition()

    def on_event(event: Any) -> None:
        description = (event.object.get("spec") or {}).get("pipelineExecutionDescription", "")
        with got:
            if not seen or seen[-1] != description:  # the controller's own writes repeat it
                seen.append(description)
            got.notify_all()

    def wait_seen(description: str) -> None:
        with got:
            assert got.wait_for(lambda: description in seen, timeout=20), seen

    def describe(text: str) -> None:
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "pipelineexecutions",
            "w",
            {"spec": {"pipelineExecutionDescription": text}},
        )

    try:
        assert inf.wait_synced(10)
        inf.subscribe(on_event)
        body = execution_manifest("w", "nothing", namespace, pipelineExecutionDescription="v0")
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "pipelineexecutions", body
        )
        wait_seen("v0")
        # a dropped connection: the informer resumes from its resourceVersion
        sandbox.faults.drop_watches()
        describe("v1")
        wait_seen("v1")
        for step in ("v2", "v3"):
            # a change made while the watch is down, then history compacted: 410, relist
            # (only this informer's requests: the controller's watches reconnect too)
            ours = f"/namespaces/{namespace}/pipelineexecutions?"
            sandbox.faults.fail_requests(2, status=500, path_contains=ours)
            sandbox.faults.drop_watches()
            describe(step)
            sandbox.faults.compact()
            wait_seen(step)
        assert seen[:4] == ["v0", "v1", "v2", "v3"]
        assert inf.relists >= 2
        assert inf.reconnects >= 1 or inf.last_error is not None
    finally:
        inf.stop()


def start_run(sandbox: Sandbox, namespace: str, name: str) -> tuple[Any, str]:
    """Submit the example with a run and return (cluster, run name) without waiting."""
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    result = submit(
        jupyter_ack.load(EXAMPLE, name=name), role_arn=ROLE, execute=True, cluster=cluster
    )
    assert result.run_name
    return cluster, result.run_name


def test_follower_reports_each_change_once(sandbox: Sandbox, namespace: str) -> None:
    cluster, run_name = start_run(sandbox, namespace, "abalone-follow")
    with follow(cluster, run_name) as lease:
        updates = list(lease.updates(timeout=30))
    assert updates[-1].status == "Succeeded"
    assert updates[-1].settled
    assert all(a != b for a, b in itertools.pairwise(updates))  # no duplicates
    states = [u.status for u in updates]
    assert "Executing" in states


def test_views_share_one_follower_and_release_it(
    sandbox: Sandbox, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two panels (or tabs) on one run: one follower, one watch; both gone once they leave."""
    from jupyter_ack.ack import watch
    from jupyter_ack.status import follow as follow_module

    monkeypatch.setattr(watch, "IDLE_RELEASE", 0.05)
    cluster, run_name = start_run(sandbox, namespace, "abalone-shared")
    informers_before = watch.active()
    seen_a: list[str] = []
    seen_b: list[str] = []
    first = follow(cluster, run_name, lambda r: seen_a.append(r.status))
    second = follow(cluster, run_name, lambda r: seen_b.append(r.status))
    assert first.follower is second.follower
    assert follow_module.active() >= 1
    final = second.wait(timeout=60)
    assert final is not None
    assert final.status == "Succeeded"
    assert seen_a[-1] == seen_b[-1] == "Succeeded"
    key = (cluster.server, cluster.namespace, "pipelineexecutions")
    assert key in watch._shared
    first.close()
    assert key in watch._shared  # the second view still listens
    second.close()
    assert first.follower._unsubscribe is None  # the last lease stopped the follower
    timer = watch._idle.get(key)  # the idle timer releases the informer: wait for it to run
    if timer is not None:
        timer.join(timeout=10)
    assert key not in watch._shared
    assert watch.active() <= informers_before


# the DevOps path -----------------------------------------------------------------------------


def test_handoff_apply_runs_a_verified_bundle(
    sandbox: Sandbox, namespace: str, custom: Any
) -> None:
    s3 = sandbox.aws_client("s3")
    s3.create_bucket(Bucket=f"handoff-{namespace}"[:63])
    bucket = f"handoff-{namespace}"[:63]
    published = cli(
        sandbox,
        "publish",
        str(EXAMPLE),
        "--bucket",
        bucket,
        "--name",
        "abalone-ho",
        "--namespace",
        namespace,
        "-p",
        "MseThreshold=8",
        "--format",
        "json",
    )
    assert published.code == 0, published.err
    handoff = published.json()["handoff_uri"]
    r = cli(sandbox, "handoff", handoff, "--apply", "--wait")
    assert r.code == 0, r.out + r.err
    assert "\u2713 verified" in r.out
    assert "Succeeded" in r.out
    runs = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "pipelineexecutions")[
        "items"
    ]
    assert len(runs) == 1
    assert runs[0]["metadata"]["name"].startswith("abalone-ho-")
    assert runs[0]["spec"]["pipelineParameters"] == [{"name": "MseThreshold", "value": "8"}]
    assert runs[0]["metadata"]["annotations"]["jupyter-ack.io/definition-s3-uri"].startswith(
        f"s3://{bucket}/"
    )

    # a bundle that does not verify is not applied
    folder = handoff.rsplit("/", 1)[0].split(f"s3://{bucket}/", 1)[1]
    s3.put_object(
        Bucket=bucket,
        Key=f"{folder}/definition.json",
        Body=b'{"Version": "2020-12-01", "Steps": []}',
    )
    bad = cli(sandbox, "handoff", handoff, "--apply", "-n", namespace + "-none")
    assert bad.code == 1
    assert "does not verify" in bad.out
    assert "nothing was applied" in bad.out


def test_without_aws_access_the_status_says_so(
    sandbox: Sandbox, namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.aws_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    result = submit(
        jupyter_ack.load(EXAMPLE, name="abalone-nocreds"),
        role_arn=ROLE,
        execute=True,
        wait=True,
        cluster=cluster,
    )
    assert result.run is not None
    assert result.run.succeeded  # from the watch alone
    assert result.run.steps == ()
    assert result.run.steps_source.startswith("unavailable: no access to SageMaker")


def test_informer_events_in_asyncio(sandbox: Sandbox, namespace: str, custom: Any) -> None:
    import asyncio

    from jupyter_ack.ack.watch import informer

    cluster = connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig))
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "pipelineexecutions",
        execution_manifest("async-1", "none", namespace),
    )

    async def first_event() -> Any:
        async for event in informer(cluster, "pipelineexecutions").aevents():
            if event.name == "async-1":
                return event
        return None

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=20))
    assert event is not None
    assert event.type == "ADDED"

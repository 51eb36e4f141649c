"""The %ack_* magics in an in-process IPython shell: messages instead of tracebacks, the
defaults, the handoff card, and submit / status / list / stop against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from jupyter_ack.notebook import magics
from jupyter_ack.sandbox import Sandbox
from tests.notebook.conftest import ROLE, XSS, html_of, new_namespace


def run_magic(shell: Any, name: str, line: str = "", cell: str | None = None) -> str:
    with capture_output() as out:
        if cell is None:
            shell.run_line_magic(name, line)
        else:
            shell.run_cell_magic(name, line, cell)
    assert "Traceback" not in out.stdout + out.stderr
    return html_of(out)


def test_load_ext_is_cheap_and_registers_the_magics() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_ack')\n"
        "heavy = [m for m in ('boto3', 'kubernetes', 'anywidget', 'ipywidgets', 'sagemaker')"
        " if m in sys.modules]\n"
        "names = sorted(n for n in ip.magics_manager.magics['line'] if n.startswith('ack_'))\n"
        "print(heavy, names, 'ack_config' in ip.magics_manager.magics['cell'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == (
        "[] ['ack_config', 'ack_handoff', 'ack_list', 'ack_rerun', 'ack_status', 'ack_stop',"
        " 'ack_submit'] True"
    )


def test_usage_is_the_magic_help() -> None:
    doc = magics.AckMagics.ack_submit.__doc__ or ""
    for flag in ("--bucket", "--role-arn", "--execute", "--dry-run", "--no-cluster", "-p"):
        assert flag in doc
    assert doc.lstrip(":\n ").startswith("%ack_submit [")
    assert "publish it, show the handoff card" in " ".join(doc.split())


def test_unknown_variable_is_a_short_message(shell: Any) -> None:
    html = run_magic(shell, "ack_submit", "no_such_pipeline --no-cluster")
    assert "jack-error" in html
    assert "no variable &#x27;no_such_pipeline&#x27;" in html
    assert magics.last_submission() is None


def test_bad_flag_is_a_usage_error_not_a_traceback(shell: Any) -> None:
    with capture_output() as out:
        shell.run_cell("%ack_submit x --no-such-flag")
    assert "Traceback" not in out.stdout + out.stderr
    assert "UsageError" in out.stderr or "unrecognized" in out.stderr


def test_invalid_definition_stops_before_anything(shell: Any, abalone: dict[str, Any]) -> None:
    abalone["Steps"][1]["DependsOn"] = [XSS]
    shell.user_ns["broken"] = abalone
    html = run_magic(shell, "ack_submit", "broken --bucket jack-nb --role-arn R --no-cluster")
    assert "error(s) in the definition: nothing was published or applied" in html
    assert "DEPENDS_ON_UNKNOWN" in html
    assert "<img src=x" not in html  # the bad name is shown as text
    assert magics.last_submission() is None


def test_config_line_cell_env_and_traitlets(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    html = run_magic(shell, "ack_config", "bucket=b1 role-arn=arn:r namespace=ml")
    assert magics._magics is not None
    settings = magics._magics.settings
    assert (settings.bucket, settings.role_arn, settings.namespace) == ("b1", "arn:r", "ml")
    assert "<code>b1</code>" in html
    run_magic(shell, "ack_config", cell="prefix: team/x\nkms_key_id: alias/k\nbucket:\n")
    assert (settings.prefix, settings.kms_key_id, settings.bucket) == ("team/x", "alias/k", None)
    assert "no setting" in run_magic(shell, "ack_config", "colour=red")
    assert "not valid YAML" in run_magic(shell, "ack_config", cell="a: [")
    # env, then traitlets config, at load time
    monkeypatch.setenv("JUPYTER_ACK_BUCKET", "from-env")
    monkeypatch.setenv("JUPYTER_ACK_NAMESPACE", "env-ns")
    from traitlets.config import Config

    loaded = magics.AckMagics(shell, config=Config({"AckConfig": {"namespace": "from-config"}}))
    assert (loaded.settings.bucket, loaded.settings.namespace) == ("from-env", "from-config")


def test_handoff_publishes_and_shows_the_card(
    shell: Any, sandbox_env: Sandbox, abalone: dict[str, Any]
) -> None:
    shell.user_ns["pipeline"] = abalone
    html = run_magic(
        shell,
        "ack_handoff",
        f"pipeline --bucket jack-nb --name abalone-card --role-arn {ROLE} -n ml",
    )
    sub = magics.last_submission()
    assert sub is not None
    assert sub.published is not None
    assert sub.error is None
    assert sub.published.s3_uri.startswith("s3://jack-nb/jupyter-ack/abalone-card/")
    assert sub.published.s3_uri in html
    assert sub.published.version_id
    assert sub.published.version_id in html
    assert (
        f"jupyter-ack handoff s3://jack-nb/jupyter-ack/abalone-card/{sub.published.sha256}/" in html
    )
    assert "kubectl apply --server-side -n ml -f -" in html  # no 256 KiB annotation cap
    assert "kind: PipelineExecution" in html  # the manifests
    assert "the handoff is the result" in html
    head = sandbox_env.aws_client("s3").head_object(Bucket="jack-nb", Key=sub.published.key)
    assert head["Metadata"]["sha256"] == sub.published.sha256


def test_no_aws_credentials_is_a_short_message(
    shell: Any, abalone: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from jupyter_ack.aws.clients import reset_clients

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    reset_clients()
    shell.user_ns["pipeline"] = abalone
    html = run_magic(
        shell, "ack_handoff", f"pipeline --bucket jack-nb --name abalone --role-arn {ROLE}"
    )
    sub = magics.last_submission()
    assert sub is not None
    assert sub.error is not None
    assert "credentials" in sub.error.lower()
    assert "jack-error" in html
    assert "no handoff" in html
    reset_clients()


def test_submit_returns_at_once_and_no_cluster_means_handoff(
    shell: Any, abalone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    entered = threading.Event()

    def slow_cluster(self: Any, args: Any, check: bool = True) -> Any:
        entered.set()
        gate.wait(30)
        from jupyter_ack.errors import ClusterError

        raise ClusterError("no Kubernetes configuration found")

    monkeypatch.setattr(magics.AckMagics, "_cluster", slow_cluster)
    shell.user_ns["pipeline"] = abalone
    run_magic(shell, "ack_submit", f"pipeline --name abalone --role-arn {ROLE} --execute")
    sub = magics.last_submission()
    assert sub is not None
    assert entered.wait(10)
    assert not sub.done.is_set()  # the cell has returned; the work waits on the "cluster"
    gate.set()
    assert sub.done.wait(10)
    assert sub.error is None
    assert sub.card is not None
    assert "no cluster to apply to (no Kubernetes configuration found)" in sub.card
    assert "not published: no bucket" in sub.card
    assert sub.panel is not None
    assert "the handoff is the result" in sub.panel.message


def test_submit_status_list_stop_on_the_sandbox(
    shell: Any, sandbox_env: Sandbox, abalone: dict[str, Any]
) -> None:
    ns = new_namespace(sandbox_env, "nb-submit")
    run_magic(shell, "ack_config", f"kubeconfig={sandbox_env.kubeconfig} namespace={ns}")
    shell.user_ns["pipeline"] = abalone
    run_magic(
        shell,
        "ack_submit",
        f"pipeline --bucket jack-nb --name abalone-nb --role-arn {ROLE} --execute"
        " -p MseThreshold=7",
    )
    sub = magics.last_submission()
    assert sub is not None
    final = sub.wait(timeout=60)
    assert sub.error is None, sub.error
    assert final is not None
    assert final.status == "Succeeded", final
    assert {s.status for s in final.steps} <= {"Succeeded"}
    assert len(final.steps) >= 4
    assert final.parameters["MseThreshold"] == "7"
    assert sub.card is not None
    assert "s3://jack-nb/jupyter-ack/abalone-nb/" in sub.card
    assert any("pipelineexecutions/" in line and "created" in line for line in sub.lines)
    shown = sub._repr_mimebundle_()["text/html"]
    assert 'data-status="Succeeded"' in shown

    html = run_magic(shell, "ack_list")
    assert "<td>abalone-nb</td>" in html
    assert f"<td>{final.name}</td>" in html

    sagemaker = sandbox_env.aws_client("sagemaker")
    listed = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=final.arn)
    every_step = sorted(s["StepName"] for s in listed["PipelineExecutionSteps"])
    assert sorted(s.name for s in final.steps) == every_step  # Submission.wait(): all steps

    # A cold start: the first status this panel sees is already final. It must still wait
    # for SageMaker's step list instead of declaring the run done with no steps.
    run_magic(shell, "ack_status", final.name)
    status = magics.last_submission()
    assert status is not None
    assert status.panel is not None
    again = status.panel.wait(timeout=30)
    assert again is not None
    assert again.name == final.name
    assert again.status == "Succeeded"
    assert again.steps_source == "sagemaker"
    assert sorted(s.name for s in again.steps) == every_step
    assert {s.status for s in again.steps} == {"Succeeded"}
    snapshot = status.panel.snapshot()
    for name in every_step:
        assert name in snapshot  # what the person sees lists every step
    assert status.panel.layout_json["nodes"]  # the DAG, from the Pipeline object's definition
    status.panel.close()

    html = run_magic(shell, "ack_stop", final.name)
    assert f"deleted pipelineexecutions/{final.name}" in html
    from jupyter_ack.ack.cluster import connect

    left = connect(namespace=ns, kubeconfig=str(sandbox_env.kubeconfig)).get(
        "pipelineexecutions", final.name
    )
    assert left is None or left["metadata"].get("deletionTimestamp")  # ACK's finalizer runs
    assert "no run &#x27;nope&#x27;" in run_magic(shell, "ack_stop", "nope")

    # the object is gone; SageMaker still has the run, and the magics still find it
    from kubernetes import client as kube

    from tests.sandbox.conftest import wait_for

    custom = kube.CustomObjectsApi(sandbox_env.kube_client())
    wait_for(custom, "pipelineexecutions", ns, final.name, lambda o: o is None)
    run_magic(shell, "ack_status", final.name)
    kept = magics.last_submission()
    assert kept is not None
    assert kept.panel is not None
    shown = kept.panel.wait(timeout=30)
    assert shown is not None
    assert shown.status == "Succeeded"
    assert sorted(s.name for s in shown.steps) == every_step
    kept.panel.close()

    run_magic(shell, "ack_rerun", f"{final.name} -p MseThreshold=8")
    again_sub = magics.last_submission()
    assert again_sub is not None
    rerun = again_sub.wait(timeout=60)
    assert again_sub.error is None, again_sub.error
    assert rerun is not None
    assert rerun.name != final.name
    assert rerun.status == "Succeeded"
    assert rerun.parameters["MseThreshold"] == "8"
    assert any(f"re-run of {final.name}" in line for line in again_sub.lines)
    again_sub.panel.close() if again_sub.panel else None
    sub.panel.close() if sub.panel else None
    assert json.dumps(final.to_json())  # the model stays serialisable for the front end


def test_dry_run_writes_nothing(shell: Any, sandbox_env: Sandbox, abalone: dict[str, Any]) -> None:
    ns = new_namespace(sandbox_env, "nb-dry")
    run_magic(shell, "ack_config", f"kubeconfig={sandbox_env.kubeconfig} namespace={ns}")
    shell.user_ns["pipeline"] = abalone
    run_magic(
        shell,
        "ack_submit",
        f"pipeline --bucket jack-nb --name abalone-dry --role-arn {ROLE} --execute --dry-run",
    )
    sub = magics.last_submission()
    assert sub is not None
    assert sub.done.wait(30)
    assert sub.error is None, sub.error
    assert sub.published is None  # nothing uploaded
    assert sub.panel is not None
    assert sub.panel.message == "dry run: nothing was applied"
    from jupyter_ack.ack.cluster import connect

    cluster = connect(namespace=ns, kubeconfig=str(sandbox_env.kubeconfig))
    assert cluster.list("pipelines")["items"] == []
    assert cluster.list("pipelineexecutions")["items"] == []


def test_one_submit_publishes_once_and_the_card_names_the_run_it_created(
    shell: Any, sandbox_env: Sandbox, abalone: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes import client

    from jupyter_ack.ack import manifests as manifests_module
    from jupyter_ack.ack.cluster import Cluster
    from tests.conftest import s3_calls

    builds: list[str] = []
    checks: list[str] = []
    real_build, real_check = manifests_module.manifests, Cluster.check

    def counted_build(*args: Any, **kwargs: Any) -> Any:
        builds.append(str(kwargs.get("name")))
        return real_build(*args, **kwargs)

    def counted_check(self: Cluster) -> None:
        checks.append(self.namespace)
        real_check(self)

    monkeypatch.setattr(manifests_module, "manifests", counted_build)
    monkeypatch.setattr(Cluster, "check", counted_check)
    ns = new_namespace(sandbox_env, "nb-once")
    run_magic(shell, "ack_config", f"kubeconfig={sandbox_env.kubeconfig} namespace={ns}")
    shell.user_ns["pipeline"] = abalone
    with s3_calls() as calls:
        run_magic(
            shell,
            "ack_submit",
            f"pipeline --bucket jack-nb --name abalone-once --role-arn {ROLE} --execute"
            " -p 'ModelApprovalStatus=PendingManualApproval'",
        )
        sub = magics.last_submission()
        assert sub is not None
        final = sub.wait(timeout=60)
    assert sub.error is None, sub.error
    assert final is not None
    assert final.status == "Succeeded"
    assert calls == ["HeadObject", *["PutObject"] * 5]  # one HEAD, each bundle file once
    assert builds == ["abalone-once"]
    assert checks == [ns]
    assert [line.split(":")[0] for line in sub.lines].count("published") == 1
    assert not any(line.startswith("unchanged") for line in sub.lines)

    custom = client.CustomObjectsApi(sandbox_env.kube_client())
    items = custom.list_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", ns, "pipelineexecutions"
    )["items"]
    assert [o["metadata"]["name"] for o in items] == [final.name]  # the one run that exists
    assert sub.card is not None
    assert f'<code style="user-select:all">{final.name}</code>' in sub.card  # the card's run
    assert f"name: {final.name}" in sub.card  # and its manifests are what was applied
    assert final.parameters == {"ModelApprovalStatus": "PendingManualApproval"}


def test_magic_arguments_follow_shell_rules(shell: Any, abalone: dict[str, Any]) -> None:
    abalone["Parameters"].append({"Name": "Note", "Type": "String", "DefaultValue": "x"})
    shell.user_ns["pipeline"] = abalone
    html = run_magic(
        shell,
        "ack_handoff",
        f"pipeline --name abalone-quoted --role-arn {ROLE} -p 'Note=two words' -n ml",
    )
    assert "jack-error" not in html, html
    sub = magics.last_submission()
    assert sub is not None
    assert sub.result is not None
    assert sub.result.manifests is not None
    execution = sub.result.manifests.execution
    assert execution is not None
    assert {"name": "Note", "value": "two words"} in execution["spec"]["pipelineParameters"]
    with capture_output() as out:
        shell.run_cell("%ack_submit pipeline -p 'Note=unclosed")
    assert "Traceback" not in out.stdout + out.stderr
    assert "close the quote" in out.stderr

"""Conformance with the real kubectl: what users type against a cluster works here too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import (
    ACK_CRDS,
    PROJECT_CRDS,
    WIDGETS,
    Http,
    Kubectl,
    api,
    kube,
    kubeconfig,
    kubectl,
    needs_kubectl,
)

__all__ = ["api", "kube", "kubeconfig", "kubectl"]

pytestmark = needs_kubectl

WIDGET_YAML = """\
apiVersion: example.test/v1
kind: Widget
metadata:
  name: w1
  labels: {team: a}
spec:
  size: 3
  nested: {inner: x}
"""


def test_version_and_api_resources(kubectl: Kubectl) -> None:
    version = json.loads(kubectl.ok("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.32.0"
    out = kubectl.ok("api-resources")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["widgets"][1:] == ["wd", "example.test/v1", "true", "Widget"]
    assert rows["gadgets"][1:] == ["example.test/v1", "false", "Gadget"]
    assert rows["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    assert "customresourcedefinitions" in rows


def test_get_crd_and_namespaces(kubectl: Kubectl) -> None:
    out = kubectl.ok("get", "crd")
    assert out.splitlines()[0].split() == ["NAME", "CREATED", "AT"]
    assert "widgets.example.test" in out
    ns = kubectl.ok("get", "ns")
    assert ns.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["default", "Active"] for line in ns.splitlines())


def test_apply_get_and_wide(kubectl: Kubectl, api: Http) -> None:
    assert (
        kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML).strip()
        == "widget.example.test/w1 created"
    )
    api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Running", "reason": "fine"}})
    table = kubectl.ok("get", "widgets").splitlines()
    assert table[0].split() == ["NAME", "PHASE", "SIZE", "AGE"]
    assert table[1].split()[:3] == ["w1", "Running", "3"]
    wide = kubectl.ok("get", "wd", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "PHASE", "SIZE", "REASON", "AGE"]
    assert wide[1].split()[:4] == ["w1", "Running", "3", "fine"]
    again = kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML.replace("size: 3", "size: 4"))
    assert again.strip() == "widget.example.test/w1 configured"
    unchanged = kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML.replace("size: 3", "size: 4"))
    assert unchanged.strip() == "widget.example.test/w1 unchanged"
    obj = yaml.safe_load(kubectl.ok("get", "widget", "w1", "-o", "yaml"))
    assert obj["spec"]["size"] == 4
    assert obj["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    names = kubectl.ok("get", "widgets", "-l", "team=a", "-o", "name")
    assert names.strip() == "widget.example.test/w1"
    assert kubectl.ok("get", "all").splitlines()[1].split()[:2] == ["w1", "Running"]


def test_apply_rejects_unknown_fields_and_bad_types(kubectl: Kubectl) -> None:
    unknown = kubectl.run("apply", "-f", "-", stdin=WIDGET_YAML + "  bogus: 1\n")
    assert unknown.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in unknown.stderr
    bad = kubectl.run("apply", "-f", "-", stdin=WIDGET_YAML.replace("size: 3", "size: big"))
    assert bad.returncode != 0
    assert 'The Widget "w1" is invalid: spec.size: Invalid value: "string"' in bad.stderr


def test_server_side_apply_conflicts_and_force(kubectl: Kubectl) -> None:
    out = kubectl.ok("apply", "--server-side", "-f", "-", stdin=WIDGET_YAML)
    assert out.strip() == "widget.example.test/w1 serverside-applied"
    other = kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        stdin=WIDGET_YAML.replace("size: 3", "size: 9"),
    )
    assert other.returncode != 0
    assert 'conflict with "kubectl": .spec.size' in other.stderr
    kubectl.ok(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=other",
        "-f",
        "-",
        stdin=WIDGET_YAML.replace("size: 3", "size: 9"),
    )
    obj = json.loads(kubectl.ok("get", "widget", "w1", "-o", "json", "--show-managed-fields"))
    assert obj["spec"]["size"] == 9
    managers = {m["manager"]: m for m in obj["metadata"]["managedFields"]}
    assert "f:size" in managers["other"]["fieldsV1"]["f:spec"]
    assert "f:size" not in managers["kubectl"]["fieldsV1"]["f:spec"]


def test_client_side_then_server_side_apply(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML)
    changed = WIDGET_YAML.replace("size: 3", "size: 5")
    kubectl.ok("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=changed)
    obj = json.loads(kubectl.ok("get", "widget", "w1", "-o", "json"))
    assert obj["spec"] == {"size": 5, "nested": {"inner": "x"}, "color": "blue"}
    last = json.loads(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last["spec"]["size"] == 5
    back = kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML.replace("size: 3", "size: 6"))
    assert back.strip() == "widget.example.test/w1 configured"


def test_patch_merge_and_status_subresource(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML)
    kubectl.ok("patch", "widget", "w1", "--type=merge", "-p", '{"spec":{"size":7}}')
    kubectl.ok(
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Done"}}',
    )
    obj = json.loads(kubectl.ok("get", "widget", "w1", "-o", "json"))
    assert obj["spec"]["size"] == 7
    assert obj["status"] == {"phase": "Done"}
    ignored = kubectl.ok("patch", "widget", "w1", "--type=merge", "-p", '{"status":{"phase":"No"}}')
    assert "(no change)" in ignored
    smp = kubectl.run("patch", "widget", "w1", "-p", '{"spec":{"size":1}}')
    assert smp.returncode != 0
    assert "UnsupportedMediaType" in smp.stderr or "unknown format" in smp.stderr


def test_describe(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML)
    out = kubectl.ok("describe", "widget", "w1")
    lines = [line.split() for line in out.splitlines()]
    assert ["Name:", "w1"] in lines
    assert ["Kind:", "Widget"] in lines
    assert ["Size:", "3"] in lines
    assert ["Events:", "<none>"] in lines  # the events list answered, empty


def test_get_watch_prints_changes(kubectl: Kubectl, api: Http) -> None:
    kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML)
    watch = kubectl.stream("get", "widgets", "-w")
    try:
        assert watch.next().split() == ["NAME", "PHASE", "SIZE", "AGE"]
        assert watch.next().split()[0] == "w1"
        api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Running"}})
        assert watch.until("Running").split()[:3] == ["w1", "Running", "3"]
        api.delete(f"{WIDGETS}/w1")
        assert watch.next().split()[:3] == ["w1", "Running", "3"]  # the deleted row
    finally:
        watch.close()


def test_delete_with_and_without_finalizers(kubectl: Kubectl, api: Http) -> None:
    kubectl.ok("apply", "-f", "-", stdin=WIDGET_YAML)
    assert kubectl.ok("delete", "widget", "w1").strip() == 'widget.example.test "w1" deleted'
    held = WIDGET_YAML.replace("  labels: {team: a}\n", "  finalizers: [example.test/hold]\n")
    kubectl.ok("apply", "-f", "-", stdin=held)
    out = kubectl.ok("delete", "widget", "w1", "--wait=false")
    assert out.strip() == 'widget.example.test "w1" deleted'
    obj = json.loads(kubectl.ok("get", "widget", "w1", "-o", "json"))
    assert obj["metadata"]["deletionTimestamp"]
    kubectl.ok("patch", "widget", "w1", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    gone = kubectl.run("get", "widget", "w1")
    assert gone.returncode != 0
    assert 'widgets.example.test "w1" not found' in gone.stderr


def test_explain(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "widgets.spec")
    assert "KIND:       Widget" in out
    assert "size\t<integer> -required-" in out
    assert "How big." in out
    nested = kubectl.ok("explain", "widget.spec.nested")
    assert "inner\t<string>" in nested


def test_create_namespace_and_apply_crd(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.ok("create", "namespace", "team")
    kubectl.ok(
        "apply",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  labels: {a: b}\n",
    )
    labels = json.loads(kubectl.ok("get", "ns", "team", "-o", "json"))["metadata"]["labels"]
    assert labels == {"a": "b", "kubernetes.io/metadata.name": "team"}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.other.test"},
        "spec": {
            "group": "other.test",
            "names": {"kind": "Thing", "plural": "things"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    (tmp_path / "crd.yaml").write_text(yaml.safe_dump(crd))
    kubectl.ok("apply", "-f", str(tmp_path / "crd.yaml"))
    kubectl.ok(
        "apply",
        "-n",
        "team",
        "-f",
        "-",
        stdin="apiVersion: other.test/v1\nkind: Thing\nmetadata:\n  name: t1\nx: 1\n",
    )
    assert "t1" in kubectl.ok("get", "things", "-n", "team")
    kubectl.ok("delete", "crd", "things.other.test")
    assert kubectl.run("get", "things", "-n", "team").returncode != 0


def test_forbidden_and_unauthorized_reach_kubectl(tmp_path: Path) -> None:
    with KubeApiServer(crds=[], tokens={"good": "alice"}) as srv:
        srv.deny(user="alice", verb="create", group="", resource="namespaces")
        home = tmp_path / "home"
        home.mkdir()
        ok = Kubectl(srv.write_kubeconfig(tmp_path / "ok", token="good"), home)
        denied = ok.run("create", "namespace", "x")
        assert denied.returncode != 0
        assert (
            'namespaces is forbidden: User "alice" cannot create resource "namespaces" in API '
            'group "" at the cluster scope'
        ) in denied.stderr
        bad = Kubectl(srv.write_kubeconfig(tmp_path / "bad", token="wrong"), home)
        refused = bad.run("get", "ns")
        assert refused.returncode != 0
        assert "Unauthorized" in refused.stderr or "must be logged in" in refused.stderr


def _crd_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if "pipeline" in p.name)


@pytest.mark.parametrize(
    "folder",
    [
        pytest.param(PROJECT_CRDS, id="project-crds"),
        pytest.param(ACK_CRDS, id="ack-reference-crds"),
    ],
)
def test_ack_pipeline_crds(folder: Path, tmp_path: Path) -> None:
    files = _crd_files(folder)
    if len(files) < 2:
        pytest.skip(f"no Pipeline/PipelineExecution CRDs in {folder}")
    crds = [yaml.safe_load(p.read_text()) for p in files]
    with KubeApiServer(crds=crds) as srv:
        home = tmp_path / "home"
        home.mkdir()
        k = Kubectl(srv.write_kubeconfig(tmp_path / "kc"), home)
        pipeline = (
            "apiVersion: sagemaker.services.k8s.aws/v1alpha1\nkind: Pipeline\nmetadata:\n"
            "  name: p1\nspec:\n  pipelineName: p1\n  roleARN: arn:aws:iam::1:role/r\n"
            '  pipelineDefinition: \'{"Version": "2020-12-01", "Steps": []}\'\n'
        )
        execution = (
            "apiVersion: sagemaker.services.k8s.aws/v1alpha1\nkind: PipelineExecution\n"
            "metadata:\n  name: e1\nspec:\n  pipelineName: p1\n"
        )
        k.ok("apply", "-f", "-", stdin=pipeline)
        k.ok("apply", "--server-side", "-f", "-", stdin=execution)
        http = Http.to(srv)
        base = "/apis/sagemaker.services.k8s.aws/v1alpha1/namespaces/default"
        http.patch(f"{base}/pipelines/p1/status", {"status": {"pipelineStatus": "Active"}})
        http.patch(
            f"{base}/pipelineexecutions/e1/status",
            {"status": {"pipelineExecutionStatus": "Failed", "failureReason": "Boom"}},
        )
        pipelines = k.ok("get", "pipelines").splitlines()
        assert pipelines[0].split() == ["NAME", "STATUS"]
        assert pipelines[1].split() == ["p1", "Active"]
        runs = k.ok("get", "pipelineexecution").splitlines()
        assert runs[0].split() == ["NAME", "STATUS"]
        assert runs[1].split() == ["e1", "Failed"]
        wide = k.ok("get", "pipelineexecution", "-o", "wide").splitlines()
        assert wide[0].split() == ["NAME", "FAILURE-REASON", "STATUS"]
        assert wide[1].split() == ["e1", "Boom", "Failed"]
        bad = k.run(
            "apply", "-f", "-", stdin=execution.replace("pipelineName: p1", "pipelineName: 5")
        )
        assert bad.returncode != 0
        assert (
            'spec.pipelineName: Invalid value: "integer": spec.pipelineName in body must be of '
            'type string: "integer"'
        ) in bad.stderr
        assert "pipelineDefinition" in k.ok("explain", "pipeline.spec")

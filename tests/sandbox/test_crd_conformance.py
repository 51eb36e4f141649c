"""Our CRDs against the ACK controller's own (read at run time from shared/reference, never
copied): same names, scope, columns and schema; the same objects accepted and refused; and
the objects ``jupyter_ack.ack.manifests`` makes pass both with strict field validation."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import jupyter_ack
from jupyter_ack.ack.manifests import manifests
from jupyter_ack.examples import example_path
from jupyter_ack.sandbox.kubeapi import KubeApiServer
from jupyter_ack.sandbox.sandbox import crd_documents

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ack-crds"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
BASE = "/apis/sagemaker.services.k8s.aws/v1alpha1/namespaces/default"


def reference_crds() -> list[dict[str, Any]]:
    files = sorted(REFERENCE.glob("sagemaker.services.k8s.aws_pipeline*.yaml"))
    if len(files) < 2:
        pytest.skip(f"the reference CRDs are not at {REFERENCE}")
    return [yaml.safe_load(p.read_text()) for p in files]


def shape(schema: dict[str, Any]) -> Any:
    """A schema without its prose: types, formats, required fields, properties, items."""
    out: dict[str, Any] = {}
    for key in ("type", "format", "x-kubernetes-preserve-unknown-fields"):
        if key in schema:
            out[key] = schema[key]
    if "required" in schema:
        out["required"] = sorted(schema["required"])
    if "properties" in schema:
        out["properties"] = {k: shape(v) for k, v in sorted(schema["properties"].items())}
    if "items" in schema:
        out["items"] = shape(schema["items"])
    return out


def essence(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd["spec"]
    (version,) = spec["versions"]
    return {
        "name": crd["metadata"]["name"],
        "group": spec["group"],
        "names": {k: v for k, v in spec["names"].items() if k != "shortNames"},
        "shortNames": spec["names"].get("shortNames"),
        "scope": spec["scope"],
        "version": version["name"],
        "subresources": version.get("subresources"),
        "columns": sorted(
            (c["name"], c["jsonPath"], c["type"], c.get("priority", 0))
            for c in version.get("additionalPrinterColumns", [])
        ),
        "schema": shape(version["schema"]["openAPIV3Schema"]),
    }


def test_our_crds_have_the_shape_of_the_real_ones() -> None:
    ours = {c["metadata"]["name"]: essence(c) for c in crd_documents()}
    theirs = {c["metadata"]["name"]: essence(c) for c in reference_crds()}
    assert ours == theirs


class Api:
    """urllib over HTTPS, with the server's CA and token."""

    def __init__(self, server: KubeApiServer) -> None:
        self.url = server.url
        self.token = server.token
        self.context = ssl.create_default_context(cadata=server.ca_pem.decode())

    def send(self, method: str, path: str, body: Any, content_type: str) -> tuple[int, Any]:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Content-Type": content_type,
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Api, Api]]:
    theirs = reference_crds()
    with KubeApiServer(crds=crd_documents()) as ours_srv, KubeApiServer(crds=theirs) as ref_srv:
        yield Api(ours_srv), Api(ref_srv)


def variants() -> list[tuple[str, dict[str, Any]]]:
    pipeline = {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "p"},
        "spec": {"pipelineName": "p", "roleARN": ROLE, "pipelineDefinition": "{}"},
    }
    execution = {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "PipelineExecution",
        "metadata": {"name": "e"},
        "spec": {"pipelineName": "p"},
    }

    def edit(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
        out = json.loads(json.dumps(obj))
        for k, v in spec.items():
            if v is None:
                out["spec"].pop(k, None)
            else:
                out["spec"][k] = v
        return out

    return [
        ("pipeline ok", pipeline),
        ("pipeline without role", edit(pipeline, roleARN=None)),
        ("pipeline name as a number", edit(pipeline, pipelineName=5)),
        ("definition as an object", edit(pipeline, pipelineDefinition={"Version": "2020-12-01"})),
        (
            "parallelism as text",
            edit(pipeline, parallelismConfiguration={"maxParallelExecutionSteps": "3"}),
        ),
        ("tags", edit(pipeline, tags=[{"key": "team", "value": "ml"}])),
        ("unknown field", edit(pipeline, pipelineDefinitionS3Location={"bucket": "b"})),
        ("execution ok", execution),
        ("execution without pipeline", edit(execution, pipelineName=None)),
        ("parameters", edit(execution, pipelineParameters=[{"name": "a", "value": "1"}])),
        (
            "parameter value as number",
            edit(execution, pipelineParameters=[{"name": "a", "value": 1}]),
        ),
        (
            "selective execution",
            edit(execution, selectiveExecutionConfig={"selectedSteps": [{"stepName": "A"}]}),
        ),
        ("version as text", edit(execution, pipelineVersionID="1")),
    ]


@pytest.mark.parametrize(("label", "obj"), variants(), ids=[v[0] for v in variants()])
@pytest.mark.parametrize("strict", [False, True])
def test_same_objects_accepted_and_refused(
    servers: tuple[Api, Api], label: str, obj: dict[str, Any], strict: bool
) -> None:
    plural = "pipelines" if obj["kind"] == "Pipeline" else "pipelineexecutions"
    query = "?dryRun=All&fieldManager=t" + ("&fieldValidation=Strict" if strict else "")
    path = f"{BASE}/{plural}/{obj['metadata']['name']}{query}"
    results = [api.send("PATCH", path, obj, "application/apply-patch+yaml") for api in servers]
    (ours, our_body), (theirs, their_body) = results
    assert ours == theirs, (label, our_body, their_body)
    if ours < 300:
        assert our_body["spec"] == their_body["spec"]  # the same pruning


@pytest.mark.parametrize("server_index", [0, 1], ids=["project-crds", "reference-crds"])
def test_our_manifests_pass_strict_validation(servers: tuple[Api, Api], server_index: int) -> None:
    defn = jupyter_ack.load(example_path(), name="abalone-demo")
    built = manifests(
        defn,
        role_arn=ROLE,
        execute=True,
        parameters={"MseThreshold": "7"},
        display_name="Abalone",
        description="demo",
        max_parallel_steps=2,
        selected_steps=["TrainAbaloneModel"],
        source_execution_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone-demo/execution/x",
        tags={"team": "ml"},
    )
    api = servers[server_index]
    for doc in built.documents:
        doc = json.loads(json.dumps(doc))
        doc["metadata"]["namespace"] = "default"
        plural = "pipelines" if doc["kind"] == "Pipeline" else "pipelineexecutions"
        query = "dryRun=All&fieldManager=jupyter-ack&fieldValidation=Strict"
        path = f"{BASE}/{plural}/{doc['metadata']['name']}?{query}"
        status, body = api.send("PATCH", path, doc, "application/apply-patch+yaml")
        assert status in (200, 201), body
        assert body["spec"] == doc["spec"]  # nothing pruned: exactly the CRD's shape

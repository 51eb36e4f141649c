"""Fixtures for tests against the sandbox: one sandbox per module, event-driven waiting."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.sandbox import Sandbox

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A fast sandbox: 0.3 s controller period, 0.2 s steps."""
    with Sandbox(ack_period=0.3, step_seconds=0.2) as sb:
        yield sb


@pytest.fixture
def custom(sandbox: Sandbox) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(sandbox.kube_client())


@pytest.fixture
def namespace(sandbox: Sandbox, request: pytest.FixtureRequest) -> str:
    """A fresh namespace per test, so tests never see each other's objects."""
    from kubernetes import client

    name = (
        "t-"
        + request.node.name.lower().replace("_", "-")[:40].strip("-")
        + f"-{os.getpid() % 1000}"
    )
    name = "".join(c for c in name if c.isalnum() or c == "-")[:60].strip("-")
    client.CoreV1Api(sandbox.kube_client()).create_namespace({"metadata": {"name": name}})
    return name


def kubectl(
    sandbox: Sandbox, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
    proc = subprocess.run(
        ["kubectl", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


def wait_for(
    custom: Any,
    plural: str,
    namespace: str,
    name: str,
    predicate: Callable[[dict[str, Any] | None], bool],
    timeout: float = 30.0,
) -> dict[str, Any] | None:
    """Watch one object until ``predicate(obj)`` holds (obj is None once it is deleted)."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    try:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as e:
        if e.status != 404:
            raise
        obj = None
    if predicate(obj):
        return obj
    rv = obj["metadata"]["resourceVersion"] if obj else None
    seen: list[Any] = []
    while time.monotonic() < deadline:
        w = watch.Watch()
        remaining = max(1, int(deadline - time.monotonic()))
        kwargs: dict[str, Any] = {
            "field_selector": f"metadata.name={name}",
            "timeout_seconds": remaining,
        }
        if rv:
            kwargs["resource_version"] = rv
        for event in w.stream(
            custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural, **kwargs
        ):
            current = None if event["type"] == "DELETED" else event["object"]
            rv = event["object"]["metadata"]["resourceVersion"]
            seen.append(current and current.get("status"))
            if predicate(current):
                w.stop()
                return current
    last = json.dumps(seen[-1:], default=str)[:2000]
    raise AssertionError(f"{plural}/{name} did not reach the state in {timeout} s; last: {last}")


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c  # type: ignore[no-any-return]
    return None


def pipeline_manifest(name: str, definition: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"pipelineName": name, "roleARN": ROLE, "pipelineDefinition": definition},
    }


def execution_manifest(name: str, pipeline: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"pipelineName": pipeline, **spec},
    }


EXAMPLE = Path(__file__).resolve().parents[2] / "jupyter_ack" / "examples" / "abalone.json"

"""Fixtures for the notebook tests: an in-process IPython shell with the extension loaded,
a fast sandbox, and the SDK-built abalone definition (as JSON, so no SDK import here)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.sandbox import Sandbox

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
ABALONE = Path(__file__).resolve().parents[1] / "data" / "sdk_v3_abalone.json"
BUCKET = "jack-nb"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def abalone() -> dict[str, Any]:
    return json.loads(ABALONE.read_text())  # type: ignore[no-any-return]


@pytest.fixture
def shell() -> Iterator[Any]:
    """IPython's shell with ``%load_ext jupyter_ack`` and fresh defaults for each test."""
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_ack.notebook import magics

    ip = InteractiveShell.instance()
    if "jupyter_ack" in ip.extension_manager.loaded:
        ip.run_line_magic("reload_ext", "jupyter_ack")
    else:
        ip.run_line_magic("load_ext", "jupyter_ack")
    yield ip
    assert magics._magics is not None
    from jupyter_ack.config import KEYS

    for key in KEYS:
        magics._magics.settings.set(key, None)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ack_period=0.3, step_seconds=0.15) as sb:
        yield sb


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """boto3 pointed at the sandbox's moto, with a versioned bucket ``jack-nb``."""
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    s3 = sandbox.aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return sandbox


def html_of(outputs: Any) -> str:
    """Every text/html the cell displayed (captured with IPython's capture_output)."""
    return "\n".join(str(o.data.get("text/html", "")) for o in outputs.outputs)


def new_namespace(sandbox: Sandbox, name: str) -> str:
    from kubernetes import client

    name = f"{name}-{os.getpid() % 1000}"
    client.CoreV1Api(sandbox.kube_client()).create_namespace({"metadata": {"name": name}})
    return name

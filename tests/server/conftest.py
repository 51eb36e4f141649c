"""A Jupyter server with the jupyter-ack extension, pointed at a sandbox (pytest-jupyter).

pytest-jupyter's fixtures and its coroutine-test hooks are imported here rather than as a
global plugin, so they (and their per-test event loop) apply to this folder only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_jupyter.jupyter_core import *  # noqa: F403  (fixtures and the async test hooks)
from pytest_jupyter.jupyter_server import *  # noqa: F403
from pytest_jupyter.pytest_tornasync import *  # noqa: F403

from jupyter_ack.sandbox import Sandbox
from tests.sandbox.conftest import custom, namespace  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ack_period=0.3, step_seconds=0.2) as sb:
        yield sb


@pytest.fixture
def jp_server_config(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for key, value in sandbox.env.items():  # the server's boto3 reaches the sandbox's AWS
        monkeypatch.setenv(key, value)
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ack": True}},
        "AckConfig": {"kubeconfig": str(sandbox.kubeconfig)},
    }

"""Shared fixtures: the bundled example, CLI runners, and a moto S3 server over HTTP."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.examples import example_path

ROOT = Path(__file__).resolve().parent.parent

# Tests talk to loopback only: never let boto3's credential chain try the instance metadata
# address (subprocesses inherit this too).
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def _stop_background_threads() -> Iterator[None]:
    """Shared watches and pollers are daemon threads: stop them before the interpreter exits."""
    yield
    import sys

    if "jupyter_ack.ack.watch" in sys.modules:
        from jupyter_ack.ack.watch import stop_all

        stop_all()


@pytest.fixture(scope="session")
def example_text() -> str:
    return example_path().read_text(encoding="utf-8")


@pytest.fixture
def example(example_text: str) -> dict[str, Any]:
    """A fresh copy of the bundled abalone definition, to mutate in a test."""
    return copy.deepcopy(json.loads(example_text))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    stdin: str | None = None,
    timeout: float = 120,
) -> Result:
    """Run a command in the repository root with this environment minus ``drop`` plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k not in drop}
    full_env.update(env or {})
    proc = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the installed ``jupyter-ack`` console script, as a user would."""
    exe = Path(sys.executable).with_name("jupyter-ack")
    return run(
        [str(exe), *args], env={"NO_COLOR": "1", **(env or {})}, drop=("FORCE_COLOR",), stdin=stdin
    )


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing boto3 at the moto server with dummy credentials."""
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return env


@contextlib.contextmanager
def s3_calls() -> Iterator[list[str]]:
    """Every S3 call boto3 makes inside the block, as 'OperationName', from any thread."""
    import threading

    import boto3

    from jupyter_ack.aws.clients import reset_clients

    calls: list[str] = []
    lock = threading.Lock()

    def record(model: Any, **_: Any) -> None:
        with lock:
            calls.append(model.name)

    reset_clients()
    session = boto3.session.Session()
    session.events.register("before-call.s3.*", record)
    original = boto3.session.Session
    boto3.session.Session = lambda *a, **k: session  # type: ignore[assignment,misc]
    try:
        yield calls
    finally:
        boto3.session.Session = original  # type: ignore[misc]
        reset_clients()

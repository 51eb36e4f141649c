"""The other tools the side-by-side benchmarks run (aws, jq, kubectl, dot), found or set up
once, and what they share: a clean environment for a sandbox, timed commands, and a count of
the requests that reach the sandbox's moto.

The AWS CLI is never installed into the project's environment (it pins botocore and would
downgrade boto3): when none is on PATH, one is installed into its own venv,
``build/bench-tools/``, on first use. A tool that is missing, or whose install fails, is
reported by the benchmark as a skipped row, never as a crash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOOLS_VENV = ROOT / "build" / "bench-tools"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
EXAMPLE = ROOT / "jupyter_ack" / "examples" / "abalone.json"

_found: dict[str, tuple[str | None, str]] = {}
_lock = threading.Lock()


def jupyter_ack() -> str:
    """Our command, from the environment running the benchmarks."""
    beside = Path(sys.executable).parent / "jupyter-ack"
    return str(beside) if beside.exists() else (shutil.which("jupyter-ack") or "jupyter-ack")


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def tool(name: str) -> tuple[str | None, str]:
    """(path, "") of a working ``name``, or (None, why not). ``aws`` is installed into
    ``build/bench-tools/`` when missing; ``jq``, ``kubectl`` and ``dot`` only looked up."""
    with _lock:
        if name not in _found:
            _found[name] = _find(name)
        return _found[name]


def _find(name: str) -> tuple[str | None, str]:
    probe = {"aws": ["--version"], "kubectl": ["version", "--client"], "dot": ["-V"]}
    args = probe.get(name, ["--version"])
    path = shutil.which(name)
    if path and _works([path, *args]):
        return path, ""
    if name != "aws":
        install = {"jq": "apt-get install -y jq", "dot": "apt-get install -y graphviz"}
        hint = install.get(name, f"install {name}")
        return None, f"{name} not found on PATH ({hint})"
    local = TOOLS_VENV / "bin" / "aws"
    if local.exists() and _works([str(local), "--version"]):
        return str(local), ""
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(TOOLS_VENV)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            [str(TOOLS_VENV / "bin" / "pip"), "install", "--quiet", "awscli"],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"aws CLI not found and its install into build/bench-tools/ failed ({e})"
    if local.exists() and _works([str(local), "--version"]):
        return str(local), ""
    return None, "aws CLI installed into build/bench-tools/ but does not run"


def version_of(argv: list[str]) -> str:
    """The first line a ``--version`` command prints (stdout or stderr)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the user's AWS and jupyter-ack settings, plus ``extra``
    (a sandbox's ``env``): every tool then talks to the sandbox and nothing else. The AWS
    CLI reads AWS_ENDPOINT_URL from 1.29 on; the commands also pass ``--endpoint-url``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "JUPYTER_ACK_")) and k != "KUBECONFIG"
    }
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def timed_run(
    argv: list[str] | str,
    env: Mapping[str, str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 600,
    ok: tuple[int, ...] = (0,),
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time in ms of one command (a string runs in bash), and its result; raises
    ``RuntimeError`` with its output when it exits with a code not in ``ok``."""
    shell = isinstance(argv, str)
    command = ["bash", "-euo", "pipefail", "-c", argv] if isinstance(argv, str) else list(argv)
    began = time.perf_counter()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        timeout=timeout,
    )
    took = (time.perf_counter() - began) * 1000
    if done.returncode not in ok:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        name = "bash script" if shell else Path(command[0]).name
        raise RuntimeError(f"{name} exited {done.returncode}: {' / '.join(tail)}")
    return took, done


# requests reaching moto ----------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    agent: str
    body_bytes: int


@dataclass
class RequestLog:
    """Every HTTP request the sandbox's moto server answers while it is installed."""

    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[Request]:
        with self.lock:
            return list(self.requests[mark:])


@contextmanager
def counting_requests(sandbox: Any) -> Iterator[RequestLog]:
    """Wrap the WSGI app of the sandbox's moto server: each request is logged (method, path,
    User-Agent, body size) before moto answers it. Whoever sends it (boto3 in jupyter-ack,
    the AWS CLI, the ACK controller emulator) it is counted, so only count requests made
    while nothing else talks to moto."""
    server = sandbox.moto.server._server  # werkzeug's BaseWSGIServer in ThreadedMotoServer
    app: Callable[..., Any] = server.app
    log = RequestLog()

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with log.lock:
            log.requests.append(
                Request(
                    environ.get("REQUEST_METHOD", "?"),
                    environ.get("PATH_INFO", ""),
                    environ.get("HTTP_USER_AGENT", ""),
                    length,
                )
            )
        return app(environ, start_response)

    server.app = counted
    try:
        yield log
    finally:
        server.app = app


@contextmanager
def sandbox(**settings: Any) -> Iterator[Any]:
    """``with Sandbox(**settings) as sb``, stopped in about half a second: its API server
    first, so that the ACK controller's watch threads see their streams end (otherwise one
    blocked in its stream can hold ``Sandbox.stop()`` for its 5 s join timeout)."""
    from jupyter_ack.sandbox import Sandbox

    sb = Sandbox(**settings).start()
    try:
        yield sb
    finally:
        try:
            sb.kube.stop()
        finally:
            sb.stop()  # stopping the API server twice is harmless: stop() suppresses errors

"""``jupyter-ack sandbox up|down|env``: the sandbox from a shell (the arguments are defined
in ``jupyter_ack.cli.sandbox``).

``up`` runs in the foreground until Ctrl-C (or SIGTERM), or with ``--detach`` in a child
process of its own session, returning once the sandbox answers. The state directory holds
``kubeconfig`` (the API's address, CA and bearer token; mode 0600), ``env``, ``pid`` and
``sandbox.log``. Nothing printed or logged contains the token.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_ack.errors import JupyterAckError

from .sandbox import CONTEXT, default_state_dir

READY_TIMEOUT = 30.0


def run(args: argparse.Namespace) -> int:
    """Entry from ``jupyter_ack.cli.sandbox``, which defines the arguments."""
    if args.state_dir is None:
        args.state_dir = default_state_dir()
    return {"up": cmd_up, "down": cmd_down, "env": cmd_env}[args.action](args)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / "pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def cmd_up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.expanduser()
    pid = _running_pid(state_dir)
    if pid is not None:
        raise JupyterAckError(
            f"a sandbox is already running from {state_dir} (pid {pid})",
            hint=f"use it (`source {state_dir / 'env'}`) or stop it: jupyter-ack sandbox down",
        )
    if args.detach:
        return _detach(args, state_dir)
    return _foreground(args, state_dir)


def _foreground(args: argparse.Namespace, state_dir: Path) -> int:
    from .sandbox import Sandbox

    fail_steps = {
        name: f"ClientError: step {name} failed (injected by the sandbox)"
        for name in args.fail_step
    }
    sandbox = Sandbox(
        state_dir,
        ack_period=args.ack_period,
        step_seconds=args.step_seconds,
        fail_steps=fail_steps,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sandbox.start()
    except ImportError as e:
        raise JupyterAckError(
            f"the sandbox needs extra packages ({e.name} is missing)",
            hint="pip install 'jupyter-ack[sandbox]'",
        ) from None
    try:
        (state_dir / "pid").write_text(f"{os.getpid()}\n")
        sys.stdout.write(usage(sandbox, args))
        sys.stdout.flush()
        stop.wait()
    finally:
        sandbox.stop()
        for name in ("pid",):
            (state_dir / name).unlink(missing_ok=True)
    sys.stdout.write("sandbox stopped\n")
    return 0


def usage(sandbox: Any, args: argparse.Namespace) -> str:
    failing = ", ".join(args.fail_step) or "none"
    return (
        f"jupyter-ack sandbox is up ({sandbox.started_in:.1f} s)\n"
        f"  Kubernetes API   {sandbox.kube_url}   context {CONTEXT}\n"
        f"                   TLS with its own CA; token in {sandbox.kubeconfig} (keep it private)\n"
        f"  AWS (moto)       {sandbox.aws_endpoint}   S3 and SageMaker, region us-east-1\n"
        f"  ACK controller   requeue every {args.ack_period:g} s; "
        f"steps run {args.step_seconds:g} s; failing steps: {failing}\n"
        f"  state            {sandbox.state_dir}\n"
        "\n"
        f"use it from a shell:   source {sandbox.env_file}\n"
        "                       kubectl get pipelines,pipelineexecutions\n"
        "stop it:               Ctrl-C (or `jupyter-ack sandbox down` when detached)\n"
    )


def _detach(args: argparse.Namespace, state_dir: Path) -> int:
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = state_dir / "sandbox.log"
    for name in ("pid", "env"):
        (state_dir / name).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "jupyter_ack.cli",
        "sandbox",
        "up",
        "--state-dir",
        str(state_dir),
        "--ack-period",
        str(args.ack_period),
        "--step-seconds",
        str(args.step_seconds),
    ]
    for step in args.fail_step:
        command += ["--fail-step", step]
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise JupyterAckError(
                "the sandbox failed to start: " + (" / ".join(tail) or f"exit {child.returncode}"),
                hint=f"see {log_path}",
            )
        if (state_dir / "pid").exists() and "is up" in log_path.read_text(errors="replace"):
            sys.stdout.write(
                log_path.read_text(errors="replace").replace(
                    "Ctrl-C (or `jupyter-ack sandbox down` when detached)",
                    "jupyter-ack sandbox down",
                )
            )
            return 0
        time.sleep(0.05)  # polling a child process's files: no event to wait on
    child.terminate()
    raise JupyterAckError(
        f"the sandbox did not start in {READY_TIMEOUT:g} s", hint=f"see {log_path}"
    )


def cmd_down(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.expanduser()
    pid = _running_pid(state_dir)
    if pid is None:
        raise JupyterAckError(f"no sandbox is running from {state_dir}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # another process's exit: nothing to wait on but its pid
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    (state_dir / "pid").unlink(missing_ok=True)
    sys.stdout.write(f"sandbox stopped (pid {pid})\n")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.expanduser()
    env_file = state_dir / "env"
    if _running_pid(state_dir) is None or not env_file.exists():
        raise JupyterAckError(
            f"no sandbox is running from {state_dir}",
            hint="start one: jupyter-ack sandbox up --detach",
        )
    sys.stdout.write(env_file.read_text())
    return 0

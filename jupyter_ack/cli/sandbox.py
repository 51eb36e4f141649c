"""The ``sandbox`` command's arguments. The sandbox package itself (aiohttp, moto, the
emulators) is imported only when the command runs, never by another command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="a local Kubernetes + ACK + AWS emulator, on loopback")
    parser.set_defaults(run=_run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    up = actions.add_parser("up", help="start the sandbox (foreground; --detach to background it)")
    _state_dir(up)
    up.add_argument(
        "--ack-period",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="the ACK controller's requeue period (default 30, as the real one)",
    )
    up.add_argument(
        "--step-seconds",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long each simulated pipeline step runs (default 5)",
    )
    up.add_argument(
        "--fail-step",
        action="append",
        default=[],
        metavar="STEP_NAME",
        help="make this step fail in every execution (repeatable)",
    )
    up.add_argument("--detach", action="store_true", help="return once it is ready")

    down = actions.add_parser("down", help="stop a detached sandbox")
    _state_dir(down)

    env = actions.add_parser("env", help="print the shell export lines of a running sandbox")
    _state_dir(env)


def _state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="D",
        help="where kubeconfig and env are written (default $XDG_STATE_HOME/jupyter-ack/sandbox, "
        "else ~/.local/state/jupyter-ack/sandbox)",
    )


def _run(args: argparse.Namespace) -> int:
    try:
        from jupyter_ack.sandbox import cli
    except ImportError as e:
        from jupyter_ack.errors import JupyterAckError

        raise JupyterAckError(
            f"the sandbox needs more packages ({e.name} is missing)",
            hint="pip install 'jupyter-ack[sandbox]'",
        ) from None
    return cli.run(args)

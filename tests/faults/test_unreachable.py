"""No silent hangs: when the cluster stops answering, the views say so at once and keep the
last known state; they give up after a bounded time with a clear error; a cluster that comes
back is followed again from where it was."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.sandbox.simulation import ExecutionOverrides
from jupyter_ack.status.follow import follow
from tests.faults.recording import Seen
from tests.sandbox.conftest import EXAMPLE, ROLE

JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this test's own: the test may stop it."""
    with Sandbox(ack_period=0.3, step_seconds=0.2) as sb:
        yield sb


def start_long_run(sb: Sandbox, run: str) -> Any:
    sb.simulation.executions[run] = ExecutionOverrides(
        step_durations={"PreprocessAbaloneData": 120.0}
    )
    cluster = connect(kubeconfig=str(sb.kubeconfig))
    submit(
        jupyter_ack.load(EXAMPLE, name="abalone-outage"),
        role_arn=ROLE,
        execute=True,
        run_name=run,
        cluster=cluster,
    )
    return cluster


class Lines:
    """A subprocess's stdout, line by line, read on a thread: wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: [self.queue.put(x) for x in stream], daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> str:
        while True:
            try:
                line = self.queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {timeout} s: {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line


def test_status_watch_says_unreachable_then_gives_up(sandbox: Sandbox) -> None:
    start_long_run(sandbox, "outage-1")
    env = {**sandbox.env, "NO_COLOR": "1", "JUPYTER_ACK_UNREACHABLE_LIMIT": "4"}
    proc = subprocess.Popen(
        [JUPYTER_ACK, "status", "outage-1", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, **env},
    )
    try:
        lines = Lines(proc)
        lines.wait_for("Executing", timeout=30)
        sandbox.stop()  # the API server goes away mid-run
        said = lines.wait_for("cluster unreachable", timeout=10)
        assert "outage-1: Executing" in said  # the last known state stays on screen
        assert "retrying" in said
        code = proc.wait(timeout=60)
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
    assert code == 1
    assert "gave up following outage-1 after 4 s" in err
    assert "cannot reach" in err
    assert "Traceback" not in err


def test_a_follower_sees_the_outage_and_the_recovery(sandbox: Sandbox) -> None:
    cluster = start_long_run(sandbox, "blip-1")
    seen = Seen()

    with follow(cluster, "blip-1", seen, steps=False) as lease:
        seen.wait_any(lambda r: r.status == "Executing")
        # the connection is cut, and this namespace's next three watch requests fail (the
        # path is the informer's alone: the ACK emulator watches all namespaces)
        sandbox.faults.fail_requests(
            3, 503, path_contains="/namespaces/default/pipelineexecutions?"
        )
        sandbox.faults.drop_watches(abort=True)
        seen.wait_any(lambda r: r.unreachable is not None)
        at = next(i for i, r in enumerate(seen.items) if r.unreachable)
        trouble = seen.items[at]
        assert trouble.status == "Executing"  # the last known state, with the trouble
        assert "overloaded or failing (503" in trouble.unreachable
        seen.wait(lambda items: any(r.unreachable is None for r in items[at + 1 :]))  # it clears
        assert lease.lost is None
        cluster.delete("pipelineexecutions", "blip-1")  # and changes are seen again
        seen.wait_any(lambda r: r.status in ("Stopping", "Stopped") or lease.gone, timeout=30)

"""Memory of the processes that follow a run (target: under 60 MB RSS each).

    python benchmarks/bench_memory.py

- ``jupyter-ack status RUN --watch``: its RSS while it follows a running run, side by side
  with ``kubectl get pipelineexecution RUN -w`` (which shows no steps);
- a run followed in a kernel: the RSS a Python process gains from ``import jupyter_ack`` and
  following one run (the interpreter itself not counted: a kernel has it already).

Measured on the sandbox, with a run whose first step lasts long enough to be followed. The
Kubernetes client (37) imports google-auth when it is installed (the SageMaker SDK brings it):
the figure is given with and without it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, rss_mb

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.examples import example_path
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.sandbox.simulation import ExecutionOverrides

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
GROUP = "memory"
TARGET_MB = 60.0
JUPYTER_ACK = str(Path(sys.executable).with_name("jupyter-ack"))

# Follows a run in-process as a kernel's panel does; prints the RSS gained.
KERNEL = """
import re, sys
if sys.argv[2] == "no-google-auth":
    sys.modules["google.auth"] = None
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024
base = rss()
import jupyter_ack
lease = jupyter_ack.watch(sys.argv[1])
for run in lease.updates(timeout=30):
    if run.steps:
        break
print(rss() - base)
lease.close()
"""


def watch_rss(argv: list[str], env: dict[str, str], ready: str) -> float:
    """RSS of a long-running follower once its output shows ``ready``."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if ready in line or time.monotonic() > deadline:
                break
        return rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with Sandbox(ack_period=1.0, step_seconds=1.0) as sb:
        env = {**os.environ, **sb.env, "NO_COLOR": "1"}
        sb.simulation.executions["mem-run"] = ExecutionOverrides(
            step_durations={"PreprocessAbaloneData": 300.0}
        )
        submit(
            jupyter_ack.load(example_path(), name="abalone-memory"),
            role_arn=ROLE,
            execute=True,
            run_name="mem-run",
            cluster=connect(kubeconfig=str(sb.kubeconfig)),
        )
        ours = watch_rss([JUPYTER_ACK, "status", "mem-run", "--watch"], env, "Executing [")
        theirs = watch_rss(["kubectl", "get", "pipelineexecution", "mem-run", "-w"], env, "mem-run")
        rows.append(
            Row(
                GROUP,
                "status --watch, RSS",
                round(ours, 1),
                "MB",
                f"< {TARGET_MB:.0f} MB",
                ours < TARGET_MB,
                "kubectl get -w (no steps)",
                round(theirs, 1),
            )
        )
        for variant in ("as installed", "no-google-auth"):
            out = subprocess.run(
                [sys.executable, "-c", KERNEL, "mem-run", variant],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            gained = float(out.stdout.strip().splitlines()[-1])
            note = (
                "google-auth loaded by the kubernetes client"
                if variant == "as installed"
                else ("google-auth not installed")
            )
            rows.append(
                Row(
                    GROUP,
                    f"a run followed in a kernel ({variant})",
                    round(gained, 1),
                    "MB",
                    f"< {TARGET_MB:.0f} MB",
                    gained < TARGET_MB,
                    note=note,
                )
            )
    return rows


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    for row in run(quick=False):
        other = f"  vs {row.other}: {row.other_value} {row.unit}" if row.other else ""
        verdict = "" if row.ok is None else ("ok" if row.ok else "MISSED")
        print(f"{row.name:<45} {row.value:>7} {row.unit}  {row.target or ''} {verdict}{other}")


if __name__ == "__main__":
    main()

"""How fast the status model follows a run (targets from the submit/watch issue).

    python benchmarks/bench_status.py [--runs N]

- watch event -> status model: the time from a status write on the API server to the
  follower's callback (target p95 < 50 ms);
- step change in SageMaker -> status model: the time from a step's simulated start or end
  (its StartTime/EndTime) to the follower reporting it (target p95 < 2 s; the ACK
  controller alone needs up to 30 s, other tools poll every 5 to 10 s).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import datetime

from common import Row, table  # beside this script

from jupyter_ack import load
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ack.resources import GROUP, VERSION
from jupyter_ack.examples import example_path
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.status.follow import follow
from jupyter_ack.status.model import RunStatus

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
BENCH_GROUP = "status"  # GROUP is the CRDs' API group


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def watch_latency(sb: Sandbox, n: int) -> list[float]:
    cluster = connect(kubeconfig=str(sb.kubeconfig))
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineExecution",
        "metadata": {
            "name": "bench",
            "annotations": {"services.k8s.aws/deletion-policy": "retain"},
        },
        "spec": {"pipelineName": "bench-none"},
    }
    cluster.custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "pipelineexecutions", body
    )
    arrived: dict[str, float] = {}
    cv = threading.Condition()

    def on_change(run: RunStatus) -> None:
        with cv:
            arrived[run.parameters.get("mark", "")] = time.perf_counter()
            cv.notify_all()

    lease = follow(cluster, "bench", on_change, steps=False)
    out = []
    try:
        for i in range(n):
            mark = f"m{i}"
            sent = time.perf_counter()
            cluster.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                "default",
                "pipelineexecutions",
                "bench",
                {"spec": {"pipelineParameters": [{"name": "mark", "value": mark}]}},
            )
            with cv:
                cv.wait_for(lambda mark=mark: mark in arrived, timeout=5)
            out.append((arrived[mark] - sent) * 1000)
    finally:
        lease.close()
    return out


def step_latency(sb: Sandbox, runs: int) -> list[float]:
    cluster = connect(kubeconfig=str(sb.kubeconfig))
    lags: list[float] = []
    for i in range(runs):
        seen: dict[tuple[str, str], float] = {}

        def on_status(run: RunStatus, seen: dict[tuple[str, str], float] = seen) -> None:
            now = time.time()
            for s in run.steps:
                seen.setdefault((s.name, s.status), now)

        result = submit(
            load(example_path(), name=f"bench-{i}"),
            role_arn=ROLE,
            execute=True,
            wait=True,
            cluster=cluster,
            on_status=on_status,
            wait_timeout=120,
        )
        if result.run is None or not result.run.succeeded:
            raise RuntimeError(f"run {i} did not succeed")
        for s in result.run.steps:
            for state, stamp in (("Executing", s.start), ("Succeeded", s.end)):
                if stamp and (s.name, state) in seen:
                    happened = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                    lags.append((seen[(s.name, state)] - happened) * 1000)
    return lags


def measure(runs: int, events: int) -> list[Row]:
    saved = dict(os.environ)
    try:
        with Sandbox(ack_period=30.0, step_seconds=2.0) as sb:
            os.environ.update(sb.env)  # AWS credentials reach (the sandbox's) SageMaker
            watch = watch_latency(sb, events)
            steps = step_latency(sb, runs) if runs else []
    finally:
        os.environ.clear()
        os.environ.update(saved)
    rows = []
    for name, values, target, how in (
        ("watch event → status model, p95", watch, 50.0, f"{events} status writes"),
        (
            "SageMaker step change → status model, p95",
            steps,
            2000.0,
            f"{runs} run(s), 30 s requeue, steps of 2 s",
        ),
    ):
        if not values:
            continue
        rows.append(
            Row(
                BENCH_GROUP,
                name,
                p(values, 0.95),
                "ms",
                target=f"< {target:g} ms",
                ok=p(values, 0.95) < target,
                note=f"p50 {p(values, 0.5):.1f} ms; n={len(values)}; {how}",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    """Quick: the watch latency only, so that the runner stays under two minutes; the step
    change -> status model figure (a run of at least 10 s) is then bench_api_budget.py's,
    and bench_versus_run.py's side by side with kubectl."""
    return measure(0, 50) if quick else measure(3, 200)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    print(table(measure(args.runs, args.events)))


if __name__ == "__main__":
    main()

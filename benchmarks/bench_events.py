"""Steps pushed by SageMaker's events (EventBridge -> SQS) against steps polled, on the sandbox.

    python benchmarks/bench_events.py [--runs N] [--quick]

For the same pipeline (the bundled abalone example, submitted and followed to its end with
``submit(wait=True)``), once with an events queue and once without:

- step change -> status model: from a step's start or end in SageMaker (its StartTime /
  EndTime, to the millisecond) to the follower first reporting that step, or its final
  status (target p95 < 1 s with events);
- ListPipelineExecutionSteps calls while the run is followed, counted in the sandbox's
  SageMaker (target 0 with events; the poller lists on every poll).

The ACK controller's period is 30 s, as the real one's: the steps' progress only comes from
SageMaker. Steps run 1 s (``--quick``) or 2 s each.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from common import Row, p50, p95, table  # beside this script

from jupyter_ack import load
from jupyter_ack.ack.cluster import connect
from jupyter_ack.aws import events as aws_events
from jupyter_ack.aws import eventsetup
from jupyter_ack.examples import example_path
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.status import events as status_events
from jupyter_ack.status.model import RunStatus

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
GROUP = "events"
FINAL = ("Succeeded", "Failed", "Stopped")


def _counting_list_calls() -> list[float]:
    """Count ListPipelineExecutionSteps in the sandbox's SageMaker (same process)."""
    from moto.sagemaker.responses import SageMakerResponse

    calls: list[float] = []
    original = SageMakerResponse.list_pipeline_execution_steps

    def counted(self: Any) -> Any:
        calls.append(time.time())
        return original(self)

    SageMakerResponse.list_pipeline_execution_steps = counted
    return calls


def follow_runs(sb: Sandbox, runs: int, tag: str, calls: list[float]) -> tuple[list[float], float]:
    """Lags (ms) from each step change to its first report, and ListSteps calls per run."""
    cluster = connect(kubeconfig=str(sb.kubeconfig))
    sm = sb.aws_client("sagemaker")
    lags: list[float] = []
    listed = 0
    for i in range(runs):
        seen: dict[tuple[str, str], float] = {}

        def on_status(run: RunStatus, seen: dict[tuple[str, str], float] = seen) -> None:
            now = time.time()
            for s in run.steps:
                seen.setdefault((s.name, "appeared"), now)
                if s.status in FINAL:
                    seen.setdefault((s.name, "ended"), now)

        before = len(calls)
        result = submit(
            load(example_path(), name=f"bench-{tag}-{i}"),
            role_arn=ROLE,
            execute=True,
            wait=True,
            cluster=cluster,
            on_status=on_status,
            wait_timeout=180,
        )
        listed += len(calls) - before
        if result.run is None or not result.run.succeeded or result.run.arn is None:
            raise RuntimeError(f"run {tag}-{i} did not succeed")
        truth = sm.list_pipeline_execution_steps(PipelineExecutionArn=result.run.arn)
        for step in truth["PipelineExecutionSteps"]:
            for kind, stamp in (("appeared", step["StartTime"]), ("ended", step["EndTime"])):
                if (step["StepName"], kind) in seen:
                    lags.append((seen[(step["StepName"], kind)] - stamp.timestamp()) * 1000)
    return lags, listed / max(runs, 1)


def run(quick: bool, runs: int | None = None) -> list[Row]:
    count = runs or (1 if quick else 3)
    keys = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    saved = {k: os.environ.get(k) for k in (*keys, "KUBECONFIG", status_events.ENV)}
    with Sandbox(ack_period=30.0, step_seconds=1.0 if quick else 2.0) as sb:
        os.environ.update(sb.env)  # AWS credentials reach (the sandbox's) SageMaker
        os.environ.pop(status_events.ENV, None)
        calls = _counting_list_calls()
        try:
            status_events.use_queue(eventsetup.setup("bench-events").queue_url)
            pushed, pushed_calls = follow_runs(sb, count, "events", calls)
            status_events.use_queue(None)
            polled, polled_calls = follow_runs(sb, count, "poll", calls)
        finally:
            status_events.use_queue(None)
            aws_events.stop_all()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    note = f"{count} run(s) of 7 steps, {'1' if quick else '2'} s each; ACK period 30 s"
    return [
        Row(
            GROUP,
            "step change -> status model, p95",
            p95(pushed),
            "ms",
            target="< 1000 ms",
            ok=p95(pushed) < 1000,
            other="polling",
            other_value=p95(polled),
            note=note,
        ),
        Row(
            GROUP,
            "step change -> status model, p50",
            p50(pushed),
            "ms",
            other="polling",
            other_value=p50(polled),
        ),
        Row(
            GROUP,
            "ListPipelineExecutionSteps calls per run",
            pushed_calls,
            "calls",
            target="0",
            ok=pushed_calls == 0,
            other="polling",
            other_value=polled_calls,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=None, help="runs per mode (1 quick, else 3)")
    parser.add_argument("--quick", action="store_true", help="one run per mode, 1 s steps")
    args = parser.parse_args()
    rows = run(args.quick, args.runs)
    print(table(rows))
    print(f"({rows[0].note})")


if __name__ == "__main__":
    main()

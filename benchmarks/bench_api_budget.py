"""API budget of following runs (issue "status at scale"), on the sandbox.

    python benchmarks/bench_api_budget.py [--quick] [--runs 1,10,200] [--train SECONDS]

N runs of the example pipeline (steps of 2 s, a training step of ``--train`` seconds) are
followed from this process, every view sharing one follower per run as the CLI, the kernel
and the Jupyter server do. Counted, per run-minute (a run's minute: from its first SageMaker
call to its final report):

- ListPipelineExecutionSteps and DescribePipelineExecution calls, separately, on the client
  the step pollers use (a wrapper; HTTP attempts, botocore retries included, are counted
  too with a ``before-send`` hook);
- Kubernetes API requests made by this process (the followers' shared informer), counted on
  the API emulator by token: the runs are created under another user, and the ACK
  controller emulator has a token of its own;
- the budget itself: the shortest gap between two ListSteps of one run (target >= 2 s);
  the most ListSteps in any minute of the training step, from a minute after it began
  Executing (nothing changes then) to its end (target <= 2; full mode, where it is long);
  calls made after a run's final report (target 0);
- step change -> status: for every step, its start (Starting), its move to Executing (the
  sandbox's ``starting_fraction`` of its time after the start) and its end, the time until
  the status model showed it there or further (a state never shown, because a poll saw the
  next one, counts until that one was shown). bench_status.py times Executing from the
  step's StartTime instead and leaves out states never shown: with a long step's long
  Starting phase that measures the Starting phase, so it is not repeated here.

Quick mode: 1 run, then 10, with a 4 s training step (about 40 s in all); full: 1 run, 1
again, 10 and 200, with a 150 s one. The first scenario meets the pipeline cold; the later
ones ("re-run") find its step durations learnt, as a process following the same pipeline
again would.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from common import Row, p95, table  # beside this script

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
GROUP = "status at scale"
PIPELINE = "budget"
TRAIN = "TrainAbaloneModel"
VIEWER, SUBMITTER = "viewer", "submitter"
TOKENS = {"t-viewer-budget": VIEWER, "t-submitter-budget": SUBMITTER}
RANK = {"Starting": 0, "Executing": 1, "Stopping": 1}  # any other status: ended (2)
STEP_SECONDS = 2.0


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class CountingSageMaker:
    """The SageMaker client the pollers use, recording each call: (time, operation, ARN)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[float, str, str]] = []
        self.attempts = 0  # HTTP requests sent, retries included
        self.took: list[float] = []  # ms per call, as the poller waits for it
        self._lock = threading.Lock()
        real.meta.events.register("before-send.sagemaker", self._sent)

    def _sent(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def _record(self, op: str, arn: str) -> None:
        with self._lock:
            self.calls.append((time.time(), op, arn))

    def _timed(self, began: float) -> None:
        with self._lock:
            self.took.append((time.perf_counter() - began) * 1000)

    def describe_pipeline_execution(self, **kwargs: Any) -> Any:
        self._record("D", kwargs["PipelineExecutionArn"])
        began = time.perf_counter()
        try:
            return self.real.describe_pipeline_execution(**kwargs)
        finally:
            self._timed(began)

    def list_pipeline_execution_steps(self, **kwargs: Any) -> Any:
        self._record("L", kwargs["PipelineExecutionArn"])
        began = time.perf_counter()
        try:
            return self.real.list_pipeline_execution_steps(**kwargs)
        finally:
            self._timed(began)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.took.clear()
            self.attempts = 0


class KubeCounter:
    """Requests to the API emulator, by user (wraps its token check, called once a request)."""

    def __init__(self, auth: Any) -> None:
        self.by_user: dict[str, int] = {}
        self._lock = threading.Lock()
        real: Callable[[str | None], str] = auth.user

        def user(authorization: str | None) -> str:
            name = real(authorization)
            with self._lock:
                self.by_user[name] = self.by_user.get(name, 0) + 1
            return name

        auth.user = user

    def reset(self) -> None:
        with self._lock:
            self.by_user.clear()


@dataclass
class Watched:
    """What the views of one run saw: each (step, rank) first shown, and when it settled."""

    name: str
    opened: float
    first: dict[tuple[str, int], float] = field(default_factory=dict)
    settled_at: float = 0.0  # the final report: ended, with its final steps
    final: Any = None

    def __call__(self, run: Any) -> None:
        now = time.time()
        for s in run.steps:
            for rank in range(RANK.get(s.status, 2) + 1):
                self.first.setdefault((s.name, rank), now)
        if run.settled and self.final is None:
            self.final, self.settled_at = run, now


@dataclass
class Scenario:
    runs: int
    train: float
    lists: float = 0.0  # per run-minute
    describes: float = 0.0
    kube: float = 0.0
    attempts: int = 0
    calls: int = 0
    run_minutes: float = 0.0
    min_gap: float = math.inf
    long_step_rate: int | None = None
    after_end: int = 0
    unfinished: int = 0
    lags: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    call_p95: float = 0.0  # ms, a SageMaker call as the pollers waited for it
    known: bool = False  # step durations of the pipeline known from earlier runs


def scenario(
    sb: Any,
    viewer: Any,
    submitter: Any,
    sm: CountingSageMaker,
    kube: KubeCounter,
    n: int,
    train: float,
    label: str,
) -> Scenario:
    import jupyter_ack
    from jupyter_ack.ack.manifests import manifests
    from jupyter_ack.ack.resources import GROUP as API_GROUP
    from jupyter_ack.ack.resources import VERSION
    from jupyter_ack.examples import example_path
    from jupyter_ack.status.follow import follow

    began = time.time()
    sb.simulation.step_durations = {TRAIN: train}
    defn = jupyter_ack.load(example_path(), name=PIPELINE)
    names = [f"{label}-{i}" for i in range(n)]
    watched = {name: Watched(name, time.time()) for name in names}
    sm.reset()
    kube.reset()
    leases = [follow(viewer, name, watched[name], sagemaker_client=sm) for name in names]
    for name in names:
        body = manifests(
            defn, name=PIPELINE, role_arn=ROLE, execute=True, execution_name=name
        ).execution
        submitter.custom.create_namespaced_custom_object(
            API_GROUP, VERSION, "default", "pipelineexecutions", body
        )
    deadline = time.time() + train + 60 + n * 0.5
    for lease in leases:
        lease.done.wait(max(0.0, deadline - time.time()))
    time.sleep(2.5)  # room for a call after the end, should there be one
    for lease in leases:
        lease.close()
    out = Scenario(n, train, elapsed=time.time() - began)
    frac = sb.simulation.starting_fraction
    by_arn: dict[str, list[tuple[float, str]]] = {}
    for t, op, arn in sm.calls:
        by_arn.setdefault(arn, []).append((t, op))
    lists = describes = 0
    for seen in watched.values():
        run = seen.final
        if run is None or not run.arn:
            out.unfinished += 1
            continue
        calls = by_arn.get(run.arn, [])
        if not calls:
            continue
        live = max(seen.settled_at - calls[0][0], 1e-3)
        out.run_minutes += live / 60
        lists += sum(1 for _, op in calls if op == "L")
        describes += sum(1 for _, op in calls if op == "D")
        out.after_end += sum(1 for t, _ in calls if t > seen.settled_at)
        list_times = [t for t, op in calls if op == "L"]
        for a, b in itertools.pairwise(list_times):
            out.min_gap = min(out.min_gap, b - a)
        for s in run.steps:
            start, end = _epoch(s.start), _epoch(s.end)
            if start is None:
                continue
            moments = [start]
            if end is not None:
                moments += [start + frac * (end - start), end]
            for rank, moment in enumerate(moments):
                shown = seen.first.get((s.name, rank))
                if shown is not None and moment >= seen.opened:
                    out.lags.append((shown - moment) * 1000)
            if s.name == TRAIN and end is not None and end - start >= 90:
                # once Executing, the step changes no more until its end: after a minute of
                # that, at most 2 ListSteps in any minute
                quiet = [t for t in list_times if start + frac * (end - start) + 60 <= t < end]
                most = max((sum(1 for u in quiet if t <= u < t + 60) for t in quiet), default=0)
                out.long_step_rate = max(out.long_step_rate or 0, most)
    minutes = max(out.run_minutes, 1e-9)
    out.calls = len(sm.calls)
    out.call_p95 = p95(sm.took) if sm.took else float("nan")
    out.attempts = sm.attempts
    out.lists, out.describes = lists / minutes, describes / minutes
    out.kube = kube.by_user.get(VIEWER, 0) / minutes
    return out


def rows_of(s: Scenario) -> list[Row]:
    what = f"{s.runs} run{'s' if s.runs > 1 else ''}" + (", re-run" if s.known else "")
    note = (
        f"training step {s.train:g} s, other steps {STEP_SECONDS:g} s; "
        f"{s.run_minutes:.1f} run-minutes; step durations "
        + ("known from the runs before" if s.known else "unknown (first runs)")
    )
    retries = s.attempts - s.calls
    rows = [
        Row(GROUP, f"{what}: ListPipelineExecutionSteps", s.lists, "calls/run-min", note=note),
        Row(
            GROUP,
            f"{what}: DescribePipelineExecution",
            s.describes,
            "calls/run-min",
            note=f"HTTP attempts beyond the calls (botocore retries): {retries}",
        ),
        Row(
            GROUP,
            f"{what}: Kubernetes requests from this process",
            s.kube,
            "req/run-min",
            note="one shared informer (list + watch) for every run",
        ),
        Row(
            GROUP,
            f"{what}: shortest gap between two ListSteps of a run",
            s.min_gap if s.min_gap != math.inf else float("nan"),
            "s",
            target=">= 2 s",
            ok=s.min_gap >= 2.0 - 5e-3 if s.min_gap != math.inf else None,
        ),
        Row(
            GROUP,
            f"{what}: calls after a run's final report",
            s.after_end,
            "calls",
            target="0",
            ok=s.after_end == 0 and s.unfinished == 0,
            note=f"{s.unfinished} run(s) did not settle in time" if s.unfinished else None,
        ),
    ]
    if s.long_step_rate is not None:
        rows.append(
            Row(
                GROUP,
                f"{what}: most ListSteps in a minute, a minute into a long unchanged step",
                s.long_step_rate,
                "calls",
                target="<= 2",
                ok=s.long_step_rate <= 2,
                note="the most of any run, in any minute of its training step from 60 s "
                "after it began Executing to its end",
            )
        )
    if s.lags:
        p = p95(s.lags)
        rows.append(
            Row(
                GROUP,
                f"{what}: step change -> status, p95",
                p,
                "ms",
                target="< 2000 ms",
                ok=p < 2000,
                note=f"p50 {statistics.median(s.lags):.0f} ms, {len(s.lags)} changes "
                "(start, Executing, end of every step); a SageMaker call took "
                f"{s.call_p95:.0f} ms (p95)",
            )
        )
    return rows


def run(quick: bool, counts: list[int] | None = None, train: float | None = None) -> list[Row]:
    import logging

    import jupyter_ack
    from jupyter_ack.ack.cluster import connect
    from jupyter_ack.aws.clients import client, reset_clients
    from jupyter_ack.examples import example_path
    from jupyter_ack.ops.submit import submit
    from jupyter_ack.sandbox import Sandbox
    from jupyter_ack.status.poller import DURATIONS

    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # pool-full notices
    counts = counts or ([10] if quick else [1, 1, 10, 200])
    train = train if train is not None else (4.0 if quick else 150.0)
    rows: list[Row] = []
    with Sandbox(ack_period=30.0, step_seconds=STEP_SECONDS, tokens=TOKENS) as sb:
        saved = {k: os.environ.get(k) for k in sb.env}
        os.environ.update(sb.env)  # AWS credentials reach (the sandbox's) SageMaker
        os.environ.pop("AWS_PROFILE", None)
        reset_clients()
        try:
            kube = KubeCounter(sb.kube.auth)
            viewer = connect(kubeconfig=str(sb.kubeconfig))  # the first token: the viewer's
            path = Path(sb.state_dir) / "submitter.kubeconfig"
            sb.kube.write_kubeconfig(path, token="t-submitter-budget")
            submitter = connect(kubeconfig=str(path))
            submit(
                jupyter_ack.load(example_path(), name=PIPELINE),
                role_arn=ROLE,
                cluster=submitter,
            )
            sm = CountingSageMaker(client("sagemaker", "us-east-1"))
            DURATIONS.clear()  # a fresh process: no step durations known yet
            for i, n in enumerate(counts):
                # the first runs meet the pipeline cold; later ones know its step durations
                found = scenario(sb, viewer, submitter, sm, kube, n, train, f"r{i}-{n}")
                found.known = i > 0
                rows += rows_of(found)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            reset_clients()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 10 runs, short steps")
    parser.add_argument("--runs", help="comma-separated run counts, e.g. 1,10,200")
    parser.add_argument("--train", type=float, help="seconds of the training step")
    args = parser.parse_args()
    counts = [int(x) for x in args.runs.split(",")] if args.runs else None
    began = time.perf_counter()
    print(table(run(args.quick, counts, args.train)))
    print(f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

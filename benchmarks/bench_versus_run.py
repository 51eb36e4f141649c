"""Side by side, with a run on the sandbox: jupyter-ack next to the manual path, at the ACK
controller's default 30 s requeue and at 1 s (``ratio`` = manual / ours).

    python benchmarks/bench_versus_run.py [--quick]

- submit to knowing it finished, on the example with steps of 1 s: the manual path scripted
  at its best (``aws s3 cp`` the definition, ``jq`` it into a Pipeline YAML, ``kubectl
  apply``, ``kubectl wait`` for ACK.ResourceSynced, ``kubectl apply`` a PipelineExecution,
  ``kubectl wait`` for its status Succeeded) vs ``jupyter-ack submit --bucket B --execute
  --wait``; quick mode: the 1 s requeue only;
- a step's change in SageMaker (its start or end) to a view of it: our follower (as in
  bench_status.py) vs ``kubectl get pipelineexecution NAME -w -o json``, which shows the
  first change of the ACK object after the step's; the object holds no step state and moves
  only when the run's status does, at a requeue; 30 s requeue and steps of 2 s (quick: 5 s
  and 1 s, so that the run is seen finished at the second requeue, not the third). The
  follower's own target (p95 < 2 s) is checked by bench_status.py and bench_api_budget.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from typing import Any

from common import Row, p50, p95, skipped, table
from tools import EXAMPLE, ROLE, clean_env, jupyter_ack, sandbox, timed_run, tool

GROUP = "versus"
TERMINAL = ("Succeeded", "Failed", "Stopped")

# The manual path at its best: one script, no sleeps, every wait a `kubectl wait`.
MANUAL = r"""
"$AWS" s3 cp "$DEF" "s3://$BUCKET/manual/$NAME/definition.json" \
  --endpoint-url "$AWS_ENDPOINT_URL" --only-show-errors
"$JQ" -r --arg name "$NAME" --arg role "$ROLE" '
  "apiVersion: sagemaker.services.k8s.aws/v1alpha1",
  "kind: Pipeline",
  "metadata:",
  "  name: \($name)",
  "spec:",
  "  pipelineName: \($name)",
  "  roleARN: \($role)",
  "  pipelineDefinition: \(tojson | tojson)"' "$DEF" > "$WORK/pipeline.yaml"
"$KUBECTL" apply -f "$WORK/pipeline.yaml"
"$KUBECTL" wait --for=condition=ACK.ResourceSynced "pipeline/$NAME" --timeout=300s
cat > "$WORK/run.yaml" <<EOF
apiVersion: sagemaker.services.k8s.aws/v1alpha1
kind: PipelineExecution
metadata:
  name: $NAME-run
spec:
  pipelineName: $NAME
EOF
"$KUBECTL" apply -f "$WORK/run.yaml"
"$KUBECTL" wait --for=jsonpath='{.status.pipelineExecutionStatus}'=Succeeded \
  "pipelineexecution/$NAME-run" --timeout=300s
"""


def guarded(name: str, fn: Any) -> list[Row]:
    try:
        rows: list[Row] = fn()
        return rows
    except Exception as e:  # a benchmark reports; it never takes the runner down
        return [skipped(GROUP, name, f"{type(e).__name__}: {e}")]


# submit -> knowing it finished -----------------------------------------------------------------


def submit_rows(quick: bool) -> list[Row]:
    tools = {name: tool(name) for name in ("aws", "jq", "kubectl")}
    missing = [why for path, why in tools.values() if path is None]
    rows = []
    for period in (1.0,) if quick else (30.0, 1.0):
        name = f"submit → knowing it finished, {period:g} s requeue"
        if missing:
            rows.append(skipped(GROUP, name, "; ".join(missing)))
            continue
        rows += guarded(name, lambda period=period: submit_pair(period, quick, tools))
    return rows


def submit_pair(period: float, quick: bool, tools: dict[str, tuple[str | None, str]]) -> list[Row]:
    reps = 1 if quick else 3
    bucket = "bench-versus"
    ours: list[float] = []
    manual: list[float] = []
    with sandbox(ack_period=period, step_seconds=1.0) as sb, tempfile.TemporaryDirectory() as tmp:
        s3 = sb.aws_client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        env = clean_env(sb.env)
        env.update(
            AWS=str(tools["aws"][0]),
            JQ=str(tools["jq"][0]),
            KUBECTL=str(tools["kubectl"][0]),
            DEF=str(EXAMPLE),
            ROLE=ROLE,
            BUCKET=bucket,
            WORK=tmp,
        )
        for i in range(reps):
            tag = f"p{period:g}-{i}".replace(".", "-")
            ours_argv = [
                jupyter_ack(), "submit", str(EXAMPLE), "--name", f"ours-{tag}",
                "--role-arn", ROLE, "--bucket", bucket, "--execute", "--wait",
            ]  # fmt: skip
            order = ("manual", "ours") if i % 2 == 0 else ("ours", "manual")
            for who in order:  # alternate who goes first: a busy moment hits both alike
                if who == "ours":
                    ours.append(timed_run(ours_argv, env, timeout=600)[0] / 1000)
                else:
                    took, _ = timed_run(MANUAL, {**env, "NAME": f"manual-{tag}"}, timeout=600)
                    manual.append(took / 1000)
    return [
        Row(
            GROUP,
            f"submit → knowing it finished, {period:g} s requeue",
            statistics.median(ours),
            "s",
            other="aws s3 cp + jq + kubectl apply/wait",
            other_value=statistics.median(manual),
            note=f"abalone, steps of 1 s; median of {reps}; both publish to S3 first",
        )
    ]


# a step's change -> a view of it ------------------------------------------------------------------


class KubectlWatch:
    """``kubectl get pipelineexecution NAME -w -o json``: each object it prints, with the
    time its last byte arrived."""

    def __init__(self, kubectl: str, name: str, env: dict[str, str]) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(
            [kubectl, "get", "pipelineexecution", name, "-w", "-o", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        decoder = json.JSONDecoder()
        buffer = ""
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 1 << 16):
            now = time.time()
            buffer += chunk.decode()
            while True:
                buffer = buffer.lstrip()
                try:
                    obj, end = decoder.raw_decode(buffer)
                except ValueError:
                    break  # the rest of this object is still on its way
                buffer = buffer[end:]
                with self.changed:
                    self.seen.append((now, obj))
                    self.changed.notify_all()

    def status(self) -> str | None:
        if not self.seen:
            return None
        value = (self.seen[-1][1].get("status") or {}).get("pipelineExecutionStatus")
        return str(value) if value else None

    def wait_terminal(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.status() in TERMINAL, timeout)

    def first_after(self, stamp: float) -> float | None:
        return next((t for t, _ in self.seen if t >= stamp), None)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def step_rows(quick: bool) -> list[Row]:
    kubectl, why = tool("kubectl")
    period = 5.0 if quick else 30.0
    name = f"step change → view, {period:g} s requeue"
    if kubectl is None:
        return [skipped(GROUP, name, why)]
    return guarded(name, lambda: step_pair(kubectl, period, quick))


def step_pair(kubectl: str, period: float, quick: bool) -> list[Row]:
    from jupyter_ack import load
    from jupyter_ack.ack.cluster import connect
    from jupyter_ack.ops.submit import SubmitEvent, submit
    from jupyter_ack.status.model import RunStatus

    runs = 1 if quick else 2
    ours: list[float] = []
    theirs: list[float] = []
    steps = 1.0 if quick else 2.0
    with sandbox(ack_period=period, step_seconds=steps) as sb:
        saved = dict(os.environ)
        os.environ.update(sb.env)  # our follower reaches (the sandbox's) SageMaker
        try:
            cluster = connect(kubeconfig=str(sb.kubeconfig))
            env = clean_env(sb.env)
            for i in range(runs):
                run_name = f"watch-{i}-run"
                seen: dict[tuple[str, str], float] = {}
                watches: list[KubectlWatch] = []

                def on_status(run: RunStatus, seen: dict[tuple[str, str], float] = seen) -> None:
                    now = time.time()
                    for s in run.steps:
                        seen.setdefault((s.name, s.status), now)

                def on_event(
                    event: SubmitEvent,
                    run_name: str = run_name,
                    watches: list[KubectlWatch] = watches,
                ) -> None:
                    if event.stage == "run_created":  # the object exists: kubectl can get it
                        watches.append(KubectlWatch(kubectl, run_name, env))

                result = submit(
                    load(EXAMPLE, name=f"watch-{i}"),
                    role_arn=ROLE,
                    execute=True,
                    wait=True,
                    run_name=run_name,
                    cluster=cluster,
                    on_status=on_status,
                    on_event=on_event,
                    wait_timeout=120,
                )
                if result.run is None or not result.run.succeeded or not watches:
                    raise RuntimeError(f"run {run_name} did not succeed")
                watch = watches[0]
                try:
                    if not watch.wait_terminal(2 * period + 60):
                        raise RuntimeError("kubectl get -w never showed the run finished")
                finally:
                    watch.close()
                for s in result.run.steps:
                    for state, stamp in (("Executing", s.start), ("Succeeded", s.end)):
                        if not stamp or (s.name, state) not in seen:
                            continue
                        happened = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                        shown = watch.first_after(happened)
                        if shown is None:
                            raise RuntimeError(f"kubectl never showed a change after {s.name}")
                        ours.append(seen[(s.name, state)] - happened)
                        theirs.append(shown - happened)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    other = "kubectl get pipelineexecution -w"
    note = f"abalone, steps of {steps:g} s; {len(ours)} step changes in {runs} run(s)"
    return [
        Row(GROUP, f"step change → view, {period:g} s requeue, p50", p50(ours), "s",
            other=other, other_value=p50(theirs), note=note),
        Row(GROUP, f"step change → view, {period:g} s requeue, p95", p95(ours), "s",
            other=other, other_value=p95(theirs),
            note="kubectl shows the object's next change: it holds no step state"),
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    return submit_rows(quick) + step_rows(quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s requeue only; one run each")
    args = parser.parse_args()
    print(table(run(args.quick)))


if __name__ == "__main__":
    main()

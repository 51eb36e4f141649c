"""Side by side: jupyter-ack next to what a user would run instead, measured in the same run
on the same machine (``ratio`` = theirs / ours: above 1, we are faster or lighter).

    python benchmarks/bench_versus.py [--quick]

- process start: ``jupyter-ack --version`` vs ``aws --version`` and ``kubectl version
  --client`` (median of N);
- ``graph --format svg`` (load, validate, layout, SVG, in a fresh process) vs Graphviz's
  ``dot -Tsvg`` of our ``--format dot`` output, at 50, 500 (and 5,000) steps;
- an unchanged re-publish: ``jupyter-ack publish`` a second time (one HEAD) vs ``aws s3 cp``
  again, requests counted as they reach the sandbox's moto;
- submit to knowing it finished, and a step's change to a view of it:
  ``bench_versus_run.py`` (they need the ACK controller's requeue, so they take longest).

A tool that is missing, or whose install fails (the AWS CLI goes into ``build/bench-tools/``
when it is not on PATH), gives a skipped row; ``dot`` past its time limit gives a row saying
so.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import Row, skipped, table
from tools import EXAMPLE, clean_env, counting_requests, jupyter_ack, sandbox, timed_run, tool

GROUP = "versus"
DOT_LIMIT_S = 900.0  # dot at 5,000 steps: minutes; past this the row says so


def guarded(name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """A section's rows, or one skipped row saying why it could not be measured."""
    try:
        return fn()
    except Exception as e:  # a benchmark reports; it never takes the runner down
        return [skipped(GROUP, name, f"{type(e).__name__}: {e}")]


# process start ---------------------------------------------------------------------------------


def process_start(quick: bool) -> list[Row]:
    runs = 5 if quick else 20
    ours = [jupyter_ack(), "--version"]
    theirs: list[tuple[str, list[str] | None, str]] = []
    for name, args in (("aws", ["--version"]), ("kubectl", ["version", "--client"])):
        path, why = tool(name)
        theirs.append((f"{name} {' '.join(args)}", [path, *args] if path else None, why))
    commands = [ours] + [argv for _, argv, _ in theirs if argv]
    env = clean_env()
    for argv in commands:  # warm the page cache once, not timed
        timed_run(argv, env)
    times: dict[str, list[float]] = {argv[0]: [] for argv in commands}
    for _ in range(runs):  # interleaved: a busy moment hits every tool alike
        for argv in commands:
            times[argv[0]].append(timed_run(argv, env)[0])
    mine = statistics.median(times[ours[0]])
    rows = []
    for label, other, why in theirs:
        name = "process start: jupyter-ack --version"
        if other is None:
            rows.append(skipped(GROUP, f"{name} vs {label}", why))
            continue
        rows.append(
            Row(
                GROUP,
                name,
                mine,
                "ms",
                other=label,
                other_value=statistics.median(times[other[0]]),
                note=f"median of {runs}",
            )
        )
    return rows


# layout + SVG vs Graphviz -------------------------------------------------------------------


def graph_vs_dot(quick: bool) -> list[Row]:
    from bench_core import synthetic  # beside this script

    dot, why = tool("dot")
    sizes = (50, 500) if quick else (50, 500, 5000)
    rows = []
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as tmp:
        work = Path(tmp)
        for n in sizes:
            name = f"graph --format svg, {n:,} steps"
            source = work / f"synthetic-{n}.json"
            source.write_text(synthetic(n))
            ours_argv = [jupyter_ack(), "graph", str(source), "--format", "svg"]
            # the synthetic definitions have UNKNOWN_PROPERTY errors: exit 1, graph drawn
            dotfile = work / f"synthetic-{n}.dot"
            _graph([*ours_argv[:3], "--format", "dot"], dotfile, env)
            reps = 1 if n >= 5000 else (3 if quick else 5)
            mine = statistics.median(
                _graph(ours_argv, work / f"ours-{n}.svg", env) for _ in range(reps)
            )
            if dot is None:
                rows.append(Row(GROUP, name, mine, "ms", note=f"dot: skipped: {why}"))
                continue
            theirs: list[float] = []
            note = f"median of {reps}; ours is the whole command, dot only lays out and draws"
            for _ in range(reps):
                argv = [dot, "-Tsvg", str(dotfile), "-o", str(work / f"dot-{n}.svg")]
                try:
                    theirs.append(timed_run(argv, env, timeout=DOT_LIMIT_S)[0])
                except subprocess.TimeoutExpired:
                    theirs.append(DOT_LIMIT_S * 1000)
                    note = f"dot did not finish in {DOT_LIMIT_S:g} s: its figure is that limit"
                    break
            rows.append(
                Row(
                    GROUP,
                    name,
                    mine,
                    "ms",
                    other="dot -Tsvg of our --format dot",
                    other_value=statistics.median(theirs),
                    note=note,
                )
            )
    return rows


def _graph(argv: list[str], out: Path, env: dict[str, str]) -> float:
    """ms of one ``jupyter-ack graph`` into ``out``: the synthetic definitions have
    UNKNOWN_PROPERTY errors, so it exits 1, with the graph drawn all the same."""
    out.unlink(missing_ok=True)
    took, _ = timed_run([*argv, "-o", str(out)], env, ok=(0, 1))
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"jupyter-ack graph drew nothing into {out.name}")
    return took


# unchanged re-publish vs aws s3 cp ----------------------------------------------------------


def republish(quick: bool) -> list[Row]:
    aws, why = tool("aws")
    runs = 3 if quick else 10
    bucket = "bench-versus"
    with sandbox(step_seconds=1.0) as sb:  # nothing runs: only S3 is used, and counted
        env = clean_env(sb.env)
        s3 = sb.aws_client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        ours = [jupyter_ack(), "publish", str(EXAMPLE), "--bucket", bucket, "--name", "abalone"]
        theirs = None
        if aws:
            key = f"s3://{bucket}/manual/abalone/definition.json"
            theirs = [aws, "s3", "cp", str(EXAMPLE), key, "--endpoint-url", sb.aws_endpoint]
            theirs.append("--only-show-errors")
        with counting_requests(sb) as log:
            first: dict[str, int] = {}
            for label, argv in (("ours", ours), ("aws", theirs)):
                if argv:
                    mark = log.mark()
                    timed_run(argv, env)
                    first[label] = len(log.since(mark))
            figures: dict[str, list[tuple[float, int, int, str]]] = {"ours": [], "aws": []}
            for _ in range(runs):
                for label, argv in (("ours", ours), ("aws", theirs)):
                    if argv is None:
                        continue
                    mark = log.mark()
                    took, _ = timed_run(argv, env)
                    sent = log.since(mark)
                    what = " + ".join(sorted({r.method for r in sent}))
                    figures[label].append((took, len(sent), sum(r.body_bytes for r in sent), what))
        versions = s3.list_object_versions(Bucket=bucket, Prefix="manual/")["Versions"]
    name = "unchanged re-publish"
    ours_n = statistics.median(f[1] for f in figures["ours"])
    ours_ms = statistics.median(f[0] for f in figures["ours"])
    if theirs is None:
        return [
            Row(GROUP, f"{name}: requests", ours_n, "requests", note=f"aws: skipped: {why}"),
            Row(GROUP, f"{name}: time", ours_ms, "ms", note=f"aws: skipped: {why}"),
        ]
    aws_n = statistics.median(f[1] for f in figures["aws"])
    aws_bytes = statistics.median(f[2] for f in figures["aws"])
    note = (
        f"ours: {figures['ours'][0][3]}, {figures['ours'][0][2]} bytes sent (first publish: "
        f"{first['ours']} requests, definition and bundle); aws s3 cp: {figures['aws'][0][3]}, "
        f"{len(versions)} object versions after {runs + 1} copies; median of {runs}"
    )
    return [
        Row(
            GROUP,
            f"{name}: requests",
            ours_n,
            "requests",
            other="aws s3 cp",
            other_value=aws_n,
            note=note,
        ),
        Row(
            GROUP,
            f"{name}: bytes uploaded",
            statistics.median(f[2] for f in figures["ours"]),
            "bytes",
            other="aws s3 cp",
            other_value=aws_bytes,
            note="the body of each request; aws s3 cp makes a new object version every time",
        ),
        Row(
            GROUP,
            f"{name}: time",
            ours_ms,
            "ms",
            other="aws s3 cp",
            other_value=statistics.median(f[0] for f in figures["aws"]),
            note=f"whole command, process start included; median of {runs}",
        ),
    ]


def run(quick: bool) -> list[Row]:
    rows = guarded("process start", lambda: process_start(quick))
    rows += guarded("graph --format svg vs dot", lambda: graph_vs_dot(quick))
    rows += guarded("unchanged re-publish", lambda: republish(quick))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs; 1 s requeue only")
    args = parser.parse_args()
    print(table(run(args.quick)))


if __name__ == "__main__":
    main()

"""Run every benchmark module, print one table, and write the rows as JSON.

    python -m benchmarks [--quick] [--json FILE] [--only NAME ...]

A module is any ``benchmarks/bench_*.py`` with ``run(quick: bool) -> list[Row]``: none is
listed here, so one added or removed needs no change to this runner. Each runs in a fresh
interpreter of its own (with ``benchmarks/`` first on ``sys.path``, as when it runs as a
script), so that one module's servers, environment or crash cannot touch the next; a module
that fails, or outlasts its time limit, becomes a skipped row. Rows with a target that this
run missed are marked MISSED; the exit code is 0 all the same (benchmarks report, the README
states the misses), 2 only for bad usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.metadata
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The order of the table (modules not named here come after, by name); not a list of what runs.
ORDER = (
    "core", "layout_quality", "kubeapi", "status", "publish", "sidebar", "api_budget", "memory",
    "magics", "versus", "versus_run",
)  # fmt: skip
LIMIT_S = {True: 300.0, False: 3600.0}  # per module, quick and full
QUICK_BUDGET_S = 120.0  # the whole quick run (CI runs it)


def module_names() -> list[str]:
    names = [p.stem for p in HERE.glob("bench_*.py")]

    def key(name: str) -> tuple[int, str]:
        short = name.removeprefix("bench_")
        return (ORDER.index(short) if short in ORDER else len(ORDER), name)

    return sorted(names, key=key)


# the child: one module ----------------------------------------------------------------------


def child(name: str, quick: bool, out: Path) -> int:
    sys.path.insert(0, str(HERE))
    from common import skipped

    result: dict[str, Any]
    try:
        module = importlib.import_module(name)
    except Exception as e:
        traceback.print_exc()
        rows = [skipped(name.removeprefix("bench_"), name, f"import failed: {e!r}"[:300])]
        result = {"rows": [r.to_json() for r in rows]}
    else:
        run = getattr(module, "run", None)
        if not callable(run):
            result = {"no_run": True}
        else:
            try:
                rows = list(run(quick))
            except Exception as e:
                traceback.print_exc()
                why = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                rows = [skipped(name.removeprefix("bench_"), name, f"failed: {why}")]
            result = {"rows": [as_json(r) for r in rows]}
    out.write_text(json.dumps(result))
    return 0


def as_json(row: Any) -> dict[str, Any]:
    """A Row, from this ``common`` or another import of it (``benchmarks.common``)."""
    if hasattr(row, "to_json"):
        return dict(row.to_json())
    return dataclasses.asdict(row)


# the parent: every module -------------------------------------------------------------------


def run_module(name: str, quick: bool) -> tuple[list[Any], str | None, float]:
    """(rows, why it has none or None, seconds) of one module run in a child."""
    from benchmarks.common import Row, skipped

    group = name.removeprefix("bench_")
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as tmp:
        out = Path(tmp) / "rows.json"
        argv = [sys.executable, "-m", "benchmarks", "--child", name, "--out", str(out)]
        began = time.perf_counter()
        proc = subprocess.Popen(
            [*argv, *(["--quick"] if quick else [])],
            cwd=ROOT,
            stdout=sys.stderr,  # a module's own chatter stays off the table
            start_new_session=True,  # its servers and tools can be ended with it
        )
        try:
            code = proc.wait(LIMIT_S[quick])
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            took = time.perf_counter() - began
            why = f"did not finish in {LIMIT_S[quick]:g} s"
            return [skipped(group, name, why)], why, took
        took = time.perf_counter() - began
        if not out.exists():
            why = f"the module's process exited {code} without rows"
            return [skipped(group, name, why)], why, took
        result = json.loads(out.read_text())
    if result.get("no_run"):
        return [], "no run(quick)", took
    fields = {f.name for f in dataclasses.fields(Row)}
    rows = [Row(**{k: v for k, v in r.items() if k in fields}) for r in result["rows"]]
    return rows, None, took


def ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    from benchmarks.tools import tool, version_of

    versions: dict[str, str | None] = {}
    for package in ("jupyter-ack", "boto3", "kubernetes", "moto"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    probes = {"aws": ["--version"], "kubectl": ["version", "--client"], "dot": ["-V"]}
    for name in ("aws", "kubectl", "dot", "jq"):
        path, _ = tool(name)
        versions[name] = version_of([path, *probes.get(name, ["--version"])]) if path else None
    return {
        "cores": os.cpu_count(),
        "ram_gib": ram_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def clean(value: Any) -> Any:
    """NaN (a skipped row's value) as null: the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="CI's size: under 2 minutes")
    parser.add_argument("--json", metavar="FILE", help="write the rows and the machine here")
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown, without notes"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="these modules only (core, bench_status, ...)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick, Path(args.out))

    from benchmarks.common import fmt, missed, table

    names = module_names()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = sorted(wanted - set(names))
        if unknown:
            known = ", ".join(n.removeprefix("bench_") for n in names)
            parser.error(f"no benchmark module {', '.join(unknown)} (there are: {known})")
        names = [n for n in names if n in wanted]

    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    began = time.perf_counter()
    facts = machine()
    mode = "quick" if args.quick else "full"
    print(
        f"benchmarks ({mode}): {len(names)} modules; {facts['cores']} cores, "
        f"{facts['ram_gib']} GiB, Python {facts['python']}; "
        f"load average {load_before[0]:.2f} at start",
        file=sys.stderr,
    )
    rows: list[Any] = []
    modules: dict[str, Any] = {}
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ...", file=sys.stderr, flush=True)
        got, why, took = run_module(name, args.quick)
        rows += got
        modules[name] = {"seconds": round(took, 1), "rows": len(got), "problem": why}
        said = f" ({why})" if why else ""
        print(f"[{i}/{len(names)}] {name}: {len(got)} rows in {took:.1f} s{said}", file=sys.stderr)
    wall = time.perf_counter() - began
    load_after = os.getloadavg()

    print(table(rows, markdown=True, notes=False) if args.markdown else table(rows))
    misses = [r for r in rows if missed(r)]
    kept = sum(1 for r in rows if r.target is not None and r.ok)
    skips = [r for r in rows if (r.note or "").startswith("skipped")]
    print()
    if misses:
        print(f"MISSED {len(misses)} of {len(misses) + kept} targets:")
        for r in misses:
            print(f"  MISSED  {r.group} / {r.name}: {fmt(r.value)} {r.unit}, target {r.target}")
    elif kept:
        print(f"all {kept} targets kept")
    if skips:
        print(f"{len(skips)} rows skipped (see their notes)")
    print(
        f"{mode} run: {wall:.0f} s wall; load average {load_before[0]:.2f} at start, "
        f"{load_after[0]:.2f} at the end ({facts['cores']} cores)"
    )
    if args.quick and not args.only and wall > QUICK_BUDGET_S:
        print(
            f"MISSED the quick run's budget: {wall:.0f} s, over {QUICK_BUDGET_S:g} s "
            "(the slowest modules are listed above, on stderr)"
        )

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "date": started.isoformat(timespec="seconds"),
            "quick": args.quick,
            "wall_seconds": round(wall, 1),
            "load_average": {"start": load_before, "end": load_after},
            "machine": facts,
            "modules": modules,
            "rows": [r.to_json() for r in rows],
        }
        path.write_text(json.dumps(clean(document), indent=2, ensure_ascii=False) + "\n")
        print(f"rows written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

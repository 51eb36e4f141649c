"""Benchmarks of the core, printed as a table (targets from the foundation issue).

    python benchmarks/bench_core.py [--quick]

- ``import jupyter_ack`` in a fresh interpreter (target < 100 ms), next to a bare interpreter;
- load + validate + layout of synthetic definitions of 50, 500 and 5,000 steps (targets 20 ms,
  200 ms, 3 s), each step as large as a real Processing step, with data and DependsOn edges
  to earlier steps and a Condition with two branches every tenth step.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from common import Row, table  # beside this script

from jupyter_ack import load
from jupyter_ack.examples import example_path

GROUP = "core"
TARGETS_MS = {50: 20.0, 500: 200.0, 5000: 3000.0}


def synthetic(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    base = json.loads(example_path().read_text())
    template = base["Steps"][0]
    steps: list[dict[str, Any]] = []
    made = 0
    names: list[str] = []
    while made < n:
        name = f"Step{made:05d}"
        step = copy.deepcopy(template)
        step["Name"] = name
        if names:
            src = rng.choice(names[-20:])
            step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
                "Get": f"Steps.{src}.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
            }
            step["DependsOn"] = sorted({rng.choice(names[-50:]) for _ in range(rng.randint(0, 2))})
        if made % 10 == 9 and made + 3 <= n:
            branch = []
            for b in ("a", "b"):
                child = copy.deepcopy(template)
                child["Name"] = f"{name}{b}"
                branch.append(child)
            steps.append(
                {
                    "Name": name,
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [
                            {
                                "Type": "Equals",
                                "LeftValue": {"Get": "Parameters.ProcessingInstanceCount"},
                                "RightValue": 1,
                            }
                        ],
                        "IfSteps": [branch[0]],
                        "ElseSteps": [branch[1]],
                    },
                }
            )
            names += [name, f"{name}a", f"{name}b"]
            made += 3
            continue
        steps.append(step)
        names.append(name)
        made += 1
    base["Steps"] = steps
    return json.dumps(base, indent=2)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def interpreter_ms(code: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def run(quick: bool) -> list[Row]:
    rep = 3 if quick else 10
    bare = interpreter_ms("pass", rep)
    imp = interpreter_ms("import jupyter_ack", rep)
    rows = [
        Row(GROUP, "python -c pass", bare, "ms", note=f"median of {rep}"),
        Row(
            GROUP,
            "python -c 'import jupyter_ack'",
            imp,
            "ms",
            target="< 100 ms",
            ok=imp < 100,
            note=f"of which jupyter_ack {imp - bare:.1f} ms; median of {rep}",
        ),
    ]
    previous: float | None = None
    for n, target in TARGETS_MS.items():
        text = synthetic(n)

        def once(text: str = text) -> None:
            defn = load(text)
            defn.validate()
            _ = defn.layout

        repeat = max(3, rep // (1 if n < 5000 else 3))
        med = statistics.median(timed(once, repeat))
        growth = f"x{med / previous:.1f} for x10 steps; " if previous else ""
        previous = med
        rows.append(
            Row(
                GROUP,
                f"load+validate+layout {n:,} steps ({len(text) / 1e6:.2f} MB)",
                med,
                "ms",
                target=f"< {target:g} ms",
                ok=med < target,
                note=f"{growth}median of {repeat}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    print(table(run(args.quick)))


if __name__ == "__main__":
    main()

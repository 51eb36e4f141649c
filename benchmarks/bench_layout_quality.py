"""Speed and quality of the shared DAG layout, printed as a table.

    python benchmarks/bench_layout_quality.py [--quick]

For the abalone example and for generated definitions (a random chain with fan-in, as in
tests/test_layout.py, and bench_core's synthetic definition with a Condition every tenth
step) of 500 and 5,000 steps: the median time of ``layout(dag)`` alone (the DAG is built
once), the edge crossings counted between adjacent layers, and the number of groups. The
5,000-step layout should stay around 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from bench_core import synthetic  # beside this script
from common import Row, table

from jupyter_ack import load
from jupyter_ack.examples import example_path
from jupyter_ack.pipeline.layout import layout

GROUP = "layout"


def chain_with_fan(n: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        deps = sorted({f"S{rng.randrange(i)}" for _ in range(rng.randint(0, 3))}) if i else []
        steps.append({"Name": f"S{i}", "Type": "Processing", "DependsOn": deps, "Arguments": {}})
    return {"Version": "2020-12-01", "Steps": steps}


def run(quick: bool) -> list[Row]:
    rep = 1 if quick else 3
    cases: list[tuple[str, Any]] = [("abalone", example_path().read_text())]
    for n in (500, 5000):
        cases.append(("chain+fan", chain_with_fan(n)))
        cases.append(("synthetic", synthetic(n)))
    rows = []
    for name, source in cases:
        dag = load(source).dag
        times = []
        lay = None
        for _ in range(rep):
            start = time.perf_counter()
            lay = layout(dag)
            times.append((time.perf_counter() - start) * 1000)
        assert lay is not None
        rows.append(
            Row(
                GROUP,
                f"layout only: {name}, {len(dag.nodes):,} steps",
                statistics.median(times),
                "ms",
                note=f"{lay.crossings:,} crossings, {len(lay.groups)} groups; median of {rep}",
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

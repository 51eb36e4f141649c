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

from jupyter_ack import load
from jupyter_ack.examples import example_path
from jupyter_ack.pipeline.layout import layout


def chain_with_fan(n: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        deps = sorted({f"S{rng.randrange(i)}" for _ in range(rng.randint(0, 3))}) if i else []
        steps.append({"Name": f"S{i}", "Type": "Processing", "DependsOn": deps, "Arguments": {}})
    return {"Version": "2020-12-01", "Steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    rep = 1 if args.quick else 3
    cases: list[tuple[str, Any]] = [("abalone", example_path().read_text())]
    for n in (500, 5000):
        cases.append((f"chain+fan {n}", chain_with_fan(n)))
        cases.append((f"synthetic {n}", synthetic(n)))
    print(f"{'definition':<16} {'steps':>6} {'layout median':>14} {'crossings':>10} {'groups':>7}")
    for name, source in cases:
        dag = load(source).dag
        times = []
        lay = None
        for _ in range(rep):
            start = time.perf_counter()
            lay = layout(dag)
            times.append((time.perf_counter() - start) * 1000)
        assert lay is not None
        groups = len(lay.groups)
        print(
            f"{name:<16} {len(dag.nodes):>6} {statistics.median(times):>11.0f} ms "
            f"{lay.crossings:>10} {groups:>7}"
        )


if __name__ == "__main__":
    main()

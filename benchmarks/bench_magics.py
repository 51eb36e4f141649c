"""What ``%load_ext jupyter_ack`` adds to a kernel, next to importing the SageMaker SDK's
pipeline module (what a notebook that builds pipelines pays anyway).

    python benchmarks/bench_magics.py [--runs N]

Each figure is the median of N fresh interpreters: the load is timed inside an IPython shell
that already exists (as in a kernel), the SDK import with the offline environment of
``tests/sdk_pipelines.py`` (no AWS lookups). Target: the load under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, table  # beside this script

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0
GROUP = "versus"

LOAD_EXT = """
import time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_ack")
print((time.perf_counter() - t) * 1000)
"""

SDK_IMPORT = """
import time
t = time.perf_counter()
import sagemaker.mlops.workflow.pipeline
print((time.perf_counter() - t) * 1000)
"""


def timed(code: str, env: dict[str, str] | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=str(ROOT),
        timeout=300,
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> list[Row]:
    """The load (median of ``runs``) beside the SDK import (median of half as many)."""
    load = statistics.median(timed(LOAD_EXT) for _ in range(runs))
    name = "%load_ext jupyter_ack"
    target, ok = f"< {TARGET_MS:g} ms", load < TARGET_MS
    sys.path.insert(0, str(ROOT))
    try:
        from tests.sdk_pipelines import sdk_offline_env

        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, **sdk_offline_env(tmp)}
            for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
                env.pop(key, None)
            sdk_runs = max(1, runs // 2)
            sdk = statistics.median(timed(SDK_IMPORT, env) for _ in range(sdk_runs))
    except (ImportError, subprocess.CalledProcessError) as e:  # no SDK here: say so
        why = f"the SDK's import failed: {type(e).__name__}"
        return [Row(GROUP, name, load, "ms", target=target, ok=ok, note=f"median of {runs}; {why}")]
    return [
        Row(
            GROUP,
            name,
            load,
            "ms",
            target=target,
            ok=ok,
            other="import sagemaker.mlops.workflow.pipeline",
            other_value=sdk,
            note=f"median of {runs} (SDK: {sdk_runs}) fresh interpreters",
        )
    ]


def run(quick: bool) -> list[Row]:
    return measure(3 if quick else 10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = measure(args.runs)
    print(table(rows))
    return 0 if rows[0].ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

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

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.sdk_pipelines import sdk_offline_env

    load = statistics.median(timed(LOAD_EXT) for _ in range(args.runs))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **sdk_offline_env(tmp)}
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            env.pop(key, None)
        sdk = statistics.median(timed(SDK_IMPORT, env) for _ in range(max(1, args.runs // 2)))
    ok = "ok" if load < TARGET_MS else "OVER TARGET"
    target = f"(target < {TARGET_MS:g} ms: {ok})"
    print(f"%load_ext jupyter_ack                      {load:8.1f} ms  {target}")
    print(f"import sagemaker.mlops.workflow.pipeline   {sdk:8.1f} ms")
    print(f"ratio                                      {load / sdk:8.1%}")
    return 0 if load < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())

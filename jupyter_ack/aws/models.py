"""botocore service models cut down to the operations we call.

A boto3 client parses its service's whole model and keeps it: SageMaker's is the largest
AWS has, and holds 18 MB in every process that follows a run (``status --watch``, a kernel
with a live panel, the Jupyter server), for the handful of read calls we make. We give our
own clients (never the user's: they get a botocore session of their own) a model with just
those operations and the shapes they reach.

The cut model is written once per botocore version under the user's cache directory, by a
child process, so that the full model never sits in the memory of the process that follows
runs. When that cannot be done (a read-only home, say), clients use the full model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# service -> the operations jupyter-ack calls (a call missing here fails in the tests)
OPERATIONS: dict[str, tuple[str, ...]] = {
    "sagemaker": (
        "DescribePipelineExecution",
        "DescribePipelineDefinitionForExecution",
        "ListPipelineExecutionSteps",
        "ListPipelineExecutions",
        "ListPipelineParametersForExecution",
    ),
}
_made: dict[str, Path | None] = {}


def search_path(service: str) -> Path | None:
    """A botocore data directory with ``service``'s cut model, made on first use; None when
    the service is not cut, or the model could not be written."""
    if service not in OPERATIONS:
        return None
    if service in _made:
        return _made[service]
    root = _cache_root()
    found: Path | None = root
    if not (root / service).is_dir():
        try:
            subprocess.run(
                [sys.executable, "-m", __name__, service, str(root)],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError):
            found = None
    _made[service] = found
    return found


def _cache_root() -> Path:
    import botocore

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "jupyter-ack" / f"botocore-{botocore.__version__}"


def cut(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """The model with only ``operations`` and every shape their inputs, outputs and errors
    reach (members, list members, map keys and values)."""
    shapes = model["shapes"]
    kept: dict[str, Any] = {}
    todo: list[str] = []
    for name in operations:
        op = model["operations"][name]
        todo += [ref["shape"] for ref in (op.get("input"), op.get("output")) if ref]
        todo += [ref["shape"] for ref in op.get("errors", ())]
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        shape = kept[name] = shapes[name]
        todo += [m["shape"] for m in shape.get("members", {}).values()]
        todo += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
    return {
        **{k: v for k, v in model.items() if k not in ("operations", "shapes")},
        "operations": {name: model["operations"][name] for name in operations},
        "shapes": kept,
    }


def _write(service: str, root: Path) -> None:
    """Cut ``service``'s newest model into ``root`` (atomically: a rename publishes it)."""
    import botocore.loaders

    loader = botocore.loaders.create_loader()
    version = loader.determine_latest_version(service, "service-2")
    model = loader.load_service_model(service, "service-2", version)
    small = cut(model, OPERATIONS[service])
    work = root / f".{service}-{os.getpid()}"
    target = work / version
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(small), encoding="utf-8")
    rules = loader.load_service_model(service, "endpoint-rule-set-1", version)
    (target / "endpoint-rule-set-1.json").write_text(json.dumps(rules), encoding="utf-8")
    try:
        work.rename(root / service)
    except OSError:  # another process published it first
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    _write(sys.argv[1], Path(sys.argv[2]))

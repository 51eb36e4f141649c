"""Pipelines built with the real SageMaker Python SDK v3: our DAG must equal the SDK's own.

The SDK is imported in a child process (it needs its environment set before import, and it is
slow and heavy), which builds the pipelines offline, hands each ``Pipeline`` object to
``jupyter_ack.load`` and reports our edges next to ``PipelineGraph(...).adjacency_list``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run

pytestmark = pytest.mark.sdk

DRIVER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import logging; logging.disable(logging.WARNING)
from tests.sdk_pipelines import (
    build_realistic_pipeline, build_step_decorator_pipeline, sdk_adjacency,
)
import jupyter_ack

out = {}
for key, build in (("abalone", build_realistic_pipeline), ("step", build_step_decorator_pipeline)):
    pipeline = build()
    defn = jupyter_ack.load(pipeline)
    out[key] = {
        "name": defn.name,
        "source": defn.source,
        "ours": sorted([e.source, e.target, e.kind] for e in defn.dag.edges),
        "sdk": sorted(list(e) for e in sdk_adjacency(pipeline)),
        "nodes": [n.to_json() for n in defn.dag.nodes.values()],
        "diagnostics": [d.to_json() for d in defn.validate()],
        "text": defn.text,
    }
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.sdk_pipelines import sdk_offline_env

    tmp = tmp_path_factory.mktemp("sdk")
    proc = run(
        [sys.executable, "-c", DRIVER],
        env={**sdk_offline_env(str(tmp)), "PYTHONPATH": str(ROOT)},
        drop=("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"),
        timeout=300,
    )
    assert proc.code == 0, proc.err[-3000:]
    result: dict[str, Any] = json.loads(proc.out)
    return result


def test_realistic_pipeline_edges_equal_the_sdk(built: dict[str, Any]) -> None:
    got = built["abalone"]
    assert {(s, t) for s, t, _ in got["ours"]} == {tuple(e) for e in got["sdk"]}
    kinds = {(s, t): k for s, t, k in got["ours"]}
    assert kinds[("EvaluateAbaloneModel", "CheckAbaloneMse")] == "property_file"
    assert kinds[("CheckAbaloneMse", "AbaloneMseTooHigh")] == "condition"
    assert kinds[("RegisterAbaloneModel", "NotifyModelRegistered")] == "depends_on"
    assert kinds[("PreprocessAbaloneData", "TrainAbaloneModel")] == "data"


def test_realistic_pipeline_is_valid_and_nested(built: dict[str, Any]) -> None:
    got = built["abalone"]
    assert got["name"] == "abalone-demo"
    assert [d for d in got["diagnostics"] if d["severity"] == "error"] == []
    nodes = {n["name"]: n for n in got["nodes"]}
    assert nodes["AbaloneMseTooHigh"]["parent"] == "CheckAbaloneMse"
    assert nodes["AbaloneMseTooHigh"]["branch"] == "else"
    assert nodes["RegisterAbaloneModel"]["branch"] == "if"
    types = {n["type"] for n in got["nodes"]}
    assert {"Processing", "Training", "Condition", "RegisterModel", "Lambda", "Fail"} <= types


def test_step_decorator_pipeline_edges_equal_the_sdk(built: dict[str, Any]) -> None:
    got = built["step"]
    assert {(s, t) for s, t, _ in got["ours"]} == {tuple(e) for e in got["sdk"]}
    assert len(got["nodes"]) == 3
    assert [d for d in got["diagnostics"] if d["severity"] == "error"] == []


def test_saved_sdk_definitions_validate(tmp_path: Path) -> None:
    """The committed SDK outputs (also used by the benchmarks) stay clean."""
    from jupyter_ack import load
    from tests.conftest import DATA

    for name in ("sdk_v3_abalone.json", "sdk_v3_step_decorator.json"):
        defn = load(DATA / name)
        assert defn.ok, [d for d in defn.validate() if d.severity == "error"]

"""Our SageMaker clients read a model cut down to the calls we make; the user's keep theirs."""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.loaders
import pytest

from jupyter_ack.aws import models
from jupyter_ack.aws.clients import _session


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_made", {})
    return tmp_path


def test_the_cut_keeps_every_shape_the_operations_reach() -> None:
    loader = botocore.loaders.create_loader()
    full = loader.load_service_model("sagemaker", "service-2")
    small = models.cut(full, models.OPERATIONS["sagemaker"])
    assert set(small["operations"]) == set(models.OPERATIONS["sagemaker"])
    assert len(small["shapes"]) < len(full["shapes"]) / 20
    for shape in small["shapes"].values():
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        assert all(ref in small["shapes"] for ref in refs)
    assert small["metadata"] == full["metadata"]


def test_our_client_has_our_calls_and_the_users_client_is_untouched(cache: Path) -> None:
    ours = _session("sagemaker").client("sagemaker", region_name="us-east-1")
    for operation in models.OPERATIONS["sagemaker"]:
        assert operation in ours.meta.service_model.operation_names
    assert "CreateTrainingJob" not in ours.meta.service_model.operation_names
    assert (cache / "jupyter-ack").is_dir()  # written once, under the user's cache
    theirs = boto3.session.Session().client("sagemaker", region_name="us-east-1")
    assert "CreateTrainingJob" in theirs.meta.service_model.operation_names


def test_a_cache_that_cannot_be_written_falls_back_to_the_full_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr(models, "_made", {})
    assert models.search_path("sagemaker") is None
    client = _session("sagemaker").client("sagemaker", region_name="us-east-1")
    assert "CreateTrainingJob" in client.meta.service_model.operation_names

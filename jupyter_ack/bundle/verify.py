"""Fetch a published handoff bundle and check that it is what it says it is.

The definition's sha256 must match the folder it sits in, handoff.json, the objects'
annotations, and the definition embedded in ``pipeline.yaml``: a bundle edited by hand, or
pointing at another version, is refused before anyone applies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jupyter_ack.aws.clients import client, describe, error_code, parse_s3_uri
from jupyter_ack.bundle.format import (
    ALL_FILES,
    DEFINITION_FILE,
    EXECUTION_FILE,
    HANDOFF_FILE,
    PIPELINE_FILE,
)
from jupyter_ack.errors import HandoffError
from jupyter_ack.pipeline.definition import sha256_of


@dataclass
class Bundle:
    """A fetched bundle: its handoff.json, the definition text and the manifests."""

    folder: str
    handoff: dict[str, Any]
    definition_text: str
    pipeline: dict[str, Any]
    execution: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        h = self.handoff
        return {
            "ok": self.ok,
            "problems": self.problems,
            "pipeline_name": h.get("pipeline_name"),
            "namespace": h.get("namespace"),
            "sha256": h.get("sha256"),
            "definition": h.get("definition"),
            "definition_version_id": h.get("definition_version_id"),
            "published_at": h.get("published_at"),
            "published_by": h.get("published_by"),
            "parameters": h.get("parameters"),
            "steps": h.get("steps"),
        }


def bundle_folder(uri: str) -> str:
    """``s3://b/p/`` or ``s3://b/p/handoff.json`` (or any file of the bundle) -> ``s3://b/p``."""
    bucket, key = parse_s3_uri(uri if uri.count("/") > 2 else uri + "/x")
    key = key.rstrip("/")
    last = key.rsplit("/", 1)[-1]
    if last in ALL_FILES:
        key = key.rsplit("/", 1)[0] if "/" in key else ""
    return f"s3://{bucket}/{key}".rstrip("/")


def fetch(uri: str, s3: Any = None) -> Bundle:
    """Download the bundle at ``uri`` and verify it (problems are listed, not raised)."""
    import yaml

    folder = bundle_folder(uri)
    s3 = s3 or client("s3")
    handoff_text = _get(s3, f"{folder}/{HANDOFF_FILE}")
    try:
        handoff = json.loads(handoff_text)
    except ValueError:
        raise HandoffError(
            f"{folder}/{HANDOFF_FILE} is not JSON: not a jupyter-ack bundle"
        ) from None
    if not isinstance(handoff, dict) or handoff.get("kind") != "jupyter-ack/handoff":
        raise HandoffError(f"{folder}/{HANDOFF_FILE} is not a jupyter-ack handoff")
    version = handoff.get("definition_version_id")
    definition_text = _get(s3, f"{folder}/{DEFINITION_FILE}", version)
    try:
        pipeline = yaml.safe_load(_get(s3, f"{folder}/{PIPELINE_FILE}"))
        execution = yaml.safe_load(_get(s3, f"{folder}/{EXECUTION_FILE}"))
    except yaml.YAMLError as e:
        raise HandoffError(f"a manifest of the bundle is not YAML: {e}") from None
    bundle = Bundle(folder, handoff, definition_text, pipeline or {}, execution or {})
    bundle.problems = verify(bundle)
    return bundle


def verify(bundle: Bundle) -> list[str]:
    problems: list[str] = []
    recorded = bundle.handoff.get("sha256")
    try:
        data = json.loads(bundle.definition_text)
    except ValueError:
        return ["definition.json is not valid JSON"]
    actual = sha256_of(data)
    if actual != recorded:
        problems.append(
            f"definition.json has sha256 {actual[:12]}, handoff.json says {str(recorded)[:12]}"
        )
    if not bundle.folder.endswith("/" + actual):
        problems.append("the bundle's folder is not named after the definition's sha256")
    for name, doc in (
        ("pipeline.yaml", bundle.pipeline),
        ("pipeline-execution.yaml", bundle.execution),
    ):
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        if annotations.get("jupyter-ack.io/definition-sha256") != actual:
            problems.append(f"{name} is annotated with another definition")
    if bundle.pipeline.get("kind") != "Pipeline":
        problems.append("pipeline.yaml does not hold a Pipeline")
    else:
        spec = bundle.pipeline.get("spec") or {}
        try:
            embedded = sha256_of(json.loads(spec.get("pipelineDefinition") or "null"))
        except ValueError:
            embedded = "not JSON"
        if embedded != actual:
            problems.append("the definition inside pipeline.yaml differs from definition.json")
        runs = (bundle.execution.get("spec") or {}).get("pipelineName")
        if runs != spec.get("pipelineName"):
            problems.append("pipeline-execution.yaml runs another pipeline than pipeline.yaml")
    if bundle.execution.get("kind") != "PipelineExecution":
        problems.append("pipeline-execution.yaml does not hold a PipelineExecution")
    return problems


def _get(s3: Any, uri: str, version_id: str | None = None) -> str:
    bucket, key = parse_s3_uri(uri)
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        body: bytes = s3.get_object(**kwargs)["Body"].read()
    except Exception as e:
        if error_code(e) in ("NoSuchKey", "404"):
            raise HandoffError(
                f"{uri} does not exist: the bundle is incomplete or the URI is wrong",
                hint="give the bundle's folder (s3://bucket/prefix/name/sha256/) "
                "or its handoff.json",
            ) from None
        raise describe(e, f"reading {uri}") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise HandoffError(f"{uri} is not UTF-8 text") from None

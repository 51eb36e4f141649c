"""ACK ``Pipeline`` and ``PipelineExecution`` objects for a definition, ready for kubectl.

The objects have exactly the shape of the ACK SageMaker CRDs. The CRDs check nothing (no
patterns, no limits): a bad name or parameter would only show up later, in a status
condition. So everything SageMaker would reject is checked here, before anything is applied.
Labels and annotations tie each object back to the published artefact (sha256, S3 URI and
version), so anyone looking at the cluster can find what it runs.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import (
    ANNOTATION_S3_URI,
    ANNOTATION_SHA256,
    ANNOTATION_VERSION,
    API_VERSION,
    EXECUTION,
    LABEL_MANAGED_BY,
    LABEL_PIPELINE,
    MANAGED_BY,
    PIPELINE,
)
from jupyter_ack.errors import JupyterAckError, ManifestError
from jupyter_ack.pipeline.diagnostics import VALIDATE_HINT
from jupyter_ack.pipeline.rules import (
    EXECUTION_DISPLAY_NAME,
    MAX_DESCRIPTION,
    MAX_PARAMETER_VALUE,
    MAX_PARAMETERS,
    MAX_SELECTED_STEPS,
    PIPELINE_NAME,
    PIPELINE_NAME_RULE,
    ROLE_ARN,
)

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition

K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
BOOLEAN_VALUES = {"true", "false"}


@dataclass(frozen=True)
class Manifests:
    """The Pipeline object and, when asked, one PipelineExecution for it."""

    pipeline: dict[str, Any]
    execution: dict[str, Any] | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def without_execution(self) -> Manifests:
        return Manifests(self.pipeline, None, self.parameters)

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [self.pipeline] + ([self.execution] if self.execution else [])

    def to_yaml(self) -> str:
        return to_yaml(self.documents)

    def to_json(self) -> str:
        docs = self.documents
        doc: Any = (
            docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
        )
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def kube_name(name: str, limit: int = 63) -> str:
    """A Kubernetes object name (DNS-1123 label) derived from a SageMaker pipeline name."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    out = re.sub(r"-{2,}", "-", out).strip("-")[:limit].rstrip("-")
    return out or "pipeline"


def run_name(pipeline_kube_name: str, now: datetime | None = None) -> str:
    """A unique execution name that sorts by time: ``<pipeline>-YYYYMMDD-HHMMSS-xxxx``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    suffix = secrets.token_hex(2)
    head = pipeline_kube_name[: 63 - len(stamp) - len(suffix) - 2].rstrip("-")
    return f"{head}-{stamp}-{suffix}"


def manifests(
    definition: PipelineDefinition,
    *,
    name: str | None = None,
    role_arn: str,
    namespace: str = "default",
    execute: bool = False,
    parameters: dict[str, str] | None = None,
    display_name: str | None = None,
    description: str | None = None,
    execution_name: str | None = None,
    execution_display_name: str | None = None,
    execution_description: str | None = None,
    max_parallel_steps: int | None = None,
    selected_steps: list[str] | None = None,
    source_execution_arn: str | None = None,
    s3_uri: str | None = None,
    version_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> Manifests:
    """The ACK objects for ``definition``; raises :class:`ManifestError` listing every problem."""
    problems: list[str] = []
    invalid = definition.problem("no objects were made")
    if invalid:
        raise ManifestError([invalid], hint=VALIDATE_HINT)
    pipeline_name = name or definition.name
    if not pipeline_name:
        raise ManifestError(["the pipeline needs a name"], hint="give --name NAME")
    if not PIPELINE_NAME.match(pipeline_name):
        problems.append(
            f"pipeline name {pipeline_name!r} is not valid for SageMaker ({PIPELINE_NAME_RULE})"
        )
    if not ROLE_ARN.match(role_arn or ""):
        problems.append(
            f"role ARN {role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    if not K8S_NAME.match(namespace) or len(namespace) > 63:
        problems.append(f"namespace {namespace!r} is not a valid Kubernetes namespace name")
    if display_name is not None and not PIPELINE_NAME.match(display_name):
        problems.append(f"display name {display_name!r} is not valid (same rules as the name)")
    for what, text in (
        ("description", description),
        ("execution description", execution_description),
    ):
        if text is not None and len(text) > MAX_DESCRIPTION:
            problems.append(f"the {what} is {len(text)} characters; at most {MAX_DESCRIPTION}")
    if execution_display_name is not None and not EXECUTION_DISPLAY_NAME.match(
        execution_display_name
    ):
        problems.append(
            f"execution display name {execution_display_name!r} is not valid "
            "(1-82 letters, digits and single hyphens)"
        )
    if max_parallel_steps is not None and max_parallel_steps < 1:
        problems.append("max parallel steps must be at least 1")
    values = check_parameters(definition, parameters or {}, problems)
    steps = list(selected_steps or [])
    if steps:
        unknown = [s for s in steps if s not in definition.dag.nodes]
        if unknown:
            problems.append(f"selected steps not in the pipeline: {', '.join(map(repr, unknown))}")
        if len(steps) > MAX_SELECTED_STEPS:
            problems.append(f"{len(steps)} selected steps; at most {MAX_SELECTED_STEPS}")
        if not source_execution_arn:
            problems.append(
                "selective execution needs the ARN of the run to take the other steps from"
            )
    if execution_name is not None and (
        not K8S_NAME.match(execution_name) or len(execution_name) > 253
    ):
        problems.append(f"execution name {execution_name!r} is not a valid Kubernetes name")
    if problems:
        raise ManifestError(problems)
    assert pipeline_name is not None

    base = kube_name(pipeline_name)
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_PIPELINE: base}
    annotations = {ANNOTATION_SHA256: definition.sha256 or ""}
    if s3_uri:
        annotations[ANNOTATION_S3_URI] = s3_uri
    if version_id:
        annotations[ANNOTATION_VERSION] = version_id
    spec: dict[str, Any] = {
        "pipelineName": pipeline_name,
        "roleARN": role_arn,
        "pipelineDefinition": json.dumps(definition.data, indent=2, ensure_ascii=False) + "\n",
    }
    if display_name:
        spec["pipelineDisplayName"] = display_name
    if description is not None:
        spec["pipelineDescription"] = description
    if max_parallel_steps is not None:
        spec["parallelismConfiguration"] = {"maxParallelExecutionSteps": max_parallel_steps}
    if tags:
        spec["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    pipeline = {
        "apiVersion": API_VERSION,
        "kind": PIPELINE,
        "metadata": {
            "name": base,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }
    execution = None
    if execute:
        run = execution_name or run_name(base)
        espec: dict[str, Any] = {"pipelineName": pipeline_name}
        # SageMaker keeps the display name after the object is gone: history finds runs by it
        display = execution_display_name or display_name_for(run)
        if display:
            espec["pipelineExecutionDisplayName"] = display
        if execution_description is not None:
            espec["pipelineExecutionDescription"] = execution_description
        if values:
            espec["pipelineParameters"] = [{"name": k, "value": v} for k, v in values.items()]
        if max_parallel_steps is not None:
            espec["parallelismConfiguration"] = {"maxParallelExecutionSteps": max_parallel_steps}
        if steps:
            espec["selectiveExecutionConfig"] = {
                "sourcePipelineExecutionARN": source_execution_arn,
                "selectedSteps": [{"stepName": s} for s in steps],
            }
        execution = {
            "apiVersion": API_VERSION,
            "kind": EXECUTION,
            "metadata": {
                "name": run,
                "namespace": namespace,
                "labels": dict(labels),
                "annotations": dict(annotations),
            },
            "spec": espec,
        }
    return Manifests(pipeline, execution, values)


def display_name_for(run: str) -> str | None:
    """The run's object name as its SageMaker display name, when SageMaker accepts it."""
    return run if EXECUTION_DISPLAY_NAME.match(run) else None


def annotate(built: Manifests, s3_uri: str, version_id: str | None) -> Manifests:
    """The same objects, annotated with where the definition was published (no rebuild)."""
    extra = {ANNOTATION_S3_URI: s3_uri}
    if version_id:
        extra[ANNOTATION_VERSION] = version_id
    pipeline, execution = copy.deepcopy(built.pipeline), copy.deepcopy(built.execution)
    for doc in (pipeline, execution):
        if doc is not None:
            doc["metadata"]["annotations"].update(extra)
    return Manifests(pipeline, execution, built.parameters)


def check_parameters(
    definition: PipelineDefinition, given: dict[str, str], problems: list[str]
) -> dict[str, str]:
    """Values as SageMaker takes them (strings), checked against the declared types."""
    declared = {p.name: p for p in definition.parameters}
    out: dict[str, str] = {}
    if len(given) > MAX_PARAMETERS:
        problems.append(f"{len(given)} parameters; SageMaker takes at most {MAX_PARAMETERS}")
    for key, raw in given.items():
        value = str(raw)
        param = declared.get(key)
        if param is None:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(f"unknown parameter {key!r} (declared: {known})")
            continue
        if len(value) > MAX_PARAMETER_VALUE:
            problems.append(
                f"parameter {key!r} is {len(value)} characters; at most {MAX_PARAMETER_VALUE}"
            )
            continue
        problem = _type_problem(param.type, value)
        if problem:
            problems.append(f"parameter {key!r} is {param.type}: {problem}")
            continue
        if param.enum_values is not None and value not in [str(v) for v in param.enum_values]:
            problems.append(f"parameter {key!r} must be one of {list(param.enum_values)}")
            continue
        out[key] = value.lower() if param.type == "Boolean" else value
    return out


def _type_problem(typ: str, value: str) -> str | None:
    if typ == "Integer":
        try:
            int(value)
        except ValueError:
            return f"{value!r} is not a whole number"
    elif typ == "Float":
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a number"
    elif typ == "Boolean" and value.lower() not in BOOLEAN_VALUES:
        return f"{value!r} is not true or false"
    return None


def parse_steps(text: str | None) -> list[str] | None:
    """``--steps A,B`` (CLI and magic) into step names; None when no steps were given."""
    return [s.strip() for s in (text or "").split(",") if s.strip()] or None


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["K=V", ...]`` from the command line (``-p K=V``) into a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise JupyterAckError(f"-p {pair!r}: expected NAME=VALUE")
        out[key] = value
    return out


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """YAML documents with multi-line strings (the definition) as readable blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)

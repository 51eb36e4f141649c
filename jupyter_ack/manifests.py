"""ACK ``Pipeline`` and ``PipelineExecution`` objects for a definition, ready for kubectl.

The objects have exactly the shape of the ACK SageMaker CRDs. The CRDs check nothing (no
patterns, no limits): a bad name or parameter would only show up later, in a status
condition. So everything SageMaker would reject is checked here, before anything is applied.
Labels and annotations tie each object back to the published artefact (sha256, S3 URI and
version), so anyone looking at the cluster can find what it runs.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import JupyterAckError

if TYPE_CHECKING:
    from .definition import PipelineDefinition

GROUP = "sagemaker.services.k8s.aws"
API_VERSION = f"{GROUP}/v1alpha1"
MANAGED_BY = "jupyter-ack"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PIPELINE = "jupyter-ack.io/pipeline"
ANNOTATION_SHA256 = "jupyter-ack.io/definition-sha256"
ANNOTATION_S3_URI = "jupyter-ack.io/definition-s3-uri"
ANNOTATION_VERSION = "jupyter-ack.io/definition-version-id"

PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_PARAMETERS = 200
MAX_PARAMETER_VALUE = 1024
MAX_DESCRIPTION = 3072
MAX_SELECTED_STEPS = 50
BOOLEAN_VALUES = {"true", "false"}


class ManifestError(JupyterAckError):
    """The objects cannot be made: what is wrong, one problem per line of ``problems``."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        first = (
            problems[0]
            if len(problems) == 1
            else f"{len(problems)} problems: " + "; ".join(problems)
        )
        super().__init__(first, hint)
        self.problems = problems


@dataclass(frozen=True)
class Manifests:
    """The Pipeline object and, when asked, one PipelineExecution for it."""

    pipeline: dict[str, Any]
    execution: dict[str, Any] | None = None
    parameters: dict[str, str] = field(default_factory=dict)

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
    if definition.data is None or not definition.ok:
        errors = [d for d in definition.validate() if d.severity == "error"]
        problems.append(
            f"the definition has {len(errors)} error{'s' * (len(errors) != 1)} "
            f"(first: {errors[0].code}: {errors[0].message})"
            if errors
            else "the definition is not valid"
        )
        raise ManifestError(problems, hint="run `jupyter-ack validate` on it and fix the errors")
    pipeline_name = name or definition.name
    if not pipeline_name:
        raise ManifestError(["the pipeline needs a name"], hint="give --name NAME")
    if not PIPELINE_NAME.match(pipeline_name):
        problems.append(
            f"pipeline name {pipeline_name!r} is not valid for SageMaker "
            "(1-256 letters, digits and single hyphens, starting with a letter or digit)"
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
    if execution_display_name is not None and not DISPLAY_NAME.match(execution_display_name):
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
        "kind": "Pipeline",
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
        espec: dict[str, Any] = {"pipelineName": pipeline_name}
        if execution_display_name:
            espec["pipelineExecutionDisplayName"] = execution_display_name
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
            "kind": "PipelineExecution",
            "metadata": {
                "name": execution_name or run_name(base),
                "namespace": namespace,
                "labels": dict(labels),
                "annotations": dict(annotations),
            },
            "spec": espec,
        }
    return Manifests(pipeline, execution, values)


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

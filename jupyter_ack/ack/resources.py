"""Facts about the ACK SageMaker resources, stated once: group, version, kinds and plurals,
the annotations and labels (ACK's and ours), finalizers, and how to read a condition.

Read from the controller's CRDs (sagemaker-chart 1.9.1, ACK runtime v0.62).
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_ack.errors import UsageError

GROUP = "sagemaker.services.k8s.aws"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

PIPELINE = "Pipeline"
EXECUTION = "PipelineExecution"
PIPELINES = "pipelines"
EXECUTIONS = "pipelineexecutions"
PLURALS = {PIPELINE: PIPELINES, EXECUTION: EXECUTIONS}

FIELD_MANAGER = "jupyter-ack"

# ACK's annotations (OWNER_ACCOUNT is read from the Namespace) and finalizers
DELETION_POLICY = "services.k8s.aws/deletion-policy"  # delete (default) | retain
REGION = "services.k8s.aws/region"
OWNER_ACCOUNT = "services.k8s.aws/owner-account-id"
FINALIZERS = {
    PIPELINES: f"finalizers.{GROUP}/{PIPELINE}",
    EXECUTIONS: f"finalizers.{GROUP}/{EXECUTION}",
}

# ours: they tie each object to the published artefact
MANAGED_BY = "jupyter-ack"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PIPELINE = "jupyter-ack.io/pipeline"
ANNOTATION_SHA256 = "jupyter-ack.io/definition-sha256"
ANNOTATION_S3_URI = "jupyter-ack.io/definition-s3-uri"
ANNOTATION_VERSION = "jupyter-ack.io/definition-version-id"

# conditions the controller sets
SYNCED = "ACK.ResourceSynced"
TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"

# status.pipelineExecutionStatus values after which nothing changes
FINISHED = ("Succeeded", "Failed", "Stopped")


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The object's status conditions by type."""
    found = (obj.get("status") or {}).get("conditions") or []
    return {str(c.get("type")): c for c in found if isinstance(c, dict)}


def condition_true(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition ``kind`` when its status is True, else None."""
    found = conditions(obj).get(kind)
    return found if found is not None and found.get("status") == "True" else None


def retains_on_delete(obj: dict[str, Any]) -> bool:
    """Whether deleting the object leaves the SageMaker resource running (``retain``)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DELETION_POLICY) == "retain"


_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


def check_namespace(name: str) -> str:
    """``name`` when it can be a namespace (a DNS-1123 label), else a UsageError saying why:
    the server refuses such a name before any request reaches the cluster."""
    if len(name) > 63 or not _LABEL.match(name):
        raise UsageError(
            f"{_shown(name)} is not a namespace name",
            hint="at most 63 lowercase letters, digits and '-', starting and ending with a "
            "letter or digit",
        )
    return name


def check_object_name(name: str) -> str:
    """``name`` when it can name a Pipeline or PipelineExecution (a DNS-1123 subdomain)."""
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise UsageError(
            f"{_shown(name)} is not a Kubernetes object name",
            hint="at most 253 lowercase letters, digits, '-' and '.'",
        )
    return name


def _shown(name: str) -> str:
    return repr(name if len(name) <= 80 else name[:77] + "...")

"""jupyter-ack: from a SageMaker pipeline in a notebook to ACK objects on Kubernetes.

``import jupyter_ack`` is cheap: the public names below are loaded on first use, and boto3,
kubernetes and the SageMaker SDK are imported only by the operations that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .ack.manifests import Manifests, manifests
    from .bundle.publish import Published, publish
    from .errors import (
        AwsError,
        ClusterError,
        HandoffError,
        JupyterAckError,
        ManifestError,
        NotFoundError,
        PublishError,
        SourceError,
        SubmitError,
        UsageError,
    )
    from .notebook.panel import StatusPanel
    from .ops.runs import Run, watch
    from .ops.submit import submit
    from .pipeline.definition import Parameter, PipelineDefinition
    from .pipeline.diagnostics import Diagnostic
    from .pipeline.sources import load
    from .sandbox import Sandbox
    from .status.model import PipelineStatus, RunStatus, StepStatus

# public name -> the module that defines it
_LAZY = {
    "load": "pipeline.sources",
    "PipelineDefinition": "pipeline.definition",
    "Parameter": "pipeline.definition",
    "Diagnostic": "pipeline.diagnostics",
    "publish": "bundle.publish",
    "Published": "bundle.publish",
    "manifests": "ack.manifests",
    "Manifests": "ack.manifests",
    "submit": "ops.submit",
    "watch": "ops.runs",
    "Run": "ops.runs",
    "RunStatus": "status.model",
    "StepStatus": "status.model",
    "PipelineStatus": "status.model",
    "StatusPanel": "notebook.panel",
    "Sandbox": "sandbox",
    "AwsError": "errors",
    "ClusterError": "errors",
    "HandoffError": "errors",
    "JupyterAckError": "errors",
    "ManifestError": "errors",
    "NotFoundError": "errors",
    "PublishError": "errors",
    "SourceError": "errors",
    "SubmitError": "errors",
    "UsageError": "errors",
}

__all__ = [
    "AwsError",
    "ClusterError",
    "Diagnostic",
    "HandoffError",
    "JupyterAckError",
    "ManifestError",
    "Manifests",
    "NotFoundError",
    "Parameter",
    "PipelineDefinition",
    "PipelineStatus",
    "PublishError",
    "Published",
    "Run",
    "RunStatus",
    "Sandbox",
    "SourceError",
    "StatusPanel",
    "StepStatus",
    "SubmitError",
    "UsageError",
    "__version__",
    "load",
    "manifests",
    "publish",
    "submit",
    "watch",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_ack``: the magics module (and IPython's) load only now."""
    from .notebook.magics import load_ipython_extension as load_magics

    load_magics(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The jupyter_server extension behind the sidebar (imported by the server only)."""
    from .server.app import AckExtension

    return [{"module": "jupyter_ack.server.app", "app": AckExtension}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The built sidebar, for ``jupyter labextension develop`` and the wheel."""
    return [{"src": "labextension", "dest": "jupyter-ack"}]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_ack' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

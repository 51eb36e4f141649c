"""jupyter-ack: from a SageMaker pipeline in a notebook to ACK objects on Kubernetes.

``import jupyter_ack`` is cheap: the public names below are loaded on first use, and boto3,
kubernetes and the SageMaker SDK are imported only by the operations that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .definition import Parameter, PipelineDefinition, load
    from .diagnostics import Diagnostic
    from .errors import JupyterAckError, SourceError

__all__ = [
    "Diagnostic",
    "JupyterAckError",
    "Parameter",
    "PipelineDefinition",
    "SourceError",
    "__version__",
    "load",
]

_LAZY = {
    "load": "definition",
    "PipelineDefinition": "definition",
    "Parameter": "definition",
    "Diagnostic": "diagnostics",
    "JupyterAckError": "errors",
    "SourceError": "errors",
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_ack``: the magics module (and IPython's) load only now."""
    from .magics import load_ipython_extension as load

    load(ipython)


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

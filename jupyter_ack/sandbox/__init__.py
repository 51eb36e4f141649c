"""The sandbox: a Kubernetes API emulator, an ACK SageMaker controller emulator and moto.

It is the embedded default for a new user (see the whole flow before touching a cluster) and
the project's integration test bed: clients talk HTTP to it exactly as to EKS and AWS.
Nothing in the product imports this package except the ``sandbox`` and ``demo`` commands.
Binds 127.0.0.1 only; the Kubernetes API is HTTPS with a bearer token (in the kubeconfig it
writes). Needs the ``sandbox`` extra (``pip install 'jupyter-ack[sandbox]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'jupyter_ack.sandbox' has no attribute {name!r}")

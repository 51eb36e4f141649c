"""A Kubernetes API server emulator for the sandbox: what kubectl and the clients use.

Discovery, CRDs, custom resources with the status subresource, server-side apply, watches
with resume, bookmarks and 410, OpenAPI v3, tables, deny rules, and fault injection. Loopback
only, HTTPS only, a bearer token on every request, loopback Host headers only, and bounded
request bodies (``bodies``). See ``KubeApiServer``.
"""

from __future__ import annotations

from .errors import ApiError
from .server import KubeApiServer

__all__ = ["ApiError", "KubeApiServer"]

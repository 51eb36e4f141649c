"""What an operation addresses and how: the target resource, the write options, the result,
and the base the operation classes share (the stored object as a version shows it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors
from .fields import Path
from .resources import Registry, ResourceType, Version
from .store import Store

JSON = dict[str, Any]


@dataclass
class Target:
    """The resource a request addresses: type, version, namespace, name, subresource."""

    rtype: ResourceType
    version: Version
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def api_version(self) -> str:
        return self.rtype.api_version(self.version.name)

    def ignored(self) -> list[Path]:
        """Fields a write through this endpoint cannot own (structured-merge-diff resets)."""
        if self.subresource == "status":
            return [(("f", "spec"),)]
        if self.version.status:
            return [(("f", "status"),)]
        return []


@dataclass
class Options:
    dry_run: bool = False
    manager: str = ""
    manager_given: bool = False
    validation: str = "Warn"  # Ignore, Warn or Strict
    force: bool | None = None


@dataclass
class Result:
    obj: JSON
    code: int = 200
    warnings: list[str] = field(default_factory=list)


class Base:
    """The registry and store every operation works on."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store

    def output(self, t: Target, obj: JSON) -> JSON:
        """The stored object as this version shows it (conversion strategy None)."""
        if obj.get("apiVersion") == t.api_version and obj.get("kind") == t.rtype.kind:
            return obj
        out = dict(obj)
        out["apiVersion"] = t.api_version
        out["kind"] = t.rtype.kind
        return out

    def _existing(self, t: Target) -> JSON:
        ns = t.namespace if t.rtype.namespaced else ""
        obj = self.store.get(t.rtype.key, ns, t.name)
        if obj is None:
            raise errors.not_found(t.rtype.group, t.rtype.plural, t.name)
        return obj

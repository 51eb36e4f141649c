"""The resource types the server serves: three built-ins and one per CustomResourceDefinition.

A type is keyed by (group, plural), as in etcd; each served version carries its own schema,
printer columns and subresources, like a CRD version does.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .meta import jcopy

JSON = dict[str, Any]
Key = tuple[str, str]

CRD_GROUP = "apiextensions.k8s.io"
CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


@dataclass
class Version:
    """One served version of a type."""

    name: str
    served: bool = True
    storage: bool = True
    schema: JSON | None = None  # the structural openAPIV3Schema; None = anything goes
    columns: list[JSON] = field(default_factory=list)  # additionalPrinterColumns
    status: bool = False  # the /status subresource is on
    selectable: list[str] = field(default_factory=list)  # selectableFields json paths


@dataclass
class ResourceType:
    group: str
    plural: str
    singular: str
    kind: str
    list_kind: str
    namespaced: bool
    versions: dict[str, Version]
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(CR_VERBS))
    builtin: str = ""  # "namespaces", "events", "crds"; "" for custom resources
    tracks_generation: bool = True
    returns_deleted_object: bool = True
    extra_subresources: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.group, self.plural)

    @property
    def custom(self) -> bool:
        return not self.builtin

    def served(self, version: str) -> Version | None:
        found = self.versions.get(version)
        return found if found is not None and found.served else None

    @property
    def storage_version(self) -> str:
        for v in self.versions.values():
            if v.storage:
                return v.name
        return next(iter(self.versions))

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def ordered_versions(self) -> list[str]:
        return sorted((v.name for v in self.versions.values() if v.served), key=version_priority)


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version order: GA before beta before alpha, higher numbers first."""
    m = _KUBE_VERSION.match(version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, "")


def storage_version_hash(group: str, version: str, kind: str) -> str:
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def builtin_types() -> list[ResourceType]:
    """Namespaces, events and CRDs: what kubectl and the project touch outside the CRDs."""
    namespaces = ResourceType(
        group="",
        plural="namespaces",
        singular="namespace",
        kind="Namespace",
        list_kind="NamespaceList",
        namespaced=False,
        versions={"v1": Version("v1", status=True)},
        short_names=["ns"],
        verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
        builtin="namespaces",
        tracks_generation=False,
        extra_subresources=["finalize"],
    )
    events = ResourceType(
        group="",
        plural="events",
        singular="event",
        kind="Event",
        list_kind="EventList",
        namespaced=True,
        versions={"v1": Version("v1")},
        short_names=["ev"],
        verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        builtin="events",
        tracks_generation=False,
        returns_deleted_object=False,
    )
    crds = ResourceType(
        group=CRD_GROUP,
        plural="customresourcedefinitions",
        singular="customresourcedefinition",
        kind="CustomResourceDefinition",
        list_kind="CustomResourceDefinitionList",
        namespaced=False,
        versions={"v1": Version("v1", status=True)},
        short_names=["crd", "crds"],
        categories=["api-extensions"],
        verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        builtin="crds",
    )
    return [namespaces, events, crds]


def _cause(path: str, kind: str, message: str) -> JSON:
    return errors.field_error(path, kind, message)


def crd_problems(crd: JSON) -> list[JSON]:
    """What the apiextensions validation would reject in a CRD (the parts that matter here)."""
    causes: list[JSON] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [_cause("spec", "FieldValueRequired", "Required value")]
    group = spec.get("group")
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    assert isinstance(names, dict)
    plural, kind = names.get("plural"), names.get("kind")
    if not isinstance(group, str) or not group:
        causes.append(_cause("spec.group", "FieldValueRequired", "Required value"))
    elif "." not in group:
        causes.append(
            _cause(
                "spec.group",
                "FieldValueInvalid",
                f'Invalid value: "{group}": should be a domain with at least one dot',
            )
        )
    if not isinstance(plural, str) or not plural:
        causes.append(_cause("spec.names.plural", "FieldValueRequired", "Required value"))
    if not isinstance(kind, str) or not kind:
        causes.append(_cause("spec.names.kind", "FieldValueRequired", "Required value"))
    name = (crd.get("metadata") or {}).get("name", "")
    if isinstance(group, str) and isinstance(plural, str) and name != f"{plural}.{group}":
        causes.append(
            _cause(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        causes.append(
            _cause(
                "spec.scope",
                "FieldValueNotSupported",
                f'Unsupported value: "{scope or ""}": supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(_cause("spec.versions", "FieldValueRequired", "Required value"))
        return causes
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        causes.append(
            _cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: []apiextensions.CustomResourceDefinitionVersion"
                ": must have exactly one version marked as storage version",
            )
        )
    for i, v in enumerate(versions):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            causes.append(
                _cause(f"spec.versions[{i}].name", "FieldValueRequired", "Required value")
            )
            continue
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            causes.append(
                _cause(
                    f"spec.versions[{i}].schema.openAPIV3Schema",
                    "FieldValueRequired",
                    "Required value: schemas are required",
                )
            )
    return causes


def default_crd(crd: JSON) -> None:
    """The defaults the apiserver fills into a CRD's spec."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    kind = names.get("kind", "")
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", f"{kind}List")
    spec.setdefault("conversion", {"strategy": "None"})
    for v in spec.get("versions") or []:
        if isinstance(v, dict):
            v.setdefault("served", True)
            v.setdefault("storage", False)


def crd_status(crd: JSON, when: str, previous: JSON | None) -> JSON:
    """The status the apiextensions controllers settle on at once: names accepted, established."""
    spec = crd["spec"]
    stored = list((previous or {}).get("storedVersions") or [])
    for v in spec.get("versions") or []:
        if v.get("storage") and v["name"] not in stored:
            stored.append(v["name"])
    conditions = (previous or {}).get("conditions") or [
        {
            "type": "NamesAccepted",
            "status": "True",
            "lastTransitionTime": when,
            "reason": "NoConflicts",
            "message": "no conflicts found",
        },
        {
            "type": "Established",
            "status": "True",
            "lastTransitionTime": when,
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
        },
    ]
    return {
        "acceptedNames": jcopy(spec["names"]),
        "conditions": conditions,
        "storedVersions": stored,
    }


def type_from_crd(crd: JSON) -> ResourceType:
    """The served type of a (validated, defaulted) CRD."""
    spec = crd["spec"]
    names = spec["names"]
    versions: dict[str, Version] = {}
    for v in spec["versions"]:
        sub = v.get("subresources") or {}
        versions[v["name"]] = Version(
            name=v["name"],
            served=bool(v.get("served", True)),
            storage=bool(v.get("storage")),
            schema=(v.get("schema") or {}).get("openAPIV3Schema"),
            columns=list(v.get("additionalPrinterColumns") or []),
            status="status" in sub,
            selectable=[f["jsonPath"] for f in v.get("selectableFields") or [] if "jsonPath" in f],
        )
    return ResourceType(
        group=spec["group"],
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        kind=names["kind"],
        list_kind=names.get("listKind") or f"{names['kind']}List",
        namespaced=spec.get("scope") == "Namespaced",
        versions=versions,
        short_names=list(names.get("shortNames") or []),
        categories=list(names.get("categories") or []),
    )


class Registry:
    """Types by (group, plural); ``revision`` changes whenever the set of types does."""

    def __init__(self) -> None:
        self.types: dict[Key, ResourceType] = {}
        self.revision = 0
        for t in builtin_types():
            self.add(t)

    def add(self, rtype: ResourceType) -> None:
        self.types[rtype.key] = rtype
        self.revision += 1

    def remove(self, key: Key) -> None:
        if self.types.pop(key, None) is not None:
            self.revision += 1

    def get(self, key: Key) -> ResourceType | None:
        return self.types.get(key)

    def lookup(self, group: str, version: str, plural: str) -> tuple[ResourceType, Version] | None:
        rtype = self.types.get((group, plural))
        if rtype is None:
            return None
        v = rtype.served(version)
        return (rtype, v) if v is not None else None

    def group_versions(self) -> dict[str, list[str]]:
        """Every group (core first as ""), its served versions in priority order."""
        found: dict[str, set[str]] = {}
        for t in self.types.values():
            found.setdefault(t.group, set()).update(v.name for v in t.versions.values() if v.served)
        order = sorted(found, key=lambda g: (g != "", g != CRD_GROUP, g))
        return {g: sorted(found[g], key=version_priority) for g in order}

    def in_group_version(self, group: str, version: str) -> list[tuple[ResourceType, Version]]:
        out = []
        for t in self.types.values():
            v = t.served(version) if t.group == group else None
            if v is not None:
                out.append((t, v))
        return sorted(out, key=lambda tv: tv[0].plural)

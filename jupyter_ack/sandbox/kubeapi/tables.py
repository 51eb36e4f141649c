"""``Table`` responses (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

kubectl asks for tables on ``get`` and prints them as it receives them, dropping columns of
priority > 0 unless ``-o wide``. Custom resources get ``Name`` plus the CRD's
additionalPrinterColumns (``Age`` only when the CRD declares no column, as the apiserver
does); namespaces get Name/Status/Age; the rest the default Name/Created At.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .meta import age, parse_time
from .resources import ResourceType, Version

JSON = dict[str, Any]

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
AGE_COLUMN = {
    "name": "Age",
    "type": "date",
    "jsonPath": ".metadata.creationTimestamp",
    "description": CREATED_DESCRIPTION,
}

_TOKEN = re.compile(
    r"\.(?P<field>[A-Za-z0-9_-]+)|\[(?P<index>-?\d+)\]|\['(?P<quoted>[^']*)'\]"
    r"|\[\?\(@\.(?P<fkey>[A-Za-z0-9_.-]+)\s*==\s*(?:\"(?P<fdq>[^\"]*)\"|'(?P<fsq>[^']*)')\)\]"
)


def jsonpath(obj: Any, path: str) -> Any:
    """The first result of a simple JSONPath (``.a.b``, ``[0]``, ``[?(@.type=="Ready")]``)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.removeprefix("$")
    nodes = [obj]
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            return None
        pos = m.end()
        nodes = _step(nodes, m)
        if not nodes:
            return None
    return nodes[0] if nodes else None


def _step(nodes: list[Any], m: re.Match[str]) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        name = m.group("field") or m.group("quoted")
        if name is not None:
            if isinstance(node, dict) and name in node:
                out.append(node[name])
        elif m.group("index") is not None:
            i = int(m.group("index"))
            if isinstance(node, list) and -len(node) <= i < len(node):
                out.append(node[i])
        elif isinstance(node, list):
            want = m.group("fdq") if m.group("fdq") is not None else m.group("fsq")
            key = m.group("fkey")
            for item in node:
                value = item
                for part in key.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is not None and _text(value) == want:
                    out.append(item)
    return out


def _text(value: Any) -> str:
    """How kubectl's jsonpath prints a value: strings bare, objects and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _cell(column: JSON, obj: JSON) -> Any:
    value = jsonpath(obj, str(column.get("jsonPath", "")))
    if value is None:
        return None
    kind = column.get("type")
    if kind == "string":
        return _text(value)
    if kind == "integer":
        return (
            int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        )
    if kind == "number":
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        if not isinstance(value, str):
            return None
        return "<invalid>" if parse_time(value) is None else age(value)
    return None


def columns(rtype: ResourceType, version: Version) -> list[JSON]:
    """The column definitions of the type's tables."""
    name = {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": NAME_DESCRIPTION,
        "priority": 0,
    }
    if rtype.builtin == "namespaces":
        return [
            name,
            {
                "name": "Status",
                "type": "string",
                "format": "",
                "description": "The status of the namespace",
                "priority": 0,
            },
            {
                "name": "Age",
                "type": "string",
                "format": "",
                "description": CREATED_DESCRIPTION,
                "priority": 0,
            },
        ]
    if rtype.builtin:
        return [
            name,
            {
                "name": "Created At",
                "type": "date",
                "format": "",
                "description": CREATED_DESCRIPTION,
                "priority": 0,
            },
        ]
    out = [name]
    for col in version.columns or [AGE_COLUMN]:
        out.append(
            {
                "name": col.get("name", ""),
                "type": col.get("type", "string"),
                "format": col.get("format", ""),
                "description": col.get("description")
                or f"Custom resource definition column (in JSONPath format): {col.get('jsonPath')}",
                "priority": int(col.get("priority", 0)),
            }
        )
    return out


def cells(rtype: ResourceType, version: Version, obj: JSON) -> list[Any]:
    meta = obj.get("metadata") or {}
    if rtype.builtin == "namespaces":
        return [
            meta.get("name"),
            (obj.get("status") or {}).get("phase", ""),
            age(meta.get("creationTimestamp")),
        ]
    if rtype.builtin:
        return [meta.get("name"), meta.get("creationTimestamp")]
    return [meta.get("name")] + [_cell(c, obj) for c in version.columns or [AGE_COLUMN]]


def row_object(obj: JSON, include: str) -> JSON | None:
    """What a row carries: the object, its metadata only (the default), or nothing."""
    if include == "Object":
        return obj
    if include == "None":
        return None
    return partial_metadata(obj)


def partial_metadata(obj: JSON) -> JSON:
    meta = dict(obj.get("metadata") or {})
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}


def row(rtype: ResourceType, version: Version, obj: JSON, include: str) -> JSON:
    return {"cells": cells(rtype, version, obj), "object": row_object(obj, include)}

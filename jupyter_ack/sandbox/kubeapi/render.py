"""Response formats: plain JSON, Table, PartialObjectMetadata, chosen from the Accept header.

Encodings of watch events are cached on the event so that a change seen by many watchers
is serialized once per format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors, tables
from .store import Event
from .target import Target

JSON = dict[str, Any]

JSON_TYPE = "application/json"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Format:
    kind: str  # "json", "table" or "partial"
    include: str = "Metadata"  # a table row's object: Object, Metadata or None


def negotiate(accept: str, include: str) -> Format:
    """The first acceptable media type of the Accept header (clients list them by preference)."""
    if not accept.strip():
        return Format("json")
    for entry in accept.split(","):
        media, *params = [p.strip() for p in entry.split(";")]
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        target = opts.get("as")
        if target is None:
            return Format("json")
        group_ok = opts.get("g") == "meta.k8s.io" and opts.get("v") in ("v1", "v1beta1")
        if target == "Table" and group_ok:
            return Format("table", include or "Metadata")
        if target in ("PartialObjectMetadata", "PartialObjectMetadataList") and group_ok:
            return Format("partial")
    raise errors.not_acceptable(
        [
            "application/json",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
        ]
    )


def one(t: Target, fmt: Format, obj: JSON) -> JSON:
    if fmt.kind == "table":
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")},
            "columnDefinitions": tables.columns(t.rtype, t.version),
            "rows": [tables.row(t.rtype, t.version, obj, fmt.include)],
        }
    if fmt.kind == "partial":
        return tables.partial_metadata(obj)
    return obj


def listing(t: Target, fmt: Format, doc: JSON) -> JSON:
    if fmt.kind == "table":
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": doc["metadata"],
            "columnDefinitions": tables.columns(t.rtype, t.version),
            "rows": [tables.row(t.rtype, t.version, o, fmt.include) for o in doc["items"]],
        }
    if fmt.kind == "partial":
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": doc["metadata"],
            "items": [tables.partial_metadata(o) for o in doc["items"]],
        }
    return doc


def listing_bytes(doc: JSON, encode: Callable[[JSON], bytes]) -> bytes:
    """A JSON list from its items' (cached) encodings, without re-encoding every object."""
    head = {k: v for k, v in doc.items() if k != "items"}
    return dumps(head)[:-1] + b',"items":[' + b",".join(encode(o) for o in doc["items"]) + b"]}"


class EventEncoder:
    """Lines of one watch stream: ``{"type": ..., "object": ...}`` in the stream's format."""

    def __init__(self, t: Target, fmt: Format, output: Any) -> None:
        self.t = t
        self.fmt = fmt
        self.output = output  # crud.Api.output: the stored object as this version shows it
        self.sent_columns = False

    def _object_bytes(self, obj: JSON, event: Event | None) -> bytes:
        key = (self.fmt, self.t.version.name, self.t.rtype.kind)
        if event is not None and event.obj is obj and key in event.cache:
            return event.cache[key]
        shown = self.output(self.t, obj)
        if self.fmt.kind == "table":
            raw = dumps(tables.row(self.t.rtype, self.t.version, shown, self.fmt.include))
        elif self.fmt.kind == "partial":
            raw = dumps(tables.partial_metadata(shown))
        else:
            raw = dumps(shown)
        if event is not None and event.obj is obj:
            event.cache[key] = raw
        return raw

    def event(self, kind: str, obj: JSON, event: Event | None = None) -> bytes:
        body = self._object_bytes(obj, event)
        if self.fmt.kind == "table":
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            body = self._table(rv, b"[" + body + b"]")
        return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"

    def _table(self, rv: str, rows: bytes) -> bytes:
        columns = b"[]"
        if not self.sent_columns:  # like the apiserver: column definitions once per stream
            columns = dumps(tables.columns(self.t.rtype, self.t.version))
            self.sent_columns = True
        return (
            b'{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":'
            + dumps(rv)
            + b'},"columnDefinitions":'
            + columns
            + b',"rows":'
            + rows
            + b"}"
        )

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        if self.fmt.kind == "table":
            return b'{"type":"BOOKMARK","object":' + self._table(str(rv), b"[]") + b"}\n"
        meta: JSON = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.t.rtype.kind, "apiVersion": self.t.api_version, "metadata": meta}
        return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"

    @staticmethod
    def error(err: errors.ApiError) -> bytes:
        return b'{"type":"ERROR","object":' + dumps(err.status()) + b"}\n"

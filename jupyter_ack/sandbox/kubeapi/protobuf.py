"""Just enough of Kubernetes' protobuf encoding to read what kubectl sends that way.

kubectl's typed clients (``kubectl create namespace``) post built-in objects as
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0`` and a ``runtime.Unknown``
wrapping the object. Only the kinds listed in ``DECODERS`` are read; answers stay JSON,
which kubectl accepts too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import errors

JSON = dict[str, Any]
MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

Field = tuple[int, int | bytes]


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def fields(buf: bytes) -> list[Field]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    out: list[Field] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            out.append((number, value))
        elif wire == 2:
            size, i = _varint(buf, i)
            out.append((number, buf[i : i + size]))
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _text(value: int | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _pair(value: int | bytes) -> tuple[str, str]:
    parts = dict(fields(value)) if isinstance(value, bytes) else {}
    return _text(parts.get(1, b"")), _text(parts.get(2, b""))


def object_meta(buf: bytes) -> JSON:
    meta: JSON = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, value in fields(buf):
        if number in names and _text(value):
            meta[names[number]] = _text(value)
        elif number in (11, 12):
            key, text = _pair(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = text
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def namespace(buf: bytes) -> JSON:
    obj: JSON = {"metadata": {}}
    for number, value in fields(buf):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = object_meta(value)
        elif number == 2 and isinstance(value, bytes):
            finalizers = [_text(v) for n, v in fields(value) if n == 1]
            if finalizers:
                obj["spec"] = {"finalizers": finalizers}
    return obj


DECODERS: dict[tuple[str, str], Callable[[bytes], JSON]] = {("v1", "Namespace"): namespace}


def decode(body: bytes) -> JSON:
    """The JSON form of a protobuf-encoded object, or 415 for kinds not understood here."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("provided data does not appear to be a protobuf message")
    try:
        unknown = dict(fields(body[len(MAGIC) :]))
        header = unknown.get(1, b"")
        type_meta = dict(fields(header)) if isinstance(header, bytes) else {}
        api_version, kind = _text(type_meta.get(1, b"")), _text(type_meta.get(2, b""))
        raw = unknown.get(2, b"")
        decoder = DECODERS.get((api_version, kind))
        if decoder is None or not isinstance(raw, bytes):
            raise errors.unsupported_media_type(
                CONTENT_TYPE, ["application/json", "application/yaml"]
            )
        obj = decoder(raw)
    except (ValueError, KeyError, UnicodeDecodeError) as e:
        raise errors.bad_request(f"unable to decode protobuf body: {e}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}

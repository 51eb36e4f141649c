"""Structural-schema handling of custom resources: pruning, defaulting, validation.

The order is the apiserver's: unknown fields are pruned first (each one a warning, or an
error under ``fieldValidation=Strict``), then defaults are filled in, then the object is
validated. Error texts follow kube-openapi's, as the apiserver wraps them in a 422 Invalid.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import errors
from .meta import jcopy, label_key_problem, label_value_problem, name_problem

JSON = dict[str, Any]

OBJECT_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
}
ANNOTATIONS_LIMIT = 262144  # bytes of keys and values together (TotalAnnotationSizeLimitB)


def go_repr(value: Any) -> str:
    """A value as Go's ``%v``/``%q`` shows it in field errors."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, wanted: str) -> bool:
    actual = json_type(value)
    if wanted == actual:
        return True
    if wanted == "number":
        return actual == "integer"
    if wanted == "integer":
        return isinstance(value, float) and value.is_integer()
    return False


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- pruning -------------------------------------------------------------------------------


def prune(obj: JSON, schema: JSON | None) -> list[str]:
    """Drop fields the schema does not know; returns their paths (``spec.foo``)."""
    unknown: list[str] = []
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in [k for k in meta if k not in OBJECT_META_FIELDS]:
            del meta[key]
            unknown.append(f"metadata.{key}")
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return unknown
    props = schema.get("properties") or {}
    for key in list(obj):
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if key in props:
            _prune(obj[key], props[key], key, unknown)
        else:
            del obj[key]
            unknown.append(key)
    return unknown


def _prune(value: Any, schema: JSON, path: str, unknown: list[str]) -> None:
    if isinstance(value, dict):
        if schema.get("x-kubernetes-int-or-string"):
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            if props and key in props:
                _prune(value[key], props[key], _join(path, key), unknown)
            elif isinstance(extra, dict):
                _prune(value[key], extra, _join(path, key), unknown)
            elif (
                extra is True
                or keep_unknown
                or (embedded and key in ("apiVersion", "kind", "metadata"))
            ):
                continue
            else:
                del value[key]
                unknown.append(_join(path, key))
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(item, items, f"{path}[{i}]", unknown)


# --- defaulting ----------------------------------------------------------------------------


def apply_defaults(obj: JSON, schema: JSON | None) -> None:
    if schema is not None:
        _default(obj, schema)


def _default(value: Any, schema: JSON) -> None:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if "default" in sub and (
                key not in value or (value[key] is None and not sub.get("nullable"))
            ):
                value[key] = jcopy(sub["default"])
            if key in value:
                _default(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                if key not in props:
                    _default(item, extra)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                _default(item, items)


# --- validation ----------------------------------------------------------------------------


def _invalid(path: str, value: Any, detail: str) -> JSON:
    return errors.field_error(
        path, "FieldValueInvalid", f"Invalid value: {go_repr(value)}: {detail}"
    )


def validate(obj: JSON, schema: JSON | None) -> list[JSON]:
    """Field errors of the object (its metadata aside) against the schema."""
    causes: list[JSON] = []
    if schema is None:
        return causes
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    root = dict(schema)
    root["properties"] = {
        k: v
        for k, v in (schema.get("properties") or {}).items()
        if k not in ("apiVersion", "kind", "metadata")
    }
    _validate(body, root, "", causes)
    return causes


def _validate(value: Any, schema: JSON, path: str, causes: list[JSON]) -> None:
    if value is None and (schema.get("nullable") or not schema.get("type")):
        return
    wanted = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if json_type(value) not in ("integer", "string"):
            shown = json_type(value)
            causes.append(
                _invalid(
                    path, shown, f"{path} in body must be of type integer,string: {go_repr(shown)}"
                )
            )
            return
    elif isinstance(wanted, str) and not _type_ok(value, wanted):
        shown = json_type(value)
        causes.append(
            _invalid(path, shown, f"{path} in body must be of type {wanted}: {go_repr(shown)}")
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(go_repr(e) for e in schema["enum"])
        causes.append(
            errors.field_error(
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {go_repr(value)}: supported values: {allowed}",
            )
        )
    if isinstance(value, str):
        _validate_string(value, schema, path, causes)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, path, causes)
    elif isinstance(value, list):
        _validate_array(value, schema, path, causes)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, causes)
    for sub in schema.get("allOf") or []:
        if isinstance(sub, dict):
            _validate(value, sub, path, causes)


def _validate_string(value: str, schema: JSON, path: str, causes: list[JSON]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        causes.append(
            errors.field_error(
                path,
                "FieldValueTooLong",
                f"Too long: may not be more than {schema['maxLength']} bytes",
            )
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        causes.append(
            _invalid(
                path, value, f"{path} in body should be at least {schema['minLength']} chars long"
            )
        )
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            ok = re.search(pattern, value) is not None
        except re.error:
            ok = True  # a pattern Python cannot read is not the user's fault
        if not ok:
            causes.append(_invalid(path, value, f"{path} in body should match '{pattern}'"))


def _validate_number(value: float, schema: JSON, path: str, causes: list[JSON]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None:
        if schema.get("exclusiveMinimum") and value <= low:
            causes.append(_invalid(path, value, f"{path} in body should be greater than {low}"))
        elif value < low:
            causes.append(
                _invalid(path, value, f"{path} in body should be greater than or equal to {low}")
            )
    if high is not None:
        if schema.get("exclusiveMaximum") and value >= high:
            causes.append(_invalid(path, value, f"{path} in body should be less than {high}"))
        elif value > high:
            causes.append(
                _invalid(path, value, f"{path} in body should be less than or equal to {high}")
            )
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        causes.append(_invalid(path, value, f"{path} in body should be a multiple of {step}"))


def _validate_array(value: list[Any], schema: JSON, path: str, causes: list[JSON]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        causes.append(
            errors.field_error(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        causes.append(
            _invalid(
                path, len(value), f"{path} in body should have at least {schema['minItems']} items"
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if list_type in ("set", "map") or schema.get("uniqueItems"):
        seen: set[str] = set()
        for i, item in enumerate(value):
            ident = item
            if list_type == "map" and isinstance(item, dict):
                ident = {k: item.get(k) for k in keys}
            marker = json.dumps(ident, sort_keys=True)
            if marker in seen:
                causes.append(
                    errors.field_error(
                        f"{path}[{i}]", "FieldValueDuplicate", f"Duplicate value: {go_repr(ident)}"
                    )
                )
            seen.add(marker)
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(item, items, f"{path}[{i}]", causes)


def _validate_object(value: JSON, schema: JSON, path: str, causes: list[JSON]) -> None:
    for key in schema.get("required") or []:
        if key not in value:
            causes.append(
                errors.field_error(_join(path, key), "FieldValueRequired", "Required value")
            )
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        causes.append(
            errors.field_error(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
            )
        )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        causes.append(
            _invalid(
                path,
                len(value),
                f"{path} in body should have at least {schema['minProperties']} properties",
            )
        )
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key)
        if isinstance(sub, dict):
            _validate(item, sub, _join(path, key), causes)
        elif isinstance(extra, dict):
            _validate(item, extra, _join(path, key), causes)


# --- ObjectMeta ----------------------------------------------------------------------------


_UNMARSHAL = "json: cannot unmarshal into Go struct field ObjectMeta.metadata.{} of type {}"


def metadata_type_problem(meta: Any) -> str | None:
    """A shape error the apiserver's decoder would fail on (400), before any validation."""
    if not isinstance(meta, dict):
        return "metadata must be an object"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return _UNMARSHAL.format(key, "map[string]string")
    for key in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            return _UNMARSHAL.format(key, "string")
    finalizers = meta.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
    ):
        return _UNMARSHAL.format("finalizers", "[]string")
    return None


def validate_metadata(meta: JSON, dns_label: bool) -> list[JSON]:
    causes: list[JSON] = []
    name = meta.get("name") or ""
    if name:
        why = name_problem(name, dns_label)
        if why:
            causes.append(_invalid("metadata.name", name, why))
    for key, value in (meta.get("labels") or {}).items():
        why = label_key_problem(key)
        if why:
            causes.append(_invalid("metadata.labels", key, why))
        why = label_value_problem(value)
        if why:
            causes.append(_invalid("metadata.labels", value, why))
    annotations = meta.get("annotations") or {}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_LIMIT:
        causes.append(
            errors.field_error(
                "metadata.annotations",
                "FieldValueTooLong",
                f"Too long: may not be more than {ANNOTATIONS_LIMIT} bytes",
            )
        )
    return causes

"""Field paths and field sets, as server-side apply tracks ownership (``fieldsV1``).

A path is a tuple of elements: ``("f", name)`` a field, ``("k", '{"name":"x"}')`` an item of
a list keyed by fields, ``("v", '"x"')`` an item of a set. How a value splits into paths
depends on the schema: maps are granular unless ``x-kubernetes-map-type: atomic``; lists are
atomic unless ``x-kubernetes-list-type`` is ``set`` or ``map``; where there is no schema
(preserved unknown fields) maps are granular and lists atomic, as structured-merge-diff does.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

JSON = dict[str, Any]
Element = tuple[str, str]
Path = tuple[Element, ...]

# ObjectMeta as structured-merge-diff sees it: labels and annotations are granular maps,
# finalizers a set, ownerReferences a list keyed by uid, managedFields a single value.
META_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {
            "type": "array",
            "items": {"type": "string"},
            "x-kubernetes-list-type": "set",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
        },
        "managedFields": {"type": "array", "x-kubernetes-list-type": "atomic"},
    },
    "x-kubernetes-preserve-unknown-fields": True,
}

STRIPPED: set[Path] = {
    (("f", "apiVersion"),),
    (("f", "kind"),),
    (("f", "metadata"),),
    *(
        (("f", "metadata"), ("f", name))
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    ),
}


def object_schema(schema: JSON | None) -> JSON:
    """The type's schema with ObjectMeta's shape put in for ``metadata``."""
    root: JSON = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if schema:
        root = dict(schema)
    props = dict(root.get("properties") or {})
    props["metadata"] = META_SCHEMA
    root["properties"] = props
    return root


def child(schema: JSON | None, key: str) -> JSON | None:
    if not schema:
        return None
    props = schema.get("properties")
    if props and key in props:
        sub = props[key]
        return sub if isinstance(sub, dict) else None
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items(schema: JSON | None) -> JSON | None:
    sub = schema.get("items") if schema else None
    return sub if isinstance(sub, dict) else None


def list_type(schema: JSON | None) -> str:
    return str(schema.get("x-kubernetes-list-type", "atomic")) if schema else "atomic"


def map_atomic(schema: JSON | None) -> bool:
    return bool(schema) and schema is not None and schema.get("x-kubernetes-map-type") == "atomic"


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def item_id(item: Any, schema: JSON | None) -> Element:
    """The path element naming an item of a set or keyed list."""
    if list_type(schema) == "map":
        keys = (schema or {}).get("x-kubernetes-list-map-keys") or []
        source = item if isinstance(item, dict) else {}
        return ("k", canon({k: source.get(k) for k in sorted(keys) if k in source}))
    return ("v", canon(item))


def _is_map(value: Any, schema: JSON | None) -> bool:
    return isinstance(value, dict) and not map_atomic(schema)


def _is_assoc(value: Any, schema: JSON | None) -> bool:
    return isinstance(value, list) and list_type(schema) in ("set", "map")


# --- the set a configuration applies --------------------------------------------------------


def field_set(value: Any, schema: JSON | None, prefix: Path = ()) -> set[Path]:
    """The fields an applied configuration sets (structured-merge-diff's ``ToFieldSet``)."""
    out: set[Path] = set()
    _collect(value, schema, prefix, out)
    return out


def _collect(value: Any, schema: JSON | None, prefix: Path, out: set[Path]) -> None:
    if _is_map(value, schema):
        for key, sub in value.items():
            if sub is not None:
                _collect(sub, child(schema, key), (*prefix, ("f", key)), out)
        return
    if _is_assoc(value, schema):
        item_schema = items(schema)
        for item in value:
            path = (*prefix, item_id(item, schema))
            out.add(path)
            if list_type(schema) == "map":
                _collect_item_fields(item, item_schema, path, out)
        return
    if prefix:
        out.add(prefix)


def _collect_item_fields(item: Any, schema: JSON | None, path: Path, out: set[Path]) -> None:
    if _is_map(item, schema):
        for key, sub in item.items():
            if sub is not None:
                _collect(sub, child(schema, key), (*path, ("f", key)), out)


# --- comparing two objects -------------------------------------------------------------------

_MISSING: Any = object()


class Comparison:
    def __init__(self) -> None:
        self.added: set[Path] = set()
        self.modified: set[Path] = set()
        self.removed: set[Path] = set()

    def changed(self) -> set[Path]:
        return self.added | self.modified


def compare(old: Any, new: Any, schema: JSON | None) -> Comparison:
    result = Comparison()
    _compare(old, new, schema, (), result)
    return result


def _compare(old: Any, new: Any, schema: JSON | None, prefix: Path, out: Comparison) -> None:
    leaf = True
    old_map = old is _MISSING or _is_map(old, schema)
    new_map = new is _MISSING or _is_map(new, schema)
    old_list = old is _MISSING or _is_assoc(old, schema)
    new_list = new is _MISSING or _is_assoc(new, schema)
    if old_map and new_map and (old is not _MISSING or new is not _MISSING):
        before = {} if old is _MISSING else old
        after = {} if new is _MISSING else new
        if before or after:
            leaf = False
            for key in before.keys() | after.keys():
                _compare(
                    before.get(key, _MISSING),
                    after.get(key, _MISSING),
                    child(schema, key),
                    (*prefix, ("f", key)),
                    out,
                )
    elif old_list and new_list and (old is not _MISSING or new is not _MISSING):
        before_items = {item_id(i, schema): i for i in ([] if old is _MISSING else old)}
        after_items = {item_id(i, schema): i for i in ([] if new is _MISSING else new)}
        if before_items or after_items:
            leaf = False
            item_schema = items(schema)
            for ident in before_items.keys() | after_items.keys():
                _compare(
                    before_items.get(ident, _MISSING),
                    after_items.get(ident, _MISSING),
                    item_schema,
                    (*prefix, ident),
                    out,
                )
    if not prefix:
        return
    if old is _MISSING:
        out.added.add(prefix)
    elif new is _MISSING:
        out.removed.add(prefix)
    elif leaf and old != new:
        out.modified.add(prefix)


# --- merging and removing --------------------------------------------------------------------


def merge(live: Any, config: Any, schema: JSON | None) -> Any:
    """The applied configuration merged over the live object (structured-merge-diff's Merge)."""
    if _is_map(config, schema) and _is_map(live, schema):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value, child(schema, key))
            else:
                out[key] = value
        return out
    if _is_assoc(config, schema) and isinstance(live, list):
        out_list = list(live)
        where = {item_id(item, schema): i for i, item in enumerate(out_list)}
        item_schema = items(schema)
        for item in config:
            ident = item_id(item, schema)
            if ident in where:
                out_list[where[ident]] = merge(out_list[where[ident]], item, item_schema)
            else:
                where[ident] = len(out_list)
                out_list.append(item)
        return out_list
    return config


def remove(obj: Any, path: Path, schema: JSON | None) -> None:
    """Delete the value at ``path`` if it is there (used to prune what an applier dropped)."""
    if not path:
        return
    node, node_schema = obj, schema
    for element in path[:-1]:
        node, node_schema = _step(node, element, node_schema)
        if node is None:
            return
    kind, name = path[-1]
    if kind == "f" and isinstance(node, dict):
        node.pop(name, None)
    elif kind in ("k", "v") and isinstance(node, list):
        node[:] = [item for item in node if item_id(item, node_schema) != (kind, name)]


def _step(node: Any, element: Element, schema: JSON | None) -> tuple[Any, JSON | None]:
    kind, name = element
    if kind == "f":
        return (node.get(name) if isinstance(node, dict) else None), child(schema, name)
    if isinstance(node, list):
        for item in node:
            if item_id(item, schema) == element:
                return item, items(schema)
    return None, None


# --- fieldsV1 --------------------------------------------------------------------------------


def _element_text(element: Element) -> str:
    return f"{element[0]}:{element[1]}"


def encode(paths: set[Path]) -> JSON:
    """The ``fieldsV1`` tree: ``{}`` for a leaf, ``"."`` when a node is itself in the set."""
    tree: JSON = {}
    members: set[Path] = set()
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(_element_text(element), {})
        members.add(path)

    def finish(node: JSON, path: Path) -> JSON:
        out: JSON = {}
        if path in members and node:
            out["."] = {}
        for text in sorted(node):
            kind, _, name = text.partition(":")
            out[text] = finish(node[text], (*path, (kind, name)))
        return out

    return finish(tree, ())


def decode(tree: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for text, sub in tree.items():
        if text == ".":
            out.add(prefix)
            continue
        kind, _, name = text.partition(":")
        if kind in ("k", "v"):
            with contextlib.suppress(ValueError):
                name = canon(json.loads(name))
        path = (*prefix, (kind, name))
        if isinstance(sub, dict) and sub:
            out |= decode(sub, path)
        else:
            out.add(path)
    return out


def path_text(path: Path) -> str:
    """A path as conflicts name it: ``.spec.containers[name="x"].image``."""
    out = ""
    for kind, name in path:
        if kind == "f":
            out += "." + name
        elif kind == "k":
            keys = json.loads(name)
            out += "[" + ",".join(f"{k}={json.dumps(keys[k])}" for k in sorted(keys)) + "]"
        elif kind == "v":
            out += f"[={name}]"
        else:
            out += f"[{name}]"
    return out


def without(paths: set[Path], ignored: list[Path]) -> set[Path]:
    """The paths minus the stripped metadata ones and any under an ignored prefix."""
    return {
        p
        for p in paths
        if p not in STRIPPED and not any(p[: len(prefix)] == prefix for prefix in ignored)
    }

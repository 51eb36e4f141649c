"""JSON merge patch (RFC 7386), JSON patch (RFC 6902), and the strategic merge patch subset
that kubectl sends for built-in types (namespaces) — custom resources refuse it with 415.

A JSON patch is bounded as the apiserver bounds it: at most ``MAX_OPERATIONS`` operations
(413), and ``copy`` operations may add at most ``COPY_BUDGET`` nodes in all (422), since each
copy of a subtree into itself doubles the object: 30 small operations would otherwise make
a billion nodes on the event loop. No operation may put a value deeper than
``bodies.MAX_DEPTH`` (422), which keeps every stored object within what the handlers can
walk, whatever the sequence of patches.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .bodies import MAX_DEPTH, measure
from .meta import jcopy

JSON = dict[str, Any]

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
CR_PATCH_TYPES = [JSON_PATCH, MERGE, APPLY]
BUILTIN_PATCH_TYPES = [JSON_PATCH, MERGE, STRATEGIC, APPLY]
MAX_OPERATIONS = 10_000  # the apiserver's maxJSONPatchOperations
COPY_BUDGET = 100_000  # nodes that the copy operations of one patch may add, in all


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return jcopy(patch)
    result = jcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_patch(target: Any, patch: Any) -> Any:
    """Strategic merge as a merge patch that understands the ``$patch`` and ``$...`` directives
    kubectl adds; lists are replaced, which is what the built-in types here need."""
    if not isinstance(patch, dict):
        return jcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: jcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = jcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = strategic_patch(result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


class PatchFailed(Exception):
    pass


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchFailed(f'JSON pointer "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchFailed(f"invalid array index: {token}")
    i = int(token)
    if i > len(container) or (not adding and i == len(container)):
        raise PatchFailed(f"array index out of bounds: {i}")
    return i


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for token in parts[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, False)]
        else:
            raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")
        return parent[token]
    if isinstance(parent, list):
        return parent[_index(parent, token, False)]
    raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    token = parts[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, True), value)
    else:
        raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchFailed("cannot remove the whole document")
    parent = _parent(doc, parts)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchFailed(f"Unable to remove nonexistent key: {token}: missing value")
        del parent[token]
    elif isinstance(parent, list):
        del parent[_index(parent, token, False)]
    else:
        raise PatchFailed(f"doc is missing path: /{'/'.join(parts)}: missing value")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902; a malformed patch is a 400, one that does not apply a 422 (as the apiserver)."""
    if not isinstance(ops, list):
        raise errors.bad_request(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        )
    if len(ops) > MAX_OPERATIONS:
        raise errors.ApiError(
            413,
            "RequestEntityTooLarge",
            f"Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_OPERATIONS}, got {len(ops)}",
        )
    doc = jcopy(target)
    copied = [0]
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise errors.bad_request("json patch operation is missing op or path")
        try:
            doc = _apply_op(doc, op, copied)
        except PatchFailed as e:
            raise errors.ApiError(
                422,
                "Invalid",
                str(e),
                {"causes": [{"reason": "UnexpectedServerResponse", "message": str(e)}]},
            ) from None
    return doc


def _placeable(parts: list[str], value: Any) -> int:
    """The nodes in ``value``, after checking that at ``parts`` it nests within MAX_DEPTH
    (a value at a path of n tokens starts at depth n + 1)."""
    nodes, depth = measure(value, MAX_DEPTH)
    if len(parts) + depth > MAX_DEPTH:
        raise PatchFailed(
            f"the value at /{'/'.join(parts)} would nest more than {MAX_DEPTH} levels of "
            "objects and arrays"
        )
    return nodes


def _apply_op(doc: Any, op: JSON, copied: list[int]) -> Any:
    """One operation; ``copied`` counts the nodes that copies have added so far."""
    kind, parts = op["op"], _pointer(str(op["path"]))
    if kind == "add":
        _placeable(parts, op.get("value"))
        return _add(doc, parts, jcopy(op.get("value")))
    if kind == "remove":
        return _remove(doc, parts)
    if kind == "replace":
        _get(doc, parts)
        _placeable(parts, op.get("value"))
        if not parts:
            return jcopy(op.get("value"))
        doc = _remove(doc, parts)
        return _add(doc, parts, jcopy(op.get("value")))
    if kind in ("move", "copy"):
        source = _pointer(str(op.get("from", "")))
        found = _get(doc, source)
        nodes = _placeable(parts, found)
        if kind == "copy":
            copied[0] += nodes
            if copied[0] > COPY_BUDGET:
                raise PatchFailed(
                    "Unable to complete the copy, the accumulated size increase of copy is "
                    f"{copied[0]} nodes, exceeding the limit {COPY_BUDGET}"
                )
        value = jcopy(found)
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, parts, value)
    if kind == "test":
        if _get(doc, parts) != op.get("value"):
            raise PatchFailed(f"testing value /{'/'.join(parts)} failed: test failed")
        return doc
    raise PatchFailed(f"Unexpected kind: {kind}")

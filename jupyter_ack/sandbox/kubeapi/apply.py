"""Server-side apply and ``managedFields``: who owns which field, conflicts, and pruning.

Every write records its field manager: an Update entry gains the fields the write changed
(taking them from other managers), an Apply entry owns exactly what its configuration sets.
Applying a value another manager owns with a different value is a conflict (409) unless
``force=true``; fields an applier stops setting are removed when nobody else owns them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import errors, fields
from .fields import Path
from .meta import jcopy, now, rfc3339

JSON = dict[str, Any]


@dataclass
class Manager:
    manager: str
    operation: str  # "Apply" or "Update"
    api_version: str
    subresource: str = ""
    time: str = ""
    paths: set[Path] = field(default_factory=set)

    def same(self, manager: str, operation: str, subresource: str, api_version: str) -> bool:
        """Appliers keep one entry whatever the version; updaters one per version."""
        return (
            self.manager == manager
            and self.operation == operation
            and self.subresource == subresource
            and (operation == "Apply" or self.api_version == api_version)
        )

    def display(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def entry(self) -> JSON:
        out: JSON = {"manager": self.manager, "operation": self.operation}
        out["apiVersion"] = self.api_version
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = fields.encode(self.paths)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def decode(entries: Any) -> list[Manager]:
    out = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            continue
        out.append(
            Manager(
                manager=str(e.get("manager", "")),
                operation=str(e.get("operation", "")),
                api_version=str(e.get("apiVersion", "")),
                subresource=str(e.get("subresource", "")),
                time=str(e.get("time", "")),
                paths=fields.decode(e.get("fieldsV1")),
            )
        )
    return out


def encode(managers: list[Manager]) -> list[JSON]:
    kept = [m for m in managers if m.paths]
    kept.sort(key=lambda m: (m.operation, m.time, m.manager, m.api_version, m.subresource))
    return [m.entry() for m in kept]


def _strip_for_compare(obj: JSON | None) -> JSON:
    if not obj:
        return {}
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    out["metadata"] = meta
    return out


def record_update(
    managers: list[Manager],
    live: JSON | None,
    new: JSON,
    manager: str,
    api_version: str,
    subresource: str,
    schema: JSON | None,
    ignored: list[Path],
) -> list[Manager]:
    """An Update: the writer takes what it changed; removed fields leave every owner."""
    shape = fields.object_schema(schema)
    diff = fields.compare(_strip_for_compare(live), _strip_for_compare(new), shape)
    changed = fields.without(diff.changed(), ignored)
    removed = fields.without(diff.removed, ignored)
    for m in managers:
        m.paths -= changed
        m.paths -= removed
    if changed:
        mine = next(
            (m for m in managers if m.same(manager, "Update", subresource, api_version)), None
        )
        if mine is None:
            mine = Manager(manager, "Update", api_version, subresource)
            managers.append(mine)
        mine.paths |= changed
        mine.time = rfc3339(now())
    return [m for m in managers if m.paths]


def _with_ancestors(paths: set[Path]) -> set[Path]:
    out = set(paths)
    for path in paths:
        out.update(path[:i] for i in range(1, len(path)))
    return out


def _with_named_ancestors(paths: set[Path]) -> set[Path]:
    """The paths plus the fields they sit in (``EnsureNamedFieldsAreMembers``)."""
    out = set(paths)
    for path in paths:
        out.update(path[:i] for i in range(1, len(path)) if path[i - 1][0] == "f")
    return out


def conflict_error(conflicts: list[tuple[Manager, Path]]) -> errors.ApiError:
    conflicts = sorted(conflicts, key=lambda c: (c[0].display(), fields.path_text(c[1])))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {m.display()}",
            "field": fields.path_text(p),
        }
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {m.display()}: {fields.path_text(p)}"
        )
    else:
        lines: list[str] = []
        for who in sorted({m.display() for m, _ in conflicts}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {fields.path_text(p)}" for m, p in conflicts if m.display() == who)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {"causes": causes})


def apply(
    managers: list[Manager],
    live: JSON,
    config: JSON,
    manager: str,
    api_version: str,
    subresource: str,
    schema: JSON | None,
    ignored: list[Path],
    force: bool,
) -> tuple[JSON, list[Manager]]:
    """Merge ``config`` over ``live`` for ``manager``; returns the new object and owners."""
    shape = fields.object_schema(schema)
    config = jcopy(_strip_for_compare(config))
    every = fields.field_set(config, shape)  # name, apiVersion... keep their parents alive
    applied = fields.without(every, ignored)
    merged = fields.merge(jcopy(_strip_for_compare(live)), config, shape)
    mine = next((m for m in managers if m.same(manager, "Apply", subresource, api_version)), None)
    others = [m for m in managers if m is not mine]
    if mine is not None:
        # What this applier set last time and nobody (itself included) owns now goes; a
        # node stays while anything under it is owned (structured-merge-diff's prune).
        kept = _with_ancestors(every.union(*(m.paths for m in others)))
        gone = _with_named_ancestors(mine.paths) - kept - fields.STRIPPED
        for path in sorted(gone, key=len):
            fields.remove(merged, path, shape)
    diff = fields.compare(_strip_for_compare(live), merged, shape)
    changed = fields.without(diff.changed(), ignored)
    removed = fields.without(diff.removed, ignored)
    conflicts = [(m, p) for m in others for p in sorted(m.paths & changed)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for m in others:
        m.paths -= changed
        m.paths -= removed
    if mine is None:
        mine = Manager(manager, "Apply", api_version, subresource)
        managers.append(mine)
    if mine.paths != applied or changed or removed or not mine.time:
        mine.time = rfc3339(now())
    mine.paths = applied
    mine.api_version = api_version
    return merged, [m for m in managers if m.paths]

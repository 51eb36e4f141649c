"""Deletion: finalizers, terminating namespaces, and what goes with a deleted CRD.

An object with finalizers is only marked (``deletionTimestamp``, grace period 0, one more
generation) and stays until an update removes the last finalizer; a namespace terminates,
deletes what is in it and goes once it is empty; a CRD takes its objects and type with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import errors
from .meta import jcopy, now, rfc3339
from .target import Base, Result, Target

JSON = dict[str, Any]

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Deletes(Base):
    """DELETE of one object or a collection; 200 with the object (a Status for events)."""

    def delete(self, t: Target, options: JSON, dry_run: bool) -> Result:
        old = self._existing(t)
        meta = old["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(
                t.rtype.group,
                t.rtype.plural,
                t.name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                f"{meta.get('uid')}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict(
                t.rtype.group,
                t.rtype.plural,
                t.name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                f"{meta.get('resourceVersion')}",
            )
        if t.rtype.builtin == "namespaces":
            return self._delete_namespace(t, old, dry_run)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return Result(self.output(t, old))
            new = self._mark_deleting(t, old)
            if not dry_run:
                self.store.write(t.rtype.key, new, old)
            return Result(self.output(t, new))
        if not dry_run:
            self._remove(t, old)
        if not t.rtype.returns_deleted_object:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": t.name, "kind": t.rtype.plural, "uid": meta.get("uid", "")},
            }
            return Result(status)
        return Result(self.output(t, old))

    def _mark_deleting(self, t: Target, old: JSON) -> JSON:
        new: JSON = jcopy(old)
        meta = new["metadata"]
        meta["deletionTimestamp"] = rfc3339(now())
        meta["deletionGracePeriodSeconds"] = 0
        if t.rtype.tracks_generation and meta.get("generation"):
            meta["generation"] = int(meta["generation"]) + 1
        return new

    def _remove(self, t: Target, obj: JSON) -> None:
        """Delete from the store, and what follows from it (a CRD's objects, a namespace)."""
        self.store.delete(t.rtype.key, obj)
        if t.rtype.builtin == "crds":
            spec = obj.get("spec") or {}
            key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            self.registry.remove(key)
            self.store.drop_type(key)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace:
            self._finish_namespace(namespace)

    def _delete_namespace(self, t: Target, old: JSON, dry_run: bool) -> Result:
        if t.name in PROTECTED_NAMESPACES:
            raise errors.forbidden("", "namespaces", t.name, "this namespace may not be deleted")
        if old["metadata"].get("deletionTimestamp"):
            return Result(self.output(t, old))
        new: JSON = jcopy(old)
        new["metadata"]["deletionTimestamp"] = rfc3339(now())
        new["status"] = {"phase": "Terminating"}
        if dry_run:
            return Result(self.output(t, new))
        self.store.write(t.rtype.key, new, old)
        result = Result(self.output(t, new))
        for rtype in list(self.registry.types.values()):
            if not rtype.namespaced:
                continue
            for obj in list(self.store.items(rtype.key, t.name)):
                inner = Target(rtype, rtype.versions[rtype.storage_version], t.name, "")
                if obj["metadata"].get("finalizers"):
                    if not obj["metadata"].get("deletionTimestamp"):
                        self.store.write(rtype.key, self._mark_deleting(inner, obj), obj)
                else:
                    self.store.delete(rtype.key, obj)
        self._finish_namespace(t.name)
        return result

    def _finish_namespace(self, name: str) -> None:
        """A terminating namespace goes once nothing is left in it."""
        ns = self.store.get(("", "namespaces"), "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for rtype in self.registry.types.values():
            if rtype.namespaced and self.store.count(rtype.key, name):
                return
        self.store.delete(("", "namespaces"), ns)

    def delete_collection(self, t: Target, matches: Callable[[JSON], bool], dry_run: bool) -> JSON:
        ns = t.namespace if t.rtype.namespaced and t.namespace else None
        deleted = []
        for obj in list(self.store.items(t.rtype.key, ns)):
            if not matches(obj):
                continue
            one = Target(
                t.rtype, t.version, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            )
            deleted.append(self.delete(one, {}, dry_run).obj)
        return {
            "apiVersion": t.api_version,
            "kind": t.rtype.list_kind,
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": deleted,
        }

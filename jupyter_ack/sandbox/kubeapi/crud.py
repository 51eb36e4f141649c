"""Writes: the apiserver's create, update, patch and server-side apply rules.

HTTP is not here (see ``routes``); ``Api`` takes decoded bodies and options and returns
objects or raises ``ApiError``, reading (``reads``) and deleting (``deletion``) included.
The rules follow the generic registry and the custom resource strategy: system metadata is
the server's, ``status`` is only written through the status subresource when it is on,
``generation`` moves when anything but metadata and status changes, removing the last
finalizer of a deleted object deletes it, ``dryRun`` does everything but store.
"""

from __future__ import annotations

import json
from typing import Any

from . import apply as ssa
from . import errors, schema
from .deletion import PROTECTED_NAMESPACES, Deletes
from .meta import generate_name, jcopy, metadata, new_uid, now, rfc3339
from .patch import (
    APPLY,
    BUILTIN_PATCH_TYPES,
    CR_PATCH_TYPES,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    json_patch,
    merge_patch,
    strategic_patch,
)
from .reads import Reads
from .resources import crd_problems, crd_status, default_crd, type_from_crd
from .target import Options, Result, Target

JSON = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Api(Reads, Deletes):
    """The object operations over one registry and one store."""

    # --- bootstrap ---------------------------------------------------------------------------

    def bootstrap(self, crds: list[JSON]) -> None:
        ns_type = self.registry.get(("", "namespaces"))
        crd_type = self.registry.get(("apiextensions.k8s.io", "customresourcedefinitions"))
        assert ns_type is not None
        assert crd_type is not None
        opts = Options(manager="kube-apiserver")
        for name in PROTECTED_NAMESPACES:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self.create(Target(ns_type, ns_type.versions["v1"]), body, opts)
        for crd in crds:
            self.create(Target(crd_type, crd_type.versions["v1"]), jcopy(crd), opts)

    # --- helpers -----------------------------------------------------------------------------

    def _decode(self, t: Target, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise errors.bad_request(
                f'{t.rtype.kind} in version "{t.version.name}" cannot be handled as a '
                f"{t.rtype.kind}: the body must be a JSON object"
            )
        obj: JSON = jcopy(body)
        if not obj.get("kind"):
            if t.rtype.custom:
                raise errors.bad_request(
                    f"Object 'Kind' is missing in '{json.dumps(body, separators=(',', ':'))}'"
                )
            obj["kind"] = t.rtype.kind
        if not obj.get("apiVersion"):
            if t.rtype.custom:
                raise errors.bad_request(
                    f"Object 'apiVersion' is missing in '{json.dumps(body, separators=(',', ':'))}'"
                )
            obj["apiVersion"] = t.api_version
        if obj["apiVersion"] != t.api_version:
            raise errors.bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the "
                f"expected API version ({t.api_version})"
            )
        if obj["kind"] != t.rtype.kind:
            raise errors.bad_request(
                f"the kind in the data ({obj['kind']}) does not match the expected kind "
                f"({t.rtype.kind})"
            )
        problem = schema.metadata_type_problem(obj.get("metadata", {}))
        if problem:
            raise errors.bad_request(
                f'{t.rtype.kind} in version "{t.version.name}" cannot be handled as a '
                f"{t.rtype.kind}: {problem}"
            )
        _drop_empty(metadata(obj))
        return obj

    def _prune(self, t: Target, obj: JSON, opts: Options) -> list[str]:
        """Drop unknown fields: a warning each, or a 400 under ``fieldValidation=Strict``."""
        unknown = schema.prune(obj, t.version.schema if t.rtype.custom else None)
        if not unknown or opts.validation == "Ignore":
            return []
        texts = [f'unknown field "{path}"' for path in unknown]
        if opts.validation == "Strict":
            raise errors.bad_request(
                f'{t.rtype.kind} in version "{t.version.name}" cannot be handled as a '
                f"{t.rtype.kind}: strict decoding error: {', '.join(texts)}"
            )
        return texts

    def _validate(self, t: Target, obj: JSON) -> None:
        meta = obj["metadata"]
        causes = schema.validate_metadata(meta, dns_label=t.rtype.builtin == "namespaces")
        if t.rtype.custom:
            causes += schema.validate(obj, t.version.schema)
        if t.rtype.builtin == "crds":
            causes += crd_problems(obj)
        if causes:
            raise errors.invalid(t.rtype.group, t.rtype.kind, meta.get("name", ""), causes)

    def _check_namespace(self, t: Target, meta: JSON) -> None:
        if not t.rtype.namespaced:
            return
        ns = self.store.get(("", "namespaces"), "", t.namespace)
        if ns is None:
            raise errors.not_found("", "namespaces", t.namespace)
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{errors.qualified(t.rtype.group, t.rtype.plural)} "{meta.get("name", "")}" '
                f"is forbidden: unable to create new content in namespace {t.namespace} "
                "because it is being terminated",
                {
                    "name": meta.get("name", ""),
                    **({"group": t.rtype.group} if t.rtype.group else {}),
                    "kind": t.rtype.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {t.namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    def _place(self, t: Target, meta: JSON) -> None:
        """Put the object in the request's namespace (or none, when cluster-scoped)."""
        if t.rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != t.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = t.namespace
        else:
            meta.pop("namespace", None)

    # --- create ------------------------------------------------------------------------------

    def create(self, t: Target, body: Any, opts: Options) -> Result:
        obj = self._decode(t, body)
        warnings = self._prune(t, obj, opts)
        return self._create(t, obj, opts, warnings, None)

    def _create(
        self,
        t: Target,
        obj: JSON,
        opts: Options,
        warnings: list[str],
        managers: list[ssa.Manager] | None,
    ) -> Result:
        meta = obj["metadata"]
        self._place(t, meta)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"])
            else:
                raise errors.invalid(
                    t.rtype.group,
                    t.rtype.kind,
                    "",
                    [
                        errors.field_error(
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
        schema.apply_defaults(obj, t.version.schema if t.rtype.custom else None)
        self._prepare_create(t, obj)
        self._validate(t, obj)
        self._check_namespace(t, meta)
        if self.store.get(t.rtype.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(t.rtype.group, t.rtype.plural, meta["name"])
        if managers is None:
            given = ssa.decode(meta.get("managedFields"))
            managers = ssa.record_update(
                given, None, obj, opts.manager, t.api_version, "", t.version.schema, t.ignored()
            )
        meta["managedFields"] = ssa.encode(managers)
        if not meta["managedFields"]:
            del meta["managedFields"]
        if opts.dry_run:
            return Result(obj, 201, warnings)
        self.store.write(t.rtype.key, obj, None)
        if t.rtype.builtin == "crds":
            self.registry.add(type_from_crd(obj))
        return Result(self.output(t, obj), 201, warnings)

    def _prepare_create(self, t: Target, obj: JSON) -> None:
        meta = obj["metadata"]
        for key in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ):
            meta.pop(key, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = rfc3339(now())
        if t.rtype.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if t.rtype.builtin == "namespaces":
            _label_namespace(meta)
            spec = obj.setdefault("spec", {})
            if isinstance(spec, dict):
                spec.setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif t.rtype.builtin == "crds":
            if not crd_problems(obj):
                default_crd(obj)
                obj["status"] = crd_status(obj, meta["creationTimestamp"], None)
        elif t.version.status:
            obj.pop("status", None)

    # --- update ------------------------------------------------------------------------------

    def update(self, t: Target, body: Any, opts: Options) -> Result:
        obj = self._decode(t, body)
        self._check_name(t, obj)
        old = self._existing(t)
        self._check_identity(t, old, obj)
        warnings = self._prune(t, obj, opts)
        return self._update(t, old, obj, opts, warnings, None)

    def _check_name(self, t: Target, obj: JSON) -> None:
        meta = obj["metadata"]
        if meta.get("name", "") != t.name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name', '')}) does not match the name on "
                f"the URL ({t.name})"
            )
        self._place(t, meta)

    def _check_identity(self, t: Target, old: JSON, obj: JSON) -> None:
        self._check_name(t, obj)
        meta = obj["metadata"]
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(t.rtype.group, t.rtype.plural, t.name, errors.STALE)

    def _update(
        self,
        t: Target,
        old: JSON,
        obj: JSON,
        opts: Options,
        warnings: list[str],
        managers: list[ssa.Manager] | None,
    ) -> Result:
        schema.apply_defaults(obj, t.version.schema if t.rtype.custom else None)
        new = self._prepare_update(t, old, obj)
        self._validate(t, new)
        self._check_finalizers(t, old, new)
        if managers is None:
            given = ssa.decode(obj["metadata"].get("managedFields"))
            base = given or ssa.decode(old["metadata"].get("managedFields"))
            managers = ssa.record_update(
                base,
                old,
                new,
                opts.manager,
                t.api_version,
                t.subresource,
                t.version.schema,
                t.ignored(),
            )
        meta = new["metadata"]
        meta["managedFields"] = ssa.encode(managers)
        if not meta["managedFields"]:
            del meta["managedFields"]
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:  # a no-op write is not stored: same resourceVersion, no event
            return Result(self.output(t, old), 200, warnings)
        if opts.dry_run:
            return Result(self.output(t, new), 200, warnings)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(t, new)
            return Result(self.output(t, new), 200, warnings)
        self.store.write(t.rtype.key, new, old)
        if t.rtype.builtin == "crds":
            self.registry.add(type_from_crd(new))
        return Result(self.output(t, new), 200, warnings)

    def _prepare_update(self, t: Target, old: JSON, obj: JSON) -> JSON:
        """The object to store: server-owned metadata from ``old``, status rules, generation."""
        if t.subresource == "status":
            new: JSON = jcopy(old)
            new["metadata"]["managedFields"] = obj["metadata"].get("managedFields")
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return new
        new = obj
        meta, old_meta = new["metadata"], old["metadata"]
        for key in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("selfLink", None)
        if t.rtype.builtin == "namespaces":
            _label_namespace(meta)
        if t.version.status or t.rtype.builtin:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if t.rtype.builtin == "crds":
            if not crd_problems(new):
                default_crd(new)
                new["status"] = crd_status(new, rfc3339(now()), old.get("status"))
            if (new.get("spec") or {}).get("group") != old["spec"].get("group") or (
                (new.get("spec") or {}).get("names") or {}
            ).get("plural") != old["spec"]["names"].get("plural"):
                raise errors.invalid(
                    t.rtype.group,
                    t.rtype.kind,
                    t.name,
                    [
                        errors.field_error(
                            "spec.group", "FieldValueInvalid", "Invalid value: field is immutable"
                        )
                    ],
                )
        if t.rtype.tracks_generation:
            strip = ("metadata", "status") if t.version.status else ("metadata",)
            before = {k: v for k, v in old.items() if k not in strip}
            after = {k: v for k, v in new.items() if k not in strip}
            if before != after:
                meta["generation"] = int(old_meta.get("generation", 0)) + 1
        return new

    def _check_finalizers(self, t: Target, old: JSON, new: JSON) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            listed = ", ".join(json.dumps(f) for f in added)
            raise errors.invalid(
                t.rtype.group,
                t.rtype.kind,
                t.name,
                [
                    errors.field_error(
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers []string{{{listed}}}",
                    )
                ],
            )

    # --- patch and apply ---------------------------------------------------------------------

    def check_patch(self, t: Target, content_type: str, opts: Options) -> None:
        """What the apiserver refuses before it reads a patch's body: a patch type the
        resource does not take (415), ``force`` on a non-apply patch and apply without a
        field manager (422). Routes call it before they read and decode the body."""
        if content_type == APPLY:
            if not opts.manager_given:
                raise errors.invalid(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    [
                        errors.field_error(
                            "fieldManager",
                            "FieldValueRequired",
                            "Required value: is required for apply patch",
                        )
                    ],
                )
            return
        if opts.force is not None:
            raise errors.invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                [
                    errors.field_error(
                        "force",
                        "FieldValueForbidden",
                        "Forbidden: may not be specified for non-apply patch",
                    )
                ],
            )
        accepted = CR_PATCH_TYPES if t.rtype.custom else BUILTIN_PATCH_TYPES
        if content_type not in accepted:
            raise errors.unsupported_media_type(content_type, accepted)

    def patch(self, t: Target, content_type: str, doc: Any, opts: Options) -> Result:
        """Apply a decoded patch document (``bodies.decode_json``, or ``decode_yaml`` for an
        apply patch) of ``content_type``."""
        self.check_patch(t, content_type, opts)
        if content_type == APPLY:
            return self.apply(t, doc, opts)
        old = self._existing(t)
        current = self.output(t, old)
        if content_type == MERGE:
            if not isinstance(doc, dict):
                raise errors.bad_request("json: cannot unmarshal into map[string]interface {}")
            patched = merge_patch(current, doc)
        elif content_type == JSON_PATCH:
            patched = json_patch(current, doc)
        else:
            assert content_type == STRATEGIC
            if not isinstance(doc, dict):
                raise errors.bad_request("json: cannot unmarshal into map[string]interface {}")
            patched = strategic_patch(current, doc)
        obj = self._decode(t, patched)
        self._check_identity(t, old, obj)
        warnings = self._prune(t, obj, opts)
        return self._update(t, old, obj, opts, warnings, None)

    def apply(self, t: Target, config: Any, opts: Options) -> Result:
        """Server-side apply of a decoded apply configuration (see ``check_patch``)."""
        self.check_patch(t, APPLY, opts)
        if not isinstance(config, dict):
            raise errors.bad_request(
                "error decoding YAML: the apply configuration must be an object"
            )
        for key in ("apiVersion", "kind"):
            if not config.get(key):
                raise errors.bad_request(f"{key} must be set")
        config = self._decode(t, config)
        meta = config["metadata"]
        if meta.get("name", t.name) != t.name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({t.name})"
            )
        meta["name"] = t.name
        self._place(t, meta)
        warnings = self._prune(t, config, opts)
        ns = t.namespace if t.rtype.namespaced else ""
        old = self.store.get(t.rtype.key, ns, t.name)
        force = bool(opts.force)
        if old is None:
            if t.subresource:
                raise errors.not_found(t.rtype.group, t.rtype.plural, t.name)
            obj, managers = ssa.apply(
                [],
                {},
                config,
                opts.manager,
                t.api_version,
                "",
                t.version.schema,
                t.ignored(),
                force,
            )
            obj["apiVersion"], obj["kind"] = config["apiVersion"], config["kind"]
            obj.setdefault("metadata", {})["name"] = t.name
            self._place(t, obj["metadata"])
            return self._create(t, obj, opts, warnings, managers)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(t.rtype.group, t.rtype.plural, t.name, errors.STALE)
        live = self.output(t, old)
        merged, managers = ssa.apply(
            ssa.decode(old["metadata"].get("managedFields")),
            live,
            config,
            opts.manager,
            t.api_version,
            t.subresource,
            t.version.schema,
            t.ignored(),
            force,
        )
        merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        _sync_last_applied(merged, config, opts.manager)
        return self._update(t, old, merged, opts, warnings, managers)


def _drop_empty(meta: JSON) -> None:
    """ObjectMeta's ``omitempty``: the apiserver drops empty maps, lists and strings."""
    for key in [k for k, v in meta.items() if v is None or v in ("", [], {})]:
        del meta[key]


def _label_namespace(meta: JSON) -> None:
    """The label the apiserver keeps on every namespace, for selectors on namespaces."""
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = meta["labels"] = {}
    labels["kubernetes.io/metadata.name"] = meta.get("name", "")


def _sync_last_applied(obj: JSON, config: JSON, manager: str) -> None:
    """kubectl's server-side apply keeps an existing client-side apply annotation current,
    so that a later client-side apply diffs against what was really applied."""
    annotations = obj["metadata"].get("annotations") or {}
    if manager != "kubectl" or LAST_APPLIED not in annotations:
        return
    applied: JSON = jcopy(config)
    inner = applied.get("metadata", {}).get("annotations") or {}
    inner.pop(LAST_APPLIED, None)
    annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"

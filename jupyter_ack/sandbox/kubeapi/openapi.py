"""OpenAPI v3 documents, one per group-version, built from the types' schemas.

kubectl reads them to decide how to validate and patch: ``apply`` looks for the PATCH
operation carrying ``x-kubernetes-group-version-kind`` of the object and a ``fieldValidation``
query parameter (server-side validation), and for ``application/strategic-merge-patch+json``
in its request body (absent for custom resources, so it sends a merge patch); ``explain``
finds the schema whose ``x-kubernetes-group-version-kind`` names the kind. There is no
/openapi/v2: kubectl only falls back to it when v3 lacks these.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .meta import jcopy
from .patch import APPLY, JSON_PATCH, MERGE, STRATEGIC
from .resources import Registry, ResourceType, Version

JSON = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
REF = "#/components/schemas/"

_DESCRIPTIONS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an "
    "object. Servers should convert recognized schemas to the latest internal value, and may "
    "reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    "kind": "Kind is a string value representing the REST resource this object represents. "
    "Servers may infer this from the endpoint the client submits requests to. Cannot be "
    "updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    "metadata": "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}


def _ref(name: str) -> JSON:
    return {"$ref": REF + name}


def _string(description: str) -> JSON:
    return {"type": "string", "description": description}


def _meta_schemas() -> JSON:
    """The apimachinery types the documents refer to, with the fields users meet."""
    time = f"{META}.Time"
    return {
        f"{META}.Time": {
            "type": "string",
            "format": "date-time",
            "description": "Time is a wrapper around time.Time which supports correct "
            "marshaling to YAML and JSON.",
        },
        f"{META}.FieldsV1": {
            "type": "object",
            "description": "FieldsV1 stores a set of fields in a data structure like a Trie, "
            "in JSON format.",
        },
        f"{META}.ManagedFieldsEntry": {
            "type": "object",
            "description": "ManagedFieldsEntry is a workflow-id, a FieldSet and the group "
            "version of the resource that the fieldset applies to.",
            "properties": {
                "apiVersion": _string("APIVersion defines the version of this resource."),
                "fieldsType": _string("FieldsType is the discriminator for the fields format."),
                "fieldsV1": {"allOf": [_ref(f"{META}.FieldsV1")]},
                "manager": _string(
                    "Manager is an identifier of the workflow managing these fields."
                ),
                "operation": _string("Operation is the type of operation: 'Apply' or 'Update'."),
                "subresource": _string(
                    "Subresource is the name of the subresource used to update that object."
                ),
                "time": {"allOf": [_ref(time)]},
            },
        },
        f"{META}.OwnerReference": {
            "type": "object",
            "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {
                "apiVersion": _string("API version of the referent."),
                "blockOwnerDeletion": {"type": "boolean"},
                "controller": {"type": "boolean"},
                "kind": _string("Kind of the referent."),
                "name": _string("Name of the referent."),
                "uid": _string("UID of the referent."),
            },
            "x-kubernetes-map-type": "atomic",
        },
        f"{META}.ObjectMeta": {
            "type": "object",
            "description": "ObjectMeta is metadata that all persisted resources must have, "
            "which includes all objects users must create.",
            "properties": {
                "annotations": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "default": ""},
                    "description": "Annotations is an unstructured key value map stored with "
                    "a resource that may be set by external tools to store and retrieve "
                    "arbitrary metadata.",
                },
                "creationTimestamp": {"allOf": [_ref(time)]},
                "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
                "deletionTimestamp": {"allOf": [_ref(time)]},
                "finalizers": {
                    "type": "array",
                    "items": {"type": "string", "default": ""},
                    "x-kubernetes-list-type": "set",
                    "x-kubernetes-patch-strategy": "merge",
                    "description": "Must be empty before the object is deleted from the registry.",
                },
                "generateName": _string(
                    "GenerateName is an optional prefix, used by the server, to generate a "
                    "unique name ONLY IF the Name field has not been provided."
                ),
                "generation": {"type": "integer", "format": "int64"},
                "labels": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "default": ""},
                    "description": "Map of string keys and values that can be used to organize "
                    "and categorize (scope and select) objects.",
                },
                "managedFields": {
                    "type": "array",
                    "items": {"allOf": [_ref(f"{META}.ManagedFieldsEntry")], "default": {}},
                    "x-kubernetes-list-type": "atomic",
                },
                "name": _string("Name must be unique within a namespace."),
                "namespace": _string(
                    "Namespace defines the space within which each name must be unique."
                ),
                "ownerReferences": {
                    "type": "array",
                    "items": {"allOf": [_ref(f"{META}.OwnerReference")], "default": {}},
                    "x-kubernetes-list-map-keys": ["uid"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "resourceVersion": _string(
                    "An opaque value that represents the internal version of this object."
                ),
                "selfLink": _string("Deprecated: selfLink is a legacy read-only field."),
                "uid": _string("UID is the unique in time and space value for this object."),
            },
        },
        f"{META}.ListMeta": {
            "type": "object",
            "properties": {
                "continue": {"type": "string"},
                "remainingItemCount": {"type": "integer", "format": "int64"},
                "resourceVersion": {"type": "string"},
                "selfLink": {"type": "string"},
            },
        },
        f"{META}.StatusCause": {
            "type": "object",
            "properties": {
                "field": {"type": "string"},
                "message": {"type": "string"},
                "reason": {"type": "string"},
            },
        },
        f"{META}.StatusDetails": {
            "type": "object",
            "properties": {
                "causes": {"type": "array", "items": {"allOf": [_ref(f"{META}.StatusCause")]}},
                "group": {"type": "string"},
                "kind": {"type": "string"},
                "name": {"type": "string"},
                "retryAfterSeconds": {"type": "integer", "format": "int32"},
                "uid": {"type": "string"},
            },
        },
        f"{META}.Status": {
            "type": "object",
            "properties": {
                "apiVersion": _string(_DESCRIPTIONS["apiVersion"]),
                "code": {"type": "integer", "format": "int32"},
                "details": {"allOf": [_ref(f"{META}.StatusDetails")]},
                "kind": _string(_DESCRIPTIONS["kind"]),
                "message": {"type": "string"},
                "metadata": {"allOf": [_ref(f"{META}.ListMeta")], "default": {}},
                "reason": {"type": "string"},
                "status": {"type": "string"},
            },
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}],
        },
        f"{META}.Preconditions": {
            "type": "object",
            "properties": {"resourceVersion": {"type": "string"}, "uid": {"type": "string"}},
        },
        f"{META}.DeleteOptions": {
            "type": "object",
            "properties": {
                "apiVersion": _string(_DESCRIPTIONS["apiVersion"]),
                "dryRun": {"type": "array", "items": {"type": "string", "default": ""}},
                "gracePeriodSeconds": {"type": "integer", "format": "int64"},
                "kind": _string(_DESCRIPTIONS["kind"]),
                "preconditions": {"allOf": [_ref(f"{META}.Preconditions")]},
                "propagationPolicy": {"type": "string"},
            },
        },
        f"{META}.Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete name and type to the "
            "Kubernetes PATCH request body.",
        },
    }


def schema_name(rtype: ResourceType, version: str, kind: str | None = None) -> str:
    kind = kind or rtype.kind
    if rtype.builtin == "crds":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.{kind}"
    if not rtype.group:
        return f"io.k8s.api.core.v1.{kind}"
    return ".".join(reversed(rtype.group.split("."))) + f".{version}.{kind}"


def _builtin_schema(rtype: ResourceType) -> JSON:
    loose = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if rtype.builtin == "namespaces":
        return {
            "type": "object",
            "description": "Namespace provides a scope for Names.",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "finalizers": {
                            "type": "array",
                            "items": {"type": "string", "default": ""},
                            "x-kubernetes-list-type": "atomic",
                        }
                    },
                },
                "status": {
                    "type": "object",
                    "properties": {
                        "phase": _string("Phase is the current lifecycle phase of the namespace.")
                    },
                },
            },
        }
    if rtype.builtin == "events":
        return {
            "type": "object",
            "description": "Event is a report of an event somewhere in the cluster.",
            "properties": {
                "involvedObject": loose,
                "reason": {"type": "string"},
                "message": {"type": "string"},
                "type": {"type": "string"},
                "count": {"type": "integer", "format": "int32"},
                "firstTimestamp": {"allOf": [_ref(f"{META}.Time")]},
                "lastTimestamp": {"allOf": [_ref(f"{META}.Time")]},
                "source": loose,
                "reportingComponent": {"type": "string"},
            },
        }
    return {
        "type": "object",
        "description": "CustomResourceDefinition represents a resource that should be exposed "
        "on the API server.",
        "properties": {"spec": loose, "status": loose},
    }


def object_schema(rtype: ResourceType, version: Version) -> JSON:
    base = jcopy(version.schema) if version.schema else _builtin_schema(rtype)
    base.setdefault("type", "object")
    props = dict(base.get("properties") or {})
    props["apiVersion"] = _string(_DESCRIPTIONS["apiVersion"])
    props["kind"] = _string(_DESCRIPTIONS["kind"])
    props["metadata"] = {
        "allOf": [_ref(f"{META}.ObjectMeta")],
        "default": {},
        "description": _DESCRIPTIONS["metadata"],
    }
    base["properties"] = props
    base["x-kubernetes-group-version-kind"] = [
        {"group": rtype.group, "kind": rtype.kind, "version": version.name}
    ]
    return base


def list_schema(rtype: ResourceType, version: Version) -> JSON:
    return {
        "type": "object",
        "description": f"{rtype.list_kind} is a list of {rtype.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": _string(_DESCRIPTIONS["apiVersion"]),
            "items": {
                "type": "array",
                "description": f"List of {rtype.plural}.",
                "items": _ref(schema_name(rtype, version.name)),
            },
            "kind": _string(_DESCRIPTIONS["kind"]),
            "metadata": {"allOf": [_ref(f"{META}.ListMeta")], "default": {}},
        },
        "x-kubernetes-group-version-kind": [
            {"group": rtype.group, "kind": rtype.list_kind, "version": version.name}
        ],
    }


def _query(name: str, kind: str, description: str) -> JSON:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


_DRY_RUN = _query(
    "dryRun", "string", "When present, indicates that modifications should not be persisted."
)
_FIELD_MANAGER = _query(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
)
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request containing "
    "unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.",
)
_FORCE = _query("force", "boolean", 'Force is going to "force" Apply requests.')
_LIST_PARAMS = [
    _query(
        "allowWatchBookmarks",
        "boolean",
        'allowWatchBookmarks requests watch events with type "BOOKMARK".',
    ),
    _query(
        "continue",
        "string",
        "The continue option should be set when retrieving more results from the server.",
    ),
    _query(
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields.",
    ),
    _query(
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels.",
    ),
    _query("limit", "integer", "limit is a maximum number of responses to return for a list call."),
    _query(
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    _query(
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    _query(
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`.",
    ),
    _query("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    _query("watch", "boolean", "Watch for changes to the described resources."),
]


def _response(ref: str, code: str = "200") -> JSON:
    content = {mt: {"schema": _ref(ref)} for mt in ("application/json", "application/yaml")}
    return {code: {"description": "OK", "content": content}, "401": {"description": "Unauthorized"}}


def _operation(
    action: str, verb: str, rtype: ResourceType, version: str, ref: str, scope: str, sub: str
) -> JSON:
    camel = "".join(p.capitalize() for p in rtype.group.replace("-", ".").split(".")) or "Core"
    op_id = f"{verb}{camel}{version.capitalize()}{scope}{rtype.kind}{sub.capitalize()}"
    return {
        "tags": [f"{rtype.group or 'core'}_{version}"],
        "description": f"{action} {rtype.kind}",
        "operationId": op_id,
        "responses": _response(ref),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rtype.group,
            "version": version,
            "kind": rtype.kind,
        },
    }


def _body(ref: str) -> JSON:
    return {"content": {"*/*": {"schema": _ref(ref)}}, "required": True}


def _patch_body(rtype: ResourceType) -> JSON:
    kinds = [JSON_PATCH, MERGE, APPLY] if rtype.custom else [JSON_PATCH, MERGE, STRATEGIC, APPLY]
    return {"content": {k: {"schema": _ref(f"{META}.Patch")} for k in kinds}, "required": True}


def _paths(rtype: ResourceType, version: Version) -> JSON:
    v = version.name
    base = f"/apis/{rtype.group}/{v}" if rtype.group else f"/api/{v}"
    obj_ref = schema_name(rtype, v)
    list_ref = schema_name(rtype, v, rtype.list_kind)
    name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    ns_param = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
    scope = "Namespaced" if rtype.namespaced else ""
    collection = (
        f"{base}/namespaces/{{namespace}}/{rtype.plural}"
        if rtype.namespaced
        else f"{base}/{rtype.plural}"
    )
    common = [ns_param] if rtype.namespaced else []

    def op(action: str, verb: str, ref: str, sub: str = "") -> JSON:
        return _operation(action, verb, rtype, v, ref, scope, sub)

    listing = op("list", "list", list_ref)
    listing["parameters"] = list(_LIST_PARAMS)
    create = op("post", "create", obj_ref)
    create["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    create["requestBody"] = _body(obj_ref)
    delete_all = op("deletecollection", "deletecollection", f"{META}.Status")
    delete_all["parameters"] = [_DRY_RUN, *_LIST_PARAMS[1:7]]
    paths: JSON = {
        collection: {
            "get": listing,
            "post": create,
            "delete": delete_all,
            "parameters": common,
        }
    }

    def item(sub: str = "") -> JSON:
        get = op("get", "read", obj_ref, sub)
        put = op("put", "replace", obj_ref, sub)
        put["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
        put["requestBody"] = _body(obj_ref)
        patch = op("patch", "patch", obj_ref, sub)
        patch["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE]
        patch["requestBody"] = _patch_body(rtype)
        entry: JSON = {"get": get, "put": put, "patch": patch, "parameters": [name_param, *common]}
        if not sub:
            delete = op("delete", "delete", obj_ref)
            delete["parameters"] = [_DRY_RUN]
            entry["delete"] = delete
        return entry

    paths[f"{collection}/{{name}}"] = item()
    if version.status:
        paths[f"{collection}/{{name}}/status"] = item("status")
    if rtype.namespaced:
        all_ns = op("list", "list", list_ref, "ForAllNamespaces")
        all_ns["parameters"] = list(_LIST_PARAMS)
        paths[f"{base}/{rtype.plural}"] = {"get": all_ns}
    return paths


def document(registry: Registry, group: str, version: str) -> JSON | None:
    found = registry.in_group_version(group, version)
    if not found:
        return None
    paths: JSON = {}
    schemas = _meta_schemas()
    for rtype, v in found:
        paths.update(_paths(rtype, v))
        schemas[schema_name(rtype, v.name)] = object_schema(rtype, v)
        schemas[schema_name(rtype, v.name, rtype.list_kind)] = list_schema(rtype, v)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


class OpenApiCache:
    """Documents and their hashes, rebuilt when the set of types changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._revision = -1
        self._docs: dict[str, bytes] = {}

    def _refresh(self) -> None:
        if self._revision == self.registry.revision:
            return
        self._docs = {}
        for group, versions in self.registry.group_versions().items():
            for v in versions:
                doc = document(self.registry, group, v)
                if doc is not None:
                    path = f"apis/{group}/{v}" if group else f"api/{v}"
                    self._docs[path] = json.dumps(doc, separators=(",", ":")).encode()
        self._revision = self.registry.revision

    def index(self) -> JSON:
        self._refresh()
        paths = {}
        for path, body in self._docs.items():
            digest = hashlib.sha512(body).hexdigest()[:128].upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
        return {"paths": paths}

    def get(self, path: str) -> bytes | None:
        self._refresh()
        return self._docs.get(path)

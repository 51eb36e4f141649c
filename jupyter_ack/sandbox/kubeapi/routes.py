"""HTTP: from a request to an operation, and from its result or error to a response.

Paths are parsed as the apiserver's RequestInfo does (``/api/v1/namespaces/{ns}/events``
is a namespaced collection, ``/api/v1/namespaces/{ns}/status`` a subresource); verbs come
from the method and the ``watch`` parameter. Before any of that: the ``Host`` header must
name loopback (403, against DNS rebinding), then the bearer token must be good (401), then
injected faults and delay apply. Bodies are decoded on ``bodies.Decoder``'s threads, within
its bounds, so that no body holds up the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from . import bodies, discovery, errors, protobuf, render
from .auth import Auth, check_host
from .bodies import MAX_BODY, Decoder
from .crud import Api
from .faults import Faults
from .openapi import OpenApiCache
from .patch import APPLY
from .selectors import parse_labels
from .target import Options, Target
from .watch import Streams, WatchRequest, serve

JSON = dict[str, Any]
log = logging.getLogger(__name__)

__all__ = ["MAX_BODY", "Router", "State", "error_response"]

_YAML = ("application/yaml", "application/x-yaml")
_JSON = ("application/json", "application/octet-stream", "*/*", "")
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}


@dataclass
class State:
    """Everything a request may touch; owned by the server."""

    api: Api
    auth: Auth
    faults: Faults
    openapi: OpenApiCache
    streams: Streams
    decoder: Decoder
    address: str
    port: int  # the port the Host header may name
    bookmark_interval: float


def _json_response(
    body: Any, status: int = 200, headers: CIMultiDict[str] | dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=render.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error_response(err: errors.ApiError) -> web.Response:
    return _json_response(err.status(), err.code, err.headers)


def _flag(query: Any, name: str) -> bool:
    return str(query.get(name, "")) in _TRUE


def _warnings(texts: list[str]) -> CIMultiDict[str]:
    """One ``Warning: 299 - "..."`` header per warning, as kubectl prints them."""
    return CIMultiDict(("Warning", f"299 - {json.dumps(t)}") for t in texts)


def _manager(request: web.Request) -> tuple[str, bool]:
    given = request.query.get("fieldManager", "")
    if given:
        return given, True
    agent = request.headers.get("User-Agent", "").split("/")[0]
    return "".join(ch for ch in agent if ch.isprintable())[:128], False


def _options(request: web.Request) -> Options:
    dry = request.query.getall("dryRun", [])
    for value in dry:
        if value != "All":
            raise errors.bad_request(
                f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    validation = request.query.get("fieldValidation", "") or "Warn"
    if validation not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", '
            '"Strict", "Warn"'
        )
    manager, given = _manager(request)
    force = request.query.get("force")
    return Options(
        dry_run=bool(dry),
        manager=manager,
        manager_given=given,
        validation=validation,
        force=None if force is None else force in _TRUE,
    )


async def _read(request: web.Request) -> bytes:
    """The raw body; 413 up front when its declared length is over the limit (aiohttp also
    stops reading one that grows past it, e.g. a chunked body)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.too_large(MAX_BODY)
    return await request.read()


async def _body(request: web.Request, t: Target, decoder: Decoder) -> Any:
    """A create or update body, decoded off the loop by its media type."""
    kind = request.content_type
    protobuf_ok = kind == protobuf.CONTENT_TYPE and not t.rtype.custom
    if kind not in _YAML and kind not in _JSON and not protobuf_ok:
        raise errors.unsupported_media_type(kind, ["application/json", "application/yaml"])
    raw = await _read(request)
    if kind in _YAML:
        return await decoder.run(bodies.decode_yaml, raw)
    if protobuf_ok:
        return await decoder.run(protobuf.decode, raw)
    return await decoder.run(bodies.decode_json, raw, "couldn't get version/kind; json parse error")


class Router:
    def __init__(self, state: State) -> None:
        self.state = state

    async def handle(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        try:
            check_host(request.headers.get("Host"), state.port)
            user = state.auth.user(request.headers.get("Authorization"))
            if state.faults.delay_seconds:
                await asyncio.sleep(state.faults.delay_seconds)
            injected = state.faults.take(request.path_qs)
            if injected is not None:
                raise injected
            return await self._route(request, user)
        except errors.ApiError as e:
            return error_response(e)
        except web.HTTPException:
            raise
        except Exception as e:  # a bug here still answers as the apiserver would: a Status
            log.exception("kubeapi: %s %s failed", request.method, request.path)
            return error_response(errors.internal(f"{type(e).__name__}: {e}"))

    async def _route(self, request: web.Request, user: str) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        state = self.state
        if request.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise errors.method_not_allowed()
        if not parts:
            return _json_response(
                {"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]}
            )
        head = parts[0]
        if head in ("healthz", "livez", "readyz"):
            return web.Response(text="ok", content_type="text/plain")
        if head == "version" and len(parts) == 1:
            return _json_response(discovery.version())
        if head == "openapi":
            return self._openapi(parts)
        if head == "api":
            if len(parts) == 1:
                return _json_response(discovery.api_versions(state.address))
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            registry = state.api.registry
            if len(parts) == 1:
                return _json_response(discovery.api_group_list(registry))
            group = parts[1]
            if len(parts) == 2:
                doc = discovery.api_group(registry, group)
                if doc is None:
                    raise errors.path_not_found()
                return _json_response(doc)
            version, rest = parts[2], parts[3:]
        else:
            raise errors.path_not_found()
        if not rest:
            listing = discovery.resource_list(state.api.registry, group, version)
            if listing is None:
                raise errors.path_not_found()
            return _json_response(listing)
        return await self._resource(request, user, group, version, rest)

    def _openapi(self, parts: list[str]) -> web.Response:
        if parts[1:] == ["v3"]:
            return _json_response(self.state.openapi.index())
        if len(parts) >= 3 and parts[1] == "v3":
            body = self.state.openapi.get("/".join(parts[2:]))
            if body is not None:
                return web.Response(body=body, content_type="application/json")
        raise errors.path_not_found()

    async def _resource(
        self, request: web.Request, user: str, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        state = self.state
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise errors.path_not_found()
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        found = state.api.registry.lookup(group, version, plural)
        if found is None:
            raise errors.path_not_found()
        rtype, ver = found
        if (namespace and not rtype.namespaced) or (name and rtype.namespaced and not namespace):
            raise errors.path_not_found()
        if sub and not ((sub == "status" and ver.status) or sub in rtype.extra_subresources):
            raise errors.path_not_found()
        t = Target(rtype, ver, namespace, name, sub)
        method = request.method
        watching = _flag(request.query, "watch")
        verb = {
            "GET": "get" if name and not watching else ("watch" if watching else "list"),
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection",
        }[method]
        if (name and verb == "create") or (not name and verb in ("update", "patch")):
            raise errors.method_not_allowed()
        if sub and verb not in ("get", "update", "patch"):
            raise errors.method_not_allowed()
        if verb not in rtype.verbs and not sub:
            raise errors.method_not_allowed()
        state.auth.check(user, verb, group, plural, sub, namespace, name)
        if verb in ("get", "list", "watch"):
            return await self._read(request, t, verb)
        if verb == "delete":
            return await self._delete(request, t)
        if verb == "deletecollection":
            opts = _options(request)
            matches = state.api.matcher(
                t,
                parse_labels(request.query.get("labelSelector", "")),
                request.query.get("fieldSelector", ""),
            )
            return _json_response(state.api.delete_collection(t, matches, opts.dry_run))
        opts = _options(request)
        decoder = state.decoder
        if verb == "patch":
            kind = request.content_type
            state.api.check_patch(t, kind, opts)
            raw = await _read(request)
            if kind == APPLY:
                doc = await decoder.run(bodies.decode_yaml, raw)
            else:
                doc = await decoder.run(bodies.decode_json, raw, "error decoding patch")
            result = state.api.patch(t, kind, doc, opts)
        elif verb == "create":
            result = state.api.create(t, await _body(request, t, decoder), opts)
        else:
            if sub == "finalize":
                body = await _body(request, t, decoder)
                current = state.api.get(t)
                body = {**current, "spec": (body or {}).get("spec", current.get("spec"))}
                result = state.api.update(Target(rtype, ver, namespace, name), body, opts)
            else:
                result = state.api.update(t, await _body(request, t, decoder), opts)
        return _json_response(result.obj, result.code, _warnings(result.warnings))

    async def _read(self, request: web.Request, t: Target, verb: str) -> web.StreamResponse:
        state = self.state
        query = request.query
        fmt = render.negotiate(request.headers.get("Accept", ""), query.get("includeObject", ""))
        if verb == "get":
            return _json_response(render.one(t, fmt, state.api.get(t)))
        labels = parse_labels(query.get("labelSelector", ""))
        fields_text = query.get("fieldSelector", "")
        if t.name:  # a watch on a named object watches that name
            fields_text = ",".join(filter(None, [f"metadata.name={t.name}", fields_text]))
        matches = state.api.matcher(t, labels, fields_text)
        if verb == "watch":
            timeout = query.get("timeoutSeconds")
            try:
                seconds = float(timeout) if timeout else None
            except ValueError:
                raise errors.bad_request(f"invalid timeoutSeconds: {timeout}") from None
            wr = WatchRequest(
                target=t,
                fmt=fmt,
                matches=matches,
                resource_version=query.get("resourceVersion", ""),
                timeout=seconds,
                bookmarks=_flag(query, "allowWatchBookmarks"),
                send_initial=_flag(query, "sendInitialEvents"),
            )
            return await serve(request, state.api, state.streams, wr, state.bookmark_interval, {})
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError:
            raise errors.bad_request(f"invalid limit: {query.get('limit')}") from None
        filtered = bool(labels) or bool(fields_text.strip())
        doc = state.api.list_objects(t, matches, filtered, limit, query.get("continue", ""))
        if fmt.kind == "json":
            store = state.api.store
            body = render.listing_bytes(doc, lambda o: store.encoded(t.rtype.key, o, render.dumps))
            return web.Response(body=body, content_type="application/json")
        return _json_response(render.listing(t, fmt, doc))

    async def _delete(self, request: web.Request, t: Target) -> web.StreamResponse:
        raw = await _read(request)
        options: JSON = {}
        if raw.strip():
            parsed = await self.state.decoder.run(
                bodies.decode_json, raw, "error decoding DeleteOptions"
            )
            options = parsed if isinstance(parsed, dict) else {}
        dry = request.query.getall("dryRun", []) or options.get("dryRun") or []
        result = self.state.api.delete(t, options, "All" in dry)
        return _json_response(result.obj, result.code)

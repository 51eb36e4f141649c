"""The HTTP and WebSocket handlers under ``/jupyter-ack/api``: a few lines each over
:mod:`jupyter_ack.server.service` and :mod:`jupyter_ack.server.feed`.

Every handler needs Jupyter's authentication and passes its authorizer (resource
``jupyter_ack``: reading is ``read``, stop and re-run are ``write``); POST follows Jupyter's
XSRF rules. Errors are one JSON object ``{"error", "hint"}`` with the status the error names.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web, websocket

from jupyter_ack.ack.resources import check_namespace
from jupyter_ack.errors import ClusterError, JupyterAckError, UsageError
from jupyter_ack.server.feed import Feeds, Subscriber
from jupyter_ack.server.service import Service, page

AUTH_RESOURCE = "jupyter_ack"
API = "jupyter-ack/api"
NS = r"/namespaces/(?P<namespace>[^/]+)"
RUN = NS + r"/runs/(?P<name>[^/]+)"
MAX_MESSAGE = 64 * 1024  # bytes a client may send on the stream

T = TypeVar("T")
RunCall = Callable[[Service, str | None, str, str], dict[str, Any]]


class Base(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> Service:
        found: Service = self.settings["jupyter_ack_service"]
        return found

    @property
    def feeds(self) -> Feeds:
        found: Feeds = self.settings["jupyter_ack_feeds"]
        return found

    @property
    def context(self) -> str | None:
        return self.get_query_argument("context", None) or None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def reply(self, doc: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(doc))


def answers(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a JupyterAckError into its HTTP status with the one-line message and hint."""

    @functools.wraps(method)
    async def wrapper(self: Base, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except JupyterAckError as e:
            self.set_status(e.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": e.message, "hint": e.hint}))
            return None

    return wrapper


class ContextsHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        self.reply(await self.call(self.service.contexts))


class NamespacesHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def get(self) -> None:
        self.reply(await self.call(self.service.namespaces, self.context))


class PipelinesHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def get(self, namespace: str) -> None:
        feed = await self.feeds.get(self.context, check_namespace(namespace))
        self.reply({"items": feed.pipelines()})


class RunsHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def get(self, namespace: str) -> None:
        limit = self.get_query_argument("limit", None)
        token = self.get_query_argument("continue", None)
        feed = await self.feeds.get(self.context, check_namespace(namespace))
        runs = feed.runs(self.get_query_argument("pipeline", None))
        self.reply(page(runs, limit, token).to_json())


class RunRead(Base):
    """GET one view of a run: ``answer`` is the Service method that makes it."""

    answer: ClassVar[RunCall]

    @web.authenticated
    @authorized
    @answers
    async def get(self, namespace: str, name: str) -> None:
        ns = check_namespace(namespace)
        self.reply(await self.call(type(self).answer, self.service, self.context, ns, name))


class RunHandler(RunRead):
    answer = Service.run


class GraphHandler(RunRead):
    answer = Service.graph


class ManifestHandler(RunRead):
    answer = Service.manifest


class StopHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def post(self, namespace: str, name: str) -> None:
        ns = check_namespace(namespace)
        self.reply(await self.call(self.service.stop, self.context, ns, name), 202)


class RerunHandler(Base):
    @web.authenticated
    @authorized
    @answers
    async def post(self, namespace: str, name: str) -> None:
        ns = check_namespace(namespace)
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise UsageError("the body is not JSON") from None
        created = await self.call(self.service.rerun, self.context, ns, name, body)
        self.reply(created, 201)


class StreamHandler(JupyterHandler, websocket.WebSocketHandler):
    """``/namespaces/{ns}/stream``: a snapshot, then batched changes (see docs/server.md)."""

    auth_resource = AUTH_RESOURCE
    subscriber: Subscriber | None = None

    async def pre_get(self) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        await super().get(*args, **kwargs)

    async def open(self, namespace: str) -> None:
        feeds: Feeds = self.settings["jupyter_ack_feeds"]
        context = self.get_query_argument("context", None) or None
        try:
            feed = await feeds.get(context, check_namespace(namespace))
        except JupyterAckError as e:
            status = e.http_status if isinstance(e, (ClusterError, UsageError)) else 500
            self._send({"type": "error", "status": status, "error": e.message, "hint": e.hint})
            self.close(1008 if status in (400, 403) else 1011)
            return
        loop = asyncio.get_running_loop()
        self.subscriber = Subscriber(feed, self._send, lambda fn: loop.run_in_executor(None, fn))
        self.subscriber.open()

    async def on_message(self, message: str | bytes) -> None:
        if self.subscriber is None or len(message) > MAX_MESSAGE:
            return
        try:
            doc = json.loads(message)
        except ValueError:
            return
        names = doc.get("follow") if isinstance(doc, dict) else None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            await self.subscriber.follow(names)

    def on_close(self) -> None:
        if self.subscriber is not None:
            self.subscriber.close()

    def _send(self, doc: dict[str, Any]) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        try:
            self.write_message(json.dumps(doc))
        except websocket.WebSocketClosedError:
            self.on_close()


ROUTES: list[tuple[str, type[Any]]] = [
    (r"/contexts", ContextsHandler),
    (r"/namespaces", NamespacesHandler),
    (NS + r"/pipelines", PipelinesHandler),
    (NS + r"/runs", RunsHandler),
    (RUN, RunHandler),
    (RUN + r"/graph", GraphHandler),
    (RUN + r"/manifest", ManifestHandler),
    (RUN + r"/stop", StopHandler),
    (RUN + r"/rerun", RerunHandler),
    (NS + r"/stream", StreamHandler),
]

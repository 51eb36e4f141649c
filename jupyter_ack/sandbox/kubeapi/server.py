"""``KubeApiServer``: the emulator's lifecycle, on its own event loop in a background thread.

The thread owns the store: requests run on its loop one at a time between awaits, and the
few calls that come from other threads (faults) are handed to the loop and waited for.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml
from aiohttp import web

from . import errors
from .auth import Auth
from .crud import Api
from .faults import Faults
from .openapi import OpenApiCache
from .resources import Registry
from .routes import MAX_BODY, Router, State, error_response
from .store import CLOSE, Store
from .tls import Certificate, self_signed
from .watch import Streams

JSON = dict[str, Any]
T = TypeVar("T")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class KubeApiServer:
    """A Kubernetes API server for what jupyter-ack uses, on loopback.

    ``crds`` are CustomResourceDefinition documents served from the start; ``tokens`` maps
    bearer tokens to user names (``None``: no authentication, everyone is an admin).
    ``bookmark_interval`` is how often a watch that allows bookmarks gets one (the apiserver:
    about a minute); ``history_limit`` how many events are kept for watches to resume from.

    With tokens on, the same API is also served over HTTPS (``tls_url``, a self-signed
    certificate): kubectl sends a kubeconfig's token only to an ``https://`` server, so the
    kubeconfig written then points there.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        crds: list[JSON] | None = None,
        tokens: dict[str, str] | None = None,
        *,
        bookmark_interval: float = 60.0,
        history_limit: int = 10000,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the sandbox API server binds loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.registry = Registry()
        self.store = Store(history_limit)
        self.api = Api(self.registry, self.store)
        self.api.bootstrap(list(crds or []))
        self.auth = Auth(tokens)
        self.faults = Faults(self._call)
        self._streams = Streams()
        self.faults.on_drop = self._streams.drop
        self.faults.on_compact = self.store.compact
        self.bookmark_interval = bookmark_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.tls_port: int | None = None
        self._certificate: Certificate | None = None
        self._tls_dir: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self._netloc(self.port)}"

    @property
    def tls_url(self) -> str | None:
        """The HTTPS address (only with tokens on), whose CA is ``ca_pem``."""
        return None if self.tls_port is None else f"https://{self._netloc(self.tls_port)}"

    @property
    def ca_pem(self) -> bytes | None:
        return None if self._certificate is None else self._certificate.cert_pem

    def _netloc(self, port: int | None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{port}"

    def start(self) -> KubeApiServer:
        """Listen in a background thread; returns once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as e:  # reported to start()'s caller
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="kubeapi", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    async def _listen(self) -> None:
        state = State(
            api=self.api,
            auth=self.auth,
            faults=self.faults,
            openapi=OpenApiCache(self.registry),
            streams=self._streams,
            address=f"{self.host}:{self.port}",
            bookmark_interval=self.bookmark_interval,
        )
        router = Router(state)

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return await router.handle(request)
            except web.HTTPRequestEntityTooLarge:
                return error_response(errors.too_large(MAX_BODY))

        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = site.port
        if self.auth.tokens is not None:
            self._certificate = self_signed(self.host)
            self._tls_dir = Path(tempfile.mkdtemp(prefix="kubeapi-tls-"))
            context = self._certificate.server_context(self._tls_dir)
            secure = web.TCPSite(runner, self.host, 0, ssl_context=context)
            await secure.start()
            self.tls_port = secure.port
        state.address = f"{self.host}:{self.port}"

    def stop(self) -> None:
        """End every watch, close the listener and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(timeout=10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    async def _shutdown(self) -> None:
        for watcher in self.store.all_watchers():
            watcher.offer(CLOSE)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (directly when not running) and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.current_thread() is self._thread:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)

    # --- test hooks ------------------------------------------------------------------------

    def deny(
        self,
        user: str | None = None,
        verb: str | None = None,
        group: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
    ) -> None:
        """Answer matching requests with 403 Forbidden (``None`` matches anything;
        ``resource`` is a plural, or ``plural/status`` for the subresource)."""
        self.auth.deny(user, verb, group, resource, namespace)

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        context: str = "jupyter-ack-sandbox",
        namespace: str = "default",
        token: str | None = None,
    ) -> Path:
        """A kubeconfig for kubectl and the ``kubernetes`` client. With tokens on it points at
        the HTTPS listener, with ``token`` or else the first configured token."""
        if token is None and self.auth.tokens:
            token = next(iter(self.auth.tokens))
        user: JSON = {"token": token} if token else {}
        cluster: JSON = {"server": self.url}
        if self.tls_url is not None and self.ca_pem is not None:
            cluster = {
                "server": self.tls_url,
                "certificate-authority-data": base64.b64encode(self.ca_pem).decode(),
            }
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": user}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": namespace},
                }
            ],
            "current-context": context,
            "preferences": {},
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".kubeconfig-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        return target

"""``KubeApiServer``: the emulator's lifecycle, on its own event loop in a background thread.

The thread owns the store: requests run on its loop one at a time between awaits, and the
few calls that come from other threads (faults) are handed to the loop and waited for.
Request bodies are decoded on a few threads of their own (``bodies.Decoder``).

It serves HTTPS only, with a certificate of its own (``ca_pem``), and every request needs a
bearer token: a loopback port is reachable by every local user and process, and the API can
create and delete anything. client-go (so kubectl) sends a kubeconfig's token only to an
``https://`` server, which is one more reason for TLS even on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
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
from .bodies import MAX_BODY, Decoder, Gate
from .crud import Api
from .faults import Faults
from .openapi import OpenApiCache
from .resources import Registry
from .routes import Router, State, error_response
from .store import CLOSE, Store
from .tls import Certificate, self_signed
from .watch import Streams

JSON = dict[str, Any]
T = TypeVar("T")

LOOPBACK = ("127.0.0.1", "::1", "localhost")
ADMIN = "sandbox-admin"  # the user of the token made when none are given


class KubeApiServer:
    """A Kubernetes API server for what jupyter-ack uses, over HTTPS on loopback.

    ``crds`` are CustomResourceDefinition documents served from the start; ``tokens`` maps
    bearer tokens to user names (``None``: one random token for ``ADMIN``); ``token`` is the
    first, the one ``write_kubeconfig`` uses unless told otherwise.
    ``bookmark_interval`` is how often a watch that allows bookmarks gets one (the apiserver:
    about a minute); ``history_limit`` how many events are kept for watches to resume from.
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
        self.auth = Auth(tokens if tokens is not None else {secrets.token_urlsafe(32): ADMIN})
        self.faults = Faults(self._call)
        self._streams = Streams()
        self._decoder: Decoder | None = None
        self.faults.on_drop = self._streams.drop
        self.faults.on_compact = self.store.compact
        self.faults.on_hold = self._hold_bodies
        self.faults.on_unhold = self._release_bodies
        self.bookmark_interval = bookmark_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._certificate: Certificate = self_signed(host)
        self._tls_dir: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>``; clients verify it with ``ca_pem``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def token(self) -> str:
        """The first configured bearer token (the generated admin's when none were given)."""
        return next(iter(self.auth.tokens))

    @property
    def ca_pem(self) -> bytes:
        """The server's self-signed certificate, which is also its CA, in PEM."""
        return self._certificate.cert_pem

    @property
    def ca_file(self) -> Path:
        """``ca_pem`` as a file, for clients that take a path (the ``kubernetes`` client's
        ``ssl_ca_cert``); it exists while the server runs."""
        if self._tls_dir is None:
            raise RuntimeError("the server is not started")
        return self._tls_dir / "tls.crt"

    @property
    def addresses(self) -> list[Any]:
        """The socket addresses listened on (each ``(host, port, ...)``): loopback only."""
        return [] if self._runner is None else list(self._runner.addresses)

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
        self._decoder = Decoder()
        state = State(
            api=self.api,
            auth=self.auth,
            faults=self.faults,
            openapi=OpenApiCache(self.registry),
            streams=self._streams,
            decoder=self._decoder,
            address=f"{self.host}:{self.port}",
            port=self.port,
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
        self._tls_dir = Path(tempfile.mkdtemp(prefix="kubeapi-tls-"))
        context = self._certificate.server_context(self._tls_dir)
        site = web.TCPSite(runner, self.host, self.port, ssl_context=context)
        await site.start()
        self.port = site.port
        state.address = f"{self.host}:{self.port}"
        state.port = self.port

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
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
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

    def _hold_bodies(self) -> Gate:
        if self._decoder is None:
            raise RuntimeError("the server is not started")
        return self._decoder.hold()

    def _release_bodies(self) -> None:
        if self._decoder is not None:
            self._decoder.unhold()

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
        """A kubeconfig for kubectl and the ``kubernetes`` client: this server's ``https://``
        address, its certificate as the CA, and ``token`` (default: ``self.token``). The file
        is written with mode 0600, since the token is the key to the API."""
        cluster: JSON = {
            "server": self.url,
            "certificate-authority-data": base64.b64encode(self.ca_pem).decode(),
        }
        user: JSON = {"token": self.token if token is None else token}
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

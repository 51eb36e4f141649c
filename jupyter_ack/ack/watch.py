"""A resilient list-then-watch of the ACK objects, shared by every consumer in a process.

One informer per (cluster, namespace, kind) feeds every view in the process (the CLI, a
kernel's panels, and later the Jupyter server's tabs); it is released once nobody listens.
It lists, then watches from the list's resourceVersion; resumes from the last
resourceVersion it saw after a dropped connection; relists after 410 Gone and reports only
the differences; backs off with jitter on errors; uses bookmarks; and drops MODIFIED events
that change nothing but bookkeeping (the ACK controller rewrites its conditions, with a new
lastTransitionTime, on every poll).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import logging
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import GROUP, VERSION

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster

log = logging.getLogger("jupyter_ack.ack.watch")

BACKOFF_START = 0.2
BACKOFF_MAX = 30.0
UNHEALTHY_BACKOFF_MAX = 5.0  # while the API fails, retry often enough to see it come back
WATCH_TIMEOUT = 290  # seconds a single watch request stays open (the server may end it sooner)
UNREACHABLE_LIMIT_ENV = "JUPYTER_ACK_UNREACHABLE_LIMIT"
DEFAULT_UNREACHABLE_LIMIT = 120.0  # seconds of failing API calls after which consumers give up


def unreachable_limit() -> float:
    """How long consumers wait for an unreachable cluster (``JUPYTER_ACK_UNREACHABLE_LIMIT``
    seconds, default 120) before giving up with an error; the informer itself keeps trying."""
    raw = os.environ.get(UNREACHABLE_LIMIT_ENV, "")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_UNREACHABLE_LIMIT
    except ValueError:
        return DEFAULT_UNREACHABLE_LIMIT


@dataclass(frozen=True)
class Health:
    """Whether the API answers: ``problem`` says why not (None: it does), since ``since``
    (monotonic seconds); ``lost`` once that has lasted longer than the limit."""

    problem: str | None = None
    since: float | None = None
    lost: bool = False


HealthListener = Callable[[Health], None]


@dataclass(frozen=True)
class Event:
    """ADDED, MODIFIED or DELETED of one object (``object`` is the last state seen)."""

    type: str
    name: str
    object: dict[str, Any]


Listener = Callable[[Event], None]


def fingerprint(obj: dict[str, Any]) -> str:
    """What a change means to a person: the object without bookkeeping fields."""
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "managedFields", "generation")
    }
    status = dict(obj.get("status") or {})
    if isinstance(status.get("conditions"), list):
        status["conditions"] = [
            {k: v for k, v in c.items() if k != "lastTransitionTime"}
            for c in status["conditions"]
            if isinstance(c, dict)
        ]
    return json.dumps([meta, obj.get("spec"), status], sort_keys=True, default=str)


class Informer:
    """List-then-watch of one plural in one namespace; call ``subscribe`` to get events."""

    def __init__(self, cluster: Cluster, plural: str) -> None:
        self.cluster = cluster
        self.plural = plural
        self.cache: dict[str, dict[str, Any]] = {}
        self._prints: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: Any = None
        self.synced = threading.Event()
        self.resource_version: str | None = None
        self.relists = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.health = Health()
        self._health_listeners: list[HealthListener] = []
        self.limit = unreachable_limit()

    # subscribers --------------------------------------------------------------------------

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Replay the current objects as ADDED, then every change; returns an unsubscribe."""
        with self._lock:
            for name, obj in self.cache.items():
                listener(Event("ADDED", name, obj))
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def watch_health(self, listener: HealthListener) -> Callable[[], None]:
        """Be told when the API stops (and starts again) answering; the current trouble, if
        any, is told at once. Returns an unsubscribe."""
        with self._lock:
            self._health_listeners.append(listener)
            current = self.health
        if current.problem:
            listener(current)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._health_listeners.remove(listener)

        return unsubscribe

    def _set_health(self, problem: str | None) -> None:
        with self._lock:
            before = self.health
            if problem is None:
                if before.problem is None:
                    return
                now = Health()
            else:
                since = before.since if before.since is not None else time.monotonic()
                lost = time.monotonic() - since >= self.limit
                now = Health(problem, since, lost)
                if now == before:
                    return
            self.health = now
            listeners = list(self._health_listeners)
        for listener in listeners:
            try:
                listener(now)
            except Exception:
                log.exception("health listener failed")

    async def aevents(self) -> AsyncIterator[Event]:
        """Events for asyncio code (the Jupyter server): replay first, then every change."""
        import asyncio

        loop = asyncio.get_running_loop()
        q: asyncio.Queue[Event] = asyncio.Queue()

        def deliver(event: Event) -> None:
            loop.call_soon_threadsafe(q.put_nowait, event)

        unsubscribe = self.subscribe(deliver)
        try:
            while True:
                yield await q.get()
        finally:
            unsubscribe()

    def _emit(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a consumer's bug must not stop everyone else's events
                log.exception("listener failed on %s %s", event.type, event.name)

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> Informer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"jupyter-ack-watch-{self.plural}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and join. ``Watch.stop()`` shuts the socket of a running request; one issued
        just before it is caught by the next round of this loop."""
        self._stop.set()
        deadline = time.monotonic() + 5
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            w = self._watch
            if w is not None:
                w.stop()
            self._thread.join(timeout=0.05)

    def wait_synced(self, timeout: float) -> bool:
        return self.synced.wait(timeout)

    # the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = BACKOFF_START
        probe = False
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self._relist()
                elif probe:  # after a failed request: is the API back? (the watch that
                    self._probe()  # follows resumes from our resourceVersion, or gets 410)
                probe = False
                self._set_health(None)
                self._watch_once()
                backoff = BACKOFF_START
            except _Gone:
                self.resource_version = None
                self.relists += 1
            except Exception as e:
                if self._stop.is_set():
                    return
                self.last_error = f"{type(e).__name__}: {e}"
                if not _cut(e):  # a failed request, not a cut stream (which just resumes)
                    self._set_health(self._problem(e))
                    probe = True
                log.debug("watch %s: %s; retrying in ~%.1fs", self.plural, self.last_error, backoff)
                self._stop.wait(random.uniform(backoff / 2, backoff))  # jitter
                backoff = min(backoff * 2, UNHEALTHY_BACKOFF_MAX)

    def _problem(self, exc: BaseException) -> str:
        from jupyter_ack.ack.cluster import describe_error

        return describe_error(exc, f"watching {self.plural}", self.cluster).message

    def _probe(self) -> None:
        """One small read: it fails while the API does not answer."""
        self.cluster.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.cluster.namespace, self.plural, limit=1
        )

    def _relist(self) -> None:
        listing = self.cluster.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.cluster.namespace, self.plural
        )
        fresh = {o["metadata"]["name"]: o for o in listing.get("items", [])}
        for name in [n for n in self.cache if n not in fresh]:
            self._apply("DELETED", self.cache[name])
        for obj in fresh.values():
            self._apply("ADDED" if obj["metadata"]["name"] not in self.cache else "MODIFIED", obj)
        self.resource_version = listing["metadata"].get("resourceVersion")
        self.synced.set()

    def _watch_once(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        w = watch.Watch()
        self._watch = w
        try:
            stream = w.stream(
                self.cluster.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.cluster.namespace,
                self.plural,
                resource_version=self.resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_TIMEOUT,
            )
            for raw in stream:
                if self._stop.is_set():
                    return
                kind, obj = raw["type"], raw["object"]
                if kind == "ERROR":
                    if isinstance(obj, dict) and obj.get("code") == 410:
                        raise _Gone()
                    raise RuntimeError(f"watch error: {obj}")
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self.resource_version = rv
                if kind != "BOOKMARK":
                    self._apply(kind, obj)
            self.reconnects += 1  # the server ended this watch: resume from where we are
        except ApiException as e:
            if e.status == 410:
                raise _Gone() from None
            raise
        finally:
            self._watch = None

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        with self._lock:
            if kind == "DELETED":
                self.cache.pop(name, None)
                self._prints.pop(name, None)
            else:
                mark = fingerprint(obj)
                if self._prints.get(name) == mark:
                    self.cache[name] = obj
                    return  # a rewrite of the same state: nothing to tell anyone
                kind = "ADDED" if name not in self.cache else "MODIFIED"
                self.cache[name] = obj
                self._prints[name] = mark
        self._emit(Event(kind, name, copy.deepcopy(obj)))


def _cut(exc: BaseException) -> bool:
    """A watch stream that broke after it was established (not a failed request)."""
    return type(exc).__name__ == "ProtocolError"


class _Gone(Exception):
    """The resourceVersion we resume from is too old: relist."""


_shared: dict[tuple[str, str, str], Informer] = {}
_shared_lock = threading.Lock()
_idle: dict[tuple[str, str, str], threading.Timer] = {}
IDLE_RELEASE = 30.0  # seconds an informer with no subscriber lives on (a tab reloading, a re-run)


def _key(cluster: Cluster, plural: str) -> tuple[str, str, str]:
    return (cluster.server, cluster.namespace, plural)


def informer(cluster: Cluster, plural: str) -> Informer:
    """The process-wide informer for this cluster, namespace and kind (started on first use).

    To receive events, use :func:`subscribe`: it holds the informer while you listen and
    releases it after the last listener leaves.
    """
    key = _key(cluster, plural)
    with _shared_lock:
        if not _shared:
            # daemon threads still reading a socket when the interpreter exits can abort it
            atexit.register(stop_all)
        found = _shared.get(key)
        if found is None or found._stop.is_set():
            found = Informer(cluster, plural).start()
            _shared[key] = found
        timer = _idle.pop(key, None)
        if timer is not None:  # wanted again before its idle time ran out
            timer.cancel()
        return found


def subscribe(
    cluster: Cluster,
    plural: str,
    listener: Listener,
    on_health: HealthListener | None = None,
) -> Callable[[], None]:
    """Listen to the shared informer's events (current objects first), and to its health;
    returns an unsubscribe.

    Informers are counted by listeners: one with none left is stopped after
    :data:`IDLE_RELEASE` seconds, so a long-lived server does not keep watches nobody reads.
    """
    key = _key(cluster, plural)
    inf = informer(cluster, plural)
    # An idle timer started between these two lines finds a listener when it fires.
    unsubscribe = inf.subscribe(listener)
    unwatch = inf.watch_health(on_health) if on_health is not None else (lambda: None)

    def release() -> None:
        unwatch()
        unsubscribe()
        with _shared_lock:
            if inf.listeners or _shared.get(key) is not inf:
                return
            timer = threading.Timer(IDLE_RELEASE, _release_idle, args=(key, inf))
            timer.daemon = True
            _idle[key] = timer
            timer.start()

    return release


def _release_idle(key: tuple[str, str, str], inf: Informer) -> None:
    with _shared_lock:
        if inf.listeners or _shared.get(key) is not inf:
            return
        del _shared[key]
        _idle.pop(key, None)
    inf.stop()


def active() -> int:
    """How many informers are running in this process (for tests and the server's status)."""
    with _shared_lock:
        return len(_shared)


def stop_all() -> None:
    with _shared_lock:
        for timer in _idle.values():
            timer.cancel()
        _idle.clear()
        for inf in _shared.values():
            inf.stop()
        _shared.clear()

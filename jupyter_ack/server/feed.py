"""The live pipelines and runs of one (context, namespace), shared by every browser tab.

A :class:`Feed` listens to the process's informers (one watch per kind and namespace, see
``ack.watch``) and keeps each object's status, and its JSON, ready to send. Each WebSocket is a
:class:`Subscriber`: it gets a snapshot, then the names that changed, batched to at most
:data:`FLUSHES_PER_SECOND` messages a second however fast the cluster changes. A subscriber
may follow runs: their step-level status comes from the process's shared run followers.

Informer and follower callbacks arrive on background threads; they only convert the object
and hand the result to the event loop (``call_soon_threadsafe``). Everything else runs on
the loop, so the state needs no lock. No tornado import: the handlers pass a ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import EXECUTIONS, PIPELINES
from jupyter_ack.ack.watch import Event, Health, informer, subscribe
from jupyter_ack.status.model import from_object, pipeline_from_object

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.status.follow import Follow
    from jupyter_ack.status.model import RunStatus

FLUSHES_PER_SECOND = 4
SYNC_TIMEOUT = 30.0  # seconds to wait for the first list of a namespace
IDLE_RELEASE = 30.0  # seconds a feed nobody uses is kept before its watches are released
MAX_FOLLOWED = 20  # run views one tab may follow with steps

Send = Callable[[dict[str, Any]], None]


@dataclass
class Item:
    """One object as the feed keeps it: its sort key and its JSON, computed once per change."""

    key: tuple[str, str]
    json: dict[str, Any]


def _run_item(obj: dict[str, Any]) -> Item:
    run = from_object(obj)
    created = str((obj.get("metadata") or {}).get("creationTimestamp") or "")
    return Item((run.start or created, run.name), run.to_json())


def _pipeline_item(obj: dict[str, Any]) -> Item:
    status = pipeline_from_object(obj)
    return Item(("", status.name), status.to_json())


def health_json(health: Health) -> dict[str, Any]:
    return {"reachable": health.problem is None, "problem": health.problem}


class Feed:
    """Pipelines and runs of one namespace, kept live while someone uses them."""

    def __init__(self, cluster: Cluster, loop: asyncio.AbstractEventLoop) -> None:
        self.cluster = cluster
        self.loop = loop
        self.items: dict[str, dict[str, Item]] = {PIPELINES: {}, EXECUTIONS: {}}
        self.health: dict[str, Health] = {PIPELINES: Health(), EXECUTIONS: Health()}
        self.subscribers: set[Subscriber] = set()
        self._unsubscribe: list[Callable[[], None]] = []
        self._last_used = time.monotonic()
        self.closed = False

    # lifecycle (start runs in a worker thread) ----------------------------------------------

    def start(self) -> Feed:
        """Check the namespace can be listed (a 403 or missing CRDs raise here, once), then
        listen; returns when the first lists are in the loop's queue."""
        for plural in (PIPELINES, EXECUTIONS):
            self.cluster.probe(plural)
        for plural, convert in ((PIPELINES, _pipeline_item), (EXECUTIONS, _run_item)):
            self._unsubscribe.append(
                subscribe(
                    self.cluster,
                    plural,
                    self._listener(plural, convert),
                    on_health=self._health_listener(plural),
                )
            )
        for plural in (PIPELINES, EXECUTIONS):
            informer(self.cluster, plural).wait_synced(SYNC_TIMEOUT)
        return self

    def close(self) -> None:
        self.closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for sub in list(self.subscribers):
            sub.close()

    def touch(self) -> None:
        self._last_used = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.subscribers else time.monotonic() - self._last_used

    # informer callbacks (background threads) ------------------------------------------------

    def _listener(self, plural: str, convert: Callable[[dict[str, Any]], Item]) -> Any:
        def on_event(event: Event) -> None:
            item = None if event.type == "DELETED" else convert(event.object)
            self.on_loop(self._put, plural, event.name, item)

        return on_event

    def _health_listener(self, plural: str) -> Callable[[Health], None]:
        def on_health(health: Health) -> None:
            self.on_loop(self._set_health, plural, health)

        return on_health

    def on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the server stopped: nobody is listening
            self.loop.call_soon_threadsafe(fn, *args)

    # state (event loop) ---------------------------------------------------------------------

    def _put(self, plural: str, name: str, item: Item | None) -> None:
        if item is None:
            self.items[plural].pop(name, None)
        else:
            self.items[plural][name] = item
        for sub in self.subscribers:
            sub.mark(plural, name)

    def _set_health(self, plural: str, health: Health) -> None:
        before = self.reachable
        self.health[plural] = health
        if self.reachable != before:
            for sub in self.subscribers:
                sub.health_changed()

    @property
    def reachable(self) -> bool:
        return all(h.problem is None for h in self.health.values())

    def health_json(self) -> dict[str, Any]:
        problems = [h for h in self.health.values() if h.problem]
        return health_json(problems[0] if problems else Health())

    def pipelines(self) -> list[dict[str, Any]]:
        return [i.json for _, i in sorted(self.items[PIPELINES].items())]

    def runs(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Runs newest first; ``pipeline``: the SageMaker name, or its object's name."""
        found = list(self.items[EXECUTIONS].values())
        if pipeline:
            names = {pipeline} | {
                i.json["pipeline"] for i in self.items[PIPELINES].values() if i.key[1] == pipeline
            }
            found = [i for i in found if i.json["pipeline"] in names]
        return [i.json for i in sorted(found, key=lambda i: i.key, reverse=True)]

    def snapshot(self) -> dict[str, Any]:
        from jupyter_ack.render import theme

        return {
            "type": "snapshot",
            "pipelines": self.pipelines(),
            "runs": self.runs(),
            "health": self.health_json(),
            "theme": theme.to_json(),  # the palette of every picture, for the badges too
        }


@dataclass(eq=False)  # hashed by identity: one per socket
class Subscriber:
    """One WebSocket on a feed: what changed since its last message, and the runs it follows."""

    feed: Feed
    send: Send
    run_in_thread: Callable[[Callable[[], Any]], Awaitable[Any]]
    dirty: dict[str, set[str]] = field(
        default_factory=lambda: {PIPELINES: set(), EXECUTIONS: set()}
    )
    followed: dict[str, Follow] = field(default_factory=dict)
    followed_dirty: dict[str, RunStatus] = field(default_factory=dict)
    resnapshot: bool = False
    health_dirty: bool = False
    last_flush: float = 0.0
    timer: asyncio.TimerHandle | None = None
    closed: bool = False

    def open(self) -> None:
        self.feed.subscribers.add(self)
        self.send(self.feed.snapshot())
        self.last_flush = time.monotonic()

    def mark(self, plural: str, name: str) -> None:
        self.dirty[plural].add(name)
        self._schedule()

    def health_changed(self) -> None:
        self.health_dirty = True
        self.resnapshot = self.feed.reachable  # back: everything may have changed meanwhile
        self._schedule()

    def _schedule(self) -> None:
        if self.timer is not None or self.closed:
            return
        wait = max(0.0, self.last_flush + 1 / FLUSHES_PER_SECOND - time.monotonic())
        self.timer = self.feed.loop.call_later(wait, self.flush)

    def flush(self) -> None:
        self.timer = None
        if self.closed:
            return
        self.last_flush = time.monotonic()
        if self.health_dirty:
            self.health_dirty = False
            self.send({"type": "health", **self.feed.health_json()})
        if self.resnapshot:
            self.resnapshot = False
            for names in self.dirty.values():
                names.clear()
            self.send(self.feed.snapshot())
        changes = self._changes()
        if changes is not None:
            self.send(changes)
        followed, self.followed_dirty = self.followed_dirty, {}
        for run in followed.values():
            self.send({"type": "run", "run": run.to_json()})

    def _changes(self) -> dict[str, Any] | None:
        if not any(self.dirty.values()):
            return None
        message: dict[str, Any] = {"type": "changes", "deleted": {}}
        for plural, key in ((PIPELINES, "pipelines"), (EXECUTIONS, "runs")):
            names, self.dirty[plural] = self.dirty[plural], set()
            present = self.feed.items[plural]
            message[key] = [present[n].json for n in sorted(names) if n in present]
            message["deleted"][key] = sorted(n for n in names if n not in present)
        return message

    async def follow(self, names: list[str]) -> None:
        """Follow exactly these runs with their steps (the run views open in this tab)."""
        from jupyter_ack.status.follow import follow

        wanted = list(dict.fromkeys(names))[:MAX_FOLLOWED]
        for name in [n for n in self.followed if n not in wanted]:
            self.followed_dirty.pop(name, None)
            await self.run_in_thread(self.followed.pop(name).close)
        for name in [n for n in wanted if n not in self.followed]:
            lease: Follow = await self.run_in_thread(
                functools.partial(follow, self.feed.cluster, name, self._on_run(name))
            )
            if self.closed:  # the socket closed while the follower started
                await self.run_in_thread(lease.close)
                return
            self.followed[name] = lease

    def _on_run(self, name: str) -> Callable[[RunStatus], None]:
        def on_change(run: RunStatus) -> None:  # a follower thread
            self.feed.on_loop(self._run_changed, name, run)

        return on_change

    def _run_changed(self, name: str, run: RunStatus) -> None:
        if not self.closed:
            self.followed_dirty[name] = run
            self._schedule()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.feed.subscribers.discard(self)
        self.feed.touch()
        leases, self.followed = list(self.followed.values()), {}
        for lease in leases:
            with contextlib.suppress(Exception):
                lease.close()


class Feeds:
    """Every feed of the server, one per (context, namespace), made on first use and closed
    after :data:`IDLE_RELEASE` seconds without a subscriber or a request."""

    def __init__(self, connect: Callable[[str | None, str], Cluster]) -> None:
        self.connect = connect
        self._feeds: dict[tuple[str, str, str], Feed] = {}
        self._starting: dict[tuple[str | None, str], asyncio.Future[Feed]] = {}
        self._reaper: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()  # _open runs in worker threads, _reap on the loop

    async def get(self, context: str | None, namespace: str) -> Feed:
        loop = asyncio.get_running_loop()
        pending = self._starting.get((context, namespace))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Feed] = loop.create_future()
        self._starting[(context, namespace)] = future
        try:
            feed = await loop.run_in_executor(None, self._open, context, namespace, loop)
            future.set_result(feed)
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: waiters re-raise it, nobody else need
            raise
        finally:
            del self._starting[(context, namespace)]
        feed.touch()
        self._schedule_reaper(loop)
        return feed

    def _open(self, context: str | None, namespace: str, loop: asyncio.AbstractEventLoop) -> Feed:
        cluster = self.connect(context, namespace)
        key = (cluster.server, cluster.context or "", cluster.namespace)
        with self._lock:
            found = self._feeds.get(key)
        if found is not None and not found.closed:
            return found
        feed = Feed(cluster, loop).start()
        with self._lock:
            self._feeds[key] = feed
        return feed

    def _schedule_reaper(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._reaper is None:
            self._reaper = loop.call_later(IDLE_RELEASE / 3, self._reap, loop)

    def _reap(self, loop: asyncio.AbstractEventLoop) -> None:
        self._reaper = None
        with self._lock:
            idle = [k for k, f in self._feeds.items() if f.idle_for() >= IDLE_RELEASE]
            released = [self._feeds.pop(k) for k in idle]
        for feed in released:
            loop.run_in_executor(None, feed.close)
        if self._feeds:
            self._schedule_reaper(loop)

    def __len__(self) -> int:
        return len(self._feeds)

    def close(self) -> None:
        for feed in self._feeds.values():
            feed.close()
        self._feeds.clear()

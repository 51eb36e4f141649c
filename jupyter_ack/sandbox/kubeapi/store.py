"""Objects, the global resourceVersion, the event history and the open watches.

Like etcd behind the watch cache: every write takes the next revision of one counter shared
by all types, and the last ``history_limit`` events are kept so that a watch can resume from
a resourceVersion; anything older is gone (410). Stored objects are never mutated after
they are written, so events and lists can share them without copying.

All methods run on the server's event loop thread (or before the loop starts).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from . import errors
from .meta import metadata

JSON = dict[str, Any]
Key = tuple[str, str]
ObjKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

CLOSE = "close"  # queue marker: end the watch now
BOOKMARK = "bookmark"  # queue marker: send a bookmark now
END = "end"  # queue marker: timeoutSeconds reached


class Event:
    """One change; ``cache`` holds its encodings so that N watchers serialize it once."""

    __slots__ = ("cache", "key", "obj", "old", "rv", "type")

    def __init__(self, type_: str, rv: int, key: Key, obj: JSON, old: JSON | None) -> None:
        self.type = type_
        self.rv = rv
        self.key = key
        self.obj = obj
        self.old = old
        self.cache: dict[Any, bytes] = {}


class Watcher:
    """An open watch. Events go to ``sink`` once its stream is live (written at once, in the
    writer's call: no task switch per watcher), to the queue before that; markers always go
    to the queue, which the stream's coroutine waits on."""

    def __init__(self, key: Key, namespace: str | None, matches: Callable[[JSON], bool]) -> None:
        self.key = key
        self.namespace = namespace
        self.matches = matches
        self.queue: asyncio.Queue[Event | str] = asyncio.Queue()
        self.sink: Callable[[Event], None] | None = None
        self.abort = False

    def offer(self, item: Event | str) -> None:
        self.queue.put_nowait(item)

    def deliver(self, event: Event) -> None:
        if self.sink is not None:
            self.sink(event)
        else:
            self.queue.put_nowait(event)

    def wants(self, obj: JSON | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (
            (obj.get("metadata") or {}).get("namespace") != self.namespace
        ):
            return False
        return self.matches(obj)


class Store:
    def __init__(self, history_limit: int = 10000) -> None:
        self.rv = 0
        self.oldest = 0  # a watch may start from any resourceVersion >= this
        self.history_limit = history_limit
        self.history: deque[Event] = deque()
        self._objects: dict[Key, dict[ObjKey, JSON]] = {}
        self._order: dict[Key, list[ObjKey]] = {}
        self.watchers: dict[Key, set[Watcher]] = {}
        self._encoded: dict[int, tuple[JSON, bytes]] = {}  # id -> (stored object, its JSON)

    # --- reading ---------------------------------------------------------------------------

    def get(self, key: Key, namespace: str, name: str) -> JSON | None:
        return self._objects.get(key, {}).get((namespace, name))

    def items(self, key: Key, namespace: str | None = None) -> list[JSON]:
        """Objects in etcd key order (namespace, then name)."""
        objects = self._objects.get(key, {})
        order = self._order.get(key)
        if order is None:
            order = sorted(objects)
            self._order[key] = order
        if namespace is None:
            return [objects[k] for k in order]
        return [objects[k] for k in order if k[0] == namespace]

    def encoded(self, key: Key, obj: JSON, encode: Callable[[JSON], bytes]) -> bytes:
        """``encode(obj)``, remembered while ``obj`` is the stored version (lists reuse it)."""
        hit = self._encoded.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        raw = encode(obj)
        meta = obj.get("metadata") or {}
        if self.get(key, meta.get("namespace") or "", meta.get("name", "")) is obj:
            self._encoded[id(obj)] = (obj, raw)
        return raw

    def count(self, key: Key, namespace: str | None = None) -> int:
        objects = self._objects.get(key, {})
        if namespace is None:
            return len(objects)
        return sum(1 for ns, _ in objects if ns == namespace)

    # --- writing ---------------------------------------------------------------------------

    def write(self, key: Key, obj: JSON, old: JSON | None) -> Event:
        """Store ``obj`` (which the store now owns) under the next resourceVersion."""
        self.rv += 1
        meta = metadata(obj)
        meta["resourceVersion"] = str(self.rv)
        ident = (meta.get("namespace") or "", meta["name"])
        objects = self._objects.setdefault(key, {})
        if ident not in objects:
            self._order.pop(key, None)
        elif old is not None:
            self._encoded.pop(id(objects[ident]), None)
        objects[ident] = obj
        return self._record(
            Event("MODIFIED" if old is not None else "ADDED", self.rv, key, obj, old)
        )

    def delete(self, key: Key, obj: JSON) -> Event:
        """Remove the object; the DELETED event carries it at the deletion's revision."""
        self.rv += 1
        meta = obj.get("metadata") or {}
        ident = (meta.get("namespace") or "", meta.get("name", ""))
        old = self._objects.get(key, {}).pop(ident, None)
        if old is not None:
            self._encoded.pop(id(old), None)
        self._order.pop(key, None)
        gone = dict(obj)
        gone["metadata"] = {**meta, "resourceVersion": str(self.rv)}
        return self._record(Event("DELETED", self.rv, key, gone, old))

    def _record(self, event: Event) -> Event:
        self.history.append(event)
        while len(self.history) > self.history_limit:
            self.oldest = self.history.popleft().rv
        for w in list(self.watchers.get(event.key, ())):
            w.deliver(event)
        return event

    def drop_type(self, key: Key) -> None:
        """Forget every object of a type (its CRD is gone), telling watchers they are deleted."""
        for obj in list(self.items(key)):
            self.delete(key, obj)
        self._objects.pop(key, None)
        self._order.pop(key, None)
        for w in list(self.watchers.pop(key, ())):
            w.offer(CLOSE)

    # --- watching --------------------------------------------------------------------------

    def since(self, key: Key, rv: int) -> list[Event]:
        """Events of a type after ``rv``, or 410 Expired when the history no longer has them."""
        if rv < self.oldest:
            raise errors.expired(f"too old resource version: {rv} ({self.oldest})")
        out: list[Event] = []
        for event in reversed(self.history):
            if event.rv <= rv:
                break
            if event.key == key:
                out.append(event)
        out.reverse()
        return out

    def subscribe(self, watcher: Watcher) -> None:
        self.watchers.setdefault(watcher.key, set()).add(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        self.watchers.get(watcher.key, set()).discard(watcher)

    def all_watchers(self) -> list[Watcher]:
        return [w for ws in self.watchers.values() for w in ws]

    def compact(self) -> None:
        """Forget the event history, as an etcd compaction does."""
        self.history.clear()
        self.oldest = self.rv

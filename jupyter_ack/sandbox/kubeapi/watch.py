"""Watch streams: one chunked HTTP response per watcher.

As the apiserver does: a watch from a resourceVersion older than the history answers 200
with a single ERROR event carrying a 410 Expired Status (client-go and the Python client
relist on it); ``allowWatchBookmarks`` adds BOOKMARK events every ``bookmark_interval`` and
one just before ``timeoutSeconds`` closes the stream. Once the initial state is out, the
store hands each event to every stream in the writer's own call, which writes it to the
socket at once: fan-out to 100 watchers costs no task switches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import errors
from .crud import Api
from .reads import visible
from .render import EventEncoder, Format
from .store import BOOKMARK, CLOSE, END, Event, Watcher
from .target import Target

JSON = dict[str, Any]


@dataclass
class WatchRequest:
    target: Target
    fmt: Format
    matches: Callable[[JSON], bool]
    resource_version: str
    timeout: float | None
    bookmarks: bool
    send_initial: bool


class Streams:
    """The open watch streams, so that faults can drop them and ``stop`` can end them."""

    def __init__(self) -> None:
        self.open: dict[Watcher, web.Request] = {}

    def drop(self, abort: bool) -> int:
        for watcher, request in list(self.open.items()):
            watcher.abort = abort
            if abort and request.transport is not None:
                request.transport.abort()
            watcher.offer(CLOSE)
        return len(self.open)


async def serve(
    request: web.Request,
    api: Api,
    streams: Streams,
    wr: WatchRequest,
    bookmark_interval: float,
    headers: dict[str, str],
) -> web.StreamResponse:
    encoder = EventEncoder(wr.target, wr.fmt, api.output)
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "application/json",
            "Cache-Control": "no-cache, private",
            **headers,
        },
    )
    response.enable_chunked_encoding()
    try:
        first, watcher = api.open_watch(wr.target, wr.matches, wr.resource_version, wr.send_initial)
    except errors.ApiError as e:
        if e.code != 410:
            raise
        await response.prepare(request)
        await response.write(EventEncoder.error(e))
        return response
    loop = asyncio.get_running_loop()
    timers: list[asyncio.TimerHandle] = []
    if wr.timeout is not None:
        timers.append(loop.call_later(wr.timeout, watcher.offer, END))
    if wr.bookmarks and bookmark_interval > 0:
        timers.append(loop.call_later(bookmark_interval, watcher.offer, BOOKMARK))
    streams.open[watcher] = request
    try:
        await response.prepare(request)
        lines = [encoder.event(kind, obj) for kind, obj in first]
        if wr.send_initial and wr.bookmarks:
            lines.append(encoder.bookmark(api.store.rv, initial_end=True))
        if lines:
            await response.write(b"".join(lines))
        transport = request.transport
        if transport is None or transport.is_closing():
            return response
        live = _Live(watcher, encoder, transport)
        # No await from here to the sink: what queued up while the initial state went out
        # is written first, then the store calls the stream directly.
        backlog: list[Event | str] = []
        while not watcher.queue.empty():
            backlog.append(watcher.queue.get_nowait())
        finish, bookmark = live.handle(backlog)
        if finish is None:
            watcher.sink = live.push
        while finish is None:
            if bookmark and wr.bookmarks:
                live.write(encoder.bookmark(api.store.rv))
                timers.append(loop.call_later(bookmark_interval, watcher.offer, BOOKMARK))
            finish, bookmark = live.handle([await watcher.queue.get()])
        if finish == END and wr.bookmarks and not watcher.abort:
            live.write(encoder.bookmark(api.store.rv))
        return response
    except (ConnectionError, RuntimeError):
        return response  # the client went away
    finally:
        watcher.sink = None
        api.store.unsubscribe(watcher)
        streams.open.pop(watcher, None)
        for timer in timers:
            timer.cancel()


SLOW_WATCHER_BYTES = 32 * 1024 * 1024  # this far behind, a watcher is cut off (as the apiserver)


class _Live:
    """Writes a watch's events straight to its connection, as chunks of the response."""

    def __init__(self, watcher: Watcher, encoder: EventEncoder, transport: Any) -> None:
        self.watcher = watcher
        self.encoder = encoder
        self.transport = transport

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            self._stop()
        elif self.transport.get_write_buffer_size() > SLOW_WATCHER_BYTES:
            self.watcher.abort = True
            self.transport.abort()
            self._stop()
        else:
            self.transport.write(b"%x\r\n%b\r\n" % (len(data), data))

    def _stop(self) -> None:
        self.watcher.sink = None
        self.watcher.offer(CLOSE)

    def push(self, event: Event) -> None:
        """Called by the store in whichever request made the change: never raises into it."""
        try:
            shown = visible(self.watcher, event.type, event.obj, event.old)
            if shown is not None:
                self.write(self.encoder.event(shown[0], shown[1], event))
        except Exception:  # a broken stream ends; the writer's request goes on
            self._stop()

    def handle(self, items: list[Event | str]) -> tuple[str | None, bool]:
        """Write the events among ``items``; returns (END or CLOSE if asked, bookmark asked)."""
        bookmark = False
        for item in items:
            if isinstance(item, Event):
                self.push(item)
            elif item == BOOKMARK:
                bookmark = True
            else:
                return item, bookmark
        return None, bookmark

"""Fault injection for resilience tests: failing requests, dropped watches, compaction, delay,
and holding body decoding (to show the loop stays free while a body is decoded).

Methods are called from the test's thread; the ones that touch the store or open watches
run on the server's loop through ``run`` so that they never race a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .bodies import Gate


@dataclass
class _Failure:
    remaining: int
    status: int
    path_contains: str | None


class Faults:
    def __init__(self, run: Callable[[Callable[[], Any]], Any]) -> None:
        self._run = run  # calls a function on the server's loop and returns its result
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self.delay_seconds = 0.0
        self.on_drop: Callable[[bool], int] = lambda abort: 0
        self.on_compact: Callable[[], None] = lambda: None
        self.on_hold: Callable[[], Gate] = Gate
        self.on_unhold: Callable[[], None] = lambda: None

    def fail_requests(self, n: int, status: int = 500, path_contains: str | None = None) -> None:
        """The next ``n`` requests (whose path and query contain ``path_contains``, e.g.
        ``"watch=true"`` for watches only) fail with
        ``status``: 500 InternalError, or 429 TooManyRequests with ``Retry-After: 1``."""
        if status not in (429, 500, 503):
            raise ValueError("status must be 429, 500 or 503")
        with self._lock:
            self._failures.append(_Failure(n, status, path_contains))

    def drop_watches(self, abort: bool = False) -> int:
        """Close every open watch now; returns how many. ``abort`` cuts the TCP connection
        instead of ending the stream cleanly (a network failure rather than a server restart)."""
        return int(self._run(lambda: self.on_drop(abort)))

    def compact(self) -> None:
        """Forget the event history: a watch from an older resourceVersion gets 410 Gone."""
        self._run(self.on_compact)

    def delay(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (0 to stop)."""
        self.delay_seconds = max(0.0, float(seconds))

    def hold_bodies(self) -> Gate:
        """Hold every request body's decoding (on the decoding threads, not the loop) until
        ``release()`` on the returned gate; its ``entered`` event is set once one waits."""
        return self.on_hold()

    def release_bodies(self) -> None:
        """Stop holding bodies, letting any held one go on."""
        self.on_unhold()

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
        self.delay_seconds = 0.0
        self.on_unhold()

    def take(self, path: str) -> errors.ApiError | None:
        """The injected error for this request, if one is pending."""
        with self._lock:
            for f in self._failures:
                if f.remaining > 0 and (f.path_contains is None or f.path_contains in path):
                    f.remaining -= 1
                    status = f.status
                    break
            else:
                return None
            self._failures = [f for f in self._failures if f.remaining > 0]
        if status == 429:
            return errors.too_many_requests(1)
        if status == 503:
            return errors.ApiError(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        return errors.internal("injected fault")

"""What a follower reports, kept in order, and waiting on it (no sleeps)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from jupyter_ack.status.model import RunStatus


class Seen:
    """Pass as ``on_change``; ``wait`` until the statuses so far satisfy a condition."""

    def __init__(self) -> None:
        self.items: list[RunStatus] = []
        self._changed = threading.Condition()

    def __call__(self, run: RunStatus) -> None:
        with self._changed:
            self.items.append(run)
            self._changed.notify_all()

    def wait(self, holds: Callable[[list[RunStatus]], bool], timeout: float = 30) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: holds(self.items), timeout), self.items[-3:]

    def wait_any(self, predicate: Callable[[RunStatus], bool], timeout: float = 30) -> None:
        self.wait(lambda items: any(predicate(r) for r in items), timeout)

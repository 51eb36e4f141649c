"""Reading: get, list with selectors and pages, and opening a watch."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from . import errors
from .selectors import EVENT_FIELDS, Requirement, field_matcher, labels_match, parse_fields
from .store import Watcher
from .target import Base, Target

JSON = dict[str, Any]

CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


class Reads(Base):
    """Reads never copy: stored objects are immutable, so they are returned as they are.
    A continued list pages through the current objects after the token's key (the
    apiserver's would be a snapshot at the token's resourceVersion)."""

    def get(self, t: Target) -> JSON:
        return self.output(t, self._existing(t))

    def matcher(
        self, t: Target, labels: list[Requirement], fields_text: str
    ) -> Callable[[JSON], bool]:
        """The predicate of a list or watch's label and field selectors."""
        supported = ["metadata.name", "metadata.namespace"]
        if t.rtype.custom:
            supported += t.version.selectable
        elif t.rtype.builtin == "namespaces":
            supported.append("status.phase")
        elif t.rtype.builtin == "events":
            supported += EVENT_FIELDS
        by_field = field_matcher(parse_fields(fields_text), supported, t.rtype.custom)
        return lambda obj: labels_match(labels, obj) and by_field(obj)

    def list_objects(
        self, t: Target, matches: Callable[[JSON], bool], filtered: bool, limit: int, token: str
    ) -> JSON:
        ns = t.namespace if t.rtype.namespaced and t.namespace else None
        items = self.store.items(t.rtype.key, ns)
        list_rv = self.store.rv
        if token:
            start, list_rv = self._read_continue(token)
            items = [o for o in items if _sort_key(o) > start]
        if filtered:
            items = [o for o in items if matches(o)]
        meta: JSON = {"resourceVersion": str(list_rv)}
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = _continue_token(_sort_key(items[-1]), list_rv)
            if not filtered:
                meta["remainingItemCount"] = rest
        return {
            "apiVersion": t.api_version,
            "kind": t.rtype.list_kind,
            "metadata": meta,
            "items": [self.output(t, o) for o in items],
        }

    def _read_continue(self, token: str) -> tuple[str, int]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            start, rv = str(data["start"]), int(data["rv"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise errors.bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion "
                "(version meta.k8s.io/v1)"
            ) from None
        if rv < self.store.oldest:
            raise errors.expired(CONTINUE_TOO_OLD)
        return start, rv

    # --- watch -------------------------------------------------------------------------------

    def open_watch(
        self, t: Target, matches: Callable[[JSON], bool], rv_text: str, initial: bool
    ) -> tuple[list[tuple[str, JSON]], Watcher]:
        """Subscribe; returns the events to send first (synthetic ADDEDs or replayed history)
        and the watcher. Raises 410 when ``rv_text`` is older than the history."""
        ns = t.namespace if t.rtype.namespaced and t.namespace else None
        watcher = Watcher(t.rtype.key, ns, matches)
        first: list[tuple[str, JSON]] = []
        if rv_text in ("", "0") or initial:
            first = [("ADDED", o) for o in self.store.items(t.rtype.key, ns) if matches(o)]
        else:
            try:
                rv = int(rv_text)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv_text}"') from None
            for event in self.store.since(t.rtype.key, rv):
                shown = visible(watcher, event.type, event.obj, event.old)
                if shown is not None:
                    first.append(shown)
        self.store.subscribe(watcher)
        return first, watcher


def visible(watcher: Watcher, kind: str, obj: JSON, old: JSON | None) -> tuple[str, JSON] | None:
    """How a change looks through a watch's selectors: entering them is ADDED, leaving them
    DELETED, as the watch cache reports it."""
    if kind == "DELETED":
        return ("DELETED", obj) if watcher.wants(obj) else None
    now_in = watcher.wants(obj)
    was_in = old is not None and watcher.wants(old)
    if kind == "ADDED":
        return ("ADDED", obj) if now_in else None
    if now_in and was_in:
        return ("MODIFIED", obj)
    if now_in:
        return ("ADDED", obj)
    if was_in:
        return ("DELETED", obj)
    return None


def _sort_key(obj: JSON) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}\x00{meta.get('name', '')}"


def _continue_token(start: str, rv: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

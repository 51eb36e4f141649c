"""Map JSON pointers to line and column in the text a definition was parsed from.

Only the paths that diagnostics name are located, in one pass: containers on the way to a
wanted pointer are walked token by token, everything else is skipped with the C scanner, so
the cost stays near that of ``json.loads`` even for multi-megabyte definitions.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from contextlib import suppress
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
# typeshed lacks the C scanner attributes json itself uses
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_NL = re.compile("\n")


def escape_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def _split(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


class _Trie(dict[str, "_Trie"]):
    want: str | None = None


def locate(text: str, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Return ``{pointer: (line, column)}`` (1-based) for each pointer found in ``text``.

    ``text`` must be valid JSON; pointers that do not resolve are left out.
    """
    root = _Trie()
    for ptr in pointers:
        node = root
        for tok in _split(ptr):
            node = node.setdefault(tok, _Trie())
        node.want = ptr
    offsets: dict[str, int] = {}
    with suppress(
        ValueError, IndexError, StopIteration
    ):  # not the JSON we parsed: keep what was found
        _walk(text, _WS.match(text, 0).end(), root, offsets)  # type: ignore[union-attr]
    newlines = [m.start() for m in _NL.finditer(text)] if offsets else []
    out: dict[str, tuple[int, int]] = {}
    for ptr, off in offsets.items():
        line = bisect_right(newlines, off - 1)
        start = newlines[line - 1] + 1 if line else 0
        out[ptr] = (line + 1, off - start + 1)
    return out


def _skip(text: str, idx: int) -> int:
    return _WS.match(text, idx).end()  # type: ignore[union-attr]


def _walk(text: str, idx: int, node: _Trie, found: dict[str, int]) -> int:
    """Walk the value at ``idx``; return the index just past it."""
    if node.want is not None:
        found[node.want] = idx
    if not node:
        _value, end = _scan(text, idx)
        return end
    ch = text[idx]
    if ch == "{":
        idx = _skip(text, idx + 1)
        if text[idx] == "}":
            return idx + 1
        while True:
            key, idx = scanstring(text, idx + 1)
            idx = _skip(text, idx)
            idx = _skip(text, idx + 1)  # past ':'
            child = node.get(key)
            if child is None:
                _value, idx = _scan(text, idx)
            else:
                idx = _walk(text, idx, child, found)
            idx = _skip(text, idx)
            if text[idx] == "}":
                return idx + 1
            idx = _skip(text, idx + 1)  # past ','
    if ch == "[":
        idx = _skip(text, idx + 1)
        if text[idx] == "]":
            return idx + 1
        i = 0
        while True:
            child = node.get(str(i))
            if child is None:
                _value, idx = _scan(text, idx)
            else:
                idx = _walk(text, idx, child, found)
            idx = _skip(text, idx)
            if text[idx] == "]":
                return idx + 1
            idx = _skip(text, idx + 1)
            i += 1
    _value, end = _scan(text, idx)
    return end


def _scan(text: str, idx: int) -> tuple[Any, int]:
    value, end = _SCAN(text, idx)
    return value, end

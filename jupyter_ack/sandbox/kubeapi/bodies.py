"""Request bodies decoded within bounds, on a thread pool rather than the event loop.

The emulator serves every request from one event loop, so a body that is cheap to send but
dear to decode would stall all of them, and one that overflows the recursion limit would
surface as a 500. Three bounds keep decoding cheap and safe:

- size: 3 MiB, the apiserver's request body limit (aiohttp enforces it while reading; 413);
- YAML aliases: an alias re-uses a node, but everything downstream (validation, copies,
  JSON) walks it once per use, so 600 bytes of nested anchors can stand for hundreds of
  millions of nodes. Aliases may add at most ``ALIAS_BUDGET`` nodes in all, counted while
  composing, before anything is built; an alias to the node that contains it is refused too
  (JSON cannot hold a cycle). go-yaml, which the apiserver uses, refuses "excessive aliasing"
  in the same spirit;
- nesting: ``MAX_DEPTH`` levels of objects and arrays. The handlers, schema validation and
  copies recurse once or twice per level, and Python's recursion limit (1000 frames) is far
  below the apiserver's 10,000 levels; deeper bodies are refused with a 400 up front rather
  than failing half-way through a write.

Decoding runs through ``Decoder``, which owns a small thread pool: a large (allowed) YAML body
takes seconds to decode, during which every other request is still answered.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.resolver import Resolver

from . import errors

T = TypeVar("T")

MAX_BODY = 3 * 1024 * 1024  # the apiserver's request body limit
MAX_DEPTH = 200  # levels of objects and arrays (see the module's docstring)
ALIAS_BUDGET = 10_000  # nodes that YAML aliases may add to a document, in all
WORKERS = 4


def too_deep(what: str) -> errors.ApiError:
    return errors.bad_request(
        f"{what}: the request body is nested too deeply: more than {MAX_DEPTH} levels of "
        "objects and arrays"
    )


def measure(value: Any, limit: int = MAX_DEPTH) -> tuple[int, int]:
    """(nodes, depth) of JSON data, walked without recursion; the walk stops once the depth
    passes ``limit`` (the depth is then ``limit + 1``). A scalar is 1 node at depth 0."""
    nodes, deepest = 0, 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return nodes, deepest
        stack.extend((child, depth + 1) for child in children)
    return nodes, deepest


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` objects and arrays."""
    return measure(value, limit)[1] > limit


def decode_json(raw: bytes, what: str) -> Any:
    """JSON within ``MAX_DEPTH``; ``what`` starts the 400's message, as the apiserver's does."""
    try:
        value = json.loads(raw or b"null")
    except RecursionError:
        raise too_deep(what) from None
    except ValueError as e:  # also a number with too many digits
        raise errors.bad_request(f"{what}: {e}") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise too_deep(what)
    return value


# --- YAML ----------------------------------------------------------------------------------


class _BoundedComposer(Composer):
    """PyYAML's composer, counting what aliases add and how deep nodes nest.

    Each composed node's expanded size (itself and everything under it, aliases expanded) is
    remembered; an alias adds its target's size to the document's alias count. The bomb's
    9 levels of 9 aliases is refused at the fourth level, after a few hundred nodes.
    """

    # the parser's, mixed in beside the composer (PyYAML's stubs leave them out)
    check_event: Callable[..., bool]
    peek_event: Callable[[], Any]

    def __init__(self) -> None:
        super().__init__()
        self._sizes: dict[int, int] = {}
        self._aliased = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is the composer's own error
                size = self._sizes.get(id(target))
                if size is None:
                    raise errors.bad_request(
                        f"error decoding YAML: the alias *{event.anchor} refers to a node "
                        "that contains it"
                    )
                self._aliased += size
                if self._aliased > ALIAS_BUDGET:
                    raise errors.bad_request(
                        "error decoding YAML: too many aliases: they would expand the document "
                        f"by more than {ALIAS_BUDGET} nodes"
                    )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH and not self.check_event(ScalarEvent):
            raise too_deep("error decoding YAML")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, SequenceNode):
            size = 1 + sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return node


def _loader_class() -> Callable[[str], Any]:
    """A safe loader with the bounded composer: libyaml's parser when PyYAML has it (about
    as fast as ``CSafeLoader``), else PyYAML's own."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class PureLoader(_BoundedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver):
            def __init__(self, stream: str) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)
                _BoundedComposer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        return PureLoader

    class FastLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return FastLoader


_Loader = _loader_class()


def decode_yaml(raw: bytes) -> Any:
    """One YAML (or JSON) document, within the alias budget and ``MAX_DEPTH``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.bad_request(f"error decoding YAML: {e}") from None
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # constructing is bounded by the composer's depth: belt and braces
        raise too_deep("error decoding YAML") from None
    except yaml.YAMLError as e:
        if "maximum nesting depth" in str(e):  # libyaml's own bound (1000 flow levels)
            raise too_deep("error decoding YAML") from None
        raise errors.bad_request(f"error decoding YAML: {e}") from None
    except ValueError as e:  # an integer with too many digits
        raise errors.bad_request(f"error decoding YAML: {e}") from None
    finally:
        loader.dispose()


# --- off the loop --------------------------------------------------------------------------


class Gate:
    """A test hook that holds body decoding: ``entered`` is set once a decode waits at the
    gate, and it goes on after ``release()``. It lets a test show that another request is
    answered while a body is being decoded, without guessing at timings."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()
        self._timeout = timeout

    def wait(self) -> None:
        self.entered.set()
        self._open.wait(self._timeout)

    def release(self) -> None:
        self._open.set()


class Decoder:
    """Runs decoders on a few threads of its own (not the loop's default executor, which the
    loop's own DNS lookups share), so that a slow body never holds up the event loop."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kubeapi-body")
        self.gate: Gate | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(self._call, fn, *args))

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        gate = self.gate
        if gate is not None:
            gate.wait()
        return fn(*args)

    def hold(self) -> Gate:
        """Hold every decode at a new gate until it is released (see ``Gate``)."""
        self.gate = Gate()
        return self.gate

    def unhold(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release()

    def close(self) -> None:
        self.unhold()
        self._pool.shutdown(wait=False, cancel_futures=True)

"""What changed between two pipeline definitions: steps, parameters and edges.

Reviewing a pipeline change by reading two JSON files (or two S3 versions) is slow and easy
to get wrong: the SDK reorders keys, nested Condition branches hide steps, and a changed
``Get`` silently rewires the graph. :func:`diff` compares what SageMaker acts on instead:

- **steps** by name, nested Condition / ForEach branch steps included (the DAG's nodes): added,
  removed, and changed with the JSON pointers (relative to the step) whose values differ. A
  parent step's branch lists are not part of its own content: the steps in them are compared
  as steps, and a step that moved to another branch is reported as moved;
- **parameters** by name: added, removed, or changed in type, default or allowed values;
- **edges** of the DAG (``depends_on``, ``data``, ``property_file``, ``condition``): added and
  removed (a pair whose kind changed is one of each);
- **other** top-level content (``PipelineExperimentConfig``, ``Version``...) by pointer.

Values compare as JSON does (``1`` differs from ``1.0`` and from ``true``). The result keeps the
full values; every rendering (text, JSON, HTML) shortens long ones to :data:`VALUE_LIMIT`
characters ending in an ellipsis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal

from jupyter_ack.pipeline._jsonpos import escape_token
from jupyter_ack.pipeline.dag import NESTED_STEP_KEYS, Edge, Node

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import Parameter, PipelineDefinition
    from jupyter_ack.render.text import Colours

VALUE_LIMIT = 120
ELLIPSIS = "\u2026"

Op = Literal["add", "remove", "replace"]


class _Missing:
    """The value at a pointer that one side does not have."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def shorten(value: Any, limit: int = VALUE_LIMIT) -> Any:
    """``value`` itself when short, else its text (a string, or compact JSON) cut to ``limit``
    characters ending in an ellipsis: a diff line must stay readable when a value is a whole
    script or a large nested object."""
    text = value if isinstance(value, str) else _compact(value)
    if len(text) <= limit:
        return value
    return text[: limit - 1] + ELLIPSIS


def show(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A value as one short piece of text: JSON, shortened; ``(none)`` when absent."""
    if value is MISSING:
        return "(none)"
    text = _compact(value)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# the result -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueChange:
    """One JSON pointer whose value differs; ``old`` or ``new`` is :data:`MISSING` when that
    side has no value there (``op`` ``add`` or ``remove``)."""

    pointer: str
    op: Op
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "op": self.op,
            "old": None if self.old is MISSING else shorten(self.old),
            "new": None if self.new is MISSING else shorten(self.new),
        }


@dataclass(frozen=True)
class StepRef:
    """A step added or removed: where it is on the side that has it."""

    name: str
    type: str
    path: str
    parent: str | None = None
    branch: str | None = None

    @classmethod
    def of(cls, node: Node) -> StepRef:
        return cls(node.name, node.type, node.path, node.parent, node.branch)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "path": self.path,
            "parent": self.parent,
            "branch": self.branch,
        }


@dataclass(frozen=True)
class StepChange:
    """A step in both definitions whose content or place differs.

    ``changes`` are pointers relative to the step (``/Arguments/...``); ``moved`` is
    ``((old parent, old branch), (new parent, new branch))`` when it changed branch.
    """

    name: str
    type: str
    path: str
    changes: tuple[ValueChange, ...] = ()
    moved: tuple[tuple[str | None, str | None], tuple[str | None, str | None]] | None = None

    def to_json(self) -> dict[str, Any]:
        moved = None
        if self.moved is not None:
            (op, ob), (np_, nb) = self.moved
            moved = {"old": {"parent": op, "branch": ob}, "new": {"parent": np_, "branch": nb}}
        return {
            "name": self.name,
            "type": self.type,
            "path": self.path,
            "moved": moved,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class ParameterChange:
    """A parameter in both definitions whose ``fields`` (``type``, ``default_value``,
    ``enum_values``) differ."""

    name: str
    fields: tuple[str, ...]
    old: Parameter
    new: Parameter

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": list(self.fields),
            "old": _parameter_json(self.old),
            "new": _parameter_json(self.new),
        }


@dataclass(frozen=True)
class Row:
    """One change as the text and HTML views show it: ``mark`` is ``+``, ``-`` or ``~``;
    ``what`` is ``step``, ``parameter``, ``edge`` or ``definition``; ``detail`` is the JSON
    pointer, the field, or the type (and place) of what was added or removed."""

    mark: str
    what: str
    name: str
    detail: str
    old: str = ""
    new: str = ""

    def line(self) -> str:
        """``step Train /Arguments/X: 1 -> 2`` or ``step Train (Training)``."""
        who = f"{self.what} {self.name}".rstrip()
        if self.old or self.new:
            return f"{who} {self.detail}: {self.old} -> {self.new}"
        return f"{who} ({self.detail})"


@dataclass(frozen=True)
class DefinitionDiff:
    """What changed from definition ``a`` (older) to ``b`` (newer).

    Empty tuples everywhere means :attr:`same`. In a notebook it shows as the newer DAG with
    the added and changed steps marked, the removed ones listed, and a table of the changes.
    """

    a: PipelineDefinition
    b: PipelineDefinition
    steps_added: tuple[StepRef, ...] = ()
    steps_removed: tuple[StepRef, ...] = ()
    steps_changed: tuple[StepChange, ...] = ()
    parameters_added: tuple[Parameter, ...] = ()
    parameters_removed: tuple[Parameter, ...] = ()
    parameters_changed: tuple[ParameterChange, ...] = ()
    edges_added: tuple[Edge, ...] = ()
    edges_removed: tuple[Edge, ...] = ()
    other: tuple[ValueChange, ...] = ()

    @property
    def same(self) -> bool:
        """No step, parameter, edge or other content differs.

        The JSON texts may still differ in what SageMaker does not act on (the order of steps
        or parameters, say): :attr:`identical` compares the canonical JSON.
        """
        return not (
            self.steps_added
            or self.steps_removed
            or self.steps_changed
            or self.parameters_added
            or self.parameters_removed
            or self.parameters_changed
            or self.edges_added
            or self.edges_removed
            or self.other
        )

    @property
    def identical(self) -> bool:
        """The canonical JSON (so the sha256) of both definitions is the same."""
        return self.a.sha256 == self.b.sha256

    def marks(self) -> dict[str, str]:
        """Step name -> ``added`` or ``changed``, for drawing the newer DAG."""
        out = {s.name: "added" for s in self.steps_added}
        out.update({s.name: "changed" for s in self.steps_changed})
        return out

    def summary(self) -> str:
        """``2 steps changed, 1 added; 1 parameter changed; 3 edges added, 1 removed``."""
        if self.same:
            return "no differences"
        parts = []
        for noun, groups in (
            (
                "step",
                (
                    ("added", self.steps_added),
                    ("removed", self.steps_removed),
                    ("changed", self.steps_changed),
                ),
            ),
            (
                "parameter",
                (
                    ("added", self.parameters_added),
                    ("removed", self.parameters_removed),
                    ("changed", self.parameters_changed),
                ),
            ),
            ("edge", (("added", self.edges_added), ("removed", self.edges_removed))),
            ("other value", (("changed", self.other),)),
        ):
            counted = [(verb, len(items)) for verb, items in groups if items]
            if counted:
                (verb, n), rest = counted[0], counted[1:]
                words = [f"{n} {noun}{'s' * (n != 1)} {verb}"] + [f"{m} {v}" for v, m in rest]
                parts.append(", ".join(words))
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The diff as JSON; the keys are a contract (``jupyter-ack diff --format json``).

        ``{"same", "identical", "a": {"source", "sha256"}, "b": {...}, "summary",
        "steps": {"added": [StepRef], "removed": [StepRef], "changed": [StepChange]},
        "parameters": {"added": [P], "removed": [P], "changed": [{"name", "fields", "old": P,
        "new": P}]}, "edges": {"added": [{"from", "to", "kind"}], "removed": [...]},
        "other": [ValueChange]}``, where StepRef is ``{"name", "type", "path", "parent",
        "branch"}``, StepChange ``{"name", "type", "path", "moved": null | {"old": {"parent",
        "branch"}, "new": {...}}, "changes": [ValueChange]}``, ValueChange ``{"pointer", "op":
        "add"|"remove"|"replace", "old", "new"}`` (the side without a value is null) and P
        ``{"name", "type", "default_value", "enum_values"}``. Values whose compact JSON is
        longer than 120 characters are that text cut to 120 characters ending in an ellipsis.
        """
        return {
            "same": self.same,
            "identical": self.identical,
            "a": {"source": self.a.source, "sha256": self.a.sha256},
            "b": {"source": self.b.source, "sha256": self.b.sha256},
            "summary": self.summary(),
            "steps": {
                "added": [s.to_json() for s in self.steps_added],
                "removed": [s.to_json() for s in self.steps_removed],
                "changed": [s.to_json() for s in self.steps_changed],
            },
            "parameters": {
                "added": [_parameter_json(p) for p in self.parameters_added],
                "removed": [_parameter_json(p) for p in self.parameters_removed],
                "changed": [p.to_json() for p in self.parameters_changed],
            },
            "edges": {
                "added": [e.to_json() for e in self.edges_added],
                "removed": [e.to_json() for e in self.edges_removed],
            },
            "other": [c.to_json() for c in self.other],
        }

    def rows(self) -> Iterator[Row]:
        """Each change as a :class:`Row`, in a fixed order: steps added, removed, changed;
        parameters; edges; other content. Text is raw (names as the definitions spell them,
        values shortened) for a renderer to make safe."""
        for s in self.steps_added:
            yield Row("+", "step", s.name, _type_and_place(s.type, s.parent, s.branch))
        for s in self.steps_removed:
            yield Row("-", "step", s.name, _type_and_place(s.type, s.parent, s.branch))
        for c in self.steps_changed:
            if c.moved is not None:
                (op, ob), (np_, nb) = c.moved
                yield Row("~", "step", c.name, "moved", _place(op, ob), _place(np_, nb))
            for v in c.changes:
                yield Row("~", "step", c.name, v.pointer or "/", show(v.old), show(v.new))
        for p in self.parameters_added:
            yield Row("+", "parameter", p.name, f"{p.type}, {_default(p)}")
        for p in self.parameters_removed:
            yield Row("-", "parameter", p.name, f"{p.type}, {_default(p)}")
        for pc in self.parameters_changed:
            for f in pc.fields:
                old, new = show(getattr(pc.old, f)), show(getattr(pc.new, f))
                yield Row("~", "parameter", pc.name, _FIELD_WORDS[f], old, new)
        for e in self.edges_added:
            yield Row("+", "edge", f"{e.source} -> {e.target}", e.kind)
        for e in self.edges_removed:
            yield Row("-", "edge", f"{e.source} -> {e.target}", e.kind)
        for v in self.other:
            yield Row("~", "definition", "", v.pointer or "/", show(v.old), show(v.new))

    def to_text(self, colours: Colours | None = None) -> str:
        """For a terminal: one line per change (``+`` added, ``-`` removed, ``~`` changed),
        then a summary line. Every line passes through ``one_line``: names and values come
        from the definitions and must not reach the terminal as control sequences."""
        from jupyter_ack.render.text import one_line

        def paint(mark: str, text: str) -> str:
            if colours is None:
                return text
            return {"+": colours.green, "-": colours.red, "~": colours.yellow}[mark](text)

        out = [paint(r.mark, f"{r.mark} {one_line(r.line())}") for r in self.rows()]
        if self.same:
            note = "" if self.identical else " (the JSON differs only in order or unnamed entries)"
            out.append(f"no differences{note}")
        else:
            out.append(self.summary())
        return "\n".join(out) + "\n"

    def write(self, stream: IO[str]) -> None:
        """Write :meth:`to_text` to ``stream``, coloured when it is a terminal."""
        from jupyter_ack.render.text import Colours

        stream.write(self.to_text(Colours(stream)))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<DefinitionDiff {self.a.source} -> {self.b.source}: {self.summary()}>"

    # notebook display -------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        from jupyter_ack.render.html import diff_html

        return diff_html(self)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The newer DAG with the changes marked, and the table of changes (HTML)."""
        return {"text/html": self._repr_html_(), "text/plain": self.to_text()}


_FIELD_WORDS = {"type": "type", "default_value": "default", "enum_values": "allowed values"}


def _place(parent: str | None, branch: str | None) -> str:
    return "top level" if parent is None else f"{parent} ({branch or '?'})"


def _type_and_place(typ: str, parent: str | None, branch: str | None) -> str:
    kind = typ or "no type"
    return kind if parent is None else f"{kind}, in {_place(parent, branch)}"


def _default(p: Parameter) -> str:
    return "no default" if p.default_value is None else f"default {show(p.default_value)}"


def _parameter_json(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "type": p.type,
        "default_value": shorten(p.default_value),
        "enum_values": None if p.enum_values is None else list(p.enum_values),
    }


# the comparison --------------------------------------------------------------------------------


def diff(a: PipelineDefinition, b: PipelineDefinition) -> DefinitionDiff:
    """What changed from ``a`` (the older definition) to ``b`` (the newer); pure, no I/O.

    Definitions that are not valid JSON compare as having no steps or parameters (their
    ``data`` is ``None``): callers that need readable input check ``data`` first.
    """
    a_nodes, b_nodes = a.dag.nodes, b.dag.nodes
    added = tuple(StepRef.of(n) for name, n in b_nodes.items() if name not in a_nodes)
    removed = tuple(StepRef.of(n) for name, n in a_nodes.items() if name not in b_nodes)
    changed: list[StepChange] = []
    for name, new in b_nodes.items():
        old = a_nodes.get(name)
        if old is None:
            continue
        old_step, new_step = _step_content(a.data, old), _step_content(b.data, new)
        changes = tuple(compare(old_step, new_step))
        moved = None
        if (old.parent, old.branch) != (new.parent, new.branch):
            moved = ((old.parent, old.branch), (new.parent, new.branch))
        if changes or moved:
            changed.append(StepChange(name, new.type, new.path, changes, moved))

    a_params = _by_name(a.parameters)
    b_params = _by_name(b.parameters)
    p_changed = []
    for name, new_p in b_params.items():
        old_p = a_params.get(name)
        if old_p is None:
            continue
        fields = tuple(
            f
            for f in ("type", "default_value", "enum_values")
            if not _same(getattr(old_p, f), getattr(new_p, f))
        )
        if fields:
            p_changed.append(ParameterChange(name, fields, old_p, new_p))

    a_edges, b_edges = set(a.dag.edges), set(b.dag.edges)
    return DefinitionDiff(
        a=a,
        b=b,
        steps_added=added,
        steps_removed=removed,
        steps_changed=tuple(changed),
        parameters_added=tuple(p for n, p in b_params.items() if n not in a_params),
        parameters_removed=tuple(p for n, p in a_params.items() if n not in b_params),
        parameters_changed=tuple(p_changed),
        edges_added=tuple(e for e in b.dag.edges if e not in a_edges),
        edges_removed=tuple(e for e in a.dag.edges if e not in b_edges),
        other=tuple(compare(_rest(a.data), _rest(b.data))),
    )


def _by_name(params: list[Parameter]) -> dict[str, Parameter]:
    out: dict[str, Parameter] = {}
    for p in params:
        out.setdefault(p.name, p)  # a duplicate is validate's to report; the first counts
    return out


def _resolve(data: Any, path: str) -> Any:
    """The value at a JSON pointer the DAG recorded (it exists: the DAG was built from it)."""
    for token in path[1:].split("/") if path else ():
        key = token.replace("~1", "/").replace("~0", "~")
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


def _step_content(data: Any, node: Node) -> Any:
    """The step as a dict, without the branch lists whose steps the DAG has as nodes."""
    step = _resolve(data, node.path)
    nested = [key for key, _ in NESTED_STEP_KEYS.get(node.type, ())]
    args = step.get("Arguments") if isinstance(step, dict) else None
    if not isinstance(args, dict) or not any(isinstance(args.get(k), list) for k in nested):
        return step
    kept = {k: v for k, v in args.items() if not (k in nested and isinstance(v, list))}
    return {**step, "Arguments": kept}


def _rest(data: Any) -> Any:
    """The definition without the ``Steps`` and ``Parameters`` compared on their own."""
    if not isinstance(data, dict):
        return data
    skip = {k for k in ("Steps", "Parameters") if isinstance(data.get(k), list)}
    return {k: v for k, v in data.items() if k not in skip}


def _same(x: Any, y: Any) -> bool:
    """Equal as JSON: Python's ``True == 1 == 1.0`` must not hide a changed value."""
    if type(x) is not type(y):
        return False
    if isinstance(x, dict | list | tuple):
        return _compact(x) == _compact(y)
    return bool(x == y)


def compare(old: Any, new: Any, base: str = "") -> Iterator[ValueChange]:
    """Every pointer below ``base`` whose value differs, in document order (keys sorted, as in
    the canonical JSON), compared as JSON (``1``, ``1.0`` and ``true`` differ). Iterative:
    definitions can be nested deeper than Python recurses. Also what ``handoff`` uses to name
    a manifest field that differs from what the bundle says."""
    stack: list[tuple[str, Any, Any]] = [(base, old, new)]
    while stack:
        ptr, x, y = stack.pop()
        if isinstance(x, dict) and isinstance(y, dict):
            keys = sorted(set(x) | set(y))
            stack.extend(
                (f"{ptr}/{escape_token(k)}", x.get(k, MISSING), y.get(k, MISSING))
                for k in reversed(keys)
            )
        elif isinstance(x, list) and isinstance(y, list):
            n = max(len(x), len(y))
            stack.extend(
                (
                    f"{ptr}/{i}",
                    x[i] if i < len(x) else MISSING,
                    y[i] if i < len(y) else MISSING,
                )
                for i in reversed(range(n))
            )
        elif x is MISSING:
            yield ValueChange(ptr, "add", MISSING, y)
        elif y is MISSING:
            yield ValueChange(ptr, "remove", x, MISSING)
        elif not _same(x, y):
            yield ValueChange(ptr, "replace", x, y)

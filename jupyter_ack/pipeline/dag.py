"""The step graph of a pipeline definition.

Edges are the ones SageMaker (and the SDK's ``PipelineGraph``) derive from the JSON:

- ``depends_on``: an explicit ``DependsOn`` entry (a name, or ``{"Step": name, ...}`` in v3);
- ``data``: any ``{"Get": "Steps.X...."}`` inside a step;
- ``property_file``: ``Std:JsonGet`` on ``Steps.X.PropertyFiles.F``;
- ``condition``: from a parent step to each step nested in it (a Condition's ``IfSteps`` and
  ``ElseSteps``, a ForEach's ``ForEachBody``).

A pair of steps linked in several ways gives one edge, of the most specific kind. Building
tolerates any JSON: what is malformed is skipped here and reported by ``validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from jupyter_ack.pipeline._jsonpos import escape_token

EdgeKind = Literal["depends_on", "data", "property_file", "condition"]
KIND_PRIORITY: dict[str, int] = {"condition": 0, "property_file": 1, "data": 2, "depends_on": 3}

# Where nested steps live, by parent step type: (Arguments key, branch name).
NESTED_STEP_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "Condition": (("IfSteps", "if"), ("ElseSteps", "else")),
    "ForEach": (("ForEachBody", "body"),),
}

_STEP_GET = re.compile(r"^Steps\.([^.\[\]]+)")


@dataclass(frozen=True)
class Node:
    """A step. ``parent`` and ``branch`` are set for steps nested in a Condition or ForEach."""

    name: str
    type: str
    path: str
    parent: str | None = None
    branch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "parent": self.parent, "branch": self.branch}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "kind": self.kind}


@dataclass(frozen=True)
class Reference:
    """A ``Get`` expression found in a step, with where it is."""

    step: str
    expr: str
    path: str
    property_file: bool = False


@dataclass(frozen=True)
class DependsOn:
    step: str
    target: str
    path: str


@dataclass
class Dag:
    """Steps (document order), edges, and the raw material validation needs."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    depends_on: list[DependsOn] = field(default_factory=list)
    duplicates: list[Node] = field(default_factory=list)
    bad_gets: list[tuple[str, str]] = field(default_factory=list)  # (step, path)

    def successors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out[e.source].append(e.target)
        return out

    def predecessors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out[e.target].append(e.source)
        return out

    def downstream(self, step: str) -> list[str]:
        """``step`` and every step that depends on it, through edges or by being nested in it
        (a Condition's branches), in document order: what a re-run "from here" runs."""
        succ = self.successors()
        children: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node in self.nodes.values():
            if node.parent in children:
                children[node.parent].append(node.name)
        found, todo = {step}, [step]
        while todo:
            current = todo.pop()
            for nxt in succ.get(current, []) + children.get(current, []):
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
        return [n for n in self.nodes if n in found]

    def upstream(self, steps: list[str]) -> list[str]:
        """Every step the given ones depend on, themselves excluded, in document order."""
        pred = self.predecessors()
        found: set[str] = set()
        todo = list(steps)
        while todo:
            for prev in pred.get(todo.pop(), []):
                if prev not in found and prev not in steps:
                    found.add(prev)
                    todo.append(prev)
        return [n for n in self.nodes if n in found]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_json() for n in self.nodes.values()],
            "edges": [e.to_json() for e in self.edges],
        }


def build_dag(data: Any) -> Dag:
    dag = Dag()
    steps = data.get("Steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return dag
    found: list[tuple[Node, dict[str, Any]]] = []
    _collect(steps, "/Steps", None, None, dag, found)
    pairs: dict[tuple[str, str], str] = {}

    def add(source: str, target: str, kind: str) -> None:
        if source not in dag.nodes or target not in dag.nodes:
            return
        old = pairs.get((source, target))
        if old is None or KIND_PRIORITY[kind] < KIND_PRIORITY[old]:
            pairs[(source, target)] = kind

    for node, step in found:
        if node.parent is not None:
            add(node.parent, node.name, "condition")
        _scan_depends_on(node, step, dag)
        args = step.get("Arguments")
        nested = {key for key, _ in NESTED_STEP_KEYS.get(node.type, ())}
        for key, value in step.items():
            if key in ("DependsOn", "Name", "Type", "PropertyFiles"):
                continue
            base = f"{node.path}/{escape_token(key)}"
            if key == "Arguments" and isinstance(args, dict) and nested:
                for akey, avalue in args.items():
                    if akey not in nested:
                        _scan_gets(node.name, avalue, f"{base}/{escape_token(akey)}", dag)
            else:
                _scan_gets(node.name, value, base, dag)
    for d in dag.depends_on:
        add(d.target, d.step, "depends_on")
    for ref in dag.references:
        m = _STEP_GET.match(ref.expr)
        if m:
            add(m.group(1), ref.step, "property_file" if ref.property_file else "data")
    order = {name: i for i, name in enumerate(dag.nodes)}
    dag.edges = [
        Edge(s, t, kind)  # type: ignore[arg-type]
        for (s, t), kind in sorted(pairs.items(), key=lambda p: (order[p[0][1]], order[p[0][0]]))
    ]
    return dag


def _collect(
    steps: list[Any],
    base: str,
    parent: str | None,
    branch: str | None,
    dag: Dag,
    found: list[tuple[Node, dict[str, Any]]],
) -> None:
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        name, typ = step.get("Name"), step.get("Type")
        if not isinstance(name, str):
            continue
        path = f"{base}/{i}"
        node = Node(name, typ if isinstance(typ, str) else "", path, parent, branch)
        if name in dag.nodes:
            dag.duplicates.append(node)
        else:
            dag.nodes[name] = node
            found.append((node, step))
        args = step.get("Arguments")
        if isinstance(args, dict):
            for key, branch_name in NESTED_STEP_KEYS.get(node.type, ()):
                nested = args.get(key)
                if isinstance(nested, list):
                    _collect(nested, f"{path}/Arguments/{key}", name, branch_name, dag, found)


def _scan_depends_on(node: Node, step: dict[str, Any], dag: Dag) -> None:
    deps = step.get("DependsOn")
    if not isinstance(deps, list):
        return
    for i, dep in enumerate(deps):
        target = dep.get("Step") if isinstance(dep, dict) else dep
        if isinstance(target, str):
            dag.depends_on.append(DependsOn(node.name, target, f"{node.path}/DependsOn/{i}"))


def _scan_gets(step: str, value: Any, path: str, dag: Dag) -> None:
    """Record every ``Get`` below ``value`` (iteratively: definitions can be deep)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        obj, where = stack.pop()
        if isinstance(obj, dict):
            get = obj.get("Get")
            if "Get" in obj and len(obj) == 1:
                if isinstance(get, str):
                    dag.references.append(Reference(step, get, where))
                else:
                    dag.bad_gets.append((step, where))
                continue
            json_get = obj.get("Std:JsonGet")
            if isinstance(json_get, dict):
                pf = json_get.get("PropertyFile")
                if isinstance(pf, dict) and isinstance(pf.get("Get"), str) and len(pf) == 1:
                    pf_path = f"{where}/Std:JsonGet/PropertyFile"
                    dag.references.append(Reference(step, pf["Get"], pf_path, property_file=True))
                    rest = {k: v for k, v in json_get.items() if k != "PropertyFile"}
                    stack.append((rest, f"{where}/Std:JsonGet"))
                    continue
            for k, v in obj.items():
                if isinstance(v, dict | list):
                    stack.append((v, f"{where}/{escape_token(k)}"))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                if isinstance(v, dict | list):
                    stack.append((v, f"{where}/{i}"))

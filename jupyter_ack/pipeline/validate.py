"""Find what is wrong with a pipeline definition before SageMaker (or the ACK controller, much
later, in a status condition) does.

The ACK CRDs carry no patterns or limits: the API server accepts anything and the error only
shows up after a reconcile. Every rule here is one SageMaker enforces, or a service quota
(a warning: quotas can be raised). Codes are stable; tests and scripts rely on them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jupyter_ack.pipeline._jsonpos import escape_token, locate
from jupyter_ack.pipeline.dag import NESTED_STEP_KEYS, Dag
from jupyter_ack.pipeline.diagnostics import Diagnostic, Severity, sort_key
from jupyter_ack.pipeline.rules import (
    EXECUTION_VARIABLES,
    EXPERIMENT_VARIABLES,
    MAX_BRANCH_STEPS,
    MAX_DEFINITION_CHARS,
    MAX_PARAMETERS,
    MAX_PROPERTY_FILES,
    MAX_STEP_NAME,
    MAX_STEPS,
    PARAMETER_NAME,
    PARAMETER_TYPES,
    PIPELINE_NAME,
    STEP_NAME,
    STEP_TYPES,
    SUPPORTED_VERSION,
)

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition

PLACEHOLDER = re.compile(
    r"<<[^<>\n]{1,80}>>|\{\{[^{}\n]{1,80}\}\}|<(?:YOUR|your)[_-][^<>\s]{1,60}>"
)

CLIENT_APPLY_LIMIT = 262_144


def validate(defn: PipelineDefinition) -> list[Diagnostic]:
    """Every diagnostic for ``defn``, with line and column when it came from text."""
    found = list(defn.load_diagnostics)
    if defn.data is not None:
        found.extend(_Checker(defn).run())
    if defn.text is not None:
        wanted = {d.path for d in found if d.path is not None and d.line is None}
        if wanted:
            where = locate(defn.text, wanted)
            found = [
                d.at(*where[d.path]) if d.path in where and d.line is None else d for d in found
            ]
    found.sort(key=sort_key)
    return found


class _Checker:
    def __init__(self, defn: PipelineDefinition) -> None:
        self.defn = defn
        self.data = defn.data
        self.out: list[Diagnostic] = []

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: str | None = None,
        step: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.out.append(Diagnostic(severity, code, message, path, step, hint=hint))

    def run(self) -> list[Diagnostic]:
        if not isinstance(self.data, dict):
            self.add(
                "error",
                "SCHEMA",
                f"a pipeline definition is a JSON object, not {_kind(self.data)}",
                "",
                hint='it starts like {"Version": "2020-12-01", "Steps": [...]}',
            )
            return self.out
        self.check_name()
        self.check_version()
        self.check_parameters()
        dag: Dag = self.defn.dag
        self.check_steps(dag)
        self.check_references(dag)
        self.check_cycles(dag)
        self.check_strings()
        self.check_size()
        return self.out

    # top level ----------------------------------------------------------------------------

    def check_name(self) -> None:
        name = self.defn.name
        if name is not None and not PIPELINE_NAME.match(name):
            self.add(
                "error",
                "NAME_INVALID",
                f"pipeline name {name!r} is not valid for SageMaker",
                hint="1-256 letters, digits and single hyphens, starting with a letter or digit",
            )

    def check_version(self) -> None:
        version = self.data.get("Version")
        if "Version" not in self.data:
            self.add(
                "error",
                "SCHEMA",
                "Version is missing",
                "",
                hint=f'add "Version": "{SUPPORTED_VERSION}"',
            )
        elif not isinstance(version, str):
            self.add(
                "error",
                "SCHEMA",
                f"Version must be a string, not {_kind(version)}",
                "/Version",
                hint=f'use "{SUPPORTED_VERSION}"',
            )
        elif version != SUPPORTED_VERSION:
            self.add(
                "error",
                "UNSUPPORTED_VERSION",
                f"Version {version!r} is not supported",
                "/Version",
                hint=f'SageMaker pipelines use "{SUPPORTED_VERSION}"',
            )

    def check_parameters(self) -> None:
        params = self.data.get("Parameters")
        if params is None:
            return
        if not isinstance(params, list):
            self.add(
                "error", "SCHEMA", f"Parameters must be a list, not {_kind(params)}", "/Parameters"
            )
            return
        if len(params) > MAX_PARAMETERS:
            self.add(
                "error",
                "PARAMETER_INVALID",
                f"{len(params)} parameters: SageMaker allows at most {MAX_PARAMETERS}",
                "/Parameters",
            )
        seen: set[str] = set()
        for i, p in enumerate(params):
            path = f"/Parameters/{i}"
            if not isinstance(p, dict):
                self.add("error", "SCHEMA", f"a parameter must be an object, not {_kind(p)}", path)
                continue
            name, typ = p.get("Name"), p.get("Type")
            if not isinstance(name, str):
                why = "is missing" if name is None else f"must be a string, not {_kind(name)}"
                self.add("error", "SCHEMA", f"parameter Name {why}", path)
                continue
            if not PARAMETER_NAME.match(name):
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter name {name!r} is not valid",
                    f"{path}/Name",
                    hint="1-256 letters, digits, '-' or '_'",
                )
            if name in seen:
                self.add(
                    "error", "PARAMETER_INVALID", f"parameter {name!r} is declared twice", path
                )
            seen.add(name)
            if not isinstance(typ, str):
                why = "is missing" if typ is None else f"must be a string, not {_kind(typ)}"
                self.add("error", "SCHEMA", f"parameter {name!r}: Type {why}", path)
                continue
            if typ not in PARAMETER_TYPES:
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter {name!r} has unknown type {typ!r}",
                    f"{path}/Type",
                    hint=_choices(typ, PARAMETER_TYPES),
                )
                continue
            if "DefaultValue" in p and not _fits(typ, p["DefaultValue"]):
                self.add(
                    "error",
                    "PARAMETER_INVALID",
                    f"parameter {name!r} is {typ} but its default is {_kind(p['DefaultValue'])}",
                    f"{path}/DefaultValue",
                )
            enum = p.get("EnumValues")
            if enum is not None:
                if not isinstance(enum, list):
                    self.add(
                        "error",
                        "SCHEMA",
                        f"parameter {name!r}: EnumValues must be a list",
                        f"{path}/EnumValues",
                    )
                elif "DefaultValue" in p and p["DefaultValue"] not in enum:
                    self.add(
                        "error",
                        "PARAMETER_INVALID",
                        f"parameter {name!r}: default {p['DefaultValue']!r} is not one of "
                        "its EnumValues",
                        f"{path}/DefaultValue",
                    )

    # steps --------------------------------------------------------------------------------

    def check_steps(self, dag: Dag) -> None:
        steps = self.data.get("Steps")
        if "Steps" not in self.data:
            self.add("error", "SCHEMA", "Steps is missing", "", hint='add "Steps": [...]')
            return
        if not isinstance(steps, list):
            self.add("error", "SCHEMA", f"Steps must be a list, not {_kind(steps)}", "/Steps")
            return
        if not steps:
            self.add("error", "SCHEMA", "the pipeline has no steps", "/Steps")
        self.walk_steps(steps, "/Steps", None)
        total = len(dag.nodes) + len(dag.duplicates)
        if total > MAX_STEPS:
            self.add(
                "warning",
                "QUOTA",
                f"{total} steps: the default SageMaker quota is {MAX_STEPS} per pipeline",
                "/Steps",
                hint="ask for a quota increase (Service Quotas) or split the pipeline",
            )
        for dup in dag.duplicates:
            first = dag.nodes[dup.name]
            self.add(
                "error",
                "DUPLICATE_STEP",
                f"step name {dup.name!r} is used twice (first at {first.path})",
                dup.path,
                dup.name,
                hint="step names must be unique in the whole pipeline, branches included",
            )

    def walk_steps(self, steps: list[Any], base: str, branch_of: str | None) -> None:
        for i, step in enumerate(steps):
            path = f"{base}/{i}"
            if not isinstance(step, dict):
                self.add("error", "SCHEMA", f"a step must be an object, not {_kind(step)}", path)
                continue
            name = step.get("Name")
            if not isinstance(name, str):
                why = "is missing" if name is None else f"must be a string, not {_kind(name)}"
                self.add(
                    "error", "SCHEMA", f"step Name {why}", path if name is None else f"{path}/Name"
                )
                label = None
            else:
                label = name
                self.check_step_name(name, f"{path}/Name")
            typ = step.get("Type")
            if not isinstance(typ, str):
                why = "is missing" if typ is None else f"must be a string, not {_kind(typ)}"
                self.add(
                    "error",
                    "SCHEMA",
                    f"step Type {why}",
                    path if typ is None else f"{path}/Type",
                    label,
                )
            elif typ not in STEP_TYPES:
                self.add(
                    "warning",
                    "UNKNOWN_STEP_TYPE",
                    f"step type {typ!r} is not one SageMaker is known to accept",
                    f"{path}/Type",
                    label,
                    hint=_choices(typ, STEP_TYPES),
                )
            args = step.get("Arguments")
            if "Arguments" not in step:
                self.add("error", "SCHEMA", "step Arguments is missing", path, label)
            elif not isinstance(args, dict):
                self.add(
                    "error",
                    "SCHEMA",
                    f"step Arguments must be an object, not {_kind(args)}",
                    f"{path}/Arguments",
                    label,
                )
            self.check_depends_on(step, path, label)
            self.check_property_files(step, path, label)
            if isinstance(typ, str) and isinstance(args, dict):
                for key, _branch in NESTED_STEP_KEYS.get(typ, ()):
                    nested = args.get(key)
                    nested_path = f"{path}/Arguments/{key}"
                    if nested is None:
                        continue
                    if not isinstance(nested, list):
                        self.add(
                            "error", "SCHEMA", f"{key} must be a list of steps", nested_path, label
                        )
                        continue
                    if len(nested) > MAX_BRANCH_STEPS:
                        self.add(
                            "warning",
                            "QUOTA",
                            f"{len(nested)} steps in {key}: "
                            f"the default quota is {MAX_BRANCH_STEPS}",
                            nested_path,
                            label,
                        )
                    self.walk_steps(nested, nested_path, label)

    def check_step_name(self, name: str, path: str) -> None:
        if not name or not STEP_NAME.match(name):
            bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9\-_]", c)})
            what = "is empty" if not name else f"has characters SageMaker rejects: {''.join(bad)!r}"
            self.add(
                "error",
                "NAME_INVALID",
                f"step name {name!r} {what}",
                path,
                name or None,
                hint="use letters, digits, '-' and '_' only",
            )
        if len(name) > MAX_STEP_NAME:
            self.add(
                "warning",
                "QUOTA",
                f"step name is {len(name)} characters: the quota is {MAX_STEP_NAME}",
                path,
                name,
            )

    def check_depends_on(self, step: dict[str, Any], path: str, label: str | None) -> None:
        deps = step.get("DependsOn")
        if deps is None:
            return
        if not isinstance(deps, list):
            self.add(
                "error",
                "SCHEMA",
                "DependsOn must be a list of step names",
                f"{path}/DependsOn",
                label,
            )
            return
        names = self.defn.dag.nodes
        for i, dep in enumerate(deps):
            target = dep.get("Step") if isinstance(dep, dict) else dep
            dpath = f"{path}/DependsOn/{i}"
            if not isinstance(target, str):
                self.add(
                    "error",
                    "SCHEMA",
                    'a DependsOn entry must be a step name or {"Step": name}',
                    dpath,
                    label,
                )
            elif target not in names:
                self.add(
                    "error",
                    "DEPENDS_ON_UNKNOWN",
                    f"depends on {target!r}, which is not a step of this pipeline",
                    dpath,
                    label,
                    hint=_choices(target, names),
                )

    def check_property_files(self, step: dict[str, Any], path: str, label: str | None) -> None:
        files = step.get("PropertyFiles")
        if files is None:
            return
        if not isinstance(files, list):
            self.add(
                "error", "SCHEMA", "PropertyFiles must be a list", f"{path}/PropertyFiles", label
            )
            return
        if len(files) > MAX_PROPERTY_FILES:
            self.add(
                "warning",
                "QUOTA",
                f"{len(files)} property files: the quota is {MAX_PROPERTY_FILES} per step",
                f"{path}/PropertyFiles",
                label,
            )
        for i, f in enumerate(files):
            if not isinstance(f, dict) or not isinstance(f.get("PropertyFileName"), str):
                self.add(
                    "error",
                    "SCHEMA",
                    "a property file needs PropertyFileName, OutputName and FilePath",
                    f"{path}/PropertyFiles/{i}",
                    label,
                )

    # references ---------------------------------------------------------------------------

    def check_references(self, dag: Dag) -> None:
        params = {p.name for p in self.defn.parameters}
        files = self.property_files()
        for step, where in dag.bad_gets:
            self.add("error", "SCHEMA", "a Get expression must be a string", f"{where}/Get", step)
        for ref in dag.references:
            root, _, rest = ref.expr.partition(".")
            head = re.split(r"[.\[]", rest, maxsplit=1)[0]
            path = f"{ref.path}/Get"
            problem: str | None = None
            hint: str | None = None
            if root == "Steps":
                if head not in dag.nodes:
                    problem, hint = f"step {head!r}", _choices(head, dag.nodes)
                elif ref.property_file:
                    m = re.match(r"^Steps\.[^.]+\.PropertyFiles\.([^.\[]+)$", ref.expr)
                    if not m or m.group(1) not in files.get(head, ()):
                        pf = m.group(1) if m else ref.expr
                        problem = f"property file {pf!r} of step {head!r}"
                        hint = (
                            _choices(pf, files.get(head, ()))
                            or f"declare it in the PropertyFiles of {head!r}"
                        )
            elif root == "Parameters":
                if head not in params:
                    problem, hint = (
                        f"parameter {head!r}",
                        _choices(head, params) or "declare it in Parameters",
                    )
            elif root == "Execution":
                if head not in EXECUTION_VARIABLES:
                    problem, hint = (
                        f"execution variable {head!r}",
                        _choices(head, EXECUTION_VARIABLES),
                    )
            elif root == "PipelineExperimentConfig":
                if head not in EXPERIMENT_VARIABLES:
                    problem, hint = (
                        f"experiment variable {head!r}",
                        _choices(head, EXPERIMENT_VARIABLES),
                    )
            else:
                problem = f"{ref.expr!r}"
                hint = (
                    "a Get reads Steps.<step>..., Parameters.<name>, Execution.<var> "
                    "or PipelineExperimentConfig.<var>"
                )
            if problem:
                self.add(
                    "error",
                    "DANGLING_REFERENCE",
                    f"refers to {problem}, which does not exist",
                    path,
                    ref.step,
                    hint,
                )

    def property_files(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for steps in self.all_steps():
            files = steps.get("PropertyFiles")
            if isinstance(files, list):
                out[str(steps.get("Name"))] = {
                    f["PropertyFileName"]
                    for f in files
                    if isinstance(f, dict) and isinstance(f.get("PropertyFileName"), str)
                }
        return out

    def all_steps(self) -> Iterator[dict[str, Any]]:
        stack = (
            list(reversed(self.data.get("Steps") or []))
            if isinstance(self.data.get("Steps"), list)
            else []
        )
        while stack:
            step = stack.pop()
            if not isinstance(step, dict):
                continue
            yield step
            args = step.get("Arguments")
            typ = step.get("Type")
            if isinstance(args, dict) and isinstance(typ, str):
                for key, _ in NESTED_STEP_KEYS.get(typ, ()):
                    nested = args.get(key)
                    if isinstance(nested, list):
                        stack.extend(reversed(nested))

    # graph --------------------------------------------------------------------------------

    def check_cycles(self, dag: Dag) -> None:
        succ = dag.successors()
        for component in _strongly_connected(succ):
            cycle = _cycle_in(component, succ)
            first = cycle[0]
            text = " -> ".join([*cycle, first])
            self.add(
                "error",
                "CYCLE",
                f"steps form a cycle: {text}",
                dag.nodes[first].path,
                first,
                hint="a step cannot depend, directly or through others, on itself",
            )

    # whole document -----------------------------------------------------------------------

    def check_strings(self) -> None:
        """Unfilled template markers and text that is not valid Unicode."""
        canonical = self.defn.canonical_json or ""
        if not PLACEHOLDER.search(canonical) and not _has_lone_surrogate(canonical):
            return  # the usual case: no need to walk every string
        for path, text in _strings(self.data):
            m = PLACEHOLDER.search(text)
            if m:
                self.add(
                    "error",
                    "PLACEHOLDER",
                    f"unfilled placeholder {m.group(0)!r}",
                    path,
                    self.step_at(path),
                    hint="replace it with the real value, or make it a pipeline parameter",
                )
            if _has_lone_surrogate(text):
                self.add(
                    "error",
                    "SCHEMA",
                    "a string holds an unpaired UTF-16 surrogate, which is not valid Unicode",
                    path,
                    self.step_at(path),
                )

    def step_at(self, path: str) -> str | None:
        """The innermost step whose JSON pointer is a prefix of ``path``."""
        best: str | None = None
        best_len = -1
        for node in self.defn.dag.nodes.values():
            if (path == node.path or path.startswith(node.path + "/")) and len(
                node.path
            ) > best_len:
                best, best_len = node.name, len(node.path)
        return best

    def check_size(self) -> None:
        text = self.defn.canonical_json or ""
        if len(text) > MAX_DEFINITION_CHARS:
            self.add(
                "error",
                "SIZE_LIMIT",
                f"the definition is {len(text):,} characters: "
                f"SageMaker accepts at most {MAX_DEFINITION_CHARS:,}",
                "",
                hint="move large inline content (scripts, JSON) to S3 and pass it as an S3 URI",
            )
        elif len(text.encode("utf-8", "surrogatepass")) > CLIENT_APPLY_LIMIT:
            self.add(
                "info",
                "SIZE_LIMIT",
                "the definition is over 256 KiB: client-side `kubectl apply` cannot store it",
                "",
                hint="use `kubectl apply --server-side` (jupyter-ack always does)",
            )


def _strings(data: Any) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, str):
            yield path, obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                stack.append((v, f"{path}/{escape_token(k)}"))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                stack.append((v, f"{path}/{i}"))


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strongly_connected(succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components that hold a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1 or node in succ[node]:
                    out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _cycle_in(component: list[str], succ: dict[str, list[str]]) -> list[str]:
    """One actual cycle through the component's first node, as a list of step names."""
    members = set(component)
    rank = {name: i for i, name in enumerate(succ)}
    order = sorted(component, key=rank.__getitem__)
    start = order[0]
    parents: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for child in succ[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return list(reversed(path))
            if child in members and child not in parents:
                parents[child] = node
                queue.append(child)
    return order


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _fits(typ: str, value: Any) -> bool:
    if typ == "String":
        return isinstance(value, str)
    if typ == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, bool)


def _choices(word: str, options: Any) -> str | None:
    candidates = list(options)
    if len(candidates) > 2000:  # keep validation linear on huge pasted definitions
        return None
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return None

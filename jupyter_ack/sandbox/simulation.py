"""A pipeline execution as a pure function of time: the clock model behind the sandbox's SageMaker.

Nothing moves an execution in the background. Its state is computed, on every call, from what
is fixed at its start (the DAG, the parameters, the durations and injected failures) and from
what happened to it since, with when (a stop request, retries, parallelism changes), at the
time ``now``. So a run is deterministic, costs nothing while nobody looks at it, and a unit
test can ask for the exact state at any instant with a fake clock.

Semantics (the real service's where we know them, simplified where said):

- a step starts as soon as every predecessor (an edge of any kind) has Succeeded, in document
  order, at most ``MaxParallelExecutionSteps`` at a time when that is set;
- a step is Starting for a fraction of its time, then Executing, then Succeeded, or Failed
  when a failure is injected for it; a ``Fail`` step always fails with its ``ErrorMessage``;
- a Condition step chooses its ``if`` branch unless told otherwise; the steps of the branch not
  taken, and every step that depends on one of them, never run and are never listed;
- a ForEach body runs once, like a branch (a documented simplification);
- once a step has failed no step starts; when nothing is running any more the execution is
  Failed with :data:`EXECUTION_FAILURE_REASON`;
- a stop request turns every running step to Stopping, and Stopped a moment later; nothing
  starts after it; the execution is Stopping, then Stopped;
- a retry (of a Failed execution) runs the failed steps again, then what had not run; an
  injected failure applies to a step's first attempt only (a retry models fixing the cause);
- a selective execution (``Plan.selected``) runs only the selected steps, in DAG order, with
  the same durations and injected failures; a predecessor that is not selected counts as
  Succeeded (its result is reused from the source execution, which :func:`check_selection`
  has checked before the start); steps that are not selected never run and are never listed
  by the model (the glue lists the reused ones with the source's result); a Condition that is
  not selected chooses no branch, so a selected step nested in it runs (it was asked for).

No moto import here: :mod:`jupyter_ack.sandbox.sagemaker` is the glue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_ack.pipeline.sources import from_text, load

EXECUTION_FAILURE_REASON = "Step failure: One or multiple steps failed."
# Steps with nothing to run: they take `quick_seconds`, not `step_seconds`.
QUICK_TYPES = frozenset({"Condition", "Fail", "ForEach"})
TERMINAL_STEP_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})


# Settings --------------------------------------------------------------------------------------


@dataclass
class ExecutionOverrides:
    """Settings for one execution, found by its ARN or its display name (read on every call)."""

    fail_steps: dict[str, str] = field(default_factory=dict)
    step_durations: dict[str, float] = field(default_factory=dict)
    condition_outcomes: dict[str, bool] = field(default_factory=dict)


@dataclass
class SimulationSettings:
    """How simulated executions run. Change it at any time: an execution reads the global
    fields when it starts (so a running demo is never re-timed behind its back) and its own
    entry in ``executions`` on every call (its ARN is only known once it has started)."""

    step_seconds: float = 5.0
    step_durations: dict[str, float] = field(default_factory=dict)  # step name -> seconds
    fail_steps: dict[str, str] = field(default_factory=dict)  # step name -> failure reason
    condition_outcomes: dict[str, bool] = field(default_factory=dict)  # condition -> outcome
    executions: dict[str, ExecutionOverrides] = field(default_factory=dict)  # ARN or display name
    quick_seconds: float | None = None  # Condition, Fail, ForEach; None: step_seconds / 5
    stop_seconds: float | None = None  # Stopping -> Stopped; None: step_seconds / 5
    starting_fraction: float = 0.1  # share of a step's time spent Starting
    clock: Callable[[], float] = time.time

    def overrides_for(self, *keys: str | None) -> ExecutionOverrides | None:
        """The first entry of ``executions`` named by one of ``keys`` (ARN first, then name)."""
        for key in keys:
            if key is not None and key in self.executions:
                return self.executions[key]
        return None


# The plan: what is fixed when an execution starts ---------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    """One step of the DAG, with its JSON object (display name, Fail message, ARNs ...)."""

    name: str
    type: str
    index: int  # document order, the tie-break everywhere
    parent: str | None
    branch: str | None
    predecessors: tuple[str, ...]
    body: Mapping[str, Any]

    @property
    def display_name(self) -> str | None:
        value = self.body.get("DisplayName")
        return value if isinstance(value, str) else None

    @property
    def description(self) -> str | None:
        value = self.body.get("Description")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Plan:
    """The steps of a definition with the parameter values of one execution."""

    steps: Mapping[str, StepSpec]  # document order
    parameters: Mapping[str, str]  # declared defaults overridden by the execution's values
    execution_id: str = ""
    selected: frozenset[str] | None = None  # a selective execution's steps; None: all of them

    @classmethod
    def from_definition(
        cls,
        definition: Any,
        parameters: Mapping[str, str] | None = None,
        execution_id: str = "",
    ) -> Plan:
        """Build from a definition (JSON text or the parsed object) using the core's DAG."""
        pd = from_text(definition) if isinstance(definition, str) else load(definition)
        dag = pd.dag
        preds = dag.predecessors()
        steps: dict[str, StepSpec] = {}
        for i, node in enumerate(dag.nodes.values()):
            body = _resolve_pointer(pd.data, node.path)
            steps[node.name] = StepSpec(
                name=node.name,
                type=node.type,
                index=i,
                parent=node.parent,
                branch=node.branch,
                predecessors=tuple(preds[node.name]),
                body=body if isinstance(body, dict) else {},
            )
        values = {p.name: format_value(p.default_value) for p in pd.parameters}
        values.update(parameters or {})
        return cls(steps, values, execution_id)

    def render(self, expr: Any) -> str:
        """A pipeline expression as the service prints it: literals, ``Std:Join`` and ``Get`` of
        a parameter or the execution id are evaluated; anything else shows as its JSON."""
        if expr is None:
            return ""
        if isinstance(expr, str | bool | int | float):
            return format_value(expr)
        if isinstance(expr, dict) and len(expr) == 1:
            ref = expr.get("Get")
            if isinstance(ref, str):
                if ref.startswith("Parameters.") and ref[11:] in self.parameters:
                    return self.parameters[ref[11:]]
                if ref == "Execution.PipelineExecutionId" and self.execution_id:
                    return self.execution_id
            join = expr.get("Std:Join")
            if isinstance(join, dict) and isinstance(join.get("Values"), list):
                on = self.render(join.get("On", ""))
                return on.join(self.render(v) for v in join["Values"])
        return json.dumps(expr)

    def fail_message(self, name: str) -> str:
        args = self.steps[name].body.get("Arguments")
        return self.render(args.get("ErrorMessage") if isinstance(args, dict) else None)

    def selecting(self, names: Iterable[str]) -> Plan:
        """The same plan for a selective execution of ``names`` (checked by the caller)."""
        return replace(self, selected=frozenset(names))

    def runs(self, name: str) -> bool:
        """Whether this execution may run ``name`` (every step, unless it is selective)."""
        return self.selected is None or name in self.selected

    def successors(self) -> dict[str, list[str]]:
        """The reverse of the predecessors, in document order."""
        out: dict[str, list[str]] = {name: [] for name in self.steps}
        for spec in self.steps.values():
            for p in spec.predecessors:
                if p in out:
                    out[p].append(spec.name)
        return out

    def ancestors(self, names: Iterable[str]) -> list[str]:
        """Every step that ``names`` depend on, directly or not, themselves excluded, in
        document order."""
        start = set(names)
        return _reach(start, lambda n: self.steps[n].predecessors if n in self.steps else (), self)

    def descendants(self, names: Iterable[str]) -> list[str]:
        """Every step that depends on ``names``, directly or not, themselves excluded, in
        document order."""
        succ = self.successors()
        return _reach(set(names), lambda n: succ.get(n, ()), self)


def _reach(start: set[str], step: Callable[[str], Iterable[str]], plan: Plan) -> list[str]:
    """The steps reached from ``start`` by following ``step`` (iteratively: DAGs can be deep),
    ``start`` excluded, in document order so that answers and messages are stable."""
    found: set[str] = set()
    todo = list(start)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in found and nxt not in start:
                found.add(nxt)
                todo.append(nxt)
    return [n for n in plan.steps if n in found]


def format_value(value: Any) -> str:
    """A parameter value as a string (JSON booleans, Python's float text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _resolve_pointer(data: Any, pointer: str) -> Any:
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(data, list):
            data = data[int(token)]
        elif isinstance(data, dict):
            data = data[token]
        else:
            return None
    return data


@dataclass(frozen=True)
class RunConfig:
    """Durations, failures and condition outcomes of one execution (snapshot of the settings)."""

    durations: Mapping[str, float]
    fail_steps: Mapping[str, str]
    condition_outcomes: Mapping[str, bool]
    stop_seconds: float
    starting_fraction: float

    @classmethod
    def snapshot(cls, settings: SimulationSettings, plan: Plan) -> RunConfig:
        quick = (
            settings.step_seconds / 5 if settings.quick_seconds is None else settings.quick_seconds
        )
        durations = {
            s.name: settings.step_durations.get(
                s.name, quick if s.type in QUICK_TYPES else settings.step_seconds
            )
            for s in plan.steps.values()
        }
        stop = settings.step_seconds / 5 if settings.stop_seconds is None else settings.stop_seconds
        return cls(
            durations=durations,
            fail_steps=dict(settings.fail_steps),
            condition_outcomes=dict(settings.condition_outcomes),
            stop_seconds=stop,
            starting_fraction=settings.starting_fraction,
        )

    def with_overrides(self, overrides: ExecutionOverrides | None) -> RunConfig:
        if overrides is None:
            return self
        return replace(
            self,
            durations={**self.durations, **overrides.step_durations},
            fail_steps={**self.fail_steps, **overrides.fail_steps},
            condition_outcomes={**self.condition_outcomes, **overrides.condition_outcomes},
        )

    def outcome(self, condition: str) -> bool:
        return self.condition_outcomes.get(condition, True)


@dataclass
class RunEvents:
    """What was done to an execution from outside, with when: the mutable inputs of the model.
    Times only ever get appended at the clock's ``now``, so the past never changes."""

    start: float
    parallelism: int | None = None  # MaxParallelExecutionSteps at the start; None: no limit
    parallelism_changes: list[tuple[float, int | None]] = field(default_factory=list)
    stop_at: float | None = None
    retries: list[float] = field(default_factory=list)

    def capacity(self, t: float) -> int | None:
        value = self.parallelism
        for when, new in sorted(self.parallelism_changes, key=lambda c: c[0]):
            if when <= t:
                value = new
        return value


# The model's answer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    """One listed step at ``now``."""

    name: str
    type: str
    index: int
    status: str  # Starting, Executing, Stopping, Stopped, Failed, Succeeded
    start: float
    end: float | None
    failure_reason: str | None
    attempt: int
    outcome: bool | None = None  # Condition steps, once Succeeded
    error_message: str | None = None  # Fail steps


@dataclass(frozen=True)
class ExecutionState:
    """An execution at ``now``: its status and the steps that have started, by start time."""

    status: str  # Executing, Stopping, Stopped, Failed, Succeeded
    failure_reason: str | None
    last_modified: float
    steps: tuple[StepState, ...]

    def step(self, name: str) -> StepState | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass(frozen=True)
class _Attempt:
    """One run of a step, with its whole future (it is known the moment it starts)."""

    number: int
    start: float
    duration: float
    end: float  # when it reaches `final`
    final: str  # Succeeded, Failed or Stopped
    failure_reason: str | None = None
    stop_from: float | None = None  # Stopping from then until `end`


@dataclass(frozen=True)
class Timeline:
    """The complete schedule of an execution given its inputs so far; ``at`` projects it."""

    plan: Plan
    config: RunConfig
    attempts: Mapping[str, tuple[_Attempt, ...]]
    statuses: tuple[tuple[float, str, str | None], ...]  # (since, status, failure reason)

    def at(self, now: float) -> ExecutionState:
        since, status, reason = self.statuses[0]
        for entry in self.statuses:
            if entry[0] <= now:
                since, status, reason = entry
        steps = [s for s in (self._step_at(n, now) for n in self.attempts) if s is not None]
        steps.sort(key=lambda s: (s.start, s.index))
        return ExecutionState(status, reason, since, tuple(steps))

    def transitions(self) -> list[float]:
        """Every instant at which the execution's or a step's status changes, in order (what
        SageMaker sends a status change event for): a step starting, going from Starting to
        Executing, Stopping, and ending; the execution's own status changes."""
        found = {since for since, _, _ in self.statuses}
        for attempts in self.attempts.values():
            for a in attempts:
                found.add(a.start)
                found.add(a.start + self.config.starting_fraction * a.duration)
                if a.stop_from is not None:
                    found.add(a.stop_from)
                found.add(a.end)
        return sorted(found)

    def _step_at(self, name: str, now: float) -> StepState | None:
        started = [a for a in self.attempts[name] if a.start <= now]
        if not started:
            return None
        a = started[-1]
        if a.stop_from is not None and now >= a.stop_from:
            status = "Stopping" if now < a.end else "Stopped"
        elif now < a.start + self.config.starting_fraction * a.duration:
            status = "Starting"
        elif now < a.end:
            status = "Executing"
        else:
            status = a.final
        spec = self.plan.steps[name]
        outcome = None
        if spec.type == "Condition" and status == "Succeeded":
            outcome = self.config.outcome(name)
        return StepState(
            name=name,
            type=spec.type,
            index=spec.index,
            status=status,
            start=a.start,
            end=a.end if status in TERMINAL_STEP_STATUSES else None,
            failure_reason=a.failure_reason if status == "Failed" else None,
            attempt=a.number,
            outcome=outcome,
            error_message=self.plan.fail_message(name) if spec.type == "Fail" else None,
        )


def skipped_steps(plan: Plan, config: RunConfig) -> set[str]:
    """Steps that never run: in the branch a Condition does not take, or after such a step."""
    skipped: set[str] = set()
    changed = True
    while changed:  # to a fixed point: a predecessor may come later in document order
        changed = False
        for spec in plan.steps.values():
            if spec.name in skipped:
                continue
            parent = plan.steps.get(spec.parent) if spec.parent else None
            off_branch = (
                parent is not None
                and parent.type == "Condition"
                and plan.runs(parent.name)  # a reused Condition chooses nothing here
                and spec.branch != ("if" if config.outcome(parent.name) else "else")
            )
            if off_branch or any(p in skipped for p in spec.predecessors):
                skipped.add(spec.name)
                changed = True
    return skipped


def timeline(plan: Plan, config: RunConfig, events: RunEvents) -> Timeline:
    """Play the execution forward, event by event, until nothing is left to happen."""
    skipped = skipped_steps(plan, config)
    pending = [n for n in plan.steps if plan.runs(n) and n not in skipped]  # document order
    attempts: dict[str, list[_Attempt]] = {}
    running: dict[str, _Attempt] = {}
    # A selective execution reuses the source's results of the steps it does not run.
    succeeded: set[str] = {n for n in plan.steps if not plan.runs(n)}
    failed: set[str] = set()
    retries = sorted(events.retries)
    t = events.start
    statuses: list[tuple[float, str, str | None]] = [(t, "Executing", None)]
    stop_applied = False

    while True:
        if not stop_applied and not failed:
            cap = events.capacity(t)
            for name in list(pending):
                if cap is not None and len(running) >= cap:
                    break
                if all(p in succeeded for p in plan.steps[name].predecessors):
                    pending.remove(name)
                    running[name] = _begin(plan, config, name, len(attempts.get(name, ())) + 1, t)
        if not running:  # nothing left to happen: the execution ends here, unless retried
            final = "Stopped" if stop_applied else "Failed" if failed else "Succeeded"
            statuses.append((t, final, EXECUTION_FAILURE_REASON if final == "Failed" else None))
            if final != "Failed" or not retries:
                break
            t = max(t, retries.pop(0))
            pending = [n for n in plan.steps if n in failed or n in pending]
            failed.clear()
            statuses.append((t, "Executing", None))
            continue
        upcoming = [min(a.end for a in running.values())]
        if events.stop_at is not None and not stop_applied:
            upcoming.append(max(events.stop_at, t))
        upcoming += [when for when, _ in events.parallelism_changes if when > t]
        t = min(upcoming)
        for name, a in list(running.items()):  # ends first: a step ending at the stop succeeds
            if a.end <= t:
                del running[name]
                attempts.setdefault(name, []).append(a)
                if a.final == "Succeeded":
                    succeeded.add(name)
                elif a.final == "Failed":
                    failed.add(name)
        if events.stop_at is not None and not stop_applied and events.stop_at <= t:
            stop_applied = True
            statuses.append((t, "Stopping", None))
            for name, a in running.items():
                running[name] = replace(
                    a,
                    final="Stopped",
                    failure_reason=None,
                    stop_from=t,
                    end=t + config.stop_seconds,
                )
            if not running:  # nothing to stop: Stopped after the same short delay
                t += config.stop_seconds
    return Timeline(
        plan=plan,
        config=config,
        attempts={n: tuple(a) for n, a in attempts.items()},  # `running` is empty here
        statuses=tuple(statuses),
    )


def _begin(plan: Plan, config: RunConfig, name: str, number: int, t: float) -> _Attempt:
    spec = plan.steps[name]
    duration = config.durations.get(name, 0.0)
    reason: str | None = None
    final = "Succeeded"
    if spec.type == "Fail":
        final, reason = "Failed", plan.fail_message(name) or None
    elif number == 1 and name in config.fail_steps:
        final, reason = "Failed", config.fail_steps[name]
    return _Attempt(number, t, duration, t + duration, final, reason)


def evaluate(plan: Plan, config: RunConfig, events: RunEvents, now: float) -> ExecutionState:
    """The state of an execution at ``now``."""
    return timeline(plan, config, events).at(now)


# Selective execution: what SageMaker checks before it starts one ------------------------------


class SelectionError(ValueError):
    """A selection StartPipelineExecution refuses (a ValidationException); the text is the
    API's message where it is known, else worded the same way."""


def check_selection(
    plan: Plan,
    names: Sequence[str],
    source: Mapping[str, str] | None,
    source_arn: str | None,
) -> tuple[str, ...]:
    """Check ``names`` as ``SelectedSteps`` against the definition the execution will run, and
    return the steps whose results it reuses from the source execution, in document order.

    ``source`` maps the steps of the source execution to their final status (a step that did
    not run there is absent); ``None`` when no source is given. Refused, in this order:

    - a step the definition does not have;
    - a step that is not selected but lies on a path between two selected ones (the API's
      "all step(s) in all path(s) between two selected steps should be included");
    - a selected step with a direct predecessor (data, property file, ``DependsOn`` or its
      Condition) that is not selected and did not succeed in the source; only direct ones,
      as only their outputs are read. With no source at all this is the API's own message.

    Steps are matched by name: a definition changed since the source ran is allowed (it is
    how a fixed step is re-run), but a needed step added since has no result to reuse.
    The reused steps are the selected steps' ancestors that succeeded in the source.
    """
    selected = list(dict.fromkeys(names))  # order kept, repeats dropped
    unknown = [n for n in selected if n not in plan.steps]
    if unknown:
        raise SelectionError(
            f"Invalid SelectedSteps: the steps {_names(unknown)} are not in the pipeline "
            "definition."
        )
    chosen = set(selected)
    upstream = plan.ancestors(chosen)
    between = [n for n in plan.descendants(chosen) if n in set(upstream)]
    if between:
        raise SelectionError(
            "Invalid SelectedSteps: all steps on the paths between two selected steps must be "
            f"selected too; not selected: {_names(between)}."
        )
    needing: list[str] = []
    missing: list[str] = []
    for name in plan.steps:
        if name not in chosen:
            continue
        unmet = [
            p
            for p in plan.steps[name].predecessors
            if p not in chosen and (source is None or source.get(p) != "Succeeded")
        ]
        if unmet:
            needing.append(name)
            missing += [p for p in unmet if p not in missing]
    if needing:
        missing = [n for n in plan.steps if n in missing]
        head = (
            f"Invalid SourcePipelineExecutionArn: {source_arn or 'null'}. The selected steps "
            f"{_names(needing)} have dependencies on {_names(missing)}"
        )
        if source is None:
            raise SelectionError(head)  # word for word what the API says
        found = ", ".join(f"{n}: {source.get(n, 'did not run')}" for n in missing)
        raise SelectionError(
            f"{head} that did not succeed in the source pipeline execution ({found})."
        )
    if source is None:
        return ()
    return tuple(n for n in upstream if source.get(n) == "Succeeded")


def _names(names: Iterable[str]) -> str:
    """A list as the API's messages print one (Java's ``List.toString``)."""
    return "[" + ", ".join(names) + "]"

"""Re-run: a new PipelineExecution of a run's pipeline, with the run's parameters (overridden
by the caller's), of every step or of a selection (SageMaker's selective execution).

A selection is ``from_step`` (that step and everything downstream of it in the DAG) or an
explicit ``steps`` list; the steps outside it are taken from the source run, so it must have
finished. What SageMaker would refuse later (and ACK would retry, in a status condition) is
refused here first, with the reason: an unfinished source run, a step the pipeline does not
have, a step left out between two selected ones, a step the selection needs that did not
succeed in the source run, and a definition that changed since the source run in a step the
selection reads from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_ack.errors import ManifestError, NotFoundError, SubmitError
from jupyter_ack.ops.runs import Run
from jupyter_ack.ops.submit import OnEvent, SubmitResult, follow_to_end

if TYPE_CHECKING:
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.model import RunStatus


def rerun(
    source: Run,
    *,
    parameters: dict[str, str] | None = None,
    from_step: str | None = None,
    steps: list[str] | None = None,
    run_name: str | None = None,
    wait: bool = False,
    wait_timeout: float | None = None,
    on_event: OnEvent | None = None,
    on_status: Callable[[RunStatus], None] | None = None,
) -> SubmitResult:
    """Start the new run; see the module docstring. Raises NotFoundError, SubmitError,
    ManifestError (nothing is created when it does)."""
    from jupyter_ack.ack.manifests import manifests
    from jupyter_ack.ops.submit import emitter

    if from_step and steps:
        raise SubmitError("give --from-step or --steps, not both")
    cluster = source.cluster
    before = source.status(steps=False)
    pipeline = source.pipeline()
    if pipeline is None:
        raise NotFoundError(
            f"the pipeline {before.pipeline!r} of run {source.name} is not in namespace "
            f"{source.namespace}",
            hint="apply it again (`jupyter-ack submit DEF`) and re-run then",
        )
    definition = _definition(pipeline)
    selected = _selection(definition, from_step, steps)
    if selected:
        _check_source(before, source.name)
        _check_needs(definition, source, selected)
        _check_unchanged(definition, before, selected)
    spec = pipeline.get("spec") or {}
    values = {**before.parameters, **(parameters or {})}
    built = manifests(
        definition,
        name=str(spec.get("pipelineName")),
        role_arn=str(spec.get("roleARN") or ""),
        namespace=source.namespace,
        execute=True,
        parameters=values,
        execution_name=run_name,
        selected_steps=selected or None,
        source_execution_arn=before.arn if selected else None,
    )
    assert built.execution is not None
    result = SubmitResult(source.namespace, before.pipeline, manifests=built, cluster=cluster)
    emit = emitter(on_event, result)
    what = f"steps {', '.join(selected)} of" if selected else "all steps, as"
    emit("ready", f"re-running {what} {source.name}")
    obj, created = cluster.create(built.execution)
    result.pipeline, result.execution, result.execution_created = pipeline, obj, created
    run = obj["metadata"]["name"]
    emit("run_created", f"pipelineexecutions/{run} created (re-run of {source.name})")
    if wait:
        result.run = follow_to_end(cluster, run, wait_timeout, on_status)
        emit("finished", f"pipelineexecutions/{run} {result.run.status}")
    return result


def _definition(pipeline: dict[str, Any]) -> PipelineDefinition:
    from jupyter_ack.ops.runs import definition_of

    definition = definition_of(pipeline)
    if definition is None or not definition.ok:
        name = pipeline["metadata"]["name"]
        raise SubmitError(
            f"pipelines/{name} holds no valid definition to re-run",
            hint=f"`kubectl get pipeline {name} -o yaml` shows what it holds",
        )
    return definition


def _selection(
    definition: PipelineDefinition, from_step: str | None, steps: list[str] | None
) -> list[str]:
    """The selected steps, in document order; [] for a whole re-run."""
    dag = definition.dag
    wanted = [from_step] if from_step else list(steps or [])
    unknown = [s for s in wanted if s not in dag.nodes]
    if unknown:
        raise ManifestError(
            [f"no step {s!r} in pipeline {definition.name}" for s in unknown],
            hint=f"its steps: {', '.join(dag.nodes)}",
        )
    if from_step:
        return dag.downstream(from_step)
    chosen = set(wanted)
    after = {n for s in chosen for n in dag.downstream(s)} - chosen
    between = [n for n in dag.upstream(list(chosen)) if n in after]
    if between:
        raise ManifestError(
            [f"steps between two selected ones must be selected too: {', '.join(between)}"],
            hint=f"--steps {','.join(n for n in dag.nodes if n in chosen or n in between)}",
        )
    return [n for n in dag.nodes if n in chosen]


def _check_source(source: RunStatus, name: str) -> None:
    if not source.finished:
        raise SubmitError(
            f"run {name} is {source.status}: a selective re-run takes the other steps from a "
            "finished run",
            hint=f"wait for it (`jupyter-ack status {name} --watch`) or stop it first",
        )
    if not source.arn:
        raise SubmitError(
            f"run {name} never started in SageMaker ({source.problem or source.status}): "
            "there are no steps to take from it",
            hint="re-run it whole (without --from-step / --steps)",
        )


def _check_needs(definition: PipelineDefinition, source: Run, selected: list[str]) -> None:
    """Every step a selected one reads from directly (and that is not selected itself) must
    have succeeded in the source run: its outputs are what the new run reuses."""
    pred = definition.dag.predecessors()
    needed = sorted({p for s in selected for p in pred.get(s, []) if p not in selected})
    if not needed:
        return
    try:
        ran = {s.name: s.status for s in source.status(steps=True).steps}
    except Exception:  # no step list (no AWS access): SageMaker itself will judge
        return
    if not ran:
        return
    missing = [f"{n} ({ran.get(n, 'did not run')})" for n in needed if ran.get(n) != "Succeeded"]
    if missing:
        first = next(n for n in definition.dag.nodes if n in needed and ran.get(n) != "Succeeded")
        raise SubmitError(
            f"the selected steps need {', '.join(missing)} from run {source.name}, which did "
            "not succeed there",
            hint=f"re-run from that step instead: --from-step {first}",
        )


def _check_unchanged(
    definition: PipelineDefinition, source: RunStatus, selected: list[str]
) -> None:
    """Refuse when a step the selection reads from (and does not run) changed since the source
    run: its outputs from that run would not be what the new definition makes."""
    from jupyter_ack.aws.clients import client
    from jupyter_ack.aws.sagemaker import execution_definition

    assert source.arn is not None
    try:
        then = json.loads(execution_definition(client("sagemaker", source.region), source.arn))
    except Exception:  # cannot read what the source ran: SageMaker itself will judge
        return
    if not isinstance(then, dict):
        return
    old = {s.get("Name"): s for s in _all_steps(then)}
    new = {s.get("Name"): s for s in _all_steps(definition.data)}
    changed = [
        step
        for step in definition.dag.upstream(selected)
        if json.dumps(old.get(step), sort_keys=True) != json.dumps(new.get(step), sort_keys=True)
    ]
    if changed:
        raise SubmitError(
            f"the definition changed since run {source.name} in {', '.join(changed)}, which the "
            "selected steps read from: their outputs from that run no longer match",
            hint=f"select them too (--steps {','.join([*changed, *selected])}) or re-run whole",
        )


def _all_steps(data: Any) -> list[dict[str, Any]]:
    """Every step of a definition, branch steps included."""
    from jupyter_ack.pipeline.dag import NESTED_STEP_KEYS

    out: list[dict[str, Any]] = []
    todo = list((data or {}).get("Steps") or [])
    while todo:
        step = todo.pop()
        if not isinstance(step, dict):
            continue
        out.append(step)
        args = step.get("Arguments") or {}
        for key, _branch in NESTED_STEP_KEYS.get(str(step.get("Type")), ()):
            nested = args.get(key) if isinstance(args, dict) else None
            if isinstance(nested, list):
                todo.extend(nested)
    return out

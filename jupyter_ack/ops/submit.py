"""Submit a definition the safe way, reporting each stage as an event for the view to render.

Stages (each only when the one before succeeded, so nothing is half-applied):
``validated`` -> ``connected`` (the cluster answers and has the ACK CRDs) -> ``published``
(when a bucket is given) -> ``ready`` (the objects, built once: exactly what is applied and
what the handoff card shows) -> ``applied`` (server-side apply of the Pipeline) -> ``synced``
(ACK.ResourceSynced) -> ``run_created`` (the PipelineExecution, created once under a name
chosen once, so a retry never starts a second run) -> ``finished`` (with ``wait``).
Without a cluster (``apply=False``, or none reachable and ``need_cluster=False``) the stage
after ``ready`` is ``handoff``: the published bundle is the result.

One validation, one cluster check, one manifest build and one publish per submit. The CLI, the
magics and the server render these events; none of them orchestrates on its own.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import EXECUTIONS, PIPELINES, RECOVERABLE, SYNCED, TERMINAL
from jupyter_ack.bundle.format import DEFAULT_PREFIX
from jupyter_ack.errors import ClusterError, SubmitError
from jupyter_ack.pipeline.diagnostics import VALIDATE_HINT

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.ack.manifests import Manifests
    from jupyter_ack.bundle.publish import Published
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.model import RunStatus

STAGES = (
    "validated",
    "connected",
    "published",
    "ready",
    "handoff",
    "applied",
    "retrying",
    "synced",
    "run_created",
    "finished",
)


@dataclass
class SubmitResult:
    """What a submission did so far; the events carry it, and ``submit`` returns it."""

    namespace: str
    pipeline_name: str
    manifests: Manifests | None = None
    published: Published | None = None
    cluster: Cluster | None = None
    pipeline: dict[str, Any] | None = None
    pipeline_changed: bool = False
    execution: dict[str, Any] | None = None
    execution_created: bool = False
    run: RunStatus | None = None
    dry_run: bool = False
    handoff_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def run_name(self) -> str | None:
        return None if self.execution is None else str(self.execution["metadata"]["name"])

    @property
    def applied(self) -> bool:
        return self.pipeline is not None and not self.dry_run

    def to_json(self) -> dict[str, Any]:
        pipeline = self.pipeline or (self.manifests.pipeline if self.manifests else {})
        return {
            "dry_run": self.dry_run,
            "namespace": self.namespace,
            "pipeline": (pipeline.get("metadata") or {}).get("name"),
            "pipeline_changed": self.pipeline_changed,
            "run": self.run_name,
            "run_created": self.execution_created,
            "published": self.published.to_json() if self.published else None,
            "status": self.run.to_json() if self.run else None,
            "handoff_reason": self.handoff_reason,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class SubmitEvent:
    """One stage reached: ``stage`` (one of :data:`STAGES`), a line for a person, and the
    result so far."""

    stage: str
    message: str
    result: SubmitResult


OnEvent = Callable[[SubmitEvent], None]


def submit(
    definition: PipelineDefinition,
    *,
    role_arn: str,
    name: str | None = None,
    bucket: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    kms_key_id: str | None = None,
    execute: bool = False,
    parameters: dict[str, str] | None = None,
    run_name: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    kubeconfig: str | None = None,
    cluster: Cluster | Callable[[], Cluster] | None = None,
    apply: bool = True,
    need_cluster: bool = True,
    dry_run: bool = False,
    wait: bool = False,
    sync_timeout: float = 300.0,
    wait_timeout: float | None = None,
    on_event: OnEvent | None = None,
    on_status: Callable[[RunStatus], None] | None = None,
) -> SubmitResult:
    """See the module docstring. Raises SubmitError, ClusterError, AwsError, ManifestError,
    PublishError; what an error stops is never half-done.

    ``cluster`` is a connection, a function making one (called once), or None to connect
    with ``context``, ``namespace`` and ``kubeconfig`` as kubectl would.
    """
    from jupyter_ack.ack.manifests import annotate, manifests

    pipeline_name = name or definition.name or ""
    result = SubmitResult(namespace or "default", pipeline_name, dry_run=dry_run)
    emit = emitter(on_event, result)

    problem = definition.problem("nothing was published or applied")
    if problem:
        raise SubmitError(problem, hint=VALIDATE_HINT)
    emit("validated", f"{pipeline_name}: valid")

    if apply:
        try:
            if callable(cluster):  # a view's way to connect (the magics use their defaults)
                cluster = cluster()
            cluster = cluster or _connect(context, namespace, kubeconfig)
            cluster.check()
        except ClusterError as e:
            if need_cluster:
                raise
            cluster = None
            result.handoff_reason = f"no cluster to apply to ({e.message})"
        if cluster is not None:
            result.cluster, result.namespace = cluster, cluster.namespace
            emit(
                "connected",
                f"cluster {cluster.where}, namespace {cluster.namespace}: ACK SageMaker CRDs found",
            )
    else:
        cluster = None
        result.handoff_reason = "nothing is applied (--no-cluster, or %ack_handoff)"

    # One build, with a run name chosen now: the card, the bundle and the cluster see the same.
    built = manifests(
        definition,
        name=pipeline_name,
        role_arn=role_arn,
        namespace=result.namespace,
        execute=True,
        parameters=parameters,
        execution_name=run_name,
    )
    if bucket and not dry_run:
        from jupyter_ack.bundle.publish import publish

        result.published = publish(
            definition,
            bucket=bucket,
            prefix=prefix,
            name=pipeline_name,
            role_arn=role_arn,
            namespace=result.namespace,
            kms_key_id=kms_key_id,
            built=built,
        )
        state = "published" if result.published.uploaded else "unchanged"
        emit("published", f"{state}: {result.published.s3_uri}")
        built = annotate(built, result.published.s3_uri, result.published.version_id)
    shown = built if (execute or cluster is None) else built.without_execution()
    result.manifests = shown
    emit("ready", f"objects ready: {', '.join(_names(shown))}")
    if cluster is None:
        emit("handoff", f"the handoff is the result: {result.handoff_reason}")
        return result
    return apply_objects(
        cluster,
        built.pipeline,
        built.execution if execute else None,
        dry_run=dry_run,
        wait=wait,
        sync_timeout=sync_timeout,
        wait_timeout=wait_timeout,
        on_event=on_event,
        on_status=on_status,
        result=result,
    )


def apply_objects(
    cluster: Cluster,
    pipeline: dict[str, Any],
    execution: dict[str, Any] | None,
    *,
    dry_run: bool = False,
    wait: bool = False,
    sync_timeout: float = 300.0,
    wait_timeout: float | None = None,
    on_event: OnEvent | None = None,
    on_status: Callable[[RunStatus], None] | None = None,
    result: SubmitResult | None = None,
) -> SubmitResult:
    """Apply the Pipeline, wait until ACK has synced it, then create the run once.

    The second half of :func:`submit`, and the whole of the DevOps path (``jupyter-ack
    handoff --apply``), whose bundle names its run with ``generateName``.
    """
    from jupyter_ack.ack.manifests import display_name_for
    from jupyter_ack.ack.manifests import run_name as new_run_name

    pname = str(pipeline["metadata"]["name"])
    result = result or SubmitResult(cluster.namespace, pname, cluster=cluster, dry_run=dry_run)
    emit = emitter(on_event, result)

    if execution is not None and not execution["metadata"].get("name"):
        # Name the run here, once: a retried create then finds it instead of starting another.
        execution = copy.deepcopy(execution)
        base = execution["metadata"].pop("generateName", "").rstrip("-") or pname
        execution["metadata"]["name"] = new_run_name(base)
        spec = execution.setdefault("spec", {})
        display = display_name_for(execution["metadata"]["name"])
        if display and not spec.get("pipelineExecutionDisplayName"):
            spec["pipelineExecutionDisplayName"] = display
    before = cluster.get(PIPELINES, pname)
    applied = cluster.apply(pipeline, dry_run=dry_run)
    result.pipeline = applied
    result.pipeline_changed = before is None or (
        before["metadata"].get("resourceVersion") != applied["metadata"].get("resourceVersion")
    )
    verb = "applied" if result.pipeline_changed else "unchanged"
    if dry_run:
        emit("applied", f"dry run: pipelines/{pname} would be {verb}")
        if execution is not None:
            created, _ = cluster.create(execution, dry_run=True)
            result.execution = created
            emit(
                "run_created",
                f"dry run: pipelineexecutions/{created['metadata']['name']} would be created",
            )
        return result
    emit("applied", f"pipelines/{pname} {verb}; waiting for ACK to sync it")
    wait_synced(cluster, pname, sync_timeout, lambda m: emit("retrying", m))
    emit("synced", f"pipelines/{pname} synced by ACK")
    if execution is None:
        return result
    obj, created_now = cluster.create(execution)
    result.execution, result.execution_created = obj, created_now
    run = obj["metadata"]["name"]
    state = "created" if created_now else "already exists: not started again"
    emit("run_created", f"pipelineexecutions/{run} {state}")
    if wait:
        result.run = follow_to_end(cluster, run, wait_timeout, on_status)
        emit("finished", f"pipelineexecutions/{run} {result.run.status}")
    return result


def wait_synced(
    cluster: Cluster, name: str, timeout: float, say: Callable[[str], None]
) -> dict[str, Any]:
    """Watch the Pipeline until ACK.ResourceSynced=True; a terminal condition stops at once."""
    from jupyter_ack.ack.resources import condition_true
    from jupyter_ack.ack.watch import Event, Health, subscribe

    done = threading.Event()
    outcome: dict[str, Any] = {}
    told: set[str] = set()

    def on_event(event: Event) -> None:
        if event.name != name or event.type == "DELETED":
            return
        terminal = condition_true(event.object, TERMINAL)
        if terminal:
            outcome["terminal"] = terminal.get("message", "")
            done.set()
        elif condition_true(event.object, SYNCED):
            outcome["object"] = event.object
            done.set()
        elif recoverable := condition_true(event.object, RECOVERABLE):
            message = str(recoverable.get("message", ""))
            if message not in told:
                told.add(message)
                say(f"ACK is retrying: {message}")

    def on_health(health: Health) -> None:
        if health.problem and "unreachable" not in told:
            told.add("unreachable")
            say(f"the cluster does not answer ({health.problem}); retrying")
        if health.lost:
            outcome["lost"] = health.problem
            done.set()

    unsubscribe = subscribe(cluster, PIPELINES, on_event, on_health=on_health)
    try:
        if not done.wait(timeout):
            raise SubmitError(
                f"pipelines/{name} was not synced by ACK within {timeout:g} s",
                hint=f"is the ACK SageMaker controller running? `kubectl describe pipeline {name}`",
            )
    finally:
        unsubscribe()
    if "lost" in outcome:
        raise ClusterError(
            f"gave up waiting for pipelines/{name}: {outcome['lost']}",
            hint="check the cluster is up (`kubectl cluster-info`) and submit again",
        )
    if "terminal" in outcome:
        raise SubmitError(
            f"ACK cannot create pipelines/{name}: {outcome['terminal']}",
            hint="fix the spec (name, role, definition) and submit again",
        )
    obj: dict[str, Any] = outcome["object"]
    return obj


def follow_to_end(
    cluster: Cluster,
    run: str,
    timeout: float | None,
    on_status: Callable[[RunStatus], None] | None = None,
) -> RunStatus:
    """Follow ``run`` until it has settled; SubmitError when ``timeout`` passes first."""
    from jupyter_ack.status.follow import follow

    with follow(cluster, run, on_status) as lease:
        final = lease.wait(timeout)
        lease.raise_if_lost()
        if final is None or not lease.done.is_set():
            raise SubmitError(
                f"{EXECUTIONS}/{run} did not finish within {timeout:g} s",
                hint=f"follow it with `jupyter-ack status {run} --watch`",
            )
        return final


def emitter(on_event: OnEvent | None, result: SubmitResult) -> Callable[[str, str], None]:
    def emit(stage: str, message: str) -> None:
        if on_event is not None:
            on_event(SubmitEvent(stage, message, result))

    return emit


def _connect(context: str | None, namespace: str | None, kubeconfig: str | None) -> Cluster:
    from jupyter_ack.ack.cluster import connect

    return connect(context=context, namespace=namespace, kubeconfig=kubeconfig)


def _names(built: Manifests) -> list[str]:
    from jupyter_ack.ack.resources import PLURALS

    return [f"{PLURALS[d['kind']]}/{d['metadata']['name']}" for d in built.documents]

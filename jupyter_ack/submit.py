"""Submit a definition to a cluster the safe way, and optionally follow the run to its end.

Order (each step only when the one before succeeded, so nothing is half-applied):
validate -> check the cluster and its ACK CRDs -> publish (when a bucket is given) ->
server-side apply the Pipeline -> wait for ACK.ResourceSynced -> create the
PipelineExecution (only if absent, under a name chosen once, so a retry never starts a
second run) -> follow it (with ``wait``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import JupyterAckError

if TYPE_CHECKING:
    from .cluster import Cluster
    from .definition import PipelineDefinition
    from .manifests import Manifests
    from .publish import Published
    from .status import RunStatus

Progress = Callable[[str], None]


class SubmitError(JupyterAckError):
    """The submission stopped; the message says at which step and why."""


@dataclass
class SubmitResult:
    pipeline: dict[str, Any]
    pipeline_changed: bool
    execution: dict[str, Any] | None = None
    execution_created: bool = False
    published: Published | None = None
    run: RunStatus | None = None
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def run_name(self) -> str | None:
        return None if self.execution is None else str(self.execution["metadata"]["name"])

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "namespace": self.pipeline["metadata"].get("namespace"),
            "pipeline": self.pipeline["metadata"]["name"],
            "pipeline_changed": self.pipeline_changed,
            "run": self.run_name,
            "run_created": self.execution_created,
            "published": self.published.to_json() if self.published else None,
            "status": self.run.to_json() if self.run else None,
            "notes": self.notes,
        }


def submit(
    definition: PipelineDefinition,
    *,
    name: str | None = None,
    role_arn: str,
    bucket: str | None = None,
    prefix: str = "jupyter-ack",
    kms_key_id: str | None = None,
    execute: bool = False,
    parameters: dict[str, str] | None = None,
    run_name: str | None = None,
    wait: bool = False,
    context: str | None = None,
    namespace: str | None = None,
    dry_run: bool = False,
    sync_timeout: float = 300.0,
    wait_timeout: float | None = None,
    cluster: Cluster | None = None,
    progress: Progress | None = None,
    on_status: Callable[[RunStatus], None] | None = None,
) -> SubmitResult:
    """See the module docstring. Raises :class:`SubmitError` (or a ClusterError, AwsError)."""
    from .cluster import connect
    from .manifests import manifests

    say = progress or (lambda _msg: None)
    if definition.data is None or not definition.ok:
        errors = [d for d in definition.validate() if d.severity == "error"]
        first = f": {errors[0].code}: {errors[0].message}" if errors else ""
        raise SubmitError(
            f"the definition has {len(errors)} error(s){first}; nothing was published or applied",
            hint="run `jupyter-ack validate` on it and fix the errors",
        )
    cluster = cluster or connect(context=context, namespace=namespace)
    cluster.check()
    say(f"cluster {cluster.where}, namespace {cluster.namespace}: ACK SageMaker CRDs found")
    pipeline_name = name or definition.name

    def build(published: Published | None = None) -> Manifests:
        return manifests(
            definition,
            name=pipeline_name,
            role_arn=role_arn,
            namespace=cluster.namespace,
            execute=execute,
            parameters=parameters,
            execution_name=run_name,
            s3_uri=published.s3_uri if published else None,
            version_id=published.version_id if published else None,
        )

    built = build()  # every check on names and parameters, before anything is written
    published = None
    if bucket and not dry_run:
        from .publish import publish

        published = publish(
            definition,
            bucket=bucket,
            prefix=prefix,
            name=pipeline_name,
            role_arn=role_arn,
            namespace=cluster.namespace,
            parameters=parameters,
            kms_key_id=kms_key_id,
        )
        say(f"{'published' if published.uploaded else 'unchanged'}: {published.s3_uri}")
        built = build(published)  # now annotated with the artefact's URI and version
    result = apply_objects(
        cluster,
        built.pipeline,
        built.execution,
        dry_run=dry_run,
        wait=wait,
        sync_timeout=sync_timeout,
        wait_timeout=wait_timeout,
        say=say,
        on_status=on_status,
    )
    result.published = published
    return result


def apply_objects(
    cluster: Cluster,
    pipeline: dict[str, Any],
    execution: dict[str, Any] | None,
    *,
    dry_run: bool = False,
    wait: bool = False,
    sync_timeout: float = 300.0,
    wait_timeout: float | None = None,
    say: Progress = lambda _msg: None,
    on_status: Callable[[RunStatus], None] | None = None,
) -> SubmitResult:
    """Apply the Pipeline, wait until ACK has synced it, then create the run once.

    Shared by ``submit`` and the DevOps path (``jupyter-ack handoff --apply``).
    """
    from .manifests import run_name as new_run_name

    if execution is not None and not execution["metadata"].get("name"):
        # Name the run here, once: a retried create then finds it instead of starting another.
        execution = json.loads(json.dumps(execution))
        base = (
            execution["metadata"].pop("generateName", "").rstrip("-")
            or pipeline["metadata"]["name"]
        )
        execution["metadata"]["name"] = new_run_name(base)
    before = cluster.get("pipelines", pipeline["metadata"]["name"])
    applied = cluster.apply(pipeline, dry_run=dry_run)
    changed = before is None or (
        before["metadata"].get("resourceVersion") != applied["metadata"].get("resourceVersion")
    )
    result = SubmitResult(applied, changed, dry_run=dry_run)
    pname = applied["metadata"]["name"]
    if dry_run:
        say(f"dry run: pipelines/{pname} would be {'applied' if changed else 'unchanged'}")
        if execution is not None:
            created, _ = cluster.create(execution, dry_run=True)
            result.execution = created
            say(f"dry run: pipelineexecutions/{created['metadata']['name']} would be created")
        return result
    say(f"pipelines/{pname} {'applied' if changed else 'unchanged'}; waiting for ACK to sync it")
    wait_synced(cluster, pname, sync_timeout, say)
    if execution is None:
        return result
    obj, created_now = cluster.create(execution)
    result.execution, result.execution_created = obj, created_now
    run = obj["metadata"]["name"]
    state = "created" if created_now else "already exists: not started again"
    say(f"pipelineexecutions/{run} {state}")
    if wait:
        result.run = follow_to_end(cluster, run, wait_timeout, on_status)
    return result


def wait_synced(cluster: Cluster, name: str, timeout: float, say: Progress) -> dict[str, Any]:
    """Watch the Pipeline until ACK.ResourceSynced=True; a terminal condition stops at once."""
    from .watch import informer

    done = threading.Event()
    outcome: dict[str, Any] = {}
    told: set[str] = set()

    def on_event(event: Any) -> None:
        if event.name != name or event.type == "DELETED":
            return
        conditions = {
            c.get("type"): c for c in (event.object.get("status") or {}).get("conditions") or []
        }
        terminal, recoverable = conditions.get("ACK.Terminal"), conditions.get("ACK.Recoverable")
        synced = conditions.get("ACK.ResourceSynced")
        if terminal and terminal.get("status") == "True":
            outcome["terminal"] = terminal.get("message", "")
            done.set()
        elif synced and synced.get("status") == "True":
            outcome["object"] = event.object
            done.set()
        elif recoverable and recoverable.get("status") == "True":
            message = str(recoverable.get("message", ""))
            if message not in told:
                told.add(message)
                say(f"ACK is retrying: {message}")

    unsubscribe = informer(cluster, "pipelines").subscribe(on_event)
    try:
        if not done.wait(timeout):
            raise SubmitError(
                f"pipelines/{name} was not synced by ACK within {timeout:g} s",
                hint=f"is the ACK SageMaker controller running? `kubectl describe pipeline {name}`",
            )
    finally:
        unsubscribe()
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
    from .follow import RunFollower

    follower = RunFollower(cluster, run, on_status).start()
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        final = follower.wait(timeout)
        if final is None or (deadline is not None and not follower.done.is_set()):
            raise SubmitError(
                f"pipelineexecutions/{run} did not finish within {timeout:g} s",
                hint=f"follow it with `jupyter-ack status {run} --watch`",
            )
        return final
    finally:
        follower.stop()

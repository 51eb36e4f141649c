"""The run handle: find a run (by name, or the latest), list runs and pipelines, read a run's
status with its steps, follow it, stop it, and find the definition it runs.

Every view (CLI, magics, panel, server) calls these; none of them reads the ACK objects for
itself. Stopping is a delete of the PipelineExecution (that is how ACK stops a run), and the
``retain`` deletion policy, which leaves the run going, is reported wherever stop is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import EXECUTIONS, PIPELINES, retains_on_delete
from jupyter_ack.errors import NotFoundError
from jupyter_ack.status.model import (
    PipelineStatus,
    RunStatus,
    from_object,
    pipeline_from_object,
)

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.follow import Follow, OnChange

STATUS_TIMEOUT = 5.0  # seconds a one-shot status waits for SageMaker's step list


@dataclass(frozen=True)
class StopResult:
    """What a stop did: the run's state before, and whether ACK will stop it in SageMaker."""

    name: str
    namespace: str
    state: str
    retained: bool
    deleted: bool

    @property
    def message(self) -> str:
        if self.retained:
            return (
                f"deleted pipelineexecutions/{self.name} ({self.state}), but its deletion "
                "policy is retain: the run goes on in SageMaker"
            )
        return (
            f"deleted pipelineexecutions/{self.name} ({self.state}); ACK stops the run "
            "(the SageMaker record stays)"
        )

    @property
    def warning(self) -> str | None:
        return (
            f"{self.name} has deletion-policy retain: deleting the object will NOT stop the run"
            if self.retained
            else None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "state": self.state,
            "retained": self.retained,
            "deleted": self.deleted,
            "message": self.message,
        }


@dataclass(frozen=True)
class Run:
    """One PipelineExecution in one cluster namespace."""

    cluster: Cluster
    name: str

    @property
    def namespace(self) -> str:
        return self.cluster.namespace

    def object(self) -> dict[str, Any]:
        """The PipelineExecution object; :class:`NotFoundError` when it is gone."""
        obj = self.cluster.get(EXECUTIONS, self.name)
        if obj is None:
            raise _no_run(self.name, self.cluster.namespace)
        return obj

    def status(self, *, steps: bool = True, timeout: float = STATUS_TIMEOUT) -> RunStatus:
        """The run now, with its steps when SageMaker answers within ``timeout``."""
        first = from_object(self.object())
        if not steps or first.arn is None:
            return first
        with self.follow(steps=True) as lease:
            for run in lease.updates(timeout=timeout):
                if run.steps_source != "not polled":
                    return run
            return lease.current or first

    def follow(self, on_change: OnChange | None = None, *, steps: bool = True) -> Follow:
        """A lease on this process's shared follower of the run (close it when done)."""
        from jupyter_ack.status.follow import follow

        return follow(self.cluster, self.name, on_change, steps=steps)

    def stop(self) -> StopResult:
        """Delete the PipelineExecution: ACK then stops the run in SageMaker, unless the
        object's deletion policy is ``retain``."""
        obj = self.object()
        state = from_object(obj).status
        deleted = self.cluster.delete(EXECUTIONS, self.name)
        return StopResult(self.name, self.namespace, state, retains_on_delete(obj), deleted)

    def pipeline(self) -> dict[str, Any] | None:
        """The ACK Pipeline object this run executes (matched on the SageMaker name)."""
        wanted = (self.object().get("spec") or {}).get("pipelineName")
        for p in self.cluster.list(PIPELINES).get("items", []):
            if (p.get("spec") or {}).get("pipelineName") == wanted:
                found: dict[str, Any] = p
                return found
        return None

    def definition(self) -> PipelineDefinition | None:
        """The definition the run's Pipeline object holds; None when it cannot be read."""
        return definition_of(self.pipeline())


def definition_of(pipeline: dict[str, Any] | None) -> PipelineDefinition | None:
    """The definition held inline by an ACK Pipeline object (where the controller wants it)."""
    from jupyter_ack.pipeline.sources import load

    spec = (pipeline or {}).get("spec") or {}
    text = spec.get("pipelineDefinition")
    if not isinstance(text, str):
        return None
    defn = load(text, name=spec.get("pipelineName"))
    return defn if defn.data is not None else None


def get(cluster: Cluster, name: str) -> Run:
    """The run ``name``; :class:`NotFoundError` when there is no such run."""
    if cluster.get(EXECUTIONS, name) is None:
        raise _no_run(name, cluster.namespace)
    return Run(cluster, name)


def latest(cluster: Cluster) -> Run:
    """The newest run in the cluster's namespace."""
    runs = list_runs(cluster)
    if not runs:
        raise NotFoundError(
            f"no runs in namespace {cluster.namespace}",
            hint="submit one (`jupyter-ack submit DEF --execute`) or pick another namespace (-n)",
        )
    return Run(cluster, runs[0].name)


def find(cluster: Cluster, name: str | None) -> Run:
    """``name`` if given, else the latest run: what ``status`` and ``%ack_status`` take."""
    return get(cluster, name) if name else latest(cluster)


def list_runs(cluster: Cluster, pipeline: str | None = None) -> list[RunStatus]:
    """The namespace's runs, newest first (``pipeline``: the SageMaker name, or the object's)."""
    items = cluster.list(EXECUTIONS).get("items", [])
    created = {
        str(o["metadata"]["name"]): str(o["metadata"].get("creationTimestamp") or "") for o in items
    }
    runs = [from_object(o) for o in items]
    if pipeline:
        runs = [r for r in runs if pipeline in (r.pipeline, _object_of(r.pipeline))]
    return sorted(runs, key=lambda r: (r.start or created.get(r.name, ""), r.name), reverse=True)


def list_pipelines(cluster: Cluster) -> list[PipelineStatus]:
    """The namespace's pipelines, by name."""
    items = cluster.list(PIPELINES).get("items", [])
    return sorted((pipeline_from_object(o) for o in items), key=lambda p: p.name)


def watch(
    run: str | None = None,
    on_change: OnChange | None = None,
    *,
    context: str | None = None,
    namespace: str | None = None,
    kubeconfig: str | None = None,
    steps: bool = True,
) -> Follow:
    """Follow a run (the latest by default) from Python: ``with watch("r") as w: w.wait()``."""
    from jupyter_ack.ack.cluster import connect

    cluster = connect(context=context, namespace=namespace, kubeconfig=kubeconfig)
    cluster.check()
    return find(cluster, run).follow(on_change, steps=steps)


def _object_of(pipeline_name: str) -> str:
    from jupyter_ack.ack.manifests import kube_name

    return kube_name(pipeline_name)


def _no_run(name: str, namespace: str) -> NotFoundError:
    return NotFoundError(
        f"no run {name!r} in namespace {namespace}",
        hint="`jupyter-ack list` (or %ack_list) shows the runs there",
    )

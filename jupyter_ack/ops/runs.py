"""The run handle: find a run (by name, or the latest), list runs and pipelines, read a run's
status with its steps, follow it, stop it, find the definition it runs, and its history.

Every view (CLI, magics, panel, server) calls these; none of them reads the ACK objects or
SageMaker for itself. Stopping is a delete of the PipelineExecution (that is how ACK stops a
run), and the ``retain`` deletion policy, which leaves the run going, is reported wherever stop
is offered. A run whose object is gone (stopped, or deleted by anyone) is still found in
SageMaker, by the display name jupyter-ack gives every run: its object's name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import EXECUTIONS, PIPELINES, REGION, retains_on_delete
from jupyter_ack.errors import NotFoundError
from jupyter_ack.status.model import (
    PipelineStatus,
    RunStatus,
    from_object,
    from_sagemaker,
    pipeline_from_object,
    steps_from_sagemaker,
)

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.follow import Follow, OnChange

STATUS_TIMEOUT = 5.0  # seconds a one-shot status waits for SageMaker's step list
HISTORY_LIMIT = 50  # executions read per pipeline when looking a run up by name
RECENT = 10  # finished runs per pipeline that `list` shows once their objects are gone


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
    """One run of a pipeline in one cluster namespace: its PipelineExecution object, or, once
    that is gone, SageMaker's record of it (``record``: a ListPipelineExecutions summary)."""

    cluster: Cluster
    name: str
    record: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return self.cluster.namespace

    @property
    def in_cluster(self) -> bool:
        return self.record is None

    def object(self) -> dict[str, Any]:
        """The PipelineExecution object; :class:`NotFoundError` when it is gone."""
        obj = None if self.record is not None else self.cluster.get(EXECUTIONS, self.name)
        if obj is None:
            raise NotFoundError(
                f"run {self.name!r} is no longer in namespace {self.namespace}"
                + (
                    f" (SageMaker has it: {self.record.get('PipelineExecutionStatus')})"
                    if self.record
                    else ""
                ),
                hint="`jupyter-ack history PIPELINE` lists every run SageMaker knows",
            )
        return obj

    def status(self, *, steps: bool = True, timeout: float = STATUS_TIMEOUT) -> RunStatus:
        """The run now, with its steps when SageMaker answers within ``timeout``."""
        if self.record is not None:
            return self._recorded_status(steps)
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
        if self.record is not None:
            wanted = from_sagemaker(self.record, self.namespace).pipeline
        else:
            wanted = str((self.object().get("spec") or {}).get("pipelineName") or "")
        return pipeline_object(self.cluster, wanted)

    def _recorded_status(self, steps: bool) -> RunStatus:
        """A run only SageMaker still knows: DescribePipelineExecution, and its steps."""
        from jupyter_ack.aws.clients import client, describe
        from jupyter_ack.aws.sagemaker import execution_parameters, list_steps
        from jupyter_ack.status.model import merge

        assert self.record is not None
        arn = str(self.record["PipelineExecutionArn"])
        base = from_sagemaker(self.record, self.namespace)
        try:
            sm = client("sagemaker", base.region)
            described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
            run = from_sagemaker({**self.record, **described}, self.namespace)
            run = replace(run, parameters=execution_parameters(sm, arn))
            if not steps:
                return run
            return merge(
                run, described, steps_from_sagemaker(list_steps(sm, arn), run.region), "sagemaker"
            )
        except Exception as e:
            raise describe(e, f"reading run {self.name} from SageMaker") from None

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


def get(cluster: Cluster, name: str, *, history: bool = True) -> Run:
    """The run ``name``: its object in the cluster, else (with ``history``) SageMaker's record
    of a run of this namespace's pipelines; :class:`NotFoundError` when neither has it."""
    if cluster.get(EXECUTIONS, name) is not None:
        return Run(cluster, name)
    if history:
        record = _recorded(cluster, name)
        if record is not None:
            return Run(cluster, name, record)
    raise _no_run(name, cluster.namespace)


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


@dataclass(frozen=True)
class Overview:
    """What ``list`` shows: the namespace's pipelines, its runs (newest first), and why runs
    that are no longer in the cluster could not be added (no AWS access, say)."""

    pipelines: list[PipelineStatus]
    runs: list[RunStatus]
    history_note: str | None = None


def overview(cluster: Cluster, recent: int = RECENT) -> Overview:
    """Pipelines and runs: the cluster's, plus up to ``recent`` finished runs per pipeline that
    only SageMaker still has (stopped ones, deleted ones)."""
    from jupyter_ack.errors import JupyterAckError

    pipelines = list_pipelines(cluster)
    runs = list_runs(cluster)
    note = None
    if recent:
        known = {r.arn for r in runs if r.arn}
        try:
            for p in _pipeline_objects(cluster):
                runs += [
                    r for r in _history_of(cluster, p, recent) if r.arn not in known and r.finished
                ]
        except JupyterAckError as e:
            note = f"runs no longer in the cluster are not shown: {e.message}"
        runs.sort(key=lambda r: (r.start or "", r.name), reverse=True)
    return Overview(pipelines, runs, note)


def history(cluster: Cluster, pipeline: str, limit: int = HISTORY_LIMIT) -> list[RunStatus]:
    """Every run SageMaker knows for ``pipeline`` (the SageMaker name or the ACK object's),
    newest first, at most ``limit``: runs still in the cluster under their object's name, the
    others (stopped, deleted) as SageMaker last saw them."""
    obj = pipeline_object(cluster, pipeline) or _object_named(cluster, pipeline)
    if obj is None:
        obj = {"spec": {"pipelineName": pipeline}}  # not in this namespace: ask SageMaker anyway
    return _history_of(cluster, obj, limit)


def pipeline_object(cluster: Cluster, pipeline_name: str) -> dict[str, Any] | None:
    """The namespace's ACK Pipeline object for a SageMaker pipeline name."""
    for p in _pipeline_objects(cluster):
        if (p.get("spec") or {}).get("pipelineName") == pipeline_name:
            return p
    return None


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


def _pipeline_objects(cluster: Cluster) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.list(PIPELINES).get("items", [])
    return items


def _object_named(cluster: Cluster, name: str) -> dict[str, Any] | None:
    return next((p for p in _pipeline_objects(cluster) if p["metadata"]["name"] == name), None)


def _region(pipeline: dict[str, Any]) -> str | None:
    status = (pipeline.get("status") or {}).get("ackResourceMetadata") or {}
    annotations = (pipeline.get("metadata") or {}).get("annotations") or {}
    region: str | None = status.get("region") or annotations.get(REGION)
    return region


def _executions(pipeline: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """SageMaker's newest executions of the pipeline an ACK object names (AwsError if not)."""
    from jupyter_ack.aws.clients import client, describe, error_code
    from jupyter_ack.aws.sagemaker import list_executions

    name = str((pipeline.get("spec") or {}).get("pipelineName") or "")
    try:
        return list_executions(client("sagemaker", _region(pipeline)), name, limit)
    except Exception as e:
        if error_code(e) in ("ResourceNotFound", "ValidationException"):
            return []  # SageMaker has no such pipeline (yet): no history
        raise describe(e, f"listing the runs of pipeline {name}") from None


def _history_of(cluster: Cluster, pipeline: dict[str, Any], limit: int) -> list[RunStatus]:
    in_cluster = {r.arn: r for r in list_runs(cluster) if r.arn}
    return [
        in_cluster.get(str(e.get("PipelineExecutionArn"))) or from_sagemaker(e, cluster.namespace)
        for e in _executions(pipeline, limit)
    ]


def _recorded(cluster: Cluster, name: str) -> dict[str, Any] | None:
    """SageMaker's record of a run of one of the namespace's pipelines, by display name,
    execution id or ARN; None when no pipeline has it (or SageMaker cannot be asked)."""
    from jupyter_ack.errors import JupyterAckError

    for p in _pipeline_objects(cluster):
        try:
            executions = _executions(p, HISTORY_LIMIT)
        except JupyterAckError:
            return None  # no AWS access: the run is simply not found
        for e in executions:
            arn = str(e.get("PipelineExecutionArn") or "")
            if name in (e.get("PipelineExecutionDisplayName"), arn, arn.rsplit("/", 1)[-1]):
                return e
    return None


def _object_of(pipeline_name: str) -> str:
    from jupyter_ack.ack.manifests import kube_name

    return kube_name(pipeline_name)


def _no_run(name: str, namespace: str) -> NotFoundError:
    return NotFoundError(
        f"no run {name!r} in namespace {namespace}",
        hint="`jupyter-ack list` (or %ack_list) shows the runs there",
    )

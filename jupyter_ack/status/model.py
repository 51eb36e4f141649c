"""One model of a pipeline run, merged from the ACK object and SageMaker's step list, and one
of a pipeline.

Every view (CLI, notebook panel, sidebar) renders these values and nothing else. The ACK
``PipelineExecution`` carries the run's status, failure reason and conditions; per-step
progress only comes from SageMaker (ListPipelineExecutionSteps), when credentials reach it.
:func:`merge` is pure: the followers call it, and so can a test or a server route.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from jupyter_ack.ack.resources import (
    ANNOTATION_S3_URI,
    ANNOTATION_SHA256,
    ANNOTATION_VERSION,
    FINISHED,
    RECOVERABLE,
    SYNCED,
    TERMINAL,
    conditions,
)

NOT_POLLED = "not polled"
LOG_GROUPS = {
    "TrainingJob": ("/aws/sagemaker/TrainingJobs", "jobs"),
    "ProcessingJob": ("/aws/sagemaker/ProcessingJobs", "processing-jobs"),
    "TransformJob": ("/aws/sagemaker/TransformJobs", "transform-jobs"),
    "TuningJob": (None, "hyper-tuning-jobs"),
}


@dataclass(frozen=True)
class StepStatus:
    name: str
    status: str
    display_name: str | None = None
    start: str | None = None
    end: str | None = None
    failure_reason: str | None = None
    attempt: int | None = None
    cache_hit: str | None = None
    from_run: str | None = None  # a selective run's step taken from this source run (its ARN)
    job_arn: str | None = None
    console_url: str | None = None
    logs_url: str | None = None


@dataclass(frozen=True)
class RunStatus:
    """A run as every view shows it. ``status`` is SageMaker's, or ``Pending`` before the
    controller has started it; ``problem`` holds an ACK terminal or recoverable message."""

    name: str
    namespace: str
    pipeline: str
    status: str = "Pending"
    failure_reason: str | None = None
    problem: str | None = None
    synced: str | None = None
    arn: str | None = None
    region: str | None = None
    start: str | None = None
    end: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    steps: tuple[StepStatus, ...] = ()
    steps_source: str = NOT_POLLED
    conditions: tuple[dict[str, Any], ...] = ()
    in_cluster: bool = True  # False: only SageMaker still knows it (stopped, or object deleted)
    unreachable: str | None = None  # the cluster does not answer: why (we keep retrying)
    selected_steps: tuple[str, ...] = ()  # a selective run: the steps it runs

    @property
    def finished(self) -> bool:
        """Nothing will change any more: SageMaker ended the run, or ACK cannot start it."""
        return self.status in FINISHED or (self.problem is not None and self.synced == "terminal")

    @property
    def settled(self) -> bool:
        """Finished, and the final step list is in (or cannot be had): a view may stop here."""
        return self.finished and (self.arn is None or self.steps_source != NOT_POLLED)

    @property
    def failed(self) -> bool:
        """What every view and exit code counts as not a success of a finished run."""
        return self.status in ("Failed", "Stopped") or self.synced == "terminal"

    @property
    def failed_step(self) -> StepStatus | None:
        return next((s for s in self.steps if s.status == "Failed"), None)

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    def duration_seconds(self, now: datetime | None = None) -> float | None:
        start = _parse(self.start)
        if start is None:
            return None
        end = _parse(self.end) or now or datetime.now(timezone.utc)
        return max(0.0, (end - start).total_seconds())

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["finished"] = self.finished
        out["failed"] = self.failed
        failed = self.failed_step
        out["failed_step"] = failed.name if failed else None
        return out


@dataclass(frozen=True)
class PipelineStatus:
    """A pipeline as every view shows it: the ACK ``Pipeline`` object and its artefact."""

    name: str
    namespace: str
    pipeline: str
    status: str = "Pending"
    problem: str | None = None
    synced: str | None = None
    arn: str | None = None
    created: str | None = None
    sha256: str | None = None
    s3_uri: str | None = None
    version_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ack_state(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(problem, synced) from ACK's conditions: a terminal or recoverable message, and
    ``"True"``, ``"False"`` or ``"terminal"``."""
    found = conditions(obj)
    terminal, recoverable = found.get(TERMINAL), found.get(RECOVERABLE)
    sync_state = (found.get(SYNCED) or {}).get("status")
    if terminal and terminal.get("status") == "True":
        return str(terminal.get("message") or "terminal error"), "terminal"
    if recoverable and recoverable.get("status") == "True":
        return str(recoverable.get("message") or "retrying"), sync_state
    return None, sync_state


def pipeline_from_object(obj: dict[str, Any]) -> PipelineStatus:
    """The pipeline as the ACK ``Pipeline`` object describes it."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    annotations = meta.get("annotations") or {}
    problem, synced = _ack_state(obj)
    return PipelineStatus(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        pipeline=str(spec.get("pipelineName", "")),
        status=str(status.get("pipelineStatus") or "Pending"),
        problem=problem,
        synced=synced,
        arn=(status.get("ackResourceMetadata") or {}).get("arn"),
        created=status.get("creationTime") or meta.get("creationTimestamp"),
        sha256=annotations.get(ANNOTATION_SHA256),
        s3_uri=annotations.get(ANNOTATION_S3_URI),
        version_id=annotations.get(ANNOTATION_VERSION),
    )


def from_object(obj: dict[str, Any]) -> RunStatus:
    """The run as the ACK ``PipelineExecution`` object describes it."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    problem, sync_state = _ack_state(obj)
    state = status.get("pipelineExecutionStatus") or "Pending"
    ack = status.get("ackResourceMetadata") or {}
    return RunStatus(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        pipeline=str(spec.get("pipelineName", "")),
        status=str(state),
        failure_reason=status.get("failureReason") or None,
        problem=problem,
        synced=sync_state,
        arn=ack.get("arn"),
        region=ack.get("region"),
        start=status.get("creationTime"),
        end=status.get("lastModifiedTime") if state in FINISHED else None,
        parameters={
            str(p.get("name")): str(p.get("value"))
            for p in spec.get("pipelineParameters") or []
            if isinstance(p, dict)
        },
        conditions=tuple(c for c in status.get("conditions") or [] if isinstance(c, dict)),
        selected_steps=tuple(
            str(s.get("stepName"))
            for s in (spec.get("selectiveExecutionConfig") or {}).get("selectedSteps") or []
            if isinstance(s, dict)
        ),
    )


def from_sagemaker(execution: dict[str, Any], namespace: str) -> RunStatus:
    """A run as SageMaker describes it (a ListPipelineExecutions summary or a
    DescribePipelineExecution answer), for runs whose ACK object is gone. Named by its display
    name, which jupyter-ack sets to the PipelineExecution object's name."""
    arn = str(execution.get("PipelineExecutionArn") or "")
    state = str(execution.get("PipelineExecutionStatus") or "Pending")
    parts = arn.split(":")
    path = parts[5].split("/") if len(parts) > 5 else []
    selective = execution.get("SelectiveExecutionConfig") or {}
    return RunStatus(
        name=str(execution.get("PipelineExecutionDisplayName") or (path[-1] if path else arn)),
        namespace=namespace,
        pipeline=path[1] if len(path) > 1 else "",
        status=state,
        failure_reason=(
            execution.get("FailureReason")
            or execution.get("PipelineExecutionFailureReason")
            or None
        ),
        arn=arn or None,
        region=parts[3] if len(parts) > 3 and parts[3] else None,
        start=iso(execution.get("StartTime") or execution.get("CreationTime")),
        end=iso(execution.get("LastModifiedTime")) if state in FINISHED else None,
        in_cluster=False,
        selected_steps=tuple(str(s.get("StepName")) for s in selective.get("SelectedSteps") or []),
    )


def merge(
    run: RunStatus,
    described: dict[str, Any] | None,
    steps: tuple[StepStatus, ...],
    source: str,
) -> RunStatus:
    """The ACK object's view of a run, made fresher by SageMaker's answer when there is one.

    ``described`` is DescribePipelineExecution's answer (SageMaker knows first: ACK only
    re-reads every 30 s), ``steps`` ListPipelineExecutionSteps', ``source`` where they came
    from (``"sagemaker"``, ``"not polled"``, or why not).
    """
    if described and described.get("PipelineExecutionStatus"):
        state = str(described["PipelineExecutionStatus"])
        run = replace(
            run,
            status=state,
            failure_reason=described.get("FailureReason") or run.failure_reason,
            end=iso(described.get("LastModifiedTime")) if state in FINISHED else None,
            start=run.start or iso(described.get("CreationTime")),
        )
    return replace(run, steps=steps, steps_source=source)


def steps_from_sagemaker(items: list[dict[str, Any]], region: str | None) -> tuple[StepStatus, ...]:
    """ListPipelineExecutionSteps items (asked oldest first), with console and log links."""
    out = []
    for item in items:
        job_kind, job_arn = _job(item.get("Metadata") or {})
        out.append(
            StepStatus(
                name=str(item.get("StepName", "")),
                status=str(item.get("StepStatus", "")),
                display_name=item.get("StepDisplayName"),
                start=iso(item.get("StartTime")),
                end=iso(item.get("EndTime")),
                failure_reason=item.get("FailureReason") or None,
                attempt=item.get("AttemptCount"),
                cache_hit=(item.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn"),
                from_run=(item.get("SelectiveExecutionResult") or {}).get(
                    "SourcePipelineExecutionArn"
                ),
                job_arn=job_arn,
                console_url=_console_url(job_kind, job_arn, region),
                logs_url=_logs_url(job_kind, job_arn, region),
            )
        )
    return tuple(out)


def _job(metadata: dict[str, Any]) -> tuple[str | None, str | None]:
    for kind, value in metadata.items():
        if isinstance(value, dict) and isinstance(value.get("Arn"), str):
            return kind, value["Arn"]
    return None, None


def _job_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _console_url(kind: str | None, arn: str | None, region: str | None) -> str | None:
    if not kind or not arn or not region or kind not in LOG_GROUPS:
        return None
    page = LOG_GROUPS[kind][1]
    return (
        f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
        f"#/{page}/{quote(_job_name(arn))}"
    )


def _logs_url(kind: str | None, arn: str | None, region: str | None) -> str | None:
    if not kind or not arn or not region or not LOG_GROUPS.get(kind, (None,))[0]:
        return None
    group = LOG_GROUPS[kind][0] or ""

    def aws_escape(text: str) -> str:  # the console's own double escaping
        return quote(quote(text, safe=""), safe="").replace("%", "$")

    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{aws_escape(group)}/log-events"
        f"$3FfilterPattern$3D{aws_escape(_job_name(arn))}"
    )


def iso(value: Any) -> str | None:
    """A timestamp as RFC 3339 UTC text, from a datetime (boto3) or text (Kubernetes)."""
    if isinstance(value, datetime):
        moment: datetime = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(timezone.utc)
        if moment.microsecond:  # SageMaker's times are precise to the millisecond
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        return str(value)
    return None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None

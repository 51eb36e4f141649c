"""moto's SageMaker, extended in process so that pipeline executions run through their steps.

moto (5.2.x) answers pipelines and starts executions, but an execution is Succeeded from the
start and ListPipelineExecutionSteps, StopPipelineExecution, UpdatePipelineExecution and
RetryPipelineExecution are not implemented. :func:`install` replaces moto's response methods
for pipeline executions with ones that compute the state from the clock model in
:mod:`jupyter_ack.sandbox.simulation` on every call (nothing runs in the background), and
makes unknown pipelines and executions a ``ResourceNotFound`` as in the real API.
:func:`start_moto` also serves it over HTTP on loopback for boto3, the ACK controller emulator
and the tests.

Also simulated, because a "re-run" needs them as SageMaker has them:

- selective execution (``SelectiveExecutionConfig``): only the selected steps run; the steps
  they depend on are listed with the source execution's result (status, times, metadata and
  attempt count as the source listed them) plus ``SelectiveExecutionResult``; what SageMaker
  refuses is refused with its error code (see :func:`_check_selective`). Known: a listed step
  that was not selected carries the source's ARN there (the SDK's integration tests check
  it), steps downstream of the selection that are not selected do not run. Chosen here, as
  the API does not say: which of them are listed (the selection's ancestors that succeeded in
  the source) and that they show the source's own row;
- pipeline versions: version 1 at CreatePipeline, a new one at each UpdatePipeline that
  changes the definition (as parsed JSON); StartPipelineExecution runs ``PipelineVersionId``
  (the latest when not given) and DescribePipelineExecution says which version ran;
- ListPipelineExecutions keeps every execution (stopped ones, and ones whose ACK object was
  deleted, with their final status), sorts, filters and pages as the API does;
- EventBridge events: every status change of an execution or of one of its steps is sent,
  at the instant the model says it happens, as SageMaker sends it ("SageMaker Model Building
  Pipeline Execution [Step] Status Change", source ``aws.sagemaker``, the documented detail)
  to the default event bus of the execution's account and region (moto's EventBridge, which
  delivers to the rules' SQS targets). A background thread (:class:`EventEmitter`, started
  with the server) sleeps until the next change; it sends nothing while no enabled rule is on
  that bus, so a sandbox nobody set events up on works as before.

The seam with moto is kept thin and typed ``Any``: moto's objects are read and written
by attribute, as moto's own code does. Pinned to moto >=5.2.5,<5.3 (see pyproject).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import random
import re
import socket
import string
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .simulation import (
    ExecutionOverrides,
    ExecutionState,
    Plan,
    RunConfig,
    RunEvents,
    SelectionError,
    SimulationSettings,
    StepState,
    Timeline,
    check_selection,
    evaluate,
    timeline,
)

__all__ = [
    "EventEmitter",
    "ExecutionOverrides",
    "MotoHandle",
    "SimulationSettings",
    "active_settings",
    "install",
    "start_moto",
]

DEFAULT_PAGE = 100  # MaxResults when not given (the API maximum: nothing is cut off silently)
MAX_PAGE = 100
JOB_NAME_MAX = 63  # training, processing, transform jobs and models
TUNING_NAME_MAX = 32
MAX_SELECTED_STEPS = 50
_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")
_EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$"
)
_SOURCE_STATUSES = ("Succeeded", "Failed", "Stopped")  # what a selective execution may reuse
_RUN_ATTR = "jupyter_ack_run"  # where a moto FakePipelineExecution keeps its simulation
_VERSIONS_ATTR = "jupyter_ack_versions"  # where a moto FakePipeline keeps its definitions

_LOCK = threading.RLock()  # the moto server answers on several threads
log = logging.getLogger("jupyter_ack.sandbox.sagemaker")


@dataclass
class _Installation:
    """Per process: moto's classes are patched once, and one settings object is active."""

    settings: SimulationSettings = field(default_factory=SimulationSettings)
    patched: bool = False


_INSTALLATION = _Installation()


# Public API -------------------------------------------------------------------------------------


def active_settings() -> SimulationSettings:
    """The settings every simulated execution in this process reads (the last installed)."""
    return _INSTALLATION.settings


def install(settings: SimulationSettings | None = None) -> SimulationSettings:
    """Extend moto's SageMaker in this process (idempotent) and make ``settings`` the active
    ones (``None`` keeps the active ones); works under ``mock_aws()`` as well as behind a
    server. Settings are per process: a handle started earlier now reads these too."""
    with _LOCK:
        if settings is not None:
            _INSTALLATION.settings = settings
        if not _INSTALLATION.patched:
            _patch_moto()
            _INSTALLATION.patched = True
    return _INSTALLATION.settings


@dataclass
class MotoHandle:
    """A running moto server with simulated pipeline executions."""

    url: str
    settings: SimulationSettings
    server: Any

    def reset(self) -> None:
        """Forget every resource of every service (moto's ``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        with direct.open(request, timeout=10) as response:
            response.read()
        EMITTER.forget()

    def stop(self) -> None:
        EMITTER.release()
        self.server.stop()

    def __enter__(self) -> MotoHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_moto(
    settings: SimulationSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> MotoHandle:
    """Install the extension and serve moto on ``host:port`` (0: any free port)."""
    from moto.server import ThreadedMotoServer

    if port:  # moto's server thread would die on a busy port and start() wait forever
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    active = install(settings)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    EMITTER.hold()
    return MotoHandle(f"http://{bound_host}:{bound_port}", active, server)


# Installing -------------------------------------------------------------------------------------


def _patch_moto() -> None:
    from moto.sagemaker import models
    from moto.sagemaker.responses import SageMakerResponse

    for name, handler in _HANDLERS.items():
        setattr(SageMakerResponse, name, handler)
    # moto says ValidationException for an unknown pipeline; the API says ResourceNotFound
    # (the ACK controller creates a Pipeline when DescribePipeline says so).
    setattr(models, "get_pipeline_from_name", _pipeline_lookup)  # noqa: B010
    setattr(models, "get_pipeline_execution_from_arn", _execution_lookup)  # noqa: B010


def _now() -> float:
    return active_settings().clock()


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _ts(value: Any) -> float:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.timestamp()
    return float(value)


def _not_found(message: str) -> Exception:
    from moto.sagemaker.exceptions import ResourceNotFound

    return ResourceNotFound(message)


def _invalid(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message)


def _constraint(value: Any, member: str, constraint: str) -> Exception:
    """The shape of the API's own input validation errors."""
    return _invalid(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _pipeline_lookup(pipelines: dict[str, Any], name_or_arn: str) -> Any:
    pipeline = pipelines.get(name_or_arn)
    if pipeline is None:
        pipeline = next((p for p in pipelines.values() if p.arn == name_or_arn), None)
    if pipeline is None:
        raise _not_found(f"Pipeline '{name_or_arn}' does not exist.")
    return pipeline


def _find_execution(pipelines: dict[str, Any], arn: str) -> tuple[Any, Any]:
    """The pipeline and the execution an ARN names, or ResourceNotFound."""
    for pipeline in pipelines.values():
        execution = pipeline.pipeline_executions.get(arn)
        if execution is not None:
            return pipeline, execution
    raise _not_found(f"Pipeline execution '{arn}' does not exist.")


def _execution_lookup(pipelines: dict[str, Any], arn: str) -> Any:
    """moto's own lookup, for the calls left to moto (parameters, definition of a run)."""
    return _find_execution(pipelines, arn)[1]


# The simulation attached to one moto execution -------------------------------------------------


@dataclass(frozen=True)
class _Listed:
    """One item of ListPipelineExecutionSteps, with what it sorts and pages by."""

    start: float
    index: int  # document order in the execution's definition: the tie-break
    status: str
    shape: Mapping[str, Any]

    def key(self) -> list[Any]:
        return [self.start, self.index]


@dataclass
class _Run:
    plan: Plan
    config: RunConfig
    events: RunEvents
    suffixes: dict[str, str]  # step -> the random tail of its job names
    package_versions: dict[str, int]  # RegisterModel step -> model package version
    updated_at: float
    stop_tokens: set[str] = field(default_factory=set)
    retry_tokens: set[str] = field(default_factory=set)
    version_id: int = 1  # the pipeline version it runs
    selective: dict[str, Any] | None = None  # SelectiveExecutionConfig as given, for Describe
    # Steps whose results a selective execution reuses, as listed when it started: a later
    # retry of the source must not rewrite what this execution stood on.
    reused: tuple[_Listed, ...] = ()


def _definition_data(definition: Any) -> Any:
    """moto keeps the text, or a dict when the definition came from S3."""
    if isinstance(definition, str):
        try:
            return json.loads(definition)
        except ValueError:
            return None
    return definition


def _new_run(
    backend: Any,
    execution: Any,
    definition: Any,
    start: float,
    selected: list[str] | None = None,
) -> _Run:
    execution_id = execution.arn.rsplit("/", 1)[-1]
    given = {p["Name"]: p["Value"] for p in execution.pipeline_parameters or []}
    plan = Plan.from_definition(_definition_data(definition) or {}, given, execution_id)
    if selected is not None:
        plan = plan.selecting(selected)
    parallelism = (execution.parallelism_configuration or {}).get("MaxParallelExecutionSteps")
    rng = random.SystemRandom()
    alphabet = string.ascii_lowercase + string.digits
    versions: dict[str, int] = {}
    for spec in plan.steps.values():
        if spec.type == "RegisterModel" and plan.runs(spec.name):  # reused: registers nothing
            group = _package_group(plan, spec.name)
            versions[spec.name] = _next_package_version(backend, group, versions, plan)
    return _Run(
        plan=plan,
        config=RunConfig.snapshot(active_settings(), plan),
        events=RunEvents(start=start, parallelism=parallelism),
        suffixes={n: "".join(rng.choices(alphabet, k=10)) for n in plan.steps},
        package_versions=versions,
        updated_at=start,
    )


def _run_of(backend: Any, execution: Any) -> _Run:
    run: _Run | None = getattr(execution, _RUN_ATTR, None)
    if run is None:  # started before the extension was installed: runs from its creation
        run = _new_run(
            backend,
            execution,
            execution.pipeline_definition_for_execution,
            _ts(execution.creation_time),
        )
        setattr(execution, _RUN_ATTR, run)
    return run


def _state(backend: Any, execution: Any) -> tuple[_Run, ExecutionState]:
    run = _run_of(backend, execution)
    settings = active_settings()
    overrides = settings.overrides_for(execution.arn, execution.pipeline_execution_display_name)
    config = run.config.with_overrides(overrides)
    return run, evaluate(run.plan, config, run.events, settings.clock())


def _listed(run: _Run, state: ExecutionState, execution_arn: str) -> list[_Listed]:
    """What ListPipelineExecutionSteps lists: the steps this execution ran, then the ones a
    selective execution reuses (unsorted)."""
    own = [
        _Listed(s.start, s.index, s.status, _step_shape(run, s, execution_arn)) for s in state.steps
    ]
    return own + list(run.reused)


# Pipeline versions -------------------------------------------------------------------------------


def _versions(pipeline: Any) -> list[Any]:
    """The definitions of a pipeline's versions (version N at N - 1). moto has no versions:
    the first look records the current definition as version 1, and every UpdatePipeline goes
    through :func:`update_pipeline`, so nothing is missed."""
    versions: list[Any] | None = getattr(pipeline, _VERSIONS_ATTR, None)
    if versions is None:
        versions = [pipeline.pipeline_definition]
        setattr(pipeline, _VERSIONS_ATTR, versions)
    return versions


def _version(pipeline: Any, version_id: Any) -> tuple[int, Any]:
    """The id and definition StartPipelineExecution runs: ``version_id``, else the latest."""
    versions = _versions(pipeline)
    if version_id is None:
        return len(versions), versions[-1]
    number = int(version_id)
    if not 1 <= number <= len(versions):
        raise _not_found(
            f"Pipeline version {number} of pipeline '{pipeline.pipeline_name}' does not exist "
            f"(versions: 1 to {len(versions)})."
        )
    return number, versions[number - 1]


# Parameters --------------------------------------------------------------------------------------


def check_parameters(declared: list[Any], given: list[Mapping[str, Any]]) -> None:
    """Reject what StartPipelineExecution rejects: names the definition does not declare,
    names given twice, empty strings, values that are not of the declared type or enum."""
    types = {p.get("Name"): p for p in declared if isinstance(p, dict)}
    seen: set[str] = set()
    for item in given:
        name, value = str(item.get("Name")), str(item.get("Value", ""))
        if name in seen:
            raise _invalid(f"Parameter '{name}' is given more than once.")
        seen.add(name)
        spec = types.get(name)
        if spec is None:
            known = ", ".join(sorted(str(n) for n in types)) or "none"
            raise _invalid(
                f"Parameter '{name}' is not defined in the pipeline definition "
                f"(declared parameters: {known})."
            )
        kind = spec.get("Type", "String")
        if value == "":
            raise _invalid('[string "" is too short (length: 0, required minimum: 1)]')
        if not _is_of_type(value, kind):
            raise _invalid(f"Value '{value}' of parameter '{name}' is not a valid {kind}.")
        enum = spec.get("EnumValues")
        if isinstance(enum, list) and value not in [str(v) for v in enum]:
            raise _invalid(
                f"Value '{value}' of parameter '{name}' is not one of its EnumValues {enum}."
            )


def _is_of_type(value: str, kind: str) -> bool:
    checks: dict[str, Callable[[str], object]] = {"Integer": int, "Float": float}
    if kind == "Boolean":
        return value.lower() in ("true", "false")
    try:
        checks.get(kind, str)(value)
    except ValueError:
        return False
    return True


# Shapes of answers ----------------------------------------------------------------------------


def _job_name(execution_id: str, step: str, suffix: str, limit: int = JOB_NAME_MAX) -> str:
    """``pipelines-<execution id>-<step>-<random>``, lowercased, the step cut to fit."""
    if limit < JOB_NAME_MAX:  # tuning job names are too short for the long form
        return f"{execution_id}-{suffix}"[:limit]
    stem = re.sub(r"[^a-z0-9-]+", "-", step.lower())
    room = limit - len(f"pipelines-{execution_id}--{suffix}")
    stem = stem[: max(room, 0)].strip("-") or "step"
    return f"pipelines-{execution_id}-{stem}-{suffix}"


def _package_group(plan: Plan, step: str) -> str:
    args = plan.steps[step].body.get("Arguments")
    group = args.get("ModelPackageGroupName") if isinstance(args, dict) else None
    return plan.render(group) if group is not None else step


def _next_package_version(backend: Any, group: str, planned: dict[str, int], plan: Plan) -> int:
    """One more than the versions earlier executions (and this one) registered in ``group``."""
    count = sum(1 for step in planned if _package_group(plan, step) == group)
    for pipeline in backend.pipelines.values():
        for execution in pipeline.pipeline_executions.values():
            run: _Run | None = getattr(execution, _RUN_ATTR, None)
            if run is not None:
                count += sum(
                    1 for step in run.package_versions if _package_group(run.plan, step) == group
                )
    return count + 1


_JOB_METADATA = {
    "Training": ("TrainingJob", "training-job"),
    "Processing": ("ProcessingJob", "processing-job"),
    "Transform": ("TransformJob", "transform-job"),
    "Tuning": ("TuningJob", "hyper-parameter-tuning-job"),
    "Model": ("Model", "model"),
    "CreateModel": ("Model", "model"),
}


def _metadata(run: _Run, step: StepState, execution_arn: str) -> dict[str, Any] | None:
    """``Metadata`` of a listed step, by step type, with ARNs in the execution's account."""
    prefix = execution_arn.split(":pipeline/", 1)[0]  # arn:<partition>:sagemaker:<region>:<acct>
    plan = run.plan
    spec = plan.steps[step.name]
    if step.type in _JOB_METADATA:
        key, kind = _JOB_METADATA[step.type]
        limit = TUNING_NAME_MAX if step.type == "Tuning" else JOB_NAME_MAX
        name = _job_name(plan.execution_id, step.name, run.suffixes[step.name], limit)
        return {key: {"Arn": f"{prefix}:{kind}/{name}"}}
    if step.type == "RegisterModel":
        group = _package_group(plan, step.name).lower()
        version = run.package_versions[step.name]
        return {"RegisterModel": {"Arn": f"{prefix}:model-package/{group}/{version}"}}
    if step.type == "Lambda":
        function = plan.render(spec.body.get("FunctionArn"))
        return {"Lambda": {"Arn": function, "OutputParameters": []}}
    if step.type == "Condition" and step.outcome is not None:
        return {"Condition": {"Outcome": "True" if step.outcome else "False"}}
    if step.type == "Fail":
        return {"Fail": {"ErrorMessage": step.error_message or ""}}
    return None


def _step_shape(run: _Run, step: StepState, execution_arn: str) -> dict[str, Any]:
    spec = run.plan.steps[step.name]
    out: dict[str, Any] = {"StepName": step.name}
    if spec.display_name is not None:
        out["StepDisplayName"] = spec.display_name
    if spec.description is not None:
        out["StepDescription"] = spec.description
    out["StartTime"] = _dt(step.start)
    if step.end is not None:
        out["EndTime"] = _dt(step.end)
    out["StepStatus"] = step.status
    if step.failure_reason:
        out["FailureReason"] = step.failure_reason
    metadata = _metadata(run, step, execution_arn)
    if metadata is not None:
        out["Metadata"] = metadata
    out["AttemptCount"] = step.attempt
    return out


def _page(
    items: list[Any],
    key: Callable[[Any], list[Any]],
    descending: bool,
    max_results: Any,
    token: Any,
) -> tuple[list[Any], str | None]:
    """One page of ``items`` (already sorted). The token holds the sort key of the last item
    returned, so items that appear between calls never shift a page or come twice."""
    limit = DEFAULT_PAGE if max_results is None else int(max_results)
    if not 1 <= limit <= MAX_PAGE:
        member_constraint = (
            f"Member must have value less than or equal to {MAX_PAGE}"
            if limit > MAX_PAGE
            else "Member must have value greater than or equal to 1"
        )
        raise _constraint(limit, "maxResults", member_constraint)
    if token:
        try:
            last = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
        except ValueError as e:
            raise _invalid("The NextToken is not valid.") from e
        try:  # a token of another call or list compares wrongly: say so, not a 500
            items = [i for i in items if (key(i) < last if descending else key(i) > last)]
        except TypeError as e:
            raise _invalid("The NextToken is not valid.") from e
    page = items[:limit]
    if len(items) <= limit:
        return page, None
    encoded = json.dumps(key(page[-1])).encode()
    return page, base64.urlsafe_b64encode(encoded).decode()


def _sort_order(value: Any) -> bool:
    """True for Descending (the default), after checking the enum as the API does."""
    if value is None:
        return True
    if value not in ("Ascending", "Descending"):
        raise _constraint(
            value, "sortOrder", "Member must satisfy enum value set: [Ascending, Descending]"
        )
    return bool(value == "Descending")


# Handlers: methods set on moto's SageMakerResponse ------------------------------------------------


def _result(body: Any) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(body)


def _check_selective(
    backend: Any, pipeline: Any, config: Mapping[str, Any], plan: Plan
) -> tuple[list[str], tuple[_Listed, ...]]:
    """Refuse a ``SelectiveExecutionConfig`` as SageMaker does; return the selected step names
    and the source's listed steps the execution reuses, marked with SelectiveExecutionResult.

    In this order: SelectedSteps missing, empty or over 50 (the API's input validation, a
    ValidationException); a SourcePipelineExecutionArn that is not an execution ARN
    (ValidationException); one that does not exist (ResourceNotFound, as every call naming
    an unknown execution); one of another pipeline, or still Executing or Stopping
    (ValidationException: the source must be finished; the SDK documents Succeeded, Failed
    and Stopped); then the DAG checks of :func:`check_selection` (ValidationException).
    """
    member = "selectiveExecutionConfig.selectedSteps"
    steps = config.get("SelectedSteps")
    if not isinstance(steps, list):
        raise _invalid(
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"
        )
    names = [str(s.get("StepName", "")) if isinstance(s, dict) else "" for s in steps]
    if not names:
        raise _constraint("[]", member, "Member must have length greater than or equal to 1")
    if len(names) > MAX_SELECTED_STEPS:
        raise _constraint(
            "[" + ", ".join(names) + "]",
            member,
            f"Member must have length less than or equal to {MAX_SELECTED_STEPS}",
        )
    source_arn = config.get("SourcePipelineExecutionArn")
    source: dict[str, _Listed] | None = None
    if source_arn is not None:
        if not _EXECUTION_ARN.match(str(source_arn)):
            raise _constraint(
                source_arn,
                "selectiveExecutionConfig.sourcePipelineExecutionArn",
                f"Member must satisfy regular expression pattern: {_EXECUTION_ARN.pattern}",
            )
        owner, execution = _find_execution(backend.pipelines, source_arn)
        if owner is not pipeline:
            raise _invalid(
                f"Invalid SourcePipelineExecutionArn: {source_arn}. It is an execution of "
                f"pipeline '{owner.pipeline_name}', not of pipeline '{pipeline.pipeline_name}'."
            )
        run, state = _state(backend, execution)
        if state.status not in _SOURCE_STATUSES:
            raise _invalid(
                f"Invalid SourcePipelineExecutionArn: {source_arn}. The source pipeline "
                f"execution is in status {state.status}; it must be Succeeded, Failed or "
                "Stopped."
            )
        source = {str(r.shape["StepName"]): r for r in _listed(run, state, execution.arn)}
    try:
        statuses = None if source is None else {n: r.status for n, r in source.items()}
        reused = check_selection(plan, names, statuses, source_arn)
    except SelectionError as e:
        raise _invalid(str(e)) from e
    rows = []
    for name in reused:
        row = (source or {})[name]
        shape = {
            **row.shape,
            "SelectiveExecutionResult": {"SourcePipelineExecutionArn": source_arn},
        }
        rows.append(_Listed(row.start, plan.steps[name].index, row.status, shape))
    return names, tuple(rows)


def start_pipeline_execution(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        pipeline = _pipeline_lookup(backend.pipelines, self._get_param("PipelineName"))
        token = self._get_param("ClientRequestToken")
        for earlier in pipeline.pipeline_executions.values():
            if token and earlier.client_request_token == token:  # idempotent retry of a call
                return _result({"PipelineExecutionArn": earlier.arn})
        version_id, definition = _version(pipeline, self._get_param("PipelineVersionId"))
        data = _definition_data(definition)
        declared = data.get("Parameters") if isinstance(data, dict) else None
        given = self._get_param("PipelineParameters") or []
        check_parameters(declared if isinstance(declared, list) else [], given)
        now = math.floor(_now() * 1000) / 1000  # the API's precision: CreatedAfter=its own time
        display = self._get_param("PipelineExecutionDisplayName")
        if display is not None and not _DISPLAY_NAME.match(display):
            raise _constraint(
                display,
                "pipelineExecutionDisplayName",
                f"Member must satisfy regular expression pattern: {_DISPLAY_NAME.pattern}",
            )
        selective = self._get_param("SelectiveExecutionConfig")
        selected: list[str] | None = None
        reused: tuple[_Listed, ...] = ()
        if selective is not None:
            values = {p["Name"]: p["Value"] for p in given}
            plan = Plan.from_definition(data or {}, values)
            selected, reused = _check_selective(backend, pipeline, selective, plan)
        started = backend.start_pipeline_execution(
            pipeline.pipeline_name,
            display or f"execution-{int(now * 1000)}",  # what SageMaker names it
            given,
            self._get_param("PipelineExecutionDescription"),
            self._get_param("ParallelismConfiguration"),
            token,
        )
        execution = pipeline.pipeline_executions[started["PipelineExecutionArn"]]
        execution.creation_time = execution.start_time = execution.last_modified_time = _dt(now)
        execution.pipeline_definition_for_execution = definition  # the version it runs
        pipeline.last_execution_time = _dt(now)
        run = _new_run(backend, execution, definition, now, selected)
        run.version_id = version_id
        if selective is not None:
            run.selective = dict(selective)
            run.reused = reused
        setattr(execution, _RUN_ATTR, run)
        EMITTER.follow(backend, pipeline, execution, now, fresh=True)
        return _result({"PipelineExecutionArn": execution.arn})


def describe_pipeline_execution(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        pipeline, execution = _find_execution(
            backend.pipelines, self._get_param("PipelineExecutionArn")
        )
        run, state = _state(backend, execution)
        out: dict[str, Any] = {
            "PipelineArn": pipeline.arn,
            "PipelineExecutionArn": execution.arn,
            "PipelineExecutionDisplayName": execution.pipeline_execution_display_name,
            "PipelineExecutionStatus": state.status,
            "PipelineExperimentConfig": {
                "ExperimentName": pipeline.pipeline_name.lower()[:120],
                "TrialName": run.plan.execution_id,
            },
            "CreationTime": _dt(run.events.start),
            "LastModifiedTime": _dt(max(state.last_modified, run.updated_at)),
            "CreatedBy": execution.created_by,
            "LastModifiedBy": execution.last_modified_by,
        }
        if execution.pipeline_execution_description is not None:
            out["PipelineExecutionDescription"] = execution.pipeline_execution_description
        if state.failure_reason:
            out["FailureReason"] = state.failure_reason
        if execution.parallelism_configuration:
            out["ParallelismConfiguration"] = execution.parallelism_configuration
        if run.selective is not None:
            out["SelectiveExecutionConfig"] = run.selective
        out["PipelineVersionId"] = run.version_id
        return _result(out)


def list_pipeline_executions(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        pipeline = _pipeline_lookup(backend.pipelines, self._get_param("PipelineName"))
        descending = _sort_order(self._get_param("SortOrder"))
        sort_by = self._get_param("SortBy")
        if sort_by not in (None, "CreationTime", "PipelineExecutionArn"):
            raise _constraint(
                sort_by,
                "sortBy",
                "Member must satisfy enum value set: [CreationTime, PipelineExecutionArn]",
            )
        by_arn = sort_by == "PipelineExecutionArn"
        after, before = self._get_param("CreatedAfter"), self._get_param("CreatedBefore")
        rows = []
        for execution in pipeline.pipeline_executions.values():
            run, state = _state(backend, execution)
            created = run.events.start
            if (after is not None and created <= _ts(after)) or (
                before is not None and created >= _ts(before)
            ):
                continue
            row: dict[str, Any] = {
                "PipelineExecutionArn": execution.arn,
                "StartTime": _dt(created),
                "PipelineExecutionStatus": state.status,
                "PipelineExecutionDisplayName": execution.pipeline_execution_display_name,
            }
            if execution.pipeline_execution_description is not None:
                row["PipelineExecutionDescription"] = execution.pipeline_execution_description
            if state.failure_reason:
                row["PipelineExecutionFailureReason"] = state.failure_reason
            rows.append((created, row))

        def key(item: tuple[float, dict[str, Any]]) -> list[Any]:
            arn = item[1]["PipelineExecutionArn"]
            return [arn] if by_arn else [item[0], arn]

        rows.sort(key=key, reverse=descending)
        page, token = _page(
            rows, key, descending, self._get_param("MaxResults"), self._get_param("NextToken")
        )
        out: dict[str, Any] = {"PipelineExecutionSummaries": [row for _, row in page]}
        if token:
            out["NextToken"] = token
        return _result(out)


def list_pipeline_execution_steps(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        arn = self._get_param("PipelineExecutionArn")
        _, execution = _find_execution(backend.pipelines, arn)
        descending = _sort_order(self._get_param("SortOrder"))
        run, state = _state(backend, execution)
        rows = sorted(_listed(run, state, execution.arn), key=_Listed.key, reverse=descending)
        page, token = _page(
            rows,
            _Listed.key,
            descending,
            self._get_param("MaxResults"),
            self._get_param("NextToken"),
        )
        out: dict[str, Any] = {"PipelineExecutionSteps": [dict(row.shape) for row in page]}
        if token:
            out["NextToken"] = token
        return _result(out)


def update_pipeline(self: Any) -> Any:
    """moto's UpdatePipeline, plus the version it creates when the definition changes (the
    API answers with ``PipelineVersionId``), and a pipeline named by its ARN as well."""
    with _LOCK:
        backend = self.sagemaker_backend
        pipeline = _pipeline_lookup(backend.pipelines, self._get_param("PipelineName"))
        versions = _versions(pipeline)
        backend.update_pipeline(
            pipeline.pipeline_name,
            pipeline_display_name=self._get_param("PipelineDisplayName"),
            pipeline_definition=self._get_param("PipelineDefinition"),
            pipeline_definition_s3_location=self._get_param("PipelineDefinitionS3Location"),
            pipeline_description=self._get_param("PipelineDescription"),
            role_arn=self._get_param("RoleArn"),
            parallelism_configuration=self._get_param("ParallelismConfiguration"),
        )
        if _definition_data(pipeline.pipeline_definition) != _definition_data(versions[-1]):
            versions.append(pipeline.pipeline_definition)
        return _result({"PipelineArn": pipeline.arn, "PipelineVersionId": len(versions)})


def stop_pipeline_execution(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        _, execution = _find_execution(backend.pipelines, self._get_param("PipelineExecutionArn"))
        run, state = _state(backend, execution)
        token = self._get_param("ClientRequestToken")
        if token and token in run.stop_tokens:  # the same request again: same answer
            return _result({"PipelineExecutionArn": execution.arn})
        if state.status != "Executing":
            raise _invalid(
                f"Pipeline execution '{execution.arn}' is in status {state.status}. "
                "Only pipelines with 'Executing' status can be stopped."
            )
        run.events.stop_at = _now()
        if token:
            run.stop_tokens.add(token)
        EMITTER.poke()
        return _result({"PipelineExecutionArn": execution.arn})


def update_pipeline_execution(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        _, execution = _find_execution(backend.pipelines, self._get_param("PipelineExecutionArn"))
        run = _run_of(backend, execution)
        now = _now()
        display = self._get_param("PipelineExecutionDisplayName")
        if display is not None:
            if not _DISPLAY_NAME.match(display):
                raise _constraint(
                    display,
                    "pipelineExecutionDisplayName",
                    f"Member must satisfy regular expression pattern: {_DISPLAY_NAME.pattern}",
                )
            execution.pipeline_execution_display_name = display
        description = self._get_param("PipelineExecutionDescription")
        if description is not None:
            execution.pipeline_execution_description = description
        _set_parallelism(run, execution, self._get_param("ParallelismConfiguration"), now)
        run.updated_at = now
        EMITTER.poke()
        return _result({"PipelineExecutionArn": execution.arn})


def retry_pipeline_execution(self: Any) -> Any:
    with _LOCK:
        backend = self.sagemaker_backend
        _, execution = _find_execution(backend.pipelines, self._get_param("PipelineExecutionArn"))
        pipeline, _ = _find_execution(backend.pipelines, execution.arn)
        run, state = _state(backend, execution)
        token = self._get_param("ClientRequestToken")
        if token and token in run.retry_tokens:
            return _result({"PipelineExecutionArn": execution.arn})
        if state.status != "Failed":
            raise _invalid(
                f"Pipeline execution '{execution.arn}' is in status {state.status}. "
                "Only pipeline executions with 'Failed' status can be retried."
            )
        now = _now()
        run.events.retries.append(now)
        _set_parallelism(run, execution, self._get_param("ParallelismConfiguration"), now)
        if token:
            run.retry_tokens.add(token)
        EMITTER.follow(backend, pipeline, execution, now, fresh=False)
        return _result({"PipelineExecutionArn": execution.arn})


def _set_parallelism(run: _Run, execution: Any, config: Any, now: float) -> None:
    if not isinstance(config, dict) or "MaxParallelExecutionSteps" not in config:
        return
    execution.parallelism_configuration = dict(config)
    run.events.parallelism_changes.append((now, int(config["MaxParallelExecutionSteps"])))


# EventBridge events ------------------------------------------------------------------------------

EVENT_SOURCE = "aws.sagemaker"
STEP_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
EMITTER_IDLE = 1.0  # the longest the emitter sleeps (settings can change the future any time)
_EARLIER = 1e-6  # "just before" an instant: its changes are still to be sent


def _event_time(t: float) -> str:
    """Times in events are to the second (``2021-03-15T16:03:14Z``), unlike the API's."""
    return _dt(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lower_keys(value: Any) -> Any:
    """ListPipelineExecutionSteps' ``Metadata`` keys as events spell them (``processingJob``,
    ``arn``)."""
    if isinstance(value, Mapping):
        return {(k[:1].lower() + k[1:]): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


@dataclass
class _Followed:
    """An execution whose changes are still to come, and what was last sent of it."""

    backend: Any
    pipeline: Any
    execution: Any
    until: float  # the changes up to this instant were sent (or went by unheard)
    status: str | None = None
    steps: dict[str, tuple[str, int]] = field(default_factory=dict)  # name: (status, attempt)


@dataclass(frozen=True)
class _Outgoing:
    account: str
    region: str
    entry: dict[str, Any]  # a PutEvents entry


class EventEmitter:
    """Sends each execution's and step's status changes to EventBridge when they happen.

    Executions are followed from their start (and again from a retry) until their last
    change has gone by. :meth:`emit_due` sends what happened since it last looked (every
    change, in order, each with its own time) and says when the next one is due; the thread
    started by :meth:`hold` sleeps until then, or until a stop or an update pokes it. Nothing
    is sent for an account and region without an enabled rule on its default bus (what
    happens meanwhile is not sent later either, as in EventBridge).
    """

    def __init__(self) -> None:
        self._followed: dict[str, _Followed] = {}
        self._wake = threading.Condition()
        self._poked = False
        self._holders = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sending = threading.Lock()  # one look at a time: events leave in order
        self.sent = 0  # events put on a bus with a listening rule

    # the thread -------------------------------------------------------------------------------

    def hold(self) -> None:
        """One more server wants events sent (the thread runs while anyone holds it)."""
        with self._wake:
            self._holders += 1
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="jupyter-ack-sim-events", daemon=True
            )
            self._thread.start()

    def release(self) -> None:
        with self._wake:
            self._holders = max(0, self._holders - 1)
            if self._holders:
                return
            self._stop.set()
            self._poked = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def poke(self) -> None:
        """Something changed the future of an execution: look again now."""
        with self._wake:
            self._poked = True
            self._wake.notify_all()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                due = self.emit_due()
            except Exception:  # a bug here must not end the sandbox's events for good
                log.exception("sending the simulated SageMaker events failed")
                due = None
            delay = EMITTER_IDLE
            if due is not None:
                delay = min(max(due - _now(), 0.0) + 0.0005, EMITTER_IDLE)
            with self._wake:
                if not self._poked:
                    self._wake.wait(delay)
                self._poked = False

    # executions -----------------------------------------------------------------------------

    def follow(
        self, backend: Any, pipeline: Any, execution: Any, since: float, fresh: bool
    ) -> None:
        """Send the changes of ``execution`` from ``since`` on (its start: ``fresh``; a
        retry: what was sent before stands)."""
        with _LOCK:
            found = self._followed.get(execution.arn)
            if found is None:
                found = _Followed(backend, pipeline, execution, since - _EARLIER)
                if not fresh:
                    self._remember(found, since - _EARLIER)
                self._followed[execution.arn] = found
        self.poke()

    def forget(self) -> None:
        """moto was reset: the executions followed are gone."""
        with _LOCK:
            self._followed.clear()

    def emit_due(self) -> float | None:
        """Send every change that has happened since the last look; the instant of the next
        change (None: nothing is running)."""
        with self._sending:
            return self._emit_due()

    def _emit_due(self) -> float | None:
        now = _now()
        outgoing: list[_Outgoing] = []
        due: float | None = None
        listening: dict[tuple[str, str], bool] = {}
        with _LOCK:
            for arn, followed in list(self._followed.items()):
                run: _Run | None = getattr(followed.execution, _RUN_ATTR, None)
                if run is None:
                    continue
                plan = self._timeline(followed, run)
                where = (followed.backend.account_id, followed.backend.region_name)
                if where not in listening:
                    listening[where] = _listening(*where)
                instants = plan.transitions()
                for t in (t for t in instants if followed.until < t <= now):
                    state = plan.at(t)
                    sent = self._changes(followed, run, state, t)
                    if listening[where]:
                        outgoing += [_Outgoing(*where, entry) for entry in sent]
                followed.until = max(followed.until, now)
                later = [t for t in instants if t > now]
                if later:
                    due = later[0] if due is None else min(due, later[0])
                else:  # its last change has gone by: until a retry, nothing more happens
                    del self._followed[arn]
        for item in outgoing:
            self._put(item)
        return due

    def _timeline(self, followed: _Followed, run: _Run) -> Timeline:
        settings = active_settings()
        execution = followed.execution
        overrides = settings.overrides_for(execution.arn, execution.pipeline_execution_display_name)
        return timeline(run.plan, run.config.with_overrides(overrides), run.events)

    def _remember(self, followed: _Followed, t: float) -> None:
        """Take the state at ``t`` as sent (a retry goes on from what its run had reached)."""
        run: _Run | None = getattr(followed.execution, _RUN_ATTR, None)
        if run is None:
            return
        state = self._timeline(followed, run).at(t)
        followed.status = state.status
        followed.steps = {s.name: (s.status, s.attempt) for s in state.steps}

    def _changes(
        self, followed: _Followed, run: _Run, state: ExecutionState, t: float
    ) -> list[dict[str, Any]]:
        """The PutEvents entries for what changed between the last state sent and ``state``
        (at ``t``): the execution's start first, steps before the execution's end."""
        execution, pipeline = followed.execution, followed.pipeline
        resources = [pipeline.arn, execution.arn]
        entries: list[dict[str, Any]] = []
        for step in state.steps:
            mark = (step.status, step.attempt)
            before = followed.steps.get(step.name)
            if before == mark:
                continue
            followed.steps[step.name] = mark
            shape = _step_shape(run, step, execution.arn)
            detail: dict[str, Any] = {}
            if "Metadata" in shape:
                detail["metadata"] = _lower_keys(shape["Metadata"])
            detail["stepStartTime"] = _event_time(step.start)
            if step.end is not None:
                detail["stepEndTime"] = _event_time(step.end)
            detail["stepName"] = step.name
            detail["stepType"] = step.type
            if before is not None:
                detail["previousStepStatus"] = before[0]
            detail["currentStepStatus"] = step.status
            if step.status == "Failed" and step.failure_reason:
                detail["failureReason"] = step.failure_reason
            detail["pipelineArn"] = pipeline.arn
            detail["pipelineExecutionArn"] = execution.arn
            entries.append(_entry(STEP_CHANGE, detail, resources, t))
        if state.status != followed.status:
            detail = {"pipelineExecutionDisplayName": execution.pipeline_execution_display_name}
            detail["currentPipelineExecutionStatus"] = state.status
            if followed.status is not None:
                detail["previousPipelineExecutionStatus"] = followed.status
            detail["executionStartTime"] = _event_time(run.events.start)
            if state.status in ("Succeeded", "Failed", "Stopped"):
                detail["executionEndTime"] = _event_time(t)
            if execution.pipeline_execution_description is not None:
                detail["pipelineExecutionDescription"] = execution.pipeline_execution_description
            detail["pipelineArn"] = pipeline.arn
            detail["pipelineExecutionArn"] = execution.arn
            entry = _entry(EXECUTION_CHANGE, detail, resources, t)
            if followed.status is None:  # the execution starts before its steps do
                entries.insert(0, entry)
            else:  # and ends after them
                entries.append(entry)
            followed.status = state.status
        return entries

    def _put(self, item: _Outgoing) -> None:
        from moto.events.models import events_backends

        try:
            events_backends[item.account][item.region].put_events([item.entry])
            self.sent += 1
        except Exception as e:  # a target gone (its queue deleted): EventBridge drops it too
            log.debug("a simulated SageMaker event was not delivered: %s", e)


def _entry(kind: str, detail: dict[str, Any], resources: list[str], t: float) -> dict[str, Any]:
    return {
        "Source": EVENT_SOURCE,
        "DetailType": kind,
        "Detail": json.dumps(detail),
        "Resources": resources,
        "Time": t,  # moto writes it as the envelope's "time", to the second
    }


def _listening(account: str, region: str) -> bool:
    """Whether an enabled rule is on the default bus of that account and region."""
    from moto.events.models import events_backends

    try:
        bus = events_backends[account][region].event_buses.get("default")
    except Exception:
        return False
    return bool(bus is not None and any(r.state == "ENABLED" for r in bus.rules.values()))


EMITTER = EventEmitter()


def emit_events() -> float | None:
    """Send the simulated events due now (the emitter's thread does it by itself; tests with
    a fake clock call this)."""
    return EMITTER.emit_due()


_HANDLERS: dict[str, Callable[[Any], Any]] = {
    "start_pipeline_execution": start_pipeline_execution,
    "describe_pipeline_execution": describe_pipeline_execution,
    "list_pipeline_executions": list_pipeline_executions,
    "list_pipeline_execution_steps": list_pipeline_execution_steps,
    "stop_pipeline_execution": stop_pipeline_execution,
    "update_pipeline": update_pipeline,
    "update_pipeline_execution": update_pipeline_execution,
    "retry_pipeline_execution": retry_pipeline_execution,
}

"""A run's steps from SageMaker's events instead of polling: the step source a follower uses
when an events queue is configured (``JUPYTER_ACK_EVENTS_QUEUE``, ``c.AckConfig.events_queue``;
``jupyter-ack events setup`` makes one).

:class:`StepEvents` subscribes to the execution's events on the process's consumer of the
queue (:mod:`jupyter_ack.aws.events`) and applies each one to its step list: status, start and
end, failure reason, job ARN. SageMaker is asked only:

- once when following starts, if the run had started before (ListPipelineExecutionSteps and
  DescribePipelineExecution): its earlier events may have been read by someone else;
- once at the end, when the execution's finish event leaves a step that is not final, an
  event was seen missing (a step's previous status is not the one we had), the run is a
  selective one (the steps it reuses send no event), or no step at all was heard of; or when
  the ACK object says the run finished and no finish event came (:data:`FINISH_GRACE`);
- DescribePipelineExecution alone when a run failed, for the run's failure reason (the
  execution's event does not carry it).

``list_calls`` counts the ListPipelineExecutionSteps made. Events may come twice or out of
order: a step's event older than what is known (an earlier start, or the same start and an
earlier status) is ignored.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from jupyter_ack.ack.resources import FINISHED
from jupyter_ack.aws.clients import NO_ACCESS, error_code
from jupyter_ack.status.model import StepStatus, iso, steps_from_sagemaker

log = logging.getLogger("jupyter_ack.status.events")

ENV = "JUPYTER_ACK_EVENTS_QUEUE"
SOURCE = "sagemaker (events)"  # steps_source while events bring the steps
FRESH_SECONDS = 10.0  # a run started less than this ago: its events are all still to be read
FINISH_GRACE = 3.0  # ACK says finished and no finish event came: ask SageMaker after this
BACKOFF_START, BACKOFF_MAX = 0.5, 10.0

FINAL_STEPS = frozenset({"Succeeded", "Failed", "Stopped"})
STEP_RANK = {"Starting": 0, "Executing": 1, "Stopping": 2, **dict.fromkeys(FINAL_STEPS, 3)}
EXECUTION_RANK = {"Executing": 0, "Stopping": 1, "Succeeded": 2, "Failed": 2, "Stopped": 2}

# steps, where they came from, the execution as known (DescribePipelineExecution's keys),
# and whether the step list is complete for a finished run
EventUpdate = Callable[[tuple[StepStatus, ...], str, dict[str, Any] | None, bool], None]

_configured: dict[str, str | None] = {}


def use_queue(queue: str | None) -> None:
    """The events queue of this process's followers from now on (``AckConfig`` sets it when
    loaded); None or '' goes back to ``JUPYTER_ACK_EVENTS_QUEUE``."""
    if queue:
        _configured["queue"] = queue
    else:
        _configured.pop("queue", None)


def default_queue() -> str | None:
    """The queue new followers read: the configured one, else the environment's, else None
    (then steps are polled)."""
    return _configured.get("queue") or os.environ.get(ENV) or None


def needs_initial_list(saw_pending: bool, start: str | None, now: datetime | None = None) -> bool:
    """Whether following starts with one ListPipelineExecutionSteps: not when the follower saw
    the run before SageMaker started it, nor when it started moments ago (its events are all
    in the queue), else yes (they may be gone: read by another process, or expired)."""
    if saw_pending:
        return False
    began = _timestamp(start)
    if began is None:
        return True
    moment = (now or datetime.now(timezone.utc)).timestamp()
    return moment - began > FRESH_SECONDS


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _second(value: Any) -> float:
    """A time to the second: events say seconds, ListPipelineExecutionSteps milliseconds."""
    found = _timestamp(value)
    return float(int(found)) if found is not None else 0.0


def _upper_keys(value: Any) -> Any:
    """An event's ``metadata`` (``{"processingJob": {"arn": ...}}``) in the shape of
    ListPipelineExecutionSteps' ``Metadata`` (``{"ProcessingJob": {"Arn": ...}}``)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): _upper_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_upper_keys(v) for v in value]
    return value


def step_from_event(detail: dict[str, Any], region: str | None) -> StepStatus:
    """One step as a step status change event describes it."""
    item: dict[str, Any] = {
        "StepName": detail.get("stepName"),
        "StepStatus": detail.get("currentStepStatus"),
        "StartTime": detail.get("stepStartTime"),
        "EndTime": detail.get("stepEndTime"),
        "Metadata": _upper_keys(detail.get("metadata") or {}),
    }
    if detail.get("currentStepStatus") == "Failed":
        item["FailureReason"] = detail.get("failureReason")
    cache = detail.get("cacheHitResult")
    if isinstance(cache, dict):
        item["CacheHitResult"] = _upper_keys(cache)
    return steps_from_sagemaker([item], region)[0]


class StepEvents:
    """One execution's steps from the events queue, reported like the poller's; see the
    module's doc. ``on_unavailable`` gets one line when the queue cannot be read: the follower
    then polls instead."""

    def __init__(
        self,
        arn: str,
        region: str | None,
        queue: str,
        on_update: EventUpdate,
        on_unavailable: Callable[[str], None],
        *,
        client: Any = None,
        initial: bool = False,
        selective: bool = False,
    ) -> None:
        self.arn = arn
        self.region = region
        self.queue = queue
        self.on_update = on_update
        self.on_unavailable = on_unavailable
        self._client = client
        self.initial = initial
        self.selective = selective
        self.list_calls = 0
        self.describe_calls = 0
        self.events = 0  # events applied
        self._steps: dict[str, StepStatus] = {}
        self._keys: dict[str, tuple[float, int]] = {}
        self._order: dict[str, int] = {}
        self._described: dict[str, Any] | None = None
        self._execution_key: tuple[float, int] | None = None
        self._gap = False
        self._final_list = False  # SageMaker's list of the finished run is in
        self._complete = False
        self._fetching = False
        self._heard = False  # something to report (an event, or an answer from SageMaker)
        self._source = SOURCE
        self._lock = threading.RLock()
        self._report = threading.Lock()  # reports leave in the order they were made
        self._stop = threading.Event()
        self._timer: threading.Timer | None = None
        self._subscription: Any = None

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> StepEvents:
        from jupyter_ack.aws.events import queue_region, subscribe

        sub = subscribe(
            self.queue,
            self.arn,
            self._on_event,
            self._on_error,
            region=queue_region(self.queue) or self.region,
        )
        self._subscription = sub
        with self._lock:
            self._gap = self._gap or sub.gap
            for event in sub.replayed:
                self._apply(event)
            fetch = self.initial
            if fetch:
                self._fetching = True
        if fetch:
            self._spawn(steps=True, describe=True, final=False)
        else:
            self._changed()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._subscription is not None:
            self._subscription.close()

    @property
    def complete(self) -> bool:
        with self._lock:
            return self._complete

    def ack_status(self, finished: bool) -> None:
        """The ACK object's news: once it says the run finished, a finish event that does not
        come within :data:`FINISH_GRACE` seconds is replaced by asking SageMaker."""
        with self._lock:
            if not finished or self._complete or self._fetching or self._timer is not None:
                return
            self._timer = threading.Timer(FINISH_GRACE, self._ack_finished)
            self._timer.daemon = True
            self._timer.start()

    def _ack_finished(self) -> None:
        with self._lock:
            if self._complete or self._fetching or self._stop.is_set():
                return
            self._fetching = True
        log.debug("%s: finished per ACK, no finish event: asking SageMaker", self.arn)
        self._fetch(steps=True, describe=True, final=True)

    # events -----------------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            self._apply(event)
        self._changed()

    def _on_error(self, why: str) -> None:
        if not self._stop.is_set():
            self.on_unavailable(why)

    def _apply(self, event: dict[str, Any]) -> None:
        from jupyter_ack.aws.events import EXECUTION_CHANGE, STEP_CHANGE

        detail = event.get("detail") or {}
        kind = event.get("detail-type")
        if kind == STEP_CHANGE:
            self._apply_step(detail, event.get("time"))
        elif kind == EXECUTION_CHANGE:
            self._apply_execution(detail, event.get("time"))
        else:
            return
        self.events += 1
        self._heard = True

    def _apply_step(self, detail: dict[str, Any], when: Any) -> None:
        name, status = detail.get("stepName"), detail.get("currentStepStatus")
        if not isinstance(name, str) or not isinstance(status, str):
            return
        new = step_from_event(detail, self.region)
        if new.start is None:
            known = self._steps.get(name)
            new = replace(new, start=known.start if known else iso(when) if when else None)
        key = (_second(new.start), STEP_RANK.get(status, 0))
        old, old_key = self._steps.get(name), self._keys.get(name)
        if old is not None and old_key is not None and key < old_key:
            return  # an older event, come late (or again)
        previous = detail.get("previousStepStatus")
        if previous and (old is None or (old.status != previous and old.status != status)):
            self._gap = True  # the event between `old` and this one did not come (yet)
        self._put(name, new, key, old, old_key)

    def _put(
        self,
        name: str,
        new: StepStatus,
        key: tuple[float, int],
        old: StepStatus | None,
        old_key: tuple[float, int] | None,
    ) -> None:
        if old is not None and old_key is not None:
            retried = key[0] > old_key[0]
            attempt = (old.attempt + 1 if old.attempt else None) if retried else old.attempt
            keep = old if not retried else None
            new = replace(
                new,
                display_name=new.display_name or old.display_name,
                attempt=new.attempt or attempt,
                job_arn=new.job_arn or (keep.job_arn if keep else None),
                console_url=new.console_url or (keep.console_url if keep else None),
                logs_url=new.logs_url or (keep.logs_url if keep else None),
                cache_hit=new.cache_hit or (keep.cache_hit if keep else None),
                from_run=new.from_run or old.from_run,
                start=old.start if not retried and _second(old.start) == key[0] else new.start,
            )
        self._steps[name] = new
        self._keys[name] = key
        self._order.setdefault(name, len(self._order))

    def _apply_execution(self, detail: dict[str, Any], when: Any) -> None:
        status = detail.get("currentPipelineExecutionStatus")
        if not isinstance(status, str):
            return
        key = (_second(when), EXECUTION_RANK.get(status, 0))
        if self._execution_key is not None and key < self._execution_key:
            return
        self._execution_key = key
        described = dict(self._described or {})
        if described.get("PipelineExecutionStatus") != status:
            described.pop("FailureReason", None)
        described["PipelineExecutionStatus"] = status
        described["CreationTime"] = detail.get("executionStartTime") or described.get(
            "CreationTime"
        )
        described["LastModifiedTime"] = detail.get("executionEndTime") or when
        self._described = described
        if status not in FINISHED:
            self._complete = False  # a retry of a failed run starts again

    def _apply_list(self, items: list[dict[str, Any]], final: bool) -> None:
        rows = steps_from_sagemaker(items, self.region)
        if final:  # SageMaker's list of a finished run is the truth: take it whole
            self._steps, self._keys, self._order = {}, {}, {}
        for row in rows:
            key = (_second(row.start), STEP_RANK.get(row.status, 0))
            old, old_key = self._steps.get(row.name), self._keys.get(row.name)
            if old_key is not None and key < old_key:
                continue  # an event newer than this answer came while it was on its way
            self._put(row.name, row, key, old, old_key)
        if final:
            self._gap = False
            self._final_list = True

    def _apply_described(self, described: dict[str, Any]) -> None:
        status = described.get("PipelineExecutionStatus")
        key = (_second(described.get("LastModifiedTime")), EXECUTION_RANK.get(str(status), 0))
        if self._execution_key is not None and key < self._execution_key and self._described:
            # an event came while Describe was on its way: keep its status, take the reason
            if described.get("FailureReason"):
                self._described["FailureReason"] = described["FailureReason"]
            return
        self._execution_key = key
        self._described = dict(described)

    # asking SageMaker ---------------------------------------------------------------------------

    def _missing(self) -> tuple[bool, bool]:
        """(list, describe): what a finished run still needs from SageMaker."""
        steps = not self._final_list and (
            not self._steps
            or self._gap
            or self.selective
            or any(s.status not in FINAL_STEPS for s in self._steps.values())
        )
        described = self._described or {}
        reason = described.get("PipelineExecutionStatus") == "Failed" and not described.get(
            "FailureReason"
        )
        return steps, reason

    def _spawn(self, *, steps: bool, describe: bool, final: bool) -> None:
        threading.Thread(
            target=self._fetch,
            kwargs={"steps": steps, "describe": describe, "final": final},
            name="jupyter-ack-steps-once",
            daemon=True,
        ).start()

    def _sagemaker(self) -> Any:
        if self._client is None:
            from jupyter_ack.aws.clients import client

            self._client = client("sagemaker", self.region)
        return self._client

    def _fetch(self, *, steps: bool, describe: bool, final: bool) -> None:
        """Ask SageMaker once (retrying passing faults); runs on a thread of its own."""
        from jupyter_ack.aws.sagemaker import list_steps

        backoff = BACKOFF_START
        while not self._stop.is_set():
            try:
                sm = self._sagemaker()
                described = None
                if describe:
                    described = sm.describe_pipeline_execution(PipelineExecutionArn=self.arn)
                    self.describe_calls += 1
                items = None
                if steps:
                    self.list_calls += 1
                    items = list_steps(sm, self.arn)
                break
            except Exception as e:
                code = error_code(e) or type(e).__name__
                if code in NO_ACCESS or type(e).__name__ in NO_ACCESS:
                    with self._lock:
                        self._source = f"unavailable: no access to SageMaker ({code})"
                        self._complete, self._fetching, self._heard = True, False, True
                    self._changed()
                    return
                log.debug("%s: asking SageMaker failed: %s", self.arn, e)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        else:
            return
        with self._lock:
            if described is not None:
                self._apply_described(described)
            if items is not None:
                state = (self._described or {}).get("PipelineExecutionStatus")
                self._apply_list(items, final=final or state in FINISHED)
            self._fetching = False
            self._heard = True
            if final:
                self._complete = True
        self._changed()

    # reports ------------------------------------------------------------------------------------

    def _changed(self) -> None:
        """Report the steps as they are now, and finish a finished run (asking SageMaker for
        what the events left out, on another thread)."""
        with self._report:
            with self._lock:
                fetch: tuple[bool, bool] | None = None
                state = (self._described or {}).get("PipelineExecutionStatus")
                if state in FINISHED and not self._complete and not self._fetching:
                    steps, describe = self._missing()
                    if steps or describe:
                        self._fetching = True
                        fetch = (steps, describe)
                    else:
                        self._complete = True
                if not self._heard:
                    return
                ordered = sorted(
                    self._steps.values(),
                    key=lambda s: (self._keys[s.name][0], self._order[s.name]),
                )
                snapshot = (
                    tuple(ordered),
                    self._source,
                    dict(self._described) if self._described else None,
                    self._complete,
                )
            if not self._stop.is_set():
                self.on_update(*snapshot)
        if fetch is not None:
            self._spawn(steps=fetch[0], describe=fetch[1], final=True)

"""Steps from SageMaker's events, at the seams: the step list built from events (stale,
repeated, retried, missed), what a finished run still asks SageMaker, the queue consumer
(dispatch, buffer, delete, failure), the setup documents and the configuration key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jupyter_ack.aws import events as aws_events
from jupyter_ack.aws import eventsetup
from jupyter_ack.config import AckConfig
from jupyter_ack.status import events as status_events
from jupyter_ack.status.events import StepEvents, needs_initial_list
from jupyter_ack.status.model import StepStatus

ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123"
PIPELINE = ARN.split("/execution/")[0]
T = "2024-05-01T10:00:0{}Z"


def step_event(
    name: str,
    status: str,
    previous: str | None = None,
    start: int = 0,
    end: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "stepStartTime": T.format(start),
        "stepName": name,
        "stepType": "Processing",
        "currentStepStatus": status,
        "pipelineArn": PIPELINE,
        "pipelineExecutionArn": ARN,
        **extra,
    }
    if previous:
        detail["previousStepStatus"] = previous
    if end is not None:
        detail["stepEndTime"] = T.format(end)
    return {
        "detail-type": aws_events.STEP_CHANGE,
        "source": "aws.sagemaker",
        "time": T.format(end if end is not None else start),
        "detail": detail,
    }


def execution_event(status: str, previous: str | None, at: int) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "currentPipelineExecutionStatus": status,
        "executionStartTime": T.format(0),
        "pipelineArn": PIPELINE,
        "pipelineExecutionArn": ARN,
    }
    if previous:
        detail["previousPipelineExecutionStatus"] = previous
    if status in ("Succeeded", "Failed", "Stopped"):
        detail["executionEndTime"] = T.format(at)
    return {
        "detail-type": aws_events.EXECUTION_CHANGE,
        "source": "aws.sagemaker",
        "time": T.format(at),
        "detail": detail,
    }


class FakeSageMaker:
    """ListPipelineExecutionSteps and DescribePipelineExecution, counted."""

    def __init__(self, steps: list[dict[str, Any]] | None = None, fail: str | None = None):
        self.steps = steps or []
        self.described: dict[str, Any] = {
            "PipelineExecutionStatus": "Succeeded",
            "LastModifiedTime": datetime(2024, 5, 1, 10, 0, 9, tzinfo=timezone.utc),
        }
        self.fail = fail
        self.calls: list[str] = []

    def _maybe_fail(self, op: str) -> None:
        if self.fail:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": self.fail, "Message": "no"}}, op)

    def list_pipeline_execution_steps(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("ListPipelineExecutionSteps")
        self._maybe_fail("ListPipelineExecutionSteps")
        return {"PipelineExecutionSteps": self.steps}

    def describe_pipeline_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("DescribePipelineExecution")
        self._maybe_fail("DescribePipelineExecution")
        return dict(self.described)


class Reports:
    """What a StepEvents reported, with a way to wait for the next one."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[StepStatus, ...], str, dict[str, Any] | None, bool]] = []
        self.unavailable: list[str] = []
        self._cv = threading.Condition()

    def __call__(
        self,
        steps: tuple[StepStatus, ...],
        source: str,
        described: dict[str, Any] | None,
        complete: bool,
    ) -> None:
        with self._cv:
            self.items.append((steps, source, described, complete))
            self._cv.notify_all()

    @property
    def last(self) -> tuple[tuple[StepStatus, ...], str, dict[str, Any] | None, bool]:
        return self.items[-1]

    def steps(self) -> dict[str, str]:
        return {s.name: s.status for s in self.last[0]}

    def wait_complete(self, timeout: float = 5.0) -> None:
        with self._cv:
            assert self._cv.wait_for(lambda: self.items and self.items[-1][3], timeout)


def source(sm: FakeSageMaker | None = None, **kwargs: Any) -> tuple[StepEvents, Reports]:
    reports = Reports()
    found = StepEvents(
        ARN,
        "us-east-1",
        "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        reports,
        reports.unavailable.append,
        client=sm or FakeSageMaker(),
        **kwargs,
    )
    return found, reports


def feed(found: StepEvents, *items: dict[str, Any]) -> None:
    for item in items:
        found._on_event(item)


# the step list from events ----------------------------------------------------------------------


def test_each_event_moves_its_step_and_a_clean_finish_asks_nothing() -> None:
    sm = FakeSageMaker()
    found, reports = source(sm)
    feed(found, execution_event("Executing", None, 0), step_event("A", "Starting"))
    assert reports.steps() == {"A": "Starting"}
    assert reports.last[1] == status_events.SOURCE
    feed(found, step_event("A", "Executing", "Starting"))
    assert reports.steps() == {"A": "Executing"}
    metadata = {"processingJob": {"arn": "arn:aws:sagemaker:us-east-1:1:processing-job/j"}}
    feed(found, step_event("A", "Succeeded", "Executing", end=4, metadata=metadata))
    a = reports.last[0][0]
    assert (a.status, a.start, a.end) == ("Succeeded", T.format(0), T.format(4))
    assert a.job_arn == "arn:aws:sagemaker:us-east-1:1:processing-job/j"
    assert a.console_url is not None
    assert "#/processing-jobs/j" in a.console_url
    feed(found, step_event("B", "Starting", start=4), step_event("B", "Executing", "Starting", 4))
    feed(found, step_event("B", "Failed", "Executing", 4, 6, failureReason="ClientError: boom"))
    assert [s.name for s in reports.last[0]] == ["A", "B"]
    assert reports.last[0][1].failure_reason == "ClientError: boom"
    sm.described["FailureReason"] = "Step failure: One or multiple steps failed."
    sm.described["PipelineExecutionStatus"] = "Failed"
    feed(found, execution_event("Failed", "Executing", 6))
    reports.wait_complete()
    # the steps were all final: only the run's failure reason was asked for
    assert sm.calls == ["DescribePipelineExecution"]
    assert found.list_calls == 0
    assert reports.last[2] is not None
    assert reports.last[2]["FailureReason"] == "Step failure: One or multiple steps failed."


def test_a_succeeded_run_whose_steps_are_final_asks_nothing() -> None:
    sm = FakeSageMaker()
    found, reports = source(sm)
    feed(
        found,
        step_event("A", "Starting"),
        step_event("A", "Executing", "Starting"),
        step_event("A", "Succeeded", "Executing", end=3),
        execution_event("Succeeded", "Executing", 3),
    )
    assert reports.last[3] is True
    assert sm.calls == []


def test_late_repeated_and_retried_events() -> None:
    found, reports = source()
    feed(found, step_event("A", "Starting"), step_event("A", "Succeeded", "Executing", end=5))
    feed(found, step_event("A", "Executing", "Starting"))  # came late: older than what we have
    assert reports.steps() == {"A": "Succeeded"}
    count = len(reports.items)
    feed(found, step_event("A", "Succeeded", "Executing", end=5))  # sent twice
    assert reports.steps() == {"A": "Succeeded"}
    assert len(reports.items) == count + 1  # reported, unchanged (the follower drops repeats)
    assert reports.items[-1][0] == reports.items[-2][0]
    feed(found, step_event("A", "Starting", "Failed", start=8))  # a retry: a new start
    step = reports.last[0][0]
    assert (step.status, step.start, step.end) == ("Starting", T.format(8), None)


def test_a_missed_event_or_an_unfinished_step_means_one_list_at_the_end() -> None:
    listed = [
        {
            "StepName": "A",
            "StepStatus": "Succeeded",
            "StartTime": datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone.utc),
            "EndTime": datetime(2024, 5, 1, 10, 0, 4, tzinfo=timezone.utc),
            "AttemptCount": 1,
        },
        {
            "StepName": "B",
            "StepStatus": "Succeeded",
            "StartTime": datetime(2024, 5, 1, 10, 0, 4, tzinfo=timezone.utc),
            "EndTime": datetime(2024, 5, 1, 10, 0, 8, tzinfo=timezone.utc),
            "AttemptCount": 1,
        },
    ]
    sm = FakeSageMaker(listed)
    found, reports = source(sm)
    # B's "Executing" never came: its "Succeeded" says it went from Executing
    feed(
        found,
        step_event("A", "Starting"),
        step_event("A", "Executing", "Starting"),
        step_event("A", "Succeeded", "Executing", end=4),
        step_event("B", "Starting", start=4),
        step_event("B", "Succeeded", "Executing", 4, 8),
        execution_event("Succeeded", "Executing", 8),
    )
    reports.wait_complete()
    assert found.list_calls == 1
    assert sm.calls.count("ListPipelineExecutionSteps") == 1
    assert [(s.name, s.status, s.attempt) for s in reports.last[0]] == [
        ("A", "Succeeded", 1),
        ("B", "Succeeded", 1),
    ]
    assert reports.last[0][0].start == "2024-05-01T10:00:00.123Z"

    sm2 = FakeSageMaker(listed)
    still, reports2 = source(sm2)
    feed(still, step_event("A", "Executing"), execution_event("Succeeded", "Executing", 8))
    reports2.wait_complete()
    assert still.list_calls == 1  # a step not final when the run finished


def test_a_selective_run_lists_at_the_end_for_the_steps_it_reuses() -> None:
    sm = FakeSageMaker([{"StepName": "A", "StepStatus": "Succeeded"}])
    found, reports = source(sm, selective=True)
    feed(
        found,
        step_event("B", "Starting"),
        step_event("B", "Executing", "Starting"),
        step_event("B", "Succeeded", "Executing", end=2),
        execution_event("Succeeded", "Executing", 2),
    )
    reports.wait_complete()
    assert found.list_calls == 1


def test_ack_saying_finished_without_a_finish_event_asks_sagemaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(status_events, "FINISH_GRACE", 0.05)
    sm = FakeSageMaker([{"StepName": "A", "StepStatus": "Succeeded"}])
    found, reports = source(sm)
    feed(found, step_event("A", "Starting"))
    found.ack_status(False)
    time.sleep(0.1)
    assert sm.calls == []
    found.ack_status(True)
    reports.wait_complete()
    assert sm.calls == ["DescribePipelineExecution", "ListPipelineExecutionSteps"]
    assert reports.steps() == {"A": "Succeeded"}
    assert reports.last[2] is not None
    assert reports.last[2]["PipelineExecutionStatus"] == "Succeeded"


def test_no_access_to_sagemaker_is_said_once() -> None:
    sm = FakeSageMaker(fail="AccessDeniedException")
    found, reports = source(sm)
    found._fetch(steps=True, describe=True, final=False)
    assert reports.last[1] == "unavailable: no access to SageMaker (AccessDeniedException)"
    assert reports.last[3] is True


def test_when_following_starts_with_a_list() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    old = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    young = (now - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert needs_initial_list(False, old, now)
    assert not needs_initial_list(False, young, now)
    assert not needs_initial_list(True, old, now)  # seen before SageMaker started it
    assert needs_initial_list(False, None, now)


# the queue consumer ------------------------------------------------------------------------------


class FakeSQS:
    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.batches: list[list[dict[str, Any]]] = []
        self.deleted: list[str] = []
        self.receives: list[dict[str, Any]] = []
        self._ready = threading.Event()

    def add(self, *bodies: Any) -> None:
        n = sum(len(b) for b in self.batches)
        self.batches.append(
            [
                {"Body": b if isinstance(b, str) else json.dumps(b), "ReceiptHandle": f"r{n + i}"}
                for i, b in enumerate(bodies)
            ]
        )
        self._ready.set()

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        if self.fail:
            from botocore.exceptions import ClientError

            error = {"Code": self.fail, "Message": "The specified queue does not exist."}
            raise ClientError({"Error": error}, "GetQueueAttributes")
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q"}}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receives.append(kwargs)
        self._ready.wait(0.05)
        if not self.batches:
            self._ready.clear()
            return {}
        return {"Messages": self.batches.pop(0)}

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.deleted += [e["ReceiptHandle"] for e in kwargs["Entries"]]
        return {"Successful": kwargs["Entries"]}


@pytest.fixture
def fake_sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSQS]:
    fake = FakeSQS()
    monkeypatch.setattr(aws_events, "client", lambda service, region=None: fake)
    monkeypatch.setattr(aws_events, "IDLE_RELEASE", 0.0)
    yield fake
    aws_events.stop_all()


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_consumer_dispatches_buffers_and_deletes(fake_sqs: FakeSQS) -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    got: list[dict[str, Any]] = []
    sub = aws_events.subscribe(url, ARN, got.append, lambda why: None)
    other = ARN.replace("abc123", "other")
    other_event = step_event("X", "Starting")
    other_event["detail"]["pipelineExecutionArn"] = other
    fake_sqs.add(step_event("A", "Starting"), "not json", other_event)
    wait_until(lambda: len(fake_sqs.deleted) == 3)
    assert [e["detail"]["stepName"] for e in got] == ["A"]
    long_poll = {"QueueUrl": url, "WaitTimeSeconds": 20, "MaxNumberOfMessages": 10}
    assert fake_sqs.receives[0] == long_poll
    found = aws_events.consumer(url)
    assert found is not None
    late = aws_events.subscribe(url, other, got.append, lambda why: None)
    assert [e["detail"]["stepName"] for e in late.replayed] == ["X"]  # it came before them
    assert found.subscribers == 2
    sub.close()
    assert aws_events.consumer(url) is found
    late.close()
    assert aws_events.consumer(url) is None
    assert found.stopped


def test_a_queue_that_cannot_be_read_is_said_once_in_one_line(fake_sqs: FakeSQS) -> None:
    fake_sqs.fail = "AWS.SimpleQueueService.NonExistentQueue"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/gone"
    problems: list[str] = []
    aws_events.subscribe(url, ARN, lambda e: None, problems.append)
    wait_until(lambda: problems)
    assert problems == [
        f"reading the events queue {url}: AWS.SimpleQueueService.NonExistentQueue: "
        "The specified queue does not exist."
    ]
    assert aws_events.consumer(url) is None  # the next follower tries again


def test_the_buffer_keeps_a_bounded_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_events, "BUFFER_MAX", 2)
    buffer = aws_events._Buffer()
    for i in range(3):
        buffer.put("a", {"n": i})
    buffer.put("b", {"n": 9})
    events, gap = buffer.take("a")
    assert gap  # its first ones were dropped: a follower lists once at the end
    assert [e["n"] for e in events] == [2]
    assert buffer.take("b") == ([{"n": 9}], False)
    assert aws_events.parse('{"detail-type": "other"}') is None


# setup documents and configuration --------------------------------------------------------------


def test_the_queue_policy_keeps_other_statements_and_replaces_ours() -> None:
    mine = {"Sid": "Mine", "Effect": "Deny", "Principal": "*", "Action": "sqs:*"}
    ours_old = eventsetup.queue_statement("q-arn", "old-rule")
    existing = json.dumps({"Version": "2012-10-17", "Statement": [mine, ours_old]})
    doc = eventsetup.queue_policy("q-arn", "new-rule", existing)
    assert doc["Statement"][0] == mine
    assert doc["Statement"][1]["Condition"] == {"ArnEquals": {"aws:SourceArn": "new-rule"}}
    assert len(doc["Statement"]) == 2
    assert aws_events.queue_region("https://sqs.eu-west-2.amazonaws.com/1/q") == "eu-west-2"
    assert aws_events.queue_region("http://127.0.0.1:5000/1/q") is None
    assert eventsetup.rule_for("q") == "q"


def test_the_config_key_sets_the_followers_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(status_events.ENV, raising=False)
    status_events.use_queue(None)
    try:
        assert status_events.default_queue() is None
        monkeypatch.setenv(status_events.ENV, "https://sqs.us-east-1.amazonaws.com/1/env")
        cfg = AckConfig.load()
        assert cfg.events_queue == "https://sqs.us-east-1.amazonaws.com/1/env"
        assert "events_queue" in cfg.to_json()
        cfg.set("events-queue", "https://sqs.us-east-1.amazonaws.com/1/set")
        assert status_events.default_queue() == "https://sqs.us-east-1.amazonaws.com/1/set"
        cfg.set("events_queue", None)
        assert status_events.default_queue() == "https://sqs.us-east-1.amazonaws.com/1/env"
    finally:
        status_events.use_queue(None)


def test_events_check_without_a_queue_is_a_usage_error(cli: Any) -> None:
    r = cli("events", "check", env={status_events.ENV: ""})
    assert r.code == 2
    assert r.err.startswith("error: no events queue given\n")

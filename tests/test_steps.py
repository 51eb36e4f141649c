"""The step poller at its seam with SageMaker: paging, back-off on throttling, no access."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError

from jupyter_ack.aws.sagemaker import list_steps
from jupyter_ack.status.model import StepStatus
from jupyter_ack.status.poller import StepPoller

T0 = datetime(2026, 11, 29, 10, 0, 0, 250000, tzinfo=timezone.utc)


def step(name: str, status: str) -> dict[str, Any]:
    return {
        "StepName": name,
        "StepStatus": status,
        "StartTime": T0,
        "Metadata": {
            "TrainingJob": {"Arn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name.lower()}"}
        },
    }


class FakeSageMaker:
    """Scripted answers: one (status, steps) per poll, after ``throttle`` throttled calls."""

    def __init__(self, script: list[tuple[str, list[dict[str, Any]]]], throttle: int = 0) -> None:
        self.script = script
        self.throttle = throttle
        self.throttled = 0
        self.calls: list[str] = []
        self.pages_asked: list[dict[str, Any]] = []

    def describe_pipeline_execution(self, **_: Any) -> dict[str, Any]:
        self.calls.append("describe")
        if self.throttle:
            self.throttle -= 1
            self.throttled += 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Describe"
            )
        if len(self.calls) > 1 + self.throttled and len(self.script) > 1:
            self.script.pop(0)  # the next poll sees the next scripted state
        status, _steps = self.script[0]
        return {"PipelineExecutionStatus": status}

    def list_pipeline_execution_steps(self, **kwargs: Any) -> dict[str, Any]:
        self.pages_asked.append(kwargs)
        _status, steps = self.script[0]
        if "NextToken" not in kwargs and len(steps) > 1:
            return {"PipelineExecutionSteps": steps[:1], "NextToken": "page-2"}
        return {"PipelineExecutionSteps": steps[1:] if "NextToken" in kwargs else steps}


def run_poller(fake: Any) -> list[tuple[tuple[StepStatus, ...], str, dict[str, Any] | None]]:
    updates: list[tuple[tuple[StepStatus, ...], str, dict[str, Any] | None]] = []
    done = threading.Event()

    def on_update(
        steps: tuple[StepStatus, ...], source: str, described: dict[str, Any] | None
    ) -> None:
        updates.append((steps, source, described))
        if source != "sagemaker" or (described or {}).get("PipelineExecutionStatus") == "Succeeded":
            done.set()

    poller = StepPoller(
        "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/x",
        "us-east-1",
        on_update,
        client=fake,
        fast=0.01,
        slow=0.05,
    ).start()
    assert done.wait(10)
    poller.stop()
    return updates


def test_reports_changes_until_the_end_with_all_pages() -> None:
    fake = FakeSageMaker(
        [
            ("Executing", [step("A", "Executing")]),
            ("Executing", [step("A", "Executing")]),
            ("Executing", [step("A", "Succeeded"), step("B", "Executing")]),
            ("Succeeded", [step("A", "Succeeded"), step("B", "Succeeded")]),
        ]
    )
    updates = run_poller(fake)
    assert [tuple(s.status for s in steps) for steps, _, _ in updates] == [
        ("Executing",),
        ("Succeeded", "Executing"),
        ("Succeeded", "Succeeded"),
    ]  # the unchanged poll was not reported
    final = updates[-1][0]
    assert final[0].start == "2026-11-29T10:00:00.250Z"
    assert final[0].console_url
    assert final[0].console_url.endswith("#/jobs/a")
    assert any("NextToken" in page for page in fake.pages_asked)  # every page was read
    assert all(page.get("SortOrder") == "Ascending" for page in fake.pages_asked)


def test_throttling_backs_off_then_recovers() -> None:
    fake = FakeSageMaker([("Succeeded", [step("A", "Succeeded")])], throttle=3)
    updates = run_poller(fake)
    assert fake.calls.count("describe") == 4
    assert updates[-1][1] == "sagemaker"


def test_no_credentials_reports_why_and_stops() -> None:
    class NoAccess:
        def describe_pipeline_execution(self, **_: Any) -> Any:
            raise NoCredentialsError()

    updates = run_poller(NoAccess())
    assert len(updates) == 1
    steps, source, described = updates[0]
    assert steps == ()
    assert described is None
    assert source.startswith("unavailable: no access to SageMaker")


def test_list_steps_follows_tokens() -> None:
    fake = FakeSageMaker([("Executing", [step("A", "Succeeded"), step("B", "Executing")])])
    assert [s["StepName"] for s in list_steps(fake, "arn")] == ["A", "B"]

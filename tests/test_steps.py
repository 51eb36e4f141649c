"""The step poller at its seam with SageMaker: paging, the adaptive schedule (budget: an L at
most every 2 s, every 30 s while nothing changes), pokes, throttling, no access, the end.

The poller runs in the test's thread on a fake clock whose ``wait`` advances time: every
interval asserted below is exact virtual time, so a busy machine cannot make them flaky.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from jupyter_ack.aws.sagemaker import list_steps
from jupyter_ack.status.model import StepStatus
from jupyter_ack.status.poller import (
    MAX_GAP,
    MIN_GAP,
    Durations,
    StepPoller,
    Throttle,
    pipeline_of,
)

T0 = datetime(2026, 11, 29, 10, 0, 0, 250000, tzinfo=timezone.utc)
ARN = "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/x"
Updates = list[tuple[tuple[StepStatus, ...], str, dict[str, Any] | None]]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def throttling(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate"}}, operation)


class FakeTime:
    """A clock (seconds since the epoch, starting at T0) and an ``Event.wait`` that advances
    it; actions scheduled with ``at`` (pokes, the end of a test) run at their time."""

    def __init__(self) -> None:
        self.now = T0.timestamp()
        self.actions: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def since(self) -> float:
        return self.now - T0.timestamp()

    def at(self, offset: float, action: Callable[[], None]) -> None:
        self.actions.append((T0.timestamp() + offset, action))
        self.actions.sort(key=lambda a: a[0])

    def wait(self, event: threading.Event, timeout: float) -> bool:
        target = self.now + timeout
        while self.actions and self.actions[0][0] <= target and not event.is_set():
            when, action = self.actions.pop(0)
            self.now = max(self.now, when)
            action()
        if not event.is_set():
            self.now = target
        return event.is_set()


class Step:
    """One step of a scripted execution: listed from ``start`` (s after T0), ``Starting`` for
    ``starting`` seconds, ``Executing`` until ``end``, then ``final``."""

    def __init__(
        self,
        name: str,
        start: float,
        end: float | None = None,
        final: str = "Succeeded",
        starting: float = 0.0,
    ) -> None:
        self.name, self.start, self.end, self.final = name, start, end, final
        self.starting = starting  # seconds Starting before Executing

    def item(self, t: float) -> dict[str, Any] | None:
        if t < self.start:
            return None
        item: dict[str, Any] = {
            "StepName": self.name,
            "StepStatus": "Starting" if t < self.start + self.starting else "Executing",
            "StartTime": at(self.start),
            "Metadata": {
                "TrainingJob": {
                    "Arn": f"arn:aws:sagemaker:us-east-1:1:training-job/{self.name.lower()}"
                }
            },
        }
        if self.end is not None and t >= self.end:
            item["StepStatus"] = self.final
            item["EndTime"] = at(self.end)
        return item


class FakeSageMaker:
    """SageMaker as a function of the fake clock. ``ends`` is when the execution Succeeds;
    ``status_changes`` maps a time to a status (and moves LastModifiedTime); ``throttle``
    says which calls (operation, time) are refused; ``page`` cuts listings into pages."""

    def __init__(
        self,
        time: FakeTime,
        steps: list[Step],
        *,
        ends: float | None = None,
        status_changes: dict[float, str] | None = None,
        throttle: Callable[[str, float], bool] = lambda op, t: False,
        page: int = 100,
    ) -> None:
        self.time = time
        self.steps = steps
        self.ends = ends
        self.status_changes = dict(status_changes or {})
        self.throttle = throttle
        self.page = page
        self.calls: list[tuple[str, float]] = []
        self.pages_asked: list[dict[str, Any]] = []

    def describe_pipeline_execution(self, **_: Any) -> dict[str, Any]:
        t = self.time.since()
        self.calls.append(("D", t))
        if self.throttle("D", t):
            raise throttling("DescribePipelineExecution")
        status, modified = "Executing", 0.0
        for when, state in sorted(self.status_changes.items()):
            if when <= t:
                status, modified = state, when
        if self.ends is not None and t >= self.ends:
            status, modified = "Succeeded", self.ends
        return {"PipelineExecutionStatus": status, "LastModifiedTime": at(modified)}

    def list_pipeline_execution_steps(self, **kwargs: Any) -> dict[str, Any]:
        t = self.time.since()
        self.calls.append(("L", t))
        self.pages_asked.append(kwargs)
        if self.throttle("L", t):
            raise throttling("ListPipelineExecutionSteps")
        items = [i for i in (s.item(t) for s in self.steps) if i is not None]
        offset = int(kwargs.get("NextToken") or 0)
        out: dict[str, Any] = {"PipelineExecutionSteps": items[offset : offset + self.page]}
        if offset + self.page < len(items):
            out["NextToken"] = str(offset + self.page)
        return out

    def times(self, op: str) -> list[float]:
        """When each poll of ``op`` was made (pages of one listing count once here)."""
        out: list[float] = []
        for name, t in self.calls:
            if name == op and (not out or t != out[-1]):
                out.append(t)
        return out


def poller(
    time: FakeTime,
    fake: Any,
    *,
    until: float = 3600.0,
    durations: Durations | None = None,
    gate: Throttle | None = None,
) -> tuple[StepPoller, Updates]:
    updates: Updates = []

    def on_update(
        steps: tuple[StepStatus, ...], source: str, described: dict[str, Any] | None
    ) -> None:
        updates.append((steps, source, described))

    p = StepPoller(
        ARN,
        "us-east-1",
        on_update,
        client=fake,
        clock=time.clock,
        wall=time.clock,
        wait=time.wait,
        durations=Durations() if durations is None else durations,
        throttle=gate or Throttle(time.clock, rand=lambda: 0.0),
    )
    time.at(until, p.stop)
    return p, updates


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


# the schedule --------------------------------------------------------------------------------


def test_quiet_intervals_grow_to_30s_then_fall_to_2s_on_a_change() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("Train", 0, 300), Step("Evaluate", 300)])
    p, updates = poller(time, fake, until=420)
    p.run()
    lists = fake.times("L")
    before = [t for t in lists if t < 300]
    assert gaps(before)[:3] == [MIN_GAP] * 3  # a step just started: watched closely
    assert gaps(before)[3:9] == pytest.approx([3, 4.5, 6.75, 10.125, 15.1875, 22.78125])
    assert max(gaps(before)) == MAX_GAP  # then every 30 s, never less often
    assert all(a <= b for a, b in itertools.pairwise(gaps(before)))  # growing while quiet
    assert len([t for t in before if t >= 120]) <= 6  # two a minute once quiet for long
    seen_end = next(t for t in lists if t >= 300)
    after = [t for t in lists if t >= seen_end]
    assert gaps(after)[:3] == [MIN_GAP] * 3  # the change brings it back to every 2 s
    assert [u[0][0].status for u in updates] == ["Executing", "Succeeded"]
    assert fake.times("D") == [0.0]  # steps were running all along: one Describe
    assert p.polls == len(lists)


def test_pokes_never_break_the_2s_floor() -> None:
    """Steps change every half second and a watch event arrives every 0.1 s, each one with
    the execution moved: still at most one L and one D per 2 s."""
    time = FakeTime()
    steps = [Step(f"S{i}", i * 0.5, i * 0.5 + 0.5) for i in range(120)]
    fake = FakeSageMaker(time, steps, status_changes={i * 0.1: "Executing" for i in range(600)})
    p, _ = poller(time, fake, until=60)
    for i in range(1, 600):
        time.at(i * 0.1, p.poke)
    p.run()
    lists, describes = fake.times("L"), fake.times("D")
    assert min(gaps(lists)) >= MIN_GAP
    assert min(gaps(describes)) >= MIN_GAP
    assert len(lists) == 30  # exactly one every 2 s: the floor is the only limit here


def test_a_poke_lists_early_only_when_the_execution_moved() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("Train", 0)], status_changes={149.0: "Stopping"})
    p, updates = poller(time, fake, until=200)
    time.at(100, p.poke)  # nothing moved (the controller rewrote its status)
    time.at(150, p.poke)  # a stop was asked: the execution is Stopping
    p.run()
    lists = fake.times("L")
    assert 100 in fake.times("D")
    assert not [t for t in lists if 99 < t < 128]  # no early L for the idle poke
    assert 150 in lists  # the moved one listed at once (the last L was > 2 s before)
    assert updates[-1][2] is not None
    assert updates[-1][2]["PipelineExecutionStatus"] == "Stopping"


def test_a_poke_inside_the_floor_waits_for_it() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("Train", 0)], status_changes={129.0: "Stopping"})
    p, _ = poller(time, fake, until=200)
    time.at(129.5, p.poke)
    p.run()
    lists = fake.times("L")
    last = max(t for t in lists if t < 129.5)
    assert last + MIN_GAP in lists  # early, but not before 2 s after the one before
    assert 129.5 in fake.times("D")


def test_typical_durations_bring_the_poll_to_the_expected_end() -> None:
    time = FakeTime()
    durations = Durations()
    durations.learn(pipeline_of(ARN), [Step("Train", -500, -390).item(0) or {}])  # took 110 s
    fake = FakeSageMaker(time, [Step("Train", 0, 111), Step("Evaluate", 111)])
    p, updates = poller(time, fake, until=130, durations=durations)
    p.run()
    lists = fake.times("L")
    assert 110.25 in lists  # at the expected end (plus the margin), not on the 30 s grid
    assert 112.25 in lists  # it ran long: polled again from its expected end, every 2 s
    assert [u[0][0].status for u in updates] == ["Executing", "Succeeded"]
    assert durations.typical(pipeline_of(ARN), "Train") == pytest.approx(111)  # learnt


def test_an_end_expected_just_after_the_next_poll_is_waited_for() -> None:
    """Polling at 2 s would see nothing and hold the next L until 4 s; waiting for the
    expected end (3 s) sees it at once."""
    time = FakeTime()
    durations = Durations()
    durations.learn(
        "arn:aws:sagemaker:us-east-1:1:pipeline/other", [Step("Prep", 0, 3).item(5) or {}]
    )
    fake = FakeSageMaker(time, [Step("Prep", 0, 3), Step("Train", 3)])
    p, updates = poller(time, fake, until=10, durations=durations)
    p.run()
    assert fake.times("L")[:3] == [0, 3.25, 5.25]  # (a step of that name, another pipeline)
    assert [u[0][0].status for u in updates] == ["Executing", "Succeeded"]


def test_a_starting_step_is_not_left_for_an_expected_end() -> None:
    """Its move to Executing cannot be timed: the 2 s plan holds."""
    time = FakeTime()
    durations = Durations()
    durations.learn(pipeline_of(ARN), [Step("Prep", 0, 3).item(5) or {}])
    fake = FakeSageMaker(time, [Step("Prep", 0, 3, starting=1), Step("Train", 3)])
    p, updates = poller(time, fake, until=10, durations=durations)
    p.run()
    assert fake.times("L")[:3] == [0, 2, 4]  # not 3.25 after the start: Prep was Starting
    assert [u[0][0].status for u in updates] == ["Starting", "Executing", "Succeeded"]


def test_durations_skip_cache_hits_and_forget_the_oldest() -> None:
    durations = Durations(limit=2)
    item = Step("A", 0, 5).item(10) or {}
    durations.learn("p", [{**item, "CacheHitResult": {"SourcePipelineExecutionArn": "x"}}])
    assert durations.typical("p", "A") is None
    for name in ("A", "B", "C"):
        durations.learn("p", [{**item, "StepName": name}])
    assert durations.typical("p", "A") is None
    assert durations.typical("p", "C") == 5


# the end, throttling, errors -------------------------------------------------------------------


def test_reports_changes_until_the_end_with_all_pages_then_stops() -> None:
    time = FakeTime()
    steps = [Step("A", 0, 3), Step("B", 3, 7)]
    fake = FakeSageMaker(time, steps, ends=7, page=1)
    p, updates = poller(time, fake)
    p.run()
    assert p.finished  # it ended on its own, long before the test's limit
    assert [tuple(s.status for s in steps) for steps, _, _ in updates] == [
        ("Executing",),
        ("Succeeded", "Executing"),
        ("Succeeded", "Succeeded"),
    ]  # unchanged polls were not reported
    final_steps, source, described = updates[-1]
    assert source == "sagemaker"
    assert described is not None
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert final_steps[0].start == "2026-11-29T10:00:00.250Z"
    assert final_steps[0].console_url
    assert final_steps[0].console_url.endswith("#/jobs/a")
    assert any("NextToken" in page for page in fake.pages_asked)  # every page was read
    assert all(page.get("SortOrder") == "Ascending" for page in fake.pages_asked)
    assert p.list_calls == len([c for c in fake.calls if c[0] == "L"])  # pages counted
    assert fake.calls[-1][0] == "D"  # every step ended: Describe said the run had too
    last_call = fake.calls[-1][1]
    assert last_call < 9  # ... and nothing was asked after the final report


def test_a_run_ending_between_polls_is_listed_once_more() -> None:
    """Describe (on a poke) says Succeeded while the last listing had a running step: one
    more listing, after it, gives the final steps; then nothing."""
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("A", 0, 40)], ends=40)
    p, updates = poller(time, fake, until=300)
    time.at(41, p.poke)
    p.run()
    assert p.finished
    assert updates[-1][0][0].status == "Succeeded"
    assert fake.calls[-1] == ("L", 41)  # D at the poke, then the final L, then nothing


def test_throttling_backs_off_on_a_shared_gate_without_a_storm() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("Train", 0)], throttle=lambda op, t: 10 <= t < 40)
    p, _ = poller(time, fake, until=120)
    time.at(12, p.poke)  # a watch event while throttled waits for the gate too
    p.run()
    attempts = sorted({t for _, t in fake.calls if 10 <= t < 50})
    assert gaps(attempts) == [2, 4, 8, 16]  # one try per gate opening, doubling
    assert [op for op, t in fake.calls if t == attempts[-1]] == ["D", "L"]  # the poke's D
    assert p.throttle.refusals == 4
    assert p.throttle.delay == 0  # an answer reset it


def test_the_gate_is_shared_and_spreads_the_pollers() -> None:
    time = FakeTime()
    gate = Throttle(time.clock, rand=lambda: 1.0)
    gate.throttled()
    gate.throttled()  # a second poller's call, made before the gate closed: no doubling
    assert gate.delay == MIN_GAP
    assert gate.not_before() == time.now + MIN_GAP + MIN_GAP / 2  # its own spread
    time.now += 3
    gate.throttled()  # refused again after reopening: doubled
    assert gate.delay == 2 * MIN_GAP
    for _ in range(10):
        time.now = gate.resume_at
        gate.throttled()
    assert gate.delay == 120.0  # capped


def test_other_errors_back_off_then_recover() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("A", 0, 30)], ends=30)
    failing = {"left": 3}
    real = fake.list_pipeline_execution_steps

    def flaky(**kwargs: Any) -> dict[str, Any]:
        if time.since() >= 5 and failing["left"]:
            failing["left"] -= 1
            raise ConnectionError("reset by peer")
        return real(**kwargs)

    fake.list_pipeline_execution_steps = flaky  # type: ignore[method-assign]
    p, updates = poller(time, fake)
    p.run()
    assert p.finished
    assert updates[-1][2] is not None
    assert updates[-1][2]["PipelineExecutionStatus"] == "Succeeded"


def test_no_credentials_reports_why_and_stops() -> None:
    class NoAccess:
        def describe_pipeline_execution(self, **_: Any) -> Any:
            raise NoCredentialsError()

    time = FakeTime()
    p, updates = poller(time, NoAccess())
    p.run()
    assert len(updates) == 1
    steps, source, described = updates[0]
    assert steps == ()
    assert described is None
    assert source.startswith("unavailable: no access to SageMaker")


# compatibility ---------------------------------------------------------------------------------


def test_the_budget_holds_whatever_fast_and_slow_callers_pass() -> None:
    p = StepPoller(ARN, "us-east-1", lambda *_: None, client=object(), fast=0.5, slow=10.0)
    assert (p.min_gap, p.max_gap) == (MIN_GAP, MAX_GAP)
    slower = StepPoller(ARN, "us-east-1", lambda *_: None, client=object(), fast=5, slow=60)
    assert (slower.min_gap, slower.max_gap) == (5, 60)


def test_runs_in_its_thread_until_the_end() -> None:
    class Done:
        def describe_pipeline_execution(self, **_: Any) -> dict[str, Any]:
            return {"PipelineExecutionStatus": "Succeeded"}

        def list_pipeline_execution_steps(self, **_: Any) -> dict[str, Any]:
            return {"PipelineExecutionSteps": [Step("A", 0, 1).item(2)]}

    reported = threading.Event()
    p = StepPoller(
        ARN, "us-east-1", lambda *_: reported.set(), client=Done(), throttle=Throttle()
    ).start()
    assert reported.wait(10)
    p.stop()
    assert p.finished
    assert p.polls == 1


def test_list_steps_follows_tokens() -> None:
    time = FakeTime()
    fake = FakeSageMaker(time, [Step("A", 0, 1), Step("B", 0)], page=1)
    assert [s["StepName"] for s in list_steps(fake, "arn")] == ["A", "B"]

"""Per-step progress from SageMaker, polled: the ACK objects carry no step status.

One :class:`StepPoller` per followed run asks ListPipelineExecutionSteps (every page; "L"
below) and DescribePipelineExecution ("D") for one execution ARN, and reports each change.

The budget (issue "status at scale"): at most one L per run every ``MIN_GAP`` (2 s) while
steps change, one every ``MAX_GAP`` (30 s) while they do not, none once the run has ended
and its final steps were reported, and no retry storm when SageMaker throttles.

The policy, and why:

- **L after a change, then back off.** When a listing differs from the one before (a step
  started, moved or ended), the next L comes ``MIN_GAP`` later: steps of a pipeline start
  and end in clusters (an end starts its successors; a Starting step soon Executes). While
  nothing changes the next L waits half the time the listing has been quiet, clamped to
  [``MIN_GAP``, ``MAX_GAP``]: gaps of 2, 2, 2, 3, 4.5 ... s, growing by half each time, reach
  30 s after a quiet minute. So a step that has been Executing for minutes (a training job)
  costs two L a minute, and one that just started is watched closely, without knowing the
  step's type.
- **Typical durations move the next L to a step's expected end.** Each poller records how
  long the steps it saw succeed took, per (pipeline ARN, step name), in a process-wide table
  (:data:`DURATIONS`; the last duration wins; cache hits and reused steps are not
  durations; a step new to its pipeline takes the duration of the last step of that name
  in any pipeline). A running step with a known duration is expected to end at its
  ``StartTime`` plus that duration (by the local clock). The next L is put ``END_MARGIN``
  after the first expected end when that comes before the planned L (but never within
  ``MIN_GAP`` of the last L), or less than ``MIN_GAP`` after it: an L just before an end
  sees nothing new, and the floor would then hold the next one past the end (not while a
  step is Starting: its move to Executing is a change nobody can time). If the step
  has not ended by then, the back-off restarts from the expected end as if a change had
  been seen: a step that runs a little long is still caught within a few seconds, for
  about three L per mispredicted end. Without a known duration, the end of a long step is
  seen up to a back-off gap late (at most ``MAX_GAP``): the price of two L a minute.
- **D only when it can say something.** D's ``LastModifiedTime`` does not tell that a step
  changed (the API calls it the time the execution was last modified; the sandbox's
  SageMaker moves it with the execution's status only, and we found nothing saying the
  service moves it per step), so D cannot replace L. D carries the execution's status,
  failure reason and end, which steps only hint at, so it is asked: on the first poll; right
  after an L that lists no running step (the run may have ended: D settles it without
  waiting a gap); before the L that follows a listing with no running step; and on a
  ``poke``. Otherwise the last answer is reused.
- **Pokes** (a watch event on the run's ACK object) ask D at once, at most one D per
  ``MIN_GAP``. Only when D shows the execution moved (status, failure reason or
  ``LastModifiedTime``) is the L brought forward, still never within ``MIN_GAP`` of the one
  before: the ACK controller's periodic status writes cost one D, not an L.
- **The end.** Once D says the execution finished and an L made after it (or one that listed
  every step ended, right before it) was reported, the poller stops: no call after that.
- **Throttling.** A ThrottlingException closes a gate shared by every poller of the region
  in this process (:class:`Throttle`: SageMaker's limits are per account and region, so one
  refusal slows them all): ``MIN_GAP``, then doubling up to ``MAX_THROTTLE`` while refusals
  continue, each poller resuming at a random point within half a delay after the gate opens
  so that they do not retry together; a pending poke waits for the gate too. Other errors
  back off per poller (doubling from ``MIN_GAP`` to ``MAX_GAP``). botocore's own retries,
  underneath, are the client's (a few, with exponential back-off).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from jupyter_ack.ack.resources import FINISHED
from jupyter_ack.aws.clients import NO_ACCESS, THROTTLING, error_code
from jupyter_ack.aws.sagemaker import list_steps
from jupyter_ack.status.model import StepStatus, steps_from_sagemaker

log = logging.getLogger("jupyter_ack.status.poller")

# steps, where they came from ("sagemaker" or why not), DescribePipelineExecution's answer
Update = Callable[[tuple[StepStatus, ...], str, dict[str, Any] | None], None]
Clock = Callable[[], float]
# waits on the event for at most the timeout (seconds); True when the event was set
Waiter = Callable[[threading.Event, float], bool]

MIN_GAP = 2.0  # seconds between two L of one run (and two D asked by pokes), at least
MAX_GAP = 30.0  # seconds between two L of one run while nothing changes, at most
QUIET_SHARE = 0.5  # while nothing changes, the next L waits this share of the quiet time
END_MARGIN = 0.25  # an expected step end is polled this long after it (clocks, latency)
MAX_THROTTLE = 120.0  # the longest shared back-off after ThrottlingException
ENDED_STEPS = frozenset({"Succeeded", "Failed", "Stopped"})


def _seconds(value: Any) -> float | None:
    """A SageMaker timestamp (a datetime from boto3, or epoch seconds) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def pipeline_of(execution_arn: str) -> str:
    """The pipeline's ARN from one of its executions' ARN (``.../execution/ID`` cut off)."""
    return execution_arn.split("/execution/", 1)[0]


class Durations:
    """How long steps took, per (pipeline ARN, step name): the last successful run of each,
    for at most ``limit`` steps (the oldest forgotten first). A step never seen in its own
    pipeline takes the last duration of a step of the same name in any pipeline (pipelines
    made from one template or notebook name their steps alike)."""

    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def learn(self, pipeline: str, items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            if item.get("StepStatus") != "Succeeded":
                continue
            if item.get("CacheHitResult") or item.get("SelectiveExecutionResult"):
                continue  # its time is not the step's
            start, end = _seconds(item.get("StartTime")), _seconds(item.get("EndTime"))
            if start is None or end is None or end < start:
                continue
            name = str(item.get("StepName", ""))
            with self._lock:
                for key in ((pipeline, name), ("", name)):
                    self._seen[key] = end - start
                    self._seen.move_to_end(key)
                while len(self._seen) > self.limit:
                    self._seen.popitem(last=False)

    def typical(self, pipeline: str, step: str) -> float | None:
        with self._lock:
            found = self._seen.get((pipeline, step))
            return self._seen.get(("", step)) if found is None else found

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


DURATIONS = Durations()


class Throttle:
    """A back-off gate shared by the pollers of one region (see the module's docstring).

    ``throttled()`` after a ThrottlingException: the gate closes for ``MIN_GAP`` (doubled
    for each refusal met after it reopened, up to ``MAX_THROTTLE``); a refusal of a call made
    while it was closed (already in flight) does not double it again. ``ok()`` after an answer
    while open resets it. ``not_before()`` is when a caller may call, with its own random
    spread within half a delay so that the pollers do not all come back at once.
    """

    def __init__(
        self,
        clock: Clock = time.monotonic,
        rand: Callable[[], float] = random.random,
        first: float = MIN_GAP,
        longest: float = MAX_THROTTLE,
    ) -> None:
        self.clock = clock
        self.rand = rand
        self.first = first
        self.longest = longest
        self.delay = 0.0
        self.resume_at = -math.inf
        self.refusals = 0
        self._lock = threading.Lock()

    def throttled(self) -> None:
        with self._lock:
            self.refusals += 1
            now = self.clock()
            if now < self.resume_at:
                return  # asked before the gate closed: the refusal is already counted
            self.delay = min(max(self.delay * 2, self.first), self.longest)
            self.resume_at = now + self.delay

    def ok(self) -> None:
        with self._lock:
            if self.clock() >= self.resume_at:
                self.delay = 0.0

    def not_before(self) -> float:
        with self._lock:
            if self.delay <= 0:
                return -math.inf
            return self.resume_at + self.rand() * self.delay / 2


_throttles: dict[str, Throttle] = {}
_throttles_lock = threading.Lock()


def throttle_for(region: str | None) -> Throttle:
    """The process's shared gate for ``region``."""
    with _throttles_lock:
        gate = _throttles.get(region or "")
        if gate is None:
            gate = _throttles[region or ""] = Throttle()
        return gate


def _wait(event: threading.Event, timeout: float) -> bool:
    return event.wait(timeout)


class StepPoller:
    """Polls one execution's steps in a background thread and reports changes.

    ``fast`` and ``slow`` are kept for callers that pass them: they can make the poller
    slower than the budget (``min_gap``, ``max_gap``), never faster. ``clock``/``wall``
    (monotonic and epoch seconds) and ``wait`` are seams for tests, as are ``durations``
    and ``throttle`` (default: the process's shared ones). ``list_calls`` (pages) and
    ``describe_calls`` count the calls asked, ``polls`` the listings read.
    """

    def __init__(
        self,
        arn: str,
        region: str | None,
        on_update: Update,
        client: Any = None,
        fast: float = 0.5,
        slow: float = 10.0,
        *,
        min_gap: float = MIN_GAP,
        max_gap: float = MAX_GAP,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        wait: Waiter = _wait,
        durations: Durations | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.arn = arn
        self.region = region
        self.on_update = on_update
        self._client = client
        self.fast = fast
        self.slow = slow
        self.min_gap = max(fast, min_gap)
        self.max_gap = max(slow, max_gap, self.min_gap)
        self._clock = clock
        self._wall = wall
        self._waiter = wait
        self.durations = DURATIONS if durations is None else durations
        self.throttle = throttle_for(region) if throttle is None else throttle
        self.pipeline = pipeline_of(arn)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self.run, name="jupyter-ack-steps", daemon=True)
        self.polls = 0
        self.list_calls = 0
        self.describe_calls = 0
        self.finished = False
        # state of the policy (monotonic seconds)
        self._poked = False
        self._poke_lock = threading.Lock()
        self._described: dict[str, Any] | None = None
        self._mark = ""
        self._last_list = -math.inf
        self._last_describe = -math.inf
        self._next_list = -math.inf  # the first poll is at once
        self._changed_at = -math.inf
        self._no_running = True
        self._error_gap = 0.0

    def start(self) -> StepPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def poke(self) -> None:
        """Something changed elsewhere (a watch event): ask SageMaker sooner (see the
        module's docstring: a D at once, an L only if the execution moved, never faster than
        the gaps allow)."""
        with self._poke_lock:
            self._poked = True
        self._wake.set()

    @property
    def next_list(self) -> float:
        """When the next L is planned (the poller's clock), for tests and benchmarks."""
        return self._next_list

    # the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Poll in the calling thread until the run has ended (or ``stop``)."""
        try:
            while not self._stop.is_set():
                now = self._clock()
                due = self._due(now)
                if due > now:
                    self._waiter(self._wake, due - now)
                    self._wake.clear()
                    continue
                if not self._poll(now):
                    return
        except Exception:  # a bug must not die silently in a daemon thread
            log.exception("step poller for %s failed", self.arn)

    def _list_at(self) -> float:
        """When the next L may be made: as planned, and never within ``min_gap`` of the last."""
        return max(self._next_list, self._last_list + self.min_gap)

    def _due(self, now: float) -> float:
        due = self._list_at()
        if self._poked:
            due = min(due, max(now, self._last_describe + self.min_gap))
        return max(due, self.throttle.not_before())

    def _client_or_none(self) -> Any:
        if self._client is None:
            from jupyter_ack.aws.clients import client

            self._client = client("sagemaker", self.region)
        return self._client

    def _describe(self, sm: Any) -> dict[str, Any]:
        self.describe_calls += 1
        self._last_describe = self._clock()
        answer: dict[str, Any] = sm.describe_pipeline_execution(PipelineExecutionArn=self.arn)
        return answer

    def _list(self, sm: Any) -> list[dict[str, Any]]:
        self._last_list = self._clock()  # the floor counts from the call itself
        pages = _PageCounter(sm)
        try:
            return list_steps(pages, self.arn)
        finally:
            self.list_calls += pages.calls

    def _poll(self, now: float) -> bool:
        """One round of calls; False once the poller is done."""
        with self._poke_lock:
            poked, self._poked = self._poked, False
        first = self._described is None
        ask_first = first or poked or self._no_running
        described = self._described
        try:
            sm = self._client_or_none()
            if ask_first:
                described = self._describe(sm)
                if now < self._list_at():  # a poke between two L: list early if it moved
                    if _moved(self._described, described):
                        self._next_list = now
                    self._described = described
                    if now < self._list_at():
                        self.throttle.ok()
                        return True
            items = self._list(sm)
            ended = (described or {}).get("PipelineExecutionStatus") in FINISHED
            if not ask_first and not ended and not _running(items):
                described = self._describe(sm)  # every step has ended: has the run?
        except Exception as e:
            return self._failed(e, now, poked)
        self.throttle.ok()
        self._error_gap = 0.0
        self.polls += 1
        self._described = described
        state = (described or {}).get("PipelineExecutionStatus")
        mark = json.dumps([state, items], sort_keys=True, default=str)
        if first or mark != self._mark:
            self._changed_at = now  # fast again: something moved (or we just began)
        if mark != self._mark:
            self._mark = mark
            self.durations.learn(self.pipeline, items)
            self.on_update(steps_from_sagemaker(items, self.region), "sagemaker", described)
        if state in FINISHED:
            self.finished = True
            return False
        self._no_running = not _running(items)
        wall = self._wall() - (self._clock() - now)  # the epoch time of `now`
        self._next_list = now + self.gap(now, wall, items)
        return True

    def _failed(self, e: Exception, now: float, poked: bool) -> bool:
        code = error_code(e)
        if code in NO_ACCESS or type(e).__name__ in NO_ACCESS:
            self.on_update(
                (), f"unavailable: no access to SageMaker ({code or type(e).__name__})", None
            )
            return False
        if code in THROTTLING:
            log.debug("SageMaker throttles the step poller: %s", e)
            self.throttle.throttled()
            if poked:  # the poke still wants its answer, after the gate
                self.poke()
        else:
            log.debug("step poll failed: %s", e)
            self._error_gap = min(max(self._error_gap * 2, self.min_gap), self.max_gap)
            self._next_list = now + self._error_gap
        return True

    # the policy -------------------------------------------------------------------------------

    def gap(self, now: float, wall: float, items: list[dict[str, Any]]) -> float:
        """Seconds from the L just made (at ``now``; ``wall`` is the same instant in epoch
        seconds, to compare with step times) to the next one (see the module's docstring)."""
        anchor = self._changed_at
        ends: list[float] = []  # expected step ends to come, in seconds from now
        for item in items:
            if item.get("StepStatus") in ENDED_STEPS:
                continue
            start = _seconds(item.get("StartTime"))
            typical = self.durations.typical(self.pipeline, str(item.get("StepName", "")))
            if start is None or typical is None:
                continue
            ends_in = start + typical - wall
            if ends_in > 0:
                ends.append(ends_in + END_MARGIN)
            else:  # expected to have ended: back off from then as after a change
                anchor = max(anchor, now + ends_in)
        quiet = now - anchor
        wait = min(max(quiet * QUIET_SHARE, self.min_gap), self.max_gap)
        ends.sort()
        if ends and ends[0] < wait:  # an end is expected sooner: poll just after it
            wait = max(ends[0], self.min_gap)
        if any(item.get("StepStatus") == "Starting" for item in items):
            return wait  # it will be Executing at a time nobody knows: keep to the plan
        # one expected shortly after: wait for it rather than poll just before it (that L
        # would see nothing new and, by the floor, hold the next one past the end)
        later = [e for e in ends if wait < e <= wait + self.min_gap]
        return later[0] if later else wait


class _PageCounter:
    """The client as :func:`list_steps` uses it, counting the pages asked (each a call)."""

    def __init__(self, sm: Any) -> None:
        self.sm = sm
        self.calls = 0

    def list_pipeline_execution_steps(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.sm.list_pipeline_execution_steps(**kwargs)


def _running(items: list[dict[str, Any]]) -> bool:
    return any(item.get("StepStatus") not in ENDED_STEPS for item in items)


def _moved(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether D's answer says the execution changed since the one before."""
    if before is None:
        return True
    keys = ("PipelineExecutionStatus", "FailureReason", "LastModifiedTime")
    return any(before.get(k) != after.get(k) for k in keys)

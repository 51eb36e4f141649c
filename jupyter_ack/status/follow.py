"""Follow one run: the shared watch on PipelineExecution plus the step poller (or, with an
events queue configured, SageMaker's step events: :mod:`jupyter_ack.status.events`), merged
into :class:`~jupyter_ack.status.model.RunStatus` values.

There is one :class:`RunFollower` per run per process, whatever the number of views: each
view holds a :class:`Follow` lease (its own callback and queue), and the follower, its step
poller and its share of the informer are released when the last lease closes. A CLI, a
kernel's panels and the server's browser tabs all follow runs this way.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import EXECUTIONS, FINISHED
from jupyter_ack.ack.watch import Event, Health, subscribe
from jupyter_ack.status.events import StepEvents, default_queue, needs_initial_list
from jupyter_ack.status.model import NOT_POLLED, RunStatus, StepStatus, from_object, merge
from jupyter_ack.status.poller import MAX_GAP, MIN_GAP, StepPoller

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster

OnChange = Callable[[RunStatus], None]


class RunFollower:
    """Merges the ACK object and SageMaker's steps of one run and reports each change once.

    Made and shared by :func:`follow`; use that. ``current`` is the newest status; ``done`` is
    set once the run is :attr:`~RunStatus.settled` (finished with its final steps) or deleted.
    """

    def __init__(
        self,
        cluster: Cluster,
        name: str,
        *,
        steps: bool = True,
        sagemaker_client: Any = None,
        poll_fast: float = MIN_GAP,
        poll_slow: float = MAX_GAP,
        events_queue: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.want_steps = steps
        self.sagemaker_client = sagemaker_client
        self.poll_fast, self.poll_slow = poll_fast, poll_slow
        self.current: RunStatus | None = None
        self.gone = False
        self.lost: str | None = None  # the cluster stayed unreachable past the limit: why
        self._health = Health()
        self.done = threading.Event()
        self._ack: RunStatus | None = None
        self._described: dict[str, Any] | None = None
        self._steps_final = False
        self._steps: tuple[StepStatus, ...] = ()
        self._source = NOT_POLLED if steps else "off"
        self._poller: StepPoller | None = None
        # the events queue (None: the process's default, "": none, poll)
        self.events_queue = events_queue
        self.step_events: StepEvents | None = None
        self._events_note: str | None = None  # why the queue is not used after all
        self._saw_pending = False  # the run was seen before SageMaker started it
        self._lock = threading.RLock()
        self._leases: list[Follow] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._stopped = False

    def start(self) -> RunFollower:
        with self._lock:
            if self._stopped:  # its only lease closed before the start: nobody is listening
                return self
            self._unsubscribe = subscribe(
                self.cluster, EXECUTIONS, self._on_event, on_health=self._on_health
            )
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._poller:
            self._poller.stop()
        if self.step_events:
            self.step_events.stop()

    # leases -------------------------------------------------------------------------------

    def _add(self, lease: Follow) -> None:
        with self._lock:
            self._leases.append(lease)
            current, done = self.current, self.done.is_set()
        if current is not None:
            lease._deliver(current, done)

    def _remove(self, lease: Follow) -> int:
        with self._lock:
            if lease in self._leases:
                self._leases.remove(lease)
            return len(self._leases)

    # sources ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.name != self.name:
            return
        if event.type == "DELETED":
            with self._lock:
                self.gone = True
                self._ack = self._ack or from_object(event.object)
            self._publish(final=True)
            return
        run = from_object(event.object)
        with self._lock:
            self._ack = run
            self._saw_pending = self._saw_pending or (not run.arn and not run.finished)
            first = bool(run.arn) and self.want_steps and not self._steps_chosen()
            queue = self._queue() if first else None
            if first and queue:
                assert run.arn is not None
                self.step_events = StepEvents(
                    run.arn,
                    run.region,
                    queue,
                    self._on_event_steps,
                    self._events_unavailable,
                    client=self.sagemaker_client,
                    initial=needs_initial_list(self._saw_pending, run.start),
                    selective=bool(run.selected_steps),
                )
            elif first:
                self._poller = self._new_poller(run)
            step_events, poller = self.step_events, self._poller
        if first and step_events is not None:
            step_events.start()
        elif first and poller is not None:
            poller.start()
        elif step_events is not None:
            step_events.ack_status(run.finished)
        elif poller is not None:
            poller.poke()
        self._publish()

    def _steps_chosen(self) -> bool:
        return self._poller is not None or self.step_events is not None

    def _queue(self) -> str | None:
        return default_queue() if self.events_queue is None else self.events_queue or None

    def _new_poller(self, run: RunStatus) -> StepPoller:
        assert run.arn is not None
        return StepPoller(
            run.arn,
            run.region,
            self._on_steps,
            self.sagemaker_client,
            fast=self.poll_fast,
            slow=self.poll_slow,
        )

    def _events_unavailable(self, why: str) -> None:
        """The events queue cannot be read: poll instead, and say so in ``steps_source``."""
        with self._lock:
            if self._stopped or self._poller is not None or self._ack is None:
                return
            self._events_note = why
            self._poller = self._new_poller(self._ack)
            poller, step_events = self._poller, self.step_events
        if step_events is not None:
            step_events.stop()
        poller.start()
        self._publish()

    def _on_event_steps(
        self,
        steps: tuple[StepStatus, ...],
        source: str,
        described: dict[str, Any] | None,
        complete: bool,
    ) -> None:
        with self._lock:
            if self._poller is not None:  # fell back to polling: the poller reports now
                return
            self._steps, self._source = steps, source
            self._described = described
            self._steps_final = complete
        self._publish()

    def _on_health(self, health: Health) -> None:
        """The cluster stopped (or started again) answering: every view says so, and once it
        has been gone past the limit the run is given up on (``lost``)."""
        with self._lock:
            self._health = health
            if health.lost:
                self.lost = health.problem
        self._publish(final=health.lost)

    def _on_steps(
        self, steps: tuple[StepStatus, ...], source: str, described: dict[str, Any] | None
    ) -> None:
        with self._lock:
            self._steps, self._source = steps, source
            self._described = described
            state = (described or {}).get("PipelineExecutionStatus")
            self._steps_final = state in FINISHED or source != "sagemaker"
        self._publish()

    def _publish(self, final: bool = False) -> None:
        with self._lock:
            if self._ack is None:
                return
            source = self._source
            if self._events_note and source == "sagemaker":
                source = f"sagemaker (polled: {self._events_note})"
            merged = merge(self._ack, self._described, self._steps, source)
            if self._health.problem:
                merged = replace(merged, unreachable=self._health.problem)
            if merged == self.current and not final:
                return
            self.current = merged
            steps_done = not self.want_steps or self._steps_final or merged.arn is None
            finished = final or (merged.finished and steps_done)
            if finished:
                self.done.set()
            leases = list(self._leases)
        for lease in leases:
            lease._deliver(merged, finished)


class Follow:
    """One view's lease on a shared :class:`RunFollower`: a callback, a queue, and ``close``.

    Usable from a kernel thread (``on_change``) or a blocking loop (:meth:`updates`).
    """

    def __init__(self, key: tuple[str, ...], follower: RunFollower, on_change: OnChange | None):
        self._key = key
        self.follower = follower
        self.on_change = on_change
        self._queue: queue.Queue[RunStatus | None] = queue.Queue()
        self._closed = False

    @property
    def name(self) -> str:
        return self.follower.name

    @property
    def current(self) -> RunStatus | None:
        return self.follower.current

    @property
    def done(self) -> threading.Event:
        return self.follower.done

    @property
    def gone(self) -> bool:
        return self.follower.gone

    @property
    def lost(self) -> str | None:
        """Why the run was given up on: the cluster stayed unreachable past the limit."""
        return self.follower.lost

    def raise_if_lost(self) -> None:
        """A :class:`ClusterError` when the run was given up on (for the blocking views)."""
        from jupyter_ack.ack.watch import unreachable_limit
        from jupyter_ack.errors import ClusterError

        if self.follower.lost:
            raise ClusterError(
                f"gave up following {self.name} after {unreachable_limit():g} s: "
                f"{self.follower.lost}",
                hint=f"when the cluster is back, `jupyter-ack status {self.name}` tells where "
                "the run is (the limit: JUPYTER_ACK_UNREACHABLE_LIMIT seconds)",
            )

    def _deliver(self, run: RunStatus, finished: bool) -> None:
        if self._closed:
            return
        if self.on_change is not None:
            self.on_change(run)
        self._queue.put(run)
        if finished:
            self._queue.put(None)

    def updates(self, timeout: float | None = None) -> Iterator[RunStatus]:
        """Each change until the run settles, is deleted, or ``timeout`` passes silently."""
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is None:
                return
            yield item

    def wait(self, timeout: float | None = None) -> RunStatus | None:
        """Block until the run has settled (or is gone); the last status."""
        self.follower.done.wait(timeout)
        return self.follower.current

    def close(self) -> None:
        """Leave; the last lease to leave stops the follower and releases its watch."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        with _lock:
            left = self.follower._remove(self)
            if left == 0 and _followers.get(self._key) is self.follower:
                del _followers[self._key]
            else:
                return
        self.follower.stop()

    def __enter__(self) -> Follow:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_followers: dict[tuple[str, ...], RunFollower] = {}
_lock = threading.Lock()


def follow(
    cluster: Cluster,
    name: str,
    on_change: OnChange | None = None,
    *,
    steps: bool = True,
    sagemaker_client: Any = None,
    poll_fast: float = MIN_GAP,
    poll_slow: float = MAX_GAP,
    events_queue: str | None = None,
) -> Follow:
    """A lease on the process's follower of run ``name`` (made on first use).

    ``on_change`` is called (on a background thread) with the current status at once when
    there is one, then with each change. Close the lease (or use it as a context manager).
    Steps come from SageMaker's events when an events queue is set (``events_queue``, else
    :func:`~jupyter_ack.status.events.default_queue`; ``""``: poll), else by polling.
    """
    key = (cluster.server, cluster.namespace, name, "steps" if steps else "no-steps")
    with _lock:
        follower = _followers.get(key)
        fresh = follower is None
        if follower is None:
            follower = RunFollower(
                cluster,
                name,
                steps=steps,
                sagemaker_client=sagemaker_client,
                poll_fast=poll_fast,
                poll_slow=poll_slow,
                events_queue=events_queue,
            )
            _followers[key] = follower
        lease = Follow(key, follower, on_change)
        follower._add(lease)
    if fresh:
        follower.start()
    return lease


def active() -> int:
    """How many runs are followed in this process."""
    with _lock:
        return len(_followers)

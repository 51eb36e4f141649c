"""Follow one run: the shared watch on PipelineExecution plus the step poller, merged into
:class:`~jupyter_ack.status.RunStatus` values, each reported once, in order.

Usable from a kernel thread (callbacks) or a blocking loop (``updates``); the server
extension wraps the same callbacks into asyncio.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .status import FINISHED, RunStatus, StepStatus, from_object, iso
from .steps import StepPoller
from .watch import Event, informer

if TYPE_CHECKING:
    from .cluster import Cluster

PLURAL = "pipelineexecutions"


class RunFollower:
    """Reports every meaningful change of one run to ``on_change``."""

    def __init__(
        self,
        cluster: Cluster,
        name: str,
        on_change: Callable[[RunStatus], None] | None = None,
        *,
        steps: bool = True,
        sagemaker_client: Any = None,
        poll_fast: float = 0.5,
        poll_slow: float = 10.0,
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.on_change = on_change
        self.want_steps = steps
        self.sagemaker_client = sagemaker_client
        self.poll_fast, self.poll_slow = poll_fast, poll_slow
        self.current: RunStatus | None = None
        self.gone = False
        self._ack: RunStatus | None = None
        self._described: dict[str, Any] | None = None
        self._steps_final = False
        self._steps: tuple[StepStatus, ...] = ()
        self._source = "not polled" if steps else "off"
        self._poller: StepPoller | None = None
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._queue: queue.Queue[RunStatus | None] = queue.Queue()
        self.done = threading.Event()

    def start(self) -> RunFollower:
        self._unsubscribe = informer(self.cluster, PLURAL).subscribe(self._on_event)
        return self

    def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._poller:
            self._poller.stop()
        self._queue.put(None)

    def updates(self, timeout: float | None = None) -> Iterator[RunStatus]:
        """Each change until the run finishes, is deleted, or ``timeout`` passes silently."""
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is None:
                return
            yield item

    def wait(self, timeout: float | None = None) -> RunStatus | None:
        """Block until the run has finished (or is gone); the last status."""
        self.done.wait(timeout)
        return self.current

    # sources ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.name != self.name:
            return
        if event.type == "DELETED":
            self.gone = True
            with self._lock:
                self._ack = self._ack or from_object(event.object)
            self._publish(final=True)
            return
        run = from_object(event.object)
        with self._lock:
            self._ack = run
        if run.arn and self.want_steps and self._poller is None:
            self._poller = StepPoller(
                run.arn,
                run.region,
                self._on_steps,
                self.sagemaker_client,
                fast=self.poll_fast,
                slow=self.poll_slow,
            ).start()
        elif self._poller is not None:
            self._poller.poke()
        self._publish()

    def _on_steps(
        self, steps: tuple[StepStatus, ...], source: str, described: dict[str, Any] | None
    ) -> None:
        with self._lock:
            self._steps, self._source = steps, source
            self._described = described
            state = (described or {}).get("PipelineExecutionStatus")
            self._steps_final = state in FINISHED or source != "sagemaker"
        self._publish()

    def _merged(self) -> RunStatus | None:
        """The ACK object's view, made fresher by SageMaker's answer when there is one."""
        run = self._ack
        if run is None:
            return None
        described = self._described
        if described and described.get("PipelineExecutionStatus"):
            state = str(described["PipelineExecutionStatus"])
            run = replace(
                run,
                status=state,
                failure_reason=described.get("FailureReason") or run.failure_reason,
                end=iso(described.get("LastModifiedTime")) if state in FINISHED else None,
                start=run.start or iso(described.get("CreationTime")),
            )
        return run.with_steps(self._steps, self._source)

    def _publish(self, final: bool = False) -> None:
        with self._lock:
            merged = self._merged()
            if merged is None or (merged == self.current and not final):
                return
            self.current = merged
            steps_done = not self.want_steps or self._steps_final or merged.arn is None
            finished = final or (merged.finished and steps_done)
        if self.on_change:
            self.on_change(merged)
        self._queue.put(merged)
        if finished:
            self.done.set()
            self._queue.put(None)


def latest_run(cluster: Cluster) -> str:
    """The newest PipelineExecution's name in the cluster's namespace (CLI and magics)."""
    from .errors import JupyterAckError

    items = cluster.list(PLURAL).get("items", [])
    if not items:
        raise JupyterAckError(f"no runs in namespace {cluster.namespace}")
    items.sort(key=lambda o: o["metadata"].get("creationTimestamp", ""))
    return str(items[-1]["metadata"]["name"])

"""Per-step progress from SageMaker, polled: the ACK objects carry no step status.

The poller asks DescribePipelineExecution and ListPipelineExecutionSteps (every page) for
one execution ARN: every ``fast`` seconds while something changes, backing off toward
``slow`` while nothing does, backing off further when throttled, and stopping once the run
has finished and its final steps were reported.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from jupyter_ack.ack.resources import FINISHED
from jupyter_ack.aws.clients import NO_ACCESS, THROTTLING, error_code
from jupyter_ack.aws.sagemaker import list_steps
from jupyter_ack.status.model import StepStatus, steps_from_sagemaker

log = logging.getLogger("jupyter_ack.status.poller")

# steps, where they came from ("sagemaker" or why not), DescribePipelineExecution's answer
Update = Callable[[tuple[StepStatus, ...], str, dict[str, Any] | None], None]


class StepPoller:
    """Polls one execution's steps in a background thread and reports changes."""

    def __init__(
        self,
        arn: str,
        region: str | None,
        on_update: Update,
        client: Any = None,
        fast: float = 0.5,
        slow: float = 10.0,
    ) -> None:
        self.arn = arn
        self.region = region
        self.on_update = on_update
        self._client = client
        self.fast = fast
        self.slow = slow
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jupyter-ack-steps", daemon=True)
        self.polls = 0

    def start(self) -> StepPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def poke(self) -> None:
        """Something changed elsewhere (a watch event): poll now rather than later."""
        self._wake.set()

    def _client_or_none(self) -> Any:
        if self._client is None:
            from jupyter_ack.aws.clients import client

            self._client = client("sagemaker", self.region)
        return self._client

    def _run(self) -> None:
        interval = self.fast
        last = ""
        while not self._stop.is_set():
            try:
                sm = self._client_or_none()
                described = sm.describe_pipeline_execution(PipelineExecutionArn=self.arn)
                items = list_steps(sm, self.arn)
                self.polls += 1
            except Exception as e:
                code = error_code(e)
                if code in NO_ACCESS or type(e).__name__ in NO_ACCESS:
                    self.on_update(
                        (),
                        f"unavailable: no access to SageMaker ({code or type(e).__name__})",
                        None,
                    )
                    return
                if code in THROTTLING:
                    interval = min(max(interval * 2, 2.0), self.slow * 3)
                else:
                    log.debug("step poll failed: %s", e)
                    interval = min(interval * 2, self.slow)
                self._sleep(interval)
                continue
            state = described.get("PipelineExecutionStatus")
            mark = json.dumps([state, items], sort_keys=True, default=str)
            if mark != last:
                last = mark
                self.on_update(steps_from_sagemaker(items, self.region), "sagemaker", described)
                interval = self.fast
            else:
                interval = min(interval * 1.5, self.slow)
            if state in FINISHED:
                return
            self._sleep(interval)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

"""The live panel: the DAG from the shared layout, coloured by step status, with the run's
header, step links and a Stop button (anywidget; front end in ``panel.js`` / ``panel.css``).

Status arrives from :class:`~jupyter_ack.follow.RunFollower` callbacks on a background
thread. Each callback only records the newest status; one flusher thread copies it into the
synced trait at most ``max_rate`` times a second, so a busy run never floods the front end.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..errors import JupyterAckError
from .snapshot import snapshot_html

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..definition import PipelineDefinition
    from ..follow import RunFollower
    from ..status import RunStatus

HERE = Path(__file__).parent


class StatusPanel(anywidget.AnyWidget):  # type: ignore[misc]
    """A run's live view. ``push(run)`` from any thread; ``follow(cluster, name)`` to watch."""

    _esm = HERE / "panel.js"
    _css = HERE / "panel.css"

    title = traitlets.Unicode("").tag(sync=True)
    layout_json = traitlets.Dict().tag(sync=True)  # defn.layout.to_json(): the shared picture
    run = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)  # RunStatus json
    message = traitlets.Unicode("").tag(sync=True)  # a note (e.g. why there is no run)
    stoppable = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        definition: PipelineDefinition | None = None,
        *,
        max_rate: float = 10.0,
        **kwargs: Any,
    ) -> None:
        layout = definition.layout.to_json() if definition and definition.data else {}
        super().__init__(
            title=(definition.name or "") if definition else "", layout_json=layout, **kwargs
        )
        self.definition = definition
        self.cluster: Cluster | None = None
        self.follower: RunFollower | None = None
        self.latest: RunStatus | None = None
        self.flushes = 0  # trait writes so far: what coalescing saves is visible in tests
        self._interval = 1.0 / max_rate
        self._lock = threading.Lock()
        self._pending: RunStatus | None = None
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._final = threading.Event()
        self._flusher: threading.Thread | None = None
        self.on_msg(self._on_front_end_message)

    # status in ----------------------------------------------------------------------------

    def push(self, run: RunStatus) -> None:
        """Record ``run`` as the newest status; safe from any thread, never blocks on I/O."""
        with self._lock:
            self._pending = run
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="jupyter-ack-panel", daemon=True
                )
                self._flusher.start()
        self._wake.set()

    def follow(self, cluster: Cluster, name: str) -> StatusPanel:
        """Watch the run ``name`` and push every change; enables the Stop button."""
        from ..follow import RunFollower

        self.cluster = cluster
        self.stoppable = True
        self.follower = RunFollower(cluster, name, self.push).start()
        return self

    def wait(self, timeout: float | None = None) -> RunStatus | None:
        """Block until a finished status has reached the panel; the newest status."""
        self._final.wait(timeout)
        return self.latest

    def _flush_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                run, self._pending = self._pending, None
            if run is not None:
                self._apply(run)
            # the rate limit: later pushes in this window are merged into one write
            self._closed.wait(self._interval)

    def _apply(self, run: RunStatus) -> None:
        self.latest = run
        self.run = run.to_json()
        self.flushes += 1
        if run.finished or (self.follower is not None and self.follower.done.is_set()):
            self.stoppable = False
            self._final.set()
            if self.follower is not None:
                self.follower.stop()

    # the Stop button ----------------------------------------------------------------------

    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "stop":
            self.send({"type": "stop-result", **self.stop_run()})

    def stop_run(self) -> dict[str, Any]:
        """Delete the PipelineExecution (ACK then stops the run in SageMaker)."""
        run = self.latest
        if self.cluster is None or run is None:
            return {"ok": False, "message": "no run to stop"}
        try:
            self.cluster.delete("pipelineexecutions", run.name)
        except JupyterAckError as e:
            return {"ok": False, "message": str(e)}
        self.stoppable = False
        return {"ok": True, "message": f"deleted pipelineexecutions/{run.name}; ACK stops it"}

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self.follower is not None:
            self.follower.stop()
        super().close()

    # display ------------------------------------------------------------------------------

    def snapshot(self) -> str:
        """The panel as it is now, as static HTML."""
        return snapshot_html(self.definition, self.latest)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus a static snapshot for front ends without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/html"] = self.snapshot()
        return bundle

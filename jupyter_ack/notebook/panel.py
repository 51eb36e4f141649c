"""The live panel: the DAG from the shared layout, coloured by step status, with the run's
header, step links and a Stop button (anywidget; front end in ``panel.js`` / ``panel.css``).

Status arrives from a lease on the process's shared follower of the run
(:func:`jupyter_ack.status.follow.follow`), on a background thread. Each callback only records
the newest status; one flusher thread copies it into the synced trait at most ``max_rate``
times a second, so a busy run never floods the front end. The panel is final once the run has
settled (finished, with its final steps), never on the first finished status alone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from jupyter_ack.errors import JupyterAckError
from jupyter_ack.render import theme
from jupyter_ack.render.html import snapshot_html

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.status.follow import Follow
    from jupyter_ack.status.model import RunStatus

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
    rerunnable = traitlets.Bool(False).tag(sync=True)  # a finished run offers "Re-run from here"
    theme = traitlets.Dict().tag(sync=True)  # render.theme.to_json(): the shared palette

    def __init__(
        self,
        definition: PipelineDefinition | None = None,
        *,
        max_rate: float = 10.0,
        **kwargs: Any,
    ) -> None:
        layout = definition.layout.to_json() if definition and definition.data else {}
        super().__init__(
            title=(definition.name or "") if definition else "",
            layout_json=layout,
            theme=theme.to_json(),
            **kwargs,
        )
        self.definition = definition
        self.cluster: Cluster | None = None
        self.lease: Follow | None = None
        self.latest: RunStatus | None = None
        self._following: str | None = None
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
        """Watch the run ``name`` (instead of any run before) and push every change; enables
        the Stop button, and "Re-run from here" once it has finished."""
        from jupyter_ack.ops.runs import Run

        if self.lease is not None:
            self.lease.close()
        self.cluster = cluster
        self._following = name
        self._final.clear()
        self.stoppable = True
        self.rerunnable = True
        self.lease = Run(cluster, name).follow(self.push)
        return self

    def show(self, run: RunStatus, cluster: Cluster | None = None) -> StatusPanel:
        """A run that is over and whose object is gone: SageMaker's final word on it."""
        self.cluster = cluster
        self._following = run.name
        self.rerunnable = cluster is not None
        self.push(run)
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
        if self._following is not None and run.name != self._following:
            return  # a late status of the run this panel followed before a re-run
        self.latest = run
        self.run = run.to_json()
        self.flushes += 1
        lease = self.lease
        if run.settled or (lease is not None and lease.done.is_set() and run is lease.current):
            self.stoppable = False
            self._final.set()
            if lease is not None:
                lease.close()

    # the Stop button ----------------------------------------------------------------------

    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "stop":
            self.send({"type": "stop-result", **self.stop_run()})
        elif content.get("type") == "rerun":
            step = content.get("from_step")
            self.send({"type": "rerun-result", **self.rerun_from(str(step) if step else None)})

    def rerun_from(self, step: str | None) -> dict[str, Any]:
        """Re-run the shown run from ``step`` (``ops.rerun``), then follow the new run here."""
        from jupyter_ack.ops import runs
        from jupyter_ack.ops.rerun import rerun

        run = self.latest
        if self.cluster is None or run is None:
            return {"ok": False, "message": "no run to re-run"}
        try:
            result = rerun(runs.get(self.cluster, run.name), from_step=step)
        except JupyterAckError as e:
            return {"ok": False, "message": e.message + (f" ({e.hint})" if e.hint else "")}
        new = result.run_name
        if new is None:
            return {"ok": False, "message": "no run was created"}
        self.message = f"re-run of {run.name} from {step}" if step else f"re-run of {run.name}"
        self.follow(self.cluster, new)
        return {"ok": True, "run": new, "message": self.message}

    def stop_run(self) -> dict[str, Any]:
        """Stop the run (``ops.runs``: a delete; the message says when ``retain`` keeps it)."""
        from jupyter_ack.ops.runs import Run

        run = self.latest
        if self.cluster is None or run is None:
            return {"ok": False, "message": "no run to stop"}
        try:
            result = Run(self.cluster, run.name).stop()
        except JupyterAckError as e:
            return {"ok": False, "message": str(e)}
        self.stoppable = False
        return {"ok": True, "message": result.warning or result.message}

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self.lease is not None:
            self.lease.close()
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

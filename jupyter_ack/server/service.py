"""What the server routes do, as plain blocking functions over the core (``ops``, ``status``):
the handlers run these in a worker thread and only translate to HTTP.

Nothing here imports tornado or jupyter_server, so every answer can be tested without a
server. Names from the URL are checked before any request leaves for the cluster.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_ack.ack.resources import check_namespace, check_object_name
from jupyter_ack.errors import UsageError

if TYPE_CHECKING:
    from jupyter_ack.ack.cluster import Cluster
    from jupyter_ack.config import AckConfig
    from jupyter_ack.pipeline.definition import PipelineDefinition
    from jupyter_ack.pipeline.layout import Layout

PAGE_LIMIT = 500  # runs in one page of GET .../runs unless ?limit= says otherwise
MAX_LIMIT = 5000
LAYOUTS_KEPT = 32  # layouts cached by definition hash


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "continue": self.next}


class Service:
    """The routes' answers for one server. Connections are kept per (context, namespace) and
    made again when the kubeconfig file changes (a refreshed token, a restarted sandbox)."""

    def __init__(self, config: AckConfig) -> None:
        self.config = config
        self._clusters: dict[tuple[str | None, str], tuple[float, Cluster]] = {}
        self._layouts: OrderedDict[str, Layout] = OrderedDict()
        self._lock = threading.Lock()

    # connections ----------------------------------------------------------------------------

    def cluster(self, context: str | None, namespace: str | None) -> Cluster:
        from jupyter_ack.ack.cluster import connect

        context = self.config.pick("context", context)
        ns = check_namespace(namespace) if namespace else self.config.namespace
        key = (context, ns or "")
        stamp = self._kubeconfig_stamp()
        with self._lock:
            found = self._clusters.get(key)
            if found is not None and found[0] == stamp:
                return found[1]
        made = connect(context=context, namespace=ns, kubeconfig=self.config.kubeconfig)
        with self._lock:
            self._clusters[key] = (stamp, made)
        return made

    def _kubeconfig_stamp(self) -> float:
        path = self.config.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        path = path or os.path.expanduser("~/.kube/config")
        try:
            return os.stat(path).st_mtime
        except OSError:
            return 0.0

    # routes ---------------------------------------------------------------------------------

    def contexts(self) -> dict[str, Any]:
        from jupyter_ack.ack.cluster import contexts

        names, current = contexts(self.config.kubeconfig)
        chosen = self.config.context or current
        namespace = self.config.namespace
        if namespace is None and chosen is not None:
            namespace = self.cluster(chosen, None).namespace
        return {"contexts": names, "current": chosen, "namespace": namespace or "default"}

    def namespaces(self, context: str | None) -> dict[str, Any]:
        cluster = self.cluster(context, None)
        return {"items": cluster.namespaces(), "default": cluster.namespace}

    def run(self, context: str | None, namespace: str, name: str) -> dict[str, Any]:
        """The run with its steps, as ``status --format json`` prints it."""
        from jupyter_ack.ops.runs import get

        check_object_name(name)
        return get(self.cluster(context, namespace), name).status(steps=True).to_json()

    def graph(self, context: str | None, namespace: str, name: str) -> dict[str, Any]:
        """The run's DAG in the shared layout, each node with its step's status."""
        from jupyter_ack.ops.runs import get
        from jupyter_ack.render import theme

        check_object_name(name)
        handle = get(self.cluster(context, namespace), name)
        status = handle.status(steps=True)
        definition = handle.definition()
        drawn: dict[str, Any] = {"width": 0, "height": 0, "nodes": [], "edges": [], "groups": []}
        if definition is not None:
            drawn = self._layout(definition).to_json()
            by_step = {s.name: s.status for s in status.steps}
            for node in drawn["nodes"]:
                node["status"] = by_step.get(node["name"])
        return {"layout": drawn, "theme": theme.to_json(), "run": status.to_json()}

    def _layout(self, definition: PipelineDefinition) -> Layout:
        key = definition.sha256
        if key is None:
            return definition.layout
        with self._lock:
            found = self._layouts.get(key)
            if found is not None:
                self._layouts.move_to_end(key)
                return found
        made: Layout = definition.layout
        with self._lock:
            self._layouts[key] = made
            while len(self._layouts) > LAYOUTS_KEPT:
                self._layouts.popitem(last=False)
        return made

    def manifest(self, context: str | None, namespace: str, name: str) -> dict[str, Any]:
        """The run's PipelineExecution as one would apply it again: spec, labels and
        annotations, without the server's fields and the status."""
        from jupyter_ack.ops.runs import get

        check_object_name(name)
        obj = get(self.cluster(context, namespace), name, history=False).object()
        meta = obj.get("metadata") or {}
        kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
        return {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "metadata": kept,
            "spec": obj.get("spec") or {},
        }

    def stop(self, context: str | None, namespace: str, name: str) -> dict[str, Any]:
        from jupyter_ack.ops.runs import get

        check_object_name(name)
        return get(self.cluster(context, namespace), name, history=False).stop().to_json()

    def rerun(
        self, context: str | None, namespace: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        from jupyter_ack.ops.rerun import rerun
        from jupyter_ack.ops.runs import get

        check_object_name(name)
        parameters, from_step, steps = _rerun_body(body)
        source = get(self.cluster(context, namespace), name, history=False)
        result = rerun(source, parameters=parameters, from_step=from_step, steps=steps)
        return {"name": result.run_name}


def page(runs: list[dict[str, Any]], limit: str | None, token: str | None) -> Page:
    """One page of runs (already newest first): ``continue`` is the offset of the next."""
    size = _int_arg("limit", limit, PAGE_LIMIT, 1, MAX_LIMIT)
    start = _int_arg("continue", token, 0, 0, len(runs))
    end = start + size
    return Page(runs[start:end], str(end) if end < len(runs) else None)


def _int_arg(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text in (None, ""):
        return default
    try:
        value = int(str(text))
    except ValueError:
        value = -1
    if not low <= value <= high:
        raise UsageError(f"{name}={str(text)[:40]!r} is not a number from {low} to {high}")
    return value


def _rerun_body(body: Any) -> tuple[dict[str, str], str | None, list[str] | None]:
    if not isinstance(body, dict):
        raise UsageError('the body must be a JSON object: {"parameters": {}, "from_step": null}')
    unknown = set(body) - {"parameters", "from_step", "steps"}
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(sorted(unknown))} in the re-run request")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in parameters.items()
    ):
        raise UsageError("parameters must be an object of names to strings or numbers")
    from_step = body.get("from_step")
    if from_step is not None and not isinstance(from_step, str):
        raise UsageError("from_step must be a step name or null")
    steps = body.get("steps")
    if steps is not None and (
        not isinstance(steps, list) or not all(isinstance(s, str) for s in steps)
    ):
        raise UsageError("steps must be a list of step names or null")
    values = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in parameters.items()}
    return values, from_step, steps

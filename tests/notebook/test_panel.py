"""The live panel: traits, coalesced updates, the Stop message, escaping and the snapshot."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import jupyter_ack
from jupyter_ack.notebook import StatusPanel
from jupyter_ack.render.html import snapshot_html
from jupyter_ack.status.model import RunStatus, StepStatus
from tests.notebook.conftest import XSS

WIDGETS = Path(jupyter_ack.__file__).parent / "notebook"


def definition(step: str = "Train") -> Any:
    return jupyter_ack.load(
        {
            "Version": "2020-12-01",
            "Steps": [
                {"Name": "Prepare", "Type": "Processing", "Arguments": {}},
                {"Name": step, "Type": "Training", "Arguments": {}, "DependsOn": ["Prepare"]},
            ],
        },
        name="p",
    )


def run(status: str = "Executing", **steps: str) -> RunStatus:
    return RunStatus(
        name="p-run",
        namespace="ns",
        pipeline="p",
        status=status,
        start="2026-01-01T00:00:00Z",
        steps=tuple(StepStatus(name=k, status=v) for k, v in steps.items()),
    )


def test_layout_trait_is_the_shared_layout() -> None:
    defn = definition()
    panel = StatusPanel(defn)
    assert panel.layout_json == defn.layout.to_json()
    assert panel.run is None
    assert panel.title == "p"


def test_front_end_files_ship_in_the_package() -> None:
    js = (WIDGETS / "panel.js").read_text()
    assert "export default" in js
    assert (WIDGETS / "panel.css").read_text().strip()
    # names and messages are only ever set as text
    assert "innerHTML" not in js
    assert "insertAdjacentHTML" not in js


def test_updates_are_coalesced_and_the_last_one_wins() -> None:
    panel = StatusPanel(definition(), max_rate=10)
    began = time.perf_counter()
    for i in range(300):
        panel.push(run("Executing", Prepare="Executing", Train=f"Starting{i}"))
    last = run("Succeeded", Prepare="Succeeded", Train="Succeeded")
    panel.push(last)
    assert panel.wait(timeout=10) == last
    took = time.perf_counter() - began
    assert panel.run == last.to_json()
    # at most max_rate writes a second, however slow the machine: 301 pushes, a few writes
    assert panel.flushes <= 2 + took * 10, (panel.flushes, took)
    assert panel.flushes < 301
    assert panel.stoppable is False
    panel.close()


def test_pushes_from_many_threads_end_on_the_final_status() -> None:
    panel = StatusPanel(definition(), max_rate=50)
    threads = [
        threading.Thread(target=lambda: [panel.push(run(Prepare="Executing")) for _ in range(50)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    panel.push(run("Failed", Prepare="Failed"))
    final = panel.wait(timeout=10)
    assert final is not None
    assert final.status == "Failed"
    panel.close()


class FakeCluster:
    """The two calls a stop makes: read the run (for its deletion policy), delete it."""

    namespace = "ml"

    def __init__(self, policy: str | None = None) -> None:
        self.deleted: list[tuple[str, str]] = []
        self.policy = policy

    def get(self, plural: str, name: str) -> dict[str, Any]:
        annotations = {"services.k8s.aws/deletion-policy": self.policy} if self.policy else {}
        return {
            "metadata": {"name": name, "annotations": annotations},
            "status": {"pipelineExecutionStatus": "Executing"},
        }

    def delete(self, plural: str, name: str) -> bool:
        self.deleted.append((plural, name))
        return True


def test_stop_with_retain_policy_warns_that_the_run_goes_on() -> None:
    panel = StatusPanel(definition())
    panel.cluster = FakeCluster(policy="retain")  # type: ignore[assignment]
    panel.latest = run(Prepare="Executing")
    answer = panel.stop_run()
    assert answer["ok"] is True
    assert "will NOT stop the run" in answer["message"]


def test_stop_message_deletes_the_execution_and_answers() -> None:
    panel = StatusPanel(definition())
    cluster = FakeCluster()
    panel.cluster = cluster  # type: ignore[assignment]
    panel.stoppable = True
    panel.latest = run(Prepare="Executing")
    sent: list[Any] = []
    panel.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    panel._on_front_end_message(panel, {"type": "stop"}, [])
    assert cluster.deleted == [("pipelineexecutions", "p-run")]
    assert sent
    assert sent[0]["type"] == "stop-result"
    assert sent[0]["ok"] is True
    assert "ACK stops the run" in sent[0]["message"]
    assert panel.stoppable is False


def test_stop_without_a_run_says_so() -> None:
    panel = StatusPanel(definition())
    sent: list[Any] = []
    panel.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    panel._on_front_end_message(panel, {"type": "stop"}, [])
    assert sent == [{"type": "stop-result", "ok": False, "message": "no run to stop"}]
    panel._on_front_end_message(panel, {"type": "something else"}, [])
    assert len(sent) == 1


def test_mimebundle_has_the_widget_and_a_static_snapshot() -> None:
    panel = StatusPanel(definition())
    panel.push(run("Succeeded", Prepare="Succeeded", Train="Failed"))
    panel.wait(timeout=10)
    shown = panel._repr_mimebundle_()
    bundle = shown[0] if isinstance(shown, tuple) else shown  # anywidget adds metadata
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    html = bundle["text/html"]
    assert "<svg" in html
    assert 'data-step="Train" data-status="Failed"' in html
    assert "<td>Prepare</td><td>Succeeded</td>" in html
    panel.close()


def test_names_are_text_in_the_snapshot() -> None:
    defn = definition(XSS)
    status = run("Failed", Prepare="Succeeded", **{XSS: "Failed"})
    status = RunStatus(**{**status.__dict__, "failure_reason": "<script>alert(2)</script>"})
    html = snapshot_html(defn, status)
    assert "<img" not in html
    assert "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_snapshot_without_a_run_or_definition() -> None:
    assert "no run started" in snapshot_html(None, None)
    assert "<svg" not in snapshot_html(None, run(Prepare="Executing"))


def test_handoff_card_widget_has_copy_buttons_and_a_static_fallback() -> None:
    from jupyter_ack.ack.manifests import Manifests
    from jupyter_ack.notebook.card import card_data, card_html, copy_card
    from jupyter_ack.ops.submit import SubmitResult

    pipeline = {"kind": "Pipeline", "metadata": {"name": XSS}}
    result = SubmitResult("ml", "p<b>", manifests=Manifests(pipeline))
    data = card_data(result, note="why")
    widget = copy_card(data, card_html(data))
    yaml_text = widget.card["blocks"][-1]["text"]
    assert XSS in yaml_text  # sent as data, drawn as text
    assert "kubectl apply --server-side -n ml -f pipeline.yaml" in widget.card["blocks"][0]["text"]
    bundle = widget._repr_mimebundle_()
    out = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in out
    assert "<img" not in out["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in out["text/html"]
    js = (Path(jupyter_ack.__file__).parent / "notebook" / "card.js").read_text()
    assert "innerHTML" not in js
    assert "clipboard" in js
    assert js.count('addEventListener("click"') == 2  # a button per value and per command block

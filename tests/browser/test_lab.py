"""The quickstart in a real browser: headless JupyterLab + Debian's chromium (Playwright).

Runs all cells of a copy of the quickstart (plus one cell that shows a step named like an
XSS payload), watches the live panel's steps change colour while the sandbox runs, checks
the final status, and saves a screenshot under ``build/test-artifacts/browser/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, serve

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
XSS = "<img src=x onerror=alert(1)>"
XSS_CELL = f"""from jupyter_ack.status.model import RunStatus, StepStatus
from jupyter_ack.notebook import StatusPanel
import jupyter_ack

xss = {XSS!r}
step = {{"Name": xss, "Type": "Processing", "Arguments": {{}}}}
defn = jupyter_ack.load({{"Version": "2020-12-01", "Steps": [step]}}, name="xss")
xss_panel = StatusPanel(defn)
xss_panel.push(RunStatus(name="xss-run", namespace="ns", pipeline="xss", status="Failed",
                         steps=(StepStatus(name=xss, status="Failed", failure_reason=xss),)))
xss_panel"""

# Records every status a DAG node of the panel takes, as the front end applies it.
OBSERVER = """
window.__jackSeen = [];
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.classList && el.classList.contains("jack-node") && el.dataset.status) {
      window.__jackSeen.push([el.dataset.step, el.dataset.status,
                              el.querySelector("rect").getAttribute("fill")]);
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-status"]});
"""

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


FRONT_ENDS = {
    # front end: (module to run, its app's config name, the notebook's URL)
    "jupyterlab": ("jupyterlab", "LabApp", "lab/tree/quickstart.ipynb"),
    "notebook7": ("notebook", "JupyterNotebookApp", "notebooks/quickstart.ipynb"),
}


@pytest.fixture(params=sorted(FRONT_ENDS))
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """JupyterLab (or Notebook 7) on loopback with a token, serving a copy of the quickstart."""
    module, app, url = FRONT_ENDS[request.param]
    import nbformat

    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    stop_at = next(i for i, c in enumerate(nb.cells) if "sb.stop()" in c.source)
    # The sandbox stays up (the kernel's end stops it) so that the test can re-run from a step.
    nb.cells[stop_at] = nbformat.v4.new_code_cell(XSS_CELL)
    nbformat.write(nb, work / "quickstart.ipynb")
    env = {"PYTHONPATH": str(ROOT)}  # the notebook imports tests.sdk_pipelines
    with serve(tmp_path, module, app, work, env) as (base, token):
        yield base, token, url


@pytest.mark.sdk
@pytest.mark.timeout(300)
def test_quickstart_in_the_browser(lab: tuple[str, str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, token, url = lab
    front = url.split("/", 1)[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            reruns: list[str] = []

            def on_dialog(dialog: Any) -> None:
                if dialog.message.startswith("Re-run "):  # the panel's confirm: say yes
                    reruns.append(dialog.message)
                    dialog.accept()
                else:  # anything else (an alert from injected markup) is a failure
                    dialogs.append(dialog.message)
                    dialog.dismiss()

            page.on("dialog", on_dialog)
            page.add_init_script(OBSERVER)
            page.goto(f"{base}/{url}?token={token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                timeout=60_000,
            )
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            # the live panel appears, then reaches the run's end
            page.wait_for_selector(".jack-panel .jack-node", timeout=120_000)
            page.wait_for_selector(
                ".jack-panel .jack-status[data-status='Succeeded']", timeout=180_000
            )
            panel = page.locator(".jack-panel").first
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(ARTIFACTS / f"quickstart-panel-{front}.png"))
            # the palette comes from Python (render.theme) as CSS custom properties
            colour = panel.locator(".jack-status").evaluate("e => getComputedStyle(e).color")
            assert colour == "rgb(22, 163, 74)", colour  # theme.STATUS_COLOURS["Succeeded"]

            seen = page.evaluate("window.__jackSeen")
            statuses = {status for _step, status, _fill in seen}
            assert statuses & {"Starting", "Executing"}, seen  # steps seen running ...
            assert "Succeeded" in statuses, seen  # ... then done
            fills = {status: fill for _step, status, fill in seen}
            assert fills["Succeeded"] == "#dcfce7"
            assert fills.get("Executing", fills.get("Starting")) in ("#bfdbfe", "#dbeafe")
            nodes = panel.locator(".jack-node")
            assert nodes.count() >= 4
            # every step the run reports is green (an untaken branch has no status)
            done = panel.locator(".jack-node[data-status='Succeeded']").count()
            assert done >= 4
            assert done == panel.locator(".jack-step[data-status='Succeeded']").count()
            assert done == panel.locator(".jack-step").count()

            # the XSS step name is text: shown as typed, no <img> made, no alert
            xss = page.locator(".jack-step-name", has_text=XSS)
            xss.first.wait_for(timeout=60_000)
            assert xss.first.text_content() == XSS
            assert page.locator("img[src='x']").count() == 0
            page.locator(".jack-panel").last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"quickstart-xss-{front}.png"))

            # "Re-run from here": pick a finished step on the DAG, confirm, and the same panel
            # follows the new run, which takes the steps before it from the first run
            panel.scroll_into_view_if_needed()
            panel.locator(".jack-node[data-step='TrainAbaloneModel']").click()
            assert panel.locator(".jack-picked").text_content() == "step TrainAbaloneModel"
            panel.locator(".jack-rerun").click()
            panel.locator(".jack-note", has_text="re-run of").wait_for(timeout=60_000)
            assert reruns
            assert "from TrainAbaloneModel" in reruns[0]
            panel.locator(".jack-step-from").first.wait_for(timeout=120_000)
            panel.locator(".jack-status[data-status='Succeeded']").wait_for(timeout=120_000)
            taken = panel.locator(".jack-step:has(.jack-step-from) .jack-step-name")
            assert "PreprocessAbaloneData" in taken.all_text_contents()
            ran = panel.locator(".jack-step:not(:has(.jack-step-from)) .jack-step-name")
            assert "TrainAbaloneModel" in ran.all_text_contents()
            assert panel.locator(".jack-actions").is_hidden()  # nothing picked any more
            reused = panel.locator(".jack-node.jack-node-reused[data-step='PreprocessAbaloneData']")
            assert reused.count() == 1  # the DAG marks the step taken from the first run
            panel.screenshot(path=str(ARTIFACTS / f"quickstart-rerun-{front}.png"))
            assert dialogs == []
        finally:
            browser.close()
    assert (ARTIFACTS / f"quickstart-panel-{front}.png").stat().st_size > 10_000
    shutil.rmtree(ARTIFACTS / "unused", ignore_errors=True)

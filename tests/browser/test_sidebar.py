"""The JupyterLab sidebar in a real browser (Playwright + Debian's chromium) against the
sandbox: it lists a submitted run and follows it live without a reload, the run view draws
the DAG coloured by step status, Stop stops a run, a step named like markup shows as text,
and the dark theme renders. Screenshots go to ``build/test-artifacts/browser/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ack.resources import API_VERSION, EXECUTIONS, GROUP, PIPELINES, VERSION
from jupyter_ack.ops.submit import submit
from jupyter_ack.render import theme
from jupyter_ack.sandbox import Sandbox
from tests.browser.lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, serve
from tests.sandbox.conftest import EXAMPLE, ROLE, wait_for

XSS = "<img src=x onerror=alert(1)>"
BUILT = ROOT / "jupyter_ack" / "labextension" / "package.json"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
    pytest.mark.skipif(not BUILT.exists(), reason="the sidebar is not built (jlpm build)"),
]


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ack_period=0.3, step_seconds=1.0) as sb:
        yield sb


@pytest.fixture(scope="module")
def lab(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("sidebar")
    (tmp / "work").mkdir()
    env = {**sandbox.env, "JUPYTER_ACK_NAMESPACE": "default"}
    with serve(tmp, "jupyterlab", "LabApp", tmp / "work", env) as served:
        yield served


def start_run(sandbox: Sandbox, pipeline: str, run: str) -> None:
    submit(
        jupyter_ack.load(EXAMPLE, name=pipeline),
        role_arn=ROLE,
        execute=True,
        run_name=run,
        cluster=connect(namespace="default", kubeconfig=str(sandbox.kubeconfig)),
    )


def xss_run(sandbox: Sandbox) -> None:
    """A pipeline whose one step is named like markup, and a run of it, written as kubectl
    would (the submit command refuses such a name; a cluster may still hold one)."""
    from kubernetes import client

    custom = client.CustomObjectsApi(sandbox.kube_client())
    definition = {"Version": "2020-12-01", "Steps": [{"Name": XSS, "Type": "Fail"}]}
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PIPELINES,
        {
            "apiVersion": API_VERSION,
            "kind": "Pipeline",
            "metadata": {"name": "xss-pipeline"},
            "spec": {
                "pipelineName": "xss-pipeline",
                "roleARN": ROLE,
                "pipelineDefinition": json.dumps(definition),
            },
        },
    )
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        EXECUTIONS,
        {
            "apiVersion": API_VERSION,
            "kind": "PipelineExecution",
            "metadata": {"name": "xss-run"},
            "spec": {"pipelineName": "xss-pipeline"},
        },
    )


@pytest.mark.timeout(300)
def test_the_sidebar_follows_runs_and_stops_one(sandbox: Sandbox, lab: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, token = lab
    out = ARTIFACTS / "browser"
    out.mkdir(parents=True, exist_ok=True)
    alerts: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 950})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = context.new_page()
            page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
            page.goto(f"{base}/lab?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
            page.click('li[data-id="jupyter-ack-sidebar"]')
            sidebar = page.locator("#jupyter-ack-sidebar")
            sidebar.wait_for()

            # a run submitted after the page loaded appears, and finishes, without a reload
            start_run(sandbox, "abalone-sidebar", "r-live")
            row = sidebar.locator('[data-run="r-live"]')
            row.wait_for(timeout=60_000)
            page.wait_for_selector(
                '#jupyter-ack-sidebar [data-run="r-live"][data-status="Executing"]',
                timeout=60_000,
            )
            page.wait_for_selector(
                '#jupyter-ack-sidebar [data-run="r-live"][data-status="Succeeded"]',
                timeout=120_000,
            )
            sidebar.screenshot(path=str(out / "sidebar.png"))

            # the run view (opened from the keyboard): the DAG coloured by step status, with
            # the notebook panel's palette
            row.focus()
            page.keyboard.press("Enter")
            view = page.locator(".jp-ack-dag").last
            view.wait_for(timeout=30_000)
            train = page.locator('.jp-ack-dag g.jp-ack-node[data-step="TrainAbaloneModel"]').last
            page.wait_for_selector(
                '.jp-ack-dag g.jp-ack-node[data-step="TrainAbaloneModel"][data-status="Succeeded"]',
                timeout=30_000,
            )
            fill = train.locator("rect").first.evaluate("e => getComputedStyle(e).fill")
            assert fill == rgb(theme.STATUS_COLOURS["Succeeded"][0])
            steps = page.locator(".jp-ack-dag g.jp-ack-node").evaluate_all(
                "nodes => nodes.map(n => n.dataset.step)"
            )
            assert set(steps) >= {"PreprocessAbaloneData", "TrainAbaloneModel", "AbaloneMSEFail"}
            page.screenshot(path=str(out / "sidebar-run-view.png"))

            # Copy YAML gives the object as one would apply it again
            page.locator(".jp-ack-copy-yaml:visible").click()
            page.locator(".Toastify__toast", has_text="Copied").first.wait_for(timeout=30_000)
            copied = page.evaluate("navigator.clipboard.readText()")
            assert "kind: PipelineExecution" in copied
            assert "name: r-live" in copied
            assert "status:" not in copied

            # Stop, confirmed in JupyterLab's dialog, stops a running run
            sandbox.simulation.step_seconds = 60.0
            start_run(sandbox, "abalone-sidebar", "r-stop")
            page.wait_for_selector(
                '#jupyter-ack-sidebar [data-run="r-stop"][data-status="Executing"]',
                timeout=60_000,
            )
            sidebar.locator('[data-run="r-stop"]').click()
            page.locator(".jp-ack-stop:visible").click()
            page.locator(".jp-Dialog .jp-mod-accept").click()
            from kubernetes import client

            custom = client.CustomObjectsApi(sandbox.kube_client())
            wait_for(custom, EXECUTIONS, "default", "r-stop", lambda o: o is None, timeout=60)
            sm = sandbox.aws_client("sagemaker")
            summaries = sm.list_pipeline_executions(PipelineName="abalone-sidebar")[
                "PipelineExecutionSummaries"
            ]
            stopped = [s for s in summaries if s.get("PipelineExecutionDisplayName") == "r-stop"]
            assert stopped
            assert stopped[0]["PipelineExecutionStatus"] in ("Stopping", "Stopped")

            # a step named like markup is shown as text, and runs nothing
            sandbox.simulation.step_seconds = 1.0
            xss_run(sandbox)
            sidebar.locator('[data-run="xss-run"]').wait_for(timeout=60_000)
            sidebar.locator('[data-run="xss-run"]').click()
            label = page.locator(f'.jp-ack-dag g.jp-ack-node[data-step="{XSS}"]').last
            label.wait_for(timeout=30_000)
            assert XSS in (label.text_content() or "")  # the label or its tooltip, as text
            assert page.locator("img[src='x']").count() == 0
            assert alerts == []
            # its end is notified: the user had it open
            page.locator(".Toastify__toast", has_text="xss-run").first.wait_for(timeout=30_000)

            # the dark theme: JupyterLab's colours, the same palette for the steps
            page.evaluate(
                "window.jupyterapp.commands.execute('apputils:change-theme',"
                " {theme: 'JupyterLab Dark'})"
            )
            page.wait_for_selector(
                "body[data-jp-theme-light='false']", state="attached", timeout=30_000
            )
            page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)
            page.click('li[data-id="jupyter-ack-sidebar"]') if not sidebar.is_visible() else None
            background = sidebar.evaluate("e => getComputedStyle(e).backgroundColor")
            channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
            assert sum(channels) / 3 < 100, background  # a dark background, from the theme
            page.screenshot(path=str(out / "sidebar-dark.png"))
        finally:
            browser.close()

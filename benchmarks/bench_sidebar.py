"""The sidebar's server side at scale: 5,000 runs in one namespace.

    python benchmarks/bench_sidebar.py [--runs 5000] [--tabs 10] [--quick] [--browser]

- route answer: ``GET /jupyter-ack/api/namespaces/NS/runs?limit=5000``, cold (the server's
  first look at the namespace: one list of every object, then a watch) and warm (served
  from the shared informer) (target < 300 ms);
- stream snapshot: a WebSocket's first message, with every run in it;
- watch connections the server holds on the API server with N tabs open (target: one per
  kind, whatever the number of tabs), counted on the sandbox's API server;
- the server's RSS growth from start to N tabs following 5,000 runs (target < 100 MB);
- with ``--browser`` (needs the built sidebar and /usr/bin/chromium): first paint, the time
  from the snapshot reaching the page to the first run row drawn (target < 1 s).

The runs are written straight to the API emulator (no controller, no SageMaker): what is
measured is the server, not the simulation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import Row, rss_mb, skipped, table  # beside this script

from jupyter_ack.ack.resources import API_VERSION, EXECUTION, EXECUTIONS, GROUP, PIPELINES, VERSION
from jupyter_ack.sandbox.kubeapi import KubeApiServer
from jupyter_ack.sandbox.sandbox import crd_documents

BENCH_GROUP = "sidebar"  # GROUP is the CRDs' API group
NAMESPACE = "bench"
STATES = ("Succeeded", "Failed", "Executing", "Stopped")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(kube: KubeApiServer, kubeconfig: Path, runs: int) -> None:
    """``runs`` PipelineExecutions of 10 pipelines, each with a status as ACK writes it."""
    from kubernetes import client, config

    api = client.ApiClient(config.new_client_from_config(str(kubeconfig)).configuration)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
    custom = client.CustomObjectsApi(api)
    for p in range(10):
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NAMESPACE,
            PIPELINES,
            {
                "apiVersion": API_VERSION,
                "kind": "Pipeline",
                "metadata": {"name": f"pipeline-{p}"},
                "spec": {"pipelineName": f"pipeline-{p}", "roleARN": "arn:aws:iam::1:role/r"},
            },
        )
    for i in range(runs):
        name = f"run-{i:05d}"
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NAMESPACE,
            EXECUTIONS,
            {
                "apiVersion": API_VERSION,
                "kind": EXECUTION,
                "metadata": {"name": name},
                "spec": {
                    "pipelineName": f"pipeline-{i % 10}",
                    "pipelineParameters": [{"name": "Epochs", "value": str(i % 7)}],
                },
            },
        )
        custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            NAMESPACE,
            EXECUTIONS,
            name,
            {
                "status": {
                    "pipelineExecutionStatus": STATES[i % len(STATES)],
                    "creationTime": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
                    "ackResourceMetadata": {
                        "arn": f"arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/{name}",
                        "ownerAccountID": "1",
                        "region": "us-east-1",
                    },
                }
            },
        )


@contextmanager
def jupyter_server(kubeconfig: Path, lab: bool = False) -> Iterator[tuple[str, str, int]]:
    """A Jupyter server (Lab with ``lab``) with the extension, on loopback: (url, token, pid)."""
    port, token = free_port(), secrets.token_hex(16)
    home = Path(tempfile.mkdtemp(prefix="bench-sidebar-"))
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "JUPYTER_ACK_NAMESPACE": NAMESPACE,
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    app = "jupyterlab" if lab else "jupyter_server"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            app,
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions={'jupyter_ack': True}",
            f"--ServerApp.root_dir={home}",
            "--LabApp.news_url=",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the Jupyter server did not start") from None
                time.sleep(0.1)  # the server gives no signal when its port opens
        yield url, token, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def get(url: str, token: str, path: str) -> tuple[float, Any]:
    began = time.perf_counter()
    request = urllib.request.Request(url + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - began) * 1000, body


async def open_tabs(url: str, token: str, tabs: int) -> tuple[list[Any], list[float], int]:
    import aiohttp

    session = aiohttp.ClientSession()
    sockets, times = [], []
    ws_url = url.replace("http", "ws") + f"/jupyter-ack/api/namespaces/{NAMESPACE}/stream"
    for _ in range(tabs):
        began = time.perf_counter()
        ws = await session.ws_connect(ws_url, headers={"Authorization": f"token {token}"})
        first = json.loads((await ws.receive(timeout=60)).data)
        times.append((time.perf_counter() - began) * 1000)
        assert first["type"] == "snapshot"
        sockets.append(ws)
    return [session, *sockets], times, len(first["runs"])


def watches(kube: KubeApiServer) -> int:
    """Open watches on this namespace (the bench has no controller: all are the server's)."""
    return sum(1 for w in kube.store.all_watchers() if w.namespace == NAMESPACE)


# Timestamps taken in the page: the first stream message received, and the next animation
# frame after the first run row is in the DOM (the row is then painted).
PAINT_PROBE = """
window.__ackFirstMessage = null; window.__ackFirstPaint = null;
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    if (String(args[0]).includes("/jupyter-ack/api/")) {
      this.addEventListener("message", () => {
        if (window.__ackFirstMessage === null) window.__ackFirstMessage = performance.now();
      });
    }
  }
};
new MutationObserver(() => {
  const row = document.querySelector("#jupyter-ack-sidebar [data-run]");
  if (window.__ackFirstPaint === null && row) {
    window.__ackFirstPaint = 0;
    requestAnimationFrame(() => { window.__ackFirstPaint = performance.now(); });
  }
}).observe(document, {subtree: true, childList: true});
"""


def browser_paint(url: str, token: str) -> float | None:
    """ms from the snapshot reaching the page to the first run row painted in the sidebar."""
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.add_init_script(PAINT_PROBE)
        page.goto(f"{url}/lab?token={token}")
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
        if not page.locator("#jupyter-ack-sidebar").is_visible():
            page.click('li[data-id="jupyter-ack-sidebar"]')
        page.wait_for_function("() => window.__ackFirstPaint > 0", timeout=60_000)
        first, painted = page.evaluate("[window.__ackFirstMessage, window.__ackFirstPaint]")
        browser.close()
    return float(painted - first)


def measure(runs: int, tabs: int, browser: bool) -> list[Row]:
    kube = KubeApiServer(
        host="127.0.0.1", port=0, crds=crd_documents(), tokens={"bench": "bench-user"}
    )
    kube.start()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            kube.write_kubeconfig(kubeconfig, context="bench", namespace=NAMESPACE, token="bench")
            began = time.perf_counter()
            fill(kube, kubeconfig, runs)
            written = time.perf_counter() - began
            with jupyter_server(kubeconfig, lab=browser) as (url, token, pid):
                rss_start = rss_mb(pid)
                path = f"/jupyter-ack/api/namespaces/{NAMESPACE}/runs?limit={runs}"
                cold, body = get(url, token, path)
                assert len(body["items"]) == runs, len(body["items"])
                warm = [get(url, token, path)[0] for _ in range(10)]
                rows.append(
                    Row(
                        BENCH_GROUP,
                        f"GET runs, {runs:,} runs (cold: list + watch)",
                        cold,
                        "ms",
                        note=f"{runs:,} runs written to the API emulator in {written:.1f} s",
                    )
                )
                p50 = statistics.median(warm)
                rows.append(
                    Row(
                        BENCH_GROUP,
                        f"GET runs, {runs:,} runs (warm), p50 of 10",
                        p50,
                        "ms",
                        target="< 300 ms",
                        ok=p50 < 300,
                    )
                )

                async def streams() -> tuple[list[float], int, int]:
                    opened, times, sent = await open_tabs(url, token, tabs)
                    count = watches(kube)
                    for ws in opened[1:]:
                        await ws.close()
                    await opened[0].close()
                    return times, sent, count

                times, sent, count = asyncio.run(streams())
                assert sent == runs
                rows.append(
                    Row(
                        BENCH_GROUP,
                        f"stream snapshot ({runs:,} runs), p50",
                        statistics.median(times),
                        "ms",
                        note=f"{tabs} tabs",
                    )
                )
                rows.append(
                    Row(
                        BENCH_GROUP,
                        f"watches on the API with {tabs} tabs",
                        count,
                        "watches",
                        target="<= 2",
                        ok=count <= 2,
                    )
                )
                grown = rss_mb(pid) - rss_start
                rows.append(
                    Row(
                        BENCH_GROUP,
                        f"server RSS growth ({tabs} tabs, {runs:,} runs)",
                        grown,
                        "MB",
                        target="< 100 MB",
                        ok=grown < 100,
                    )
                )
                if browser:
                    rows.append(paint_row(url, token))
    finally:
        kube.stop()
    return rows


def paint_row(url: str, token: str) -> Row:
    name = "sidebar first paint"
    try:
        paint = browser_paint(url, token)
    except Exception as e:  # no built sidebar, no playwright: said, not hidden
        return skipped(BENCH_GROUP, name, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
    if paint is None:
        return skipped(BENCH_GROUP, name, "/usr/bin/chromium not found")
    return Row(BENCH_GROUP, name, paint, "ms", target="< 1 s", ok=paint < 1000)


def run(quick: bool) -> list[Row]:
    """Quick: 500 runs, 3 tabs, no browser; full: 5,000 runs, 10 tabs, and the browser's
    first paint when /usr/bin/chromium exists."""
    if quick:
        return measure(500, 3, browser=False)
    return measure(5000, 10, browser=Path("/usr/bin/chromium").exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="500 runs, 3 tabs")
    parser.add_argument("--browser", action="store_true", help="also time the first paint")
    args = parser.parse_args()
    runs, tabs = (500, 3) if args.quick else (args.runs, args.tabs)
    print(table(measure(runs, tabs, args.browser)))


if __name__ == "__main__":
    main()

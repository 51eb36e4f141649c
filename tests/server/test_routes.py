"""The server routes over HTTP (pytest-jupyter's jp_fetch / jp_ws_fetch) against the
sandbox: what the sidebar reads and does, and what it gets for bad input."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

import jupyter_ack
from jupyter_ack.ack.cluster import connect
from jupyter_ack.ack.resources import EXECUTIONS, GROUP, PIPELINES
from jupyter_ack.ops.submit import submit
from jupyter_ack.sandbox import Sandbox
from jupyter_ack.server.handlers import ROUTES
from tests.sandbox.conftest import EXAMPLE, ROLE, wait_for

API = "jupyter-ack/api"


def start_run(sandbox: Sandbox, namespace: str, pipeline: str, run: str, wait: bool) -> Any:
    return submit(
        jupyter_ack.load(EXAMPLE, name=pipeline),
        role_arn=ROLE,
        execute=True,
        run_name=run,
        wait=wait,
        cluster=connect(namespace=namespace, kubeconfig=str(sandbox.kubeconfig)),
    )


def ack_shows(sandbox: Sandbox, namespace: str, run: str, status: str) -> None:
    """Until the ACK object reports ``status`` (one controller period after SageMaker)."""
    from kubernetes import client

    custom = client.CustomObjectsApi(sandbox.kube_client())
    wait_for(
        custom,
        EXECUTIONS,
        namespace,
        run,
        lambda o: ((o or {}).get("status") or {}).get("pipelineExecutionStatus") == status,
    )


async def get(jp_fetch: Any, *parts: str, **params: str) -> Any:
    response = await jp_fetch(API, *parts, params=params)
    return json.loads(response.body)


async def refused(jp_fetch: Any, *parts: str, method: str = "GET", **kw: Any) -> tuple[int, Any]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(API, *parts, method=method, **kw)
    response = caught.value.response
    body = response.body if response is not None else b"{}"
    return caught.value.code, json.loads(body or b"{}")


async def test_every_route_needs_jupyters_auth(jp_fetch: Any) -> None:
    walked = 0
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "x" + m[1], pattern).lstrip("/")
        for method in ("GET", "POST"):
            if getattr(handler, method.lower()) is getattr(RequestHandler, method.lower()):
                continue  # not a method of this route
            walked += 1
            with pytest.raises(HTTPClientError) as caught:
                await jp_fetch(
                    API,
                    path,
                    method=method,
                    body="{}" if method == "POST" else None,
                    headers={"Authorization": ""},
                )
            assert caught.value.code in (401, 403), (method, path, caught.value.code)
    assert walked == len(ROUTES)  # each route has one method: GET, or POST (stop, rerun)


async def test_post_with_the_login_cookie_needs_the_xsrf_token(
    jp_fetch: Any, jp_serverapp: Any, namespace: str
) -> None:
    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("api", "status", params={"token": token}, headers={"Authorization": ""})
    cookies = {}
    for header in login.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    assert any(name.startswith("username-") for name in cookies)  # logged in by cookie
    cookies["_xsrf"] = "5f3c0ffee0ddba11"  # as a page of the server would set it
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    stop = ("namespaces", namespace, "runs", "no-such-run", "stop")
    with pytest.raises(HTTPClientError) as caught:  # a forged form from another site
        await jp_fetch(
            API, *stop, method="POST", body="{}", headers={"Authorization": "", "Cookie": cookie}
        )
    assert caught.value.code == 403
    status, _ = await refused(  # the same request from JupyterLab, with its XSRF header
        jp_fetch,
        *stop,
        method="POST",
        body="{}",
        headers={"Authorization": "", "Cookie": cookie, "X-XSRFToken": cookies["_xsrf"]},
    )
    assert status == 404  # it got through to the route: no such run


async def test_contexts_and_namespaces(jp_fetch: Any, namespace: str) -> None:
    contexts = await get(jp_fetch, "contexts")
    assert contexts["current"] in contexts["contexts"]
    assert contexts["namespace"] == "default"
    found = await get(jp_fetch, "namespaces")
    assert namespace in found["items"]
    assert found["default"] == "default"


async def test_list_detail_graph_of_a_finished_run(
    jp_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    result = await asyncio.to_thread(
        start_run, sandbox, namespace, "abalone-routes", "r-done", True
    )
    assert result.run.succeeded
    await asyncio.to_thread(ack_shows, sandbox, namespace, "r-done", "Succeeded")
    pipelines = await get(jp_fetch, "namespaces", namespace, "pipelines")
    assert [p["pipeline"] for p in pipelines["items"]] == ["abalone-routes"]
    runs = await get(jp_fetch, "namespaces", namespace, "runs")
    assert [r["name"] for r in runs["items"]] == ["r-done"]
    assert runs["continue"] is None
    assert runs["items"][0]["status"] == "Succeeded"

    detail = await get(jp_fetch, "namespaces", namespace, "runs", "r-done")
    steps = {s["name"]: s["status"] for s in detail["steps"]}
    assert steps["TrainAbaloneModel"] == "Succeeded"
    assert set(steps) == {s.name for s in result.run.steps}

    graph = await get(jp_fetch, "namespaces", namespace, "runs", "r-done", "graph")
    nodes = {n["name"]: n for n in graph["layout"]["nodes"]}
    assert nodes["TrainAbaloneModel"]["status"] == "Succeeded"
    assert nodes["AbaloneMSEFail"]["status"] is None  # the else branch did not run
    assert graph["layout"]["edges"]
    assert graph["theme"]["status"]["Succeeded"]
    assert graph["run"]["name"] == "r-done"

    manifest = await get(jp_fetch, "namespaces", namespace, "runs", "r-done", "manifest")
    assert manifest["kind"] == "PipelineExecution"
    assert manifest["metadata"]["name"] == "r-done"
    assert manifest["spec"]["pipelineName"] == "abalone-routes"
    assert "status" not in manifest
    assert "managedFields" not in manifest["metadata"]


async def test_runs_are_paged_newest_first(jp_fetch: Any, sandbox: Sandbox, namespace: str) -> None:
    for i in range(3):
        await asyncio.to_thread(start_run, sandbox, namespace, "abalone-pages", f"p{i}", False)
    first = await get(jp_fetch, "namespaces", namespace, "runs", limit="2")
    assert len(first["items"]) == 2
    rest = await get(
        jp_fetch, "namespaces", namespace, "runs", limit="2", **{"continue": first["continue"]}
    )
    names = [r["name"] for r in first["items"] + rest["items"]]
    assert sorted(names) == ["p0", "p1", "p2"]
    assert rest["continue"] is None
    only = await get(jp_fetch, "namespaces", namespace, "runs", pipeline="abalone-pages")
    assert len(only["items"]) == 3
    none = await get(jp_fetch, "namespaces", namespace, "runs", pipeline="other")
    assert none["items"] == []


async def test_stop_stops_the_run(jp_fetch: Any, sandbox: Sandbox, namespace: str) -> None:
    sandbox.simulation.step_seconds = 30.0  # long enough to be stopped while it runs
    try:
        await asyncio.to_thread(start_run, sandbox, namespace, "abalone-stop", "r-stop", False)
        await asyncio.to_thread(ack_shows, sandbox, namespace, "r-stop", "Executing")
        response = await jp_fetch(
            API, "namespaces", namespace, "runs", "r-stop", "stop", method="POST", body="{}"
        )
        assert response.code == 202
        answer = json.loads(response.body)
        assert "r-stop" in answer["message"]
        from kubernetes import client

        custom = client.CustomObjectsApi(sandbox.kube_client())
        await asyncio.to_thread(
            wait_for, custom, EXECUTIONS, namespace, "r-stop", lambda o: o is None
        )
        detail = await get(jp_fetch, "namespaces", namespace, "runs", "r-stop")
        assert detail["status"] in ("Stopping", "Stopped")  # SageMaker's record of it
        assert detail["in_cluster"] is False
    finally:
        sandbox.simulation.step_seconds = 0.2


async def test_rerun_creates_the_run_it_names(
    jp_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    await asyncio.to_thread(start_run, sandbox, namespace, "abalone-again", "r-first", True)
    response = await jp_fetch(
        API,
        "namespaces",
        namespace,
        "runs",
        "r-first",
        "rerun",
        method="POST",
        body=json.dumps({"parameters": {"ProcessingInstanceCount": 2}}),
    )
    assert response.code == 201
    created = json.loads(response.body)["name"]
    assert created
    assert created != "r-first"
    detail = await get(jp_fetch, "namespaces", namespace, "runs", created)
    assert detail["name"] == created
    assert detail["parameters"]["ProcessingInstanceCount"] == "2"


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        (("namespaces", "Bad_NS", "runs"), 400),
        (("namespaces", "a" * 64, "pipelines"), 400),
        (("namespaces", "default", "runs", "Not_A_Name"), 400),
        (("namespaces", "default", "runs", "no-such-run"), 404),
    ],
)
async def test_bad_names_and_missing_runs(jp_fetch: Any, parts: tuple[str, ...], code: int) -> None:
    status, body = await refused(jp_fetch, *parts)
    assert status == code
    assert body["error"]
    assert "Traceback" not in json.dumps(body)


async def test_bad_query_and_body(jp_fetch: Any, sandbox: Sandbox, namespace: str) -> None:
    status, body = await refused(jp_fetch, "namespaces", namespace, "runs", params={"limit": "x"})
    assert status == 400
    assert "limit" in body["error"]
    for bad in ("not json", "[]", '{"parameters": {"a": [1]}}', '{"steps": "A"}', '{"x": 1}'):
        status, body = await refused(
            jp_fetch, "namespaces", namespace, "runs", "r1", "rerun", method="POST", body=bad
        )
        assert status == 400, bad
        assert body["error"]


async def test_rbac_denial_is_403_with_the_hint(
    jp_fetch: Any, jp_ws_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    sandbox.kube.deny(verb="list", group=GROUP, resource=EXECUTIONS, namespace=namespace)
    status, body = await refused(jp_fetch, "namespaces", namespace, "runs")
    assert status == 403
    assert "cannot list" in body["error"]
    assert 'resources: ["pipelineexecutions"], verbs: ["list"]' in body["hint"]
    ws = await jp_ws_fetch(API, "namespaces", namespace, "stream")
    message = json.loads(await asyncio.wait_for(ws.read_message(), 20))
    assert message["type"] == "error"
    assert message["status"] == 403
    assert "verbs" in message["hint"]
    assert await asyncio.wait_for(ws.read_message(), 20) is None  # the server closed it


async def test_a_denied_stop_is_403_with_the_rule_to_ask_for(
    jp_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    await asyncio.to_thread(start_run, sandbox, namespace, "abalone-denied", "r-kept", False)
    sandbox.kube.deny(verb="delete", group=GROUP, resource=EXECUTIONS, namespace=namespace)
    status, body = await refused(
        jp_fetch, "namespaces", namespace, "runs", "r-kept", "stop", method="POST", body="{}"
    )
    assert status == 403
    assert 'resources: ["pipelineexecutions"], verbs: ["delete"]' in body["hint"]
    detail = await get(jp_fetch, "namespaces", namespace, "runs", "r-kept")
    assert detail["in_cluster"] is True  # nothing was half-done


async def test_stream_sends_a_snapshot_then_changes_then_followed_steps(
    jp_fetch: Any, jp_ws_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    ws = await jp_ws_fetch(API, "namespaces", namespace, "stream")
    snapshot = json.loads(await asyncio.wait_for(ws.read_message(), 20))
    assert snapshot["type"] == "snapshot"
    assert snapshot["runs"] == []
    assert snapshot["health"]["reachable"] is True

    await asyncio.to_thread(start_run, sandbox, namespace, "abalone-live", "r-live", False)
    ws.write_message(json.dumps({"follow": ["r-live"]}))
    statuses: list[str] = []
    step_states: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while "Succeeded" not in statuses or step_states.get("TrainAbaloneModel") != "Succeeded":
        raw = await asyncio.wait_for(ws.read_message(), max(0.1, deadline - loop.time()))
        message = json.loads(raw)
        if message["type"] == "changes":
            statuses += [r["status"] for r in message["runs"] if r["name"] == "r-live"]
        elif message["type"] == "run":
            step_states.update({s["name"]: s["status"] for s in message["run"]["steps"]})
    assert statuses[-1] == "Succeeded"
    assert step_states["TrainAbaloneModel"] == "Succeeded"
    ws.close()


async def read_until(ws: Any, wanted: Any, timeout: float = 60) -> dict[str, Any]:
    """The first message for which ``wanted(message)`` holds (messages before it skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.read_message(), max(0.1, deadline - loop.time()))
        assert raw is not None, "the server closed the stream"
        message: dict[str, Any] = json.loads(raw)
        if wanted(message):
            return message


async def test_the_stream_says_when_the_cluster_is_unreachable_and_when_it_is_back(
    jp_ws_fetch: Any, sandbox: Sandbox, namespace: str
) -> None:
    ws = await jp_ws_fetch(API, "namespaces", namespace, "stream")
    await read_until(ws, lambda m: m["type"] == "snapshot")
    sandbox.faults.fail_requests(10_000, status=503)
    try:
        sandbox.faults.drop_watches(abort=True)
        down = await read_until(ws, lambda m: m["type"] == "health")
        assert down["reachable"] is False
        assert down["problem"]
    finally:
        sandbox.faults.clear()
    up = await read_until(ws, lambda m: m["type"] == "health")
    assert up["reachable"] is True
    again = await read_until(ws, lambda m: m["type"] == "snapshot")  # all may have changed
    assert again["health"]["reachable"] is True
    ws.close()


async def test_one_watch_per_kind_whatever_the_number_of_tabs(
    jp_ws_fetch: Any, sandbox: Sandbox, namespace: str, custom: Any
) -> None:
    tabs = [await jp_ws_fetch(API, "namespaces", namespace, "stream") for _ in range(4)]
    for ws in tabs:
        await read_until(ws, lambda m: m["type"] == "snapshot")
    # one object of each kind reaches every tab: both watches are live
    for plural, kind in ((PIPELINES, "Pipeline"), (EXECUTIONS, "PipelineExecution")):
        body = {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": kind,
            "metadata": {"name": "seen-by-all"},
            "spec": {"pipelineName": "seen-by-all"}
            | ({"roleARN": ROLE, "pipelineDefinition": "{}"} if plural == PIPELINES else {}),
        }
        await asyncio.to_thread(
            custom.create_namespaced_custom_object, GROUP, "v1alpha1", namespace, plural, body
        )
    for ws in tabs:
        seen: set[str] = set()  # both may come in one batched message

        def both(message: dict[str, Any], seen: set[str] = seen) -> bool:
            for key in ("pipelines", "runs") if message["type"] == "changes" else ():
                if any(o["name"] == "seen-by-all" for o in message[key]):
                    seen.add(key)
            return seen == {"pipelines", "runs"}

        await read_until(ws, both)
    watching = [w for w in sandbox.kube.store.all_watchers() if w.namespace == namespace]
    assert len(watching) == 2  # pipelines and pipelineexecutions, shared by the four tabs
    for ws in tabs:
        ws.close()

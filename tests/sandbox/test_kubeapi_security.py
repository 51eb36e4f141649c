"""The API server's defences, over real HTTPS: bearer tokens on every path, loopback Host
headers only, bounded bodies (size, YAML aliases, nesting) decoded off the event loop, and
loopback-only sockets; and the kubeconfig that ``jupyter-ack sandbox up`` writes.

Waiting is done on events and futures with timeouts, never on sleeps."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_ack.sandbox.kubeapi import KubeApiServer
from jupyter_ack.sandbox.kubeapi.bodies import ALIAS_BUDGET, MAX_BODY, MAX_DEPTH
from jupyter_ack.sandbox.kubeapi.patch import COPY_BUDGET, MAX_OPERATIONS

from .kube_fixtures import (
    KUBECTL,
    WIDGETS,
    Http,
    Kubectl,
    Reply,
    api,
    k8s,
    kube,
    kubeconfig,
    kubectl,
    needs_kubectl,
    tls_context,
    widget,
)

__all__ = ["api", "k8s", "kube", "kubeconfig", "kubectl"]

NAMESPACES = "/api/v1/namespaces"
WAIT = 20.0  # the bound on every wait for another thread; never a pause


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    """Threads for requests that must be in flight while the test does something else."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def alias_bomb(levels: int = 9) -> str:
    """A Widget whose spec.extra is ``levels`` of nested anchors, each level nine aliases of
    the one below: about 600 bytes that stand for 9**levels strings once expanded."""
    lines = [
        "apiVersion: example.test/v1",
        "kind: Widget",
        "metadata:",
        "  name: bomb",
        "spec:",
        "  size: 1",
        "  extra:",
        '    l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    for i in range(1, levels):
        lines.append(f"    l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(levels: int) -> Any:
    """``levels`` objects, each the only value of the one around it."""
    value: Any = "deep"
    for _ in range(levels):
        value = {"a": value}
    return value


def assert_status(reply: Any, code: int, reason: str, *words: str) -> None:
    assert reply.status == code, reply.body
    assert reply.body["kind"] == "Status"
    assert reply.body["code"] == code
    assert reply.body["reason"] == reason
    for word in words:
        assert word in reply.body["message"], reply.body["message"]


# --- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["no token", "wrong token", "right token, wrong scheme"])
def test_without_a_good_token_everything_is_401_and_nothing_is_created(
    kube: KubeApiServer, api: Http, who: str
) -> None:
    client = {
        "no token": Http.anonymous(kube),
        "wrong token": Http.to(kube, "not-the-token"),
        "right token, wrong scheme": Http.anonymous(kube),
    }[who]
    extra = {"Authorization": f"Basic {kube.token}"} if who.endswith("scheme") else None
    for path in ("/api", "/apis", "/apis/example.test/v1", "/version", "/openapi/v3", WIDGETS):
        reply = client.get(path, headers=extra)
        assert reply.status == 401, path
        assert reply.body == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    posted = client.post(NAMESPACES, {"metadata": {"name": "intruder"}}, headers=extra)
    assert_status(posted, 401, "Unauthorized")
    assert_status(client.post(WIDGETS, widget("intruder"), headers=extra), 401, "Unauthorized")
    assert api.get(f"{NAMESPACES}/intruder").status == 404
    assert api.get(WIDGETS).body["items"] == []


def test_the_server_makes_a_token_when_given_none() -> None:
    with KubeApiServer(crds=[]) as one, KubeApiServer(crds=[]) as other:
        assert len(one.token) >= 32
        assert one.token != other.token  # random at every start
        assert Http.to(one).get(NAMESPACES).status == 200
        assert Http.to(one, other.token).get(NAMESPACES).status == 401


def test_plain_http_gets_nowhere(kube: KubeApiServer) -> None:
    """The one port speaks TLS only: a plain-HTTP request never reaches the API."""
    with socket.create_connection(("127.0.0.1", kube.port), timeout=5) as sock:
        sock.sendall(
            f"GET /version HTTP/1.1\r\nHost: 127.0.0.1:{kube.port}\r\n"
            f"Authorization: Bearer {kube.token}\r\n\r\n".encode()
        )
        try:
            answer = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert b"gitVersion" not in answer


# --- the Host header ------------------------------------------------------------------------


def test_a_foreign_host_header_is_403(kube: KubeApiServer) -> None:
    port = kube.port
    for client in (Http.to(kube), Http.anonymous(kube)):  # checked before the token
        for host in (
            "evil.example",
            f"evil.example:{port}",
            f"127.0.0.1.nip.io:{port}",
            f"localhost.evil.example:{port}",
            f"127.0.0.1:{port + 1}",
            "0.0.0.0",
            "",
        ):
            reply = client.get(NAMESPACES, headers={"Host": host})
            assert_status(reply, 403, "Forbidden", f'Host header "{host}" is not allowed')
            assert "DNS rebinding" in reply.body["message"]
    posted = Http.to(kube).post(
        NAMESPACES, {"metadata": {"name": "rebound"}}, headers={"Host": "evil.example"}
    )
    assert posted.status == 403
    assert Http.to(kube).get(f"{NAMESPACES}/rebound").status == 404


def test_loopback_host_headers_are_accepted(kube: KubeApiServer, api: Http) -> None:
    port = kube.port
    for host in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]"):
        for form in (host, f"{host}:{port}"):
            assert api.get("/version", headers={"Host": form}).status == 200, form


# --- bodies: size, aliases, depth ------------------------------------------------------------


def test_the_alias_bomb_is_refused_fast(api: Http) -> None:
    bomb = alias_bomb()
    assert 500 < len(bomb) < 700
    began = time.perf_counter()
    reply = api.post(WIDGETS, bomb, content_type="application/yaml")
    took = time.perf_counter() - began
    assert_status(reply, 400, "BadRequest", "error decoding YAML", "too many aliases")
    assert str(ALIAS_BUDGET) in reply.body["message"]
    assert took < 3.0  # it took 12.7 s, blocking everyone, before aliases were counted
    applied = api.patch(f"{WIDGETS}/bomb?fieldManager=t", bomb, kind="apply")
    assert_status(applied, 400, "BadRequest", "too many aliases")
    assert api.get(WIDGETS).body["items"] == []


def test_other_requests_are_answered_while_the_bomb_is_decoded(
    kube: KubeApiServer, api: Http, pool: ThreadPoolExecutor
) -> None:
    """The body is held at the decoding gate (on a decoding thread) while the loop answers."""
    gate = kube.faults.hold_bodies()
    try:
        bomb: Future[Any] = pool.submit(
            api.post, WIDGETS, alias_bomb(), content_type="application/yaml"
        )
        assert gate.entered.wait(WAIT), "the body never reached the decoder"
        assert api.get("/version").status == 200
        assert api.get(WIDGETS).body["items"] == []
        assert not bomb.done()
    finally:
        gate.release()
    assert_status(bomb.result(WAIT), 400, "BadRequest", "too many aliases")


def test_aliases_within_the_budget_still_work(api: Http) -> None:
    body = (
        "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w1}\n"
        "spec:\n  size: 1\n  extra:\n    base: &base {team: ml, tier: gold}\n"
        "    copy: *base\n    more: {<<: *base, tier: silver}\n"
    )
    reply = api.post(WIDGETS, body, content_type="application/yaml")
    assert reply.status == 201, reply.body
    assert reply.body["spec"]["extra"] == {
        "base": {"team": "ml", "tier": "gold"},
        "copy": {"team": "ml", "tier": "gold"},
        "more": {"team": "ml", "tier": "silver"},
    }


def test_a_recursive_alias_is_400(api: Http) -> None:
    body = "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w1}\nspec: &s {x: *s}\n"
    reply = api.post(WIDGETS, body, content_type="application/yaml")
    assert_status(reply, 400, "BadRequest", "error decoding YAML", "*s", "contains it")


def test_deep_json_is_400(api: Http) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for reply in (
        api.post(WIDGETS, deep),
        api.patch(f"{WIDGETS}/w1", deep),
        api.post(WIDGETS, deep, content_type="application/yaml"),
        api.delete(f"{WIDGETS}/w1", deep),
    ):
        assert_status(reply, 400, "BadRequest", f"nested too deeply: more than {MAX_DEPTH}")
    # the limit itself is fine, all the way through: create, patch, apply, list
    fits = widget("w1", extra=nested(MAX_DEPTH - 2))  # the object and spec are 2 levels
    assert api.post(WIDGETS, fits).status == 201
    assert api.patch(f"{WIDGETS}/w1", {"spec": {"extra": nested(MAX_DEPTH - 2)}}).status == 200
    applied = api.patch(f"{WIDGETS}/w1?fieldManager=t", json.dumps(fits), kind="apply")
    assert applied.status == 200, applied.body
    assert api.get(WIDGETS).status == 200
    too_deep = widget("w2", extra=nested(MAX_DEPTH - 1))
    assert_status(api.post(WIDGETS, too_deep), 400, "BadRequest", "nested too deeply")
    yaml_deep = api.post(WIDGETS, yaml.safe_dump(too_deep), content_type="application/yaml")
    assert_status(yaml_deep, 400, "BadRequest", "error decoding YAML", "nested too deeply")


def test_json_patch_copies_and_depth_are_bounded(api: Http) -> None:
    """Copying a subtree into itself doubles it: 30 copies would make a billion nodes."""
    assert api.post(WIDGETS, widget("w1", extra={"seed": ["x"] * 8})).status == 201
    bomb = [{"op": "copy", "from": "/spec/extra", "path": f"/spec/extra/m{i}"} for i in range(30)]
    began = time.perf_counter()
    reply = api.patch(f"{WIDGETS}/w1", bomb, kind="json")
    assert time.perf_counter() - began < 3.0
    assert_status(reply, 422, "Invalid", "accumulated size increase of copy", str(COPY_BUDGET))
    assert api.get(f"{WIDGETS}/w1").body["spec"]["extra"] == {"seed": ["x"] * 8}
    too_many = [{"op": "test", "path": "/spec/size", "value": 1}] * (MAX_OPERATIONS + 1)
    assert_status(
        api.patch(f"{WIDGETS}/w1", too_many, kind="json"),
        413,
        "RequestEntityTooLarge",
        f"maximum operations in a JSON patch is {MAX_OPERATIONS}",
    )
    # a path reaches deep into the object: what it adds there must still fit MAX_DEPTH
    assert api.patch(f"{WIDGETS}/w1", {"spec": {"extra": nested(MAX_DEPTH - 2)}}).status == 200
    deepest = "/spec/extra" + "/a" * (MAX_DEPTH - 3) + "/b"  # inside the innermost object
    scalar = [{"op": "add", "path": deepest, "value": 1}]
    assert api.patch(f"{WIDGETS}/w1", scalar, kind="json").status == 200
    deeper = [{"op": "add", "path": deepest, "value": {"c": 1}}]
    assert_status(
        api.patch(f"{WIDGETS}/w1", deeper, kind="json"), 422, "Invalid", "would nest more than"
    )
    again = [{"op": "copy", "from": "/spec/extra", "path": "/spec/extra/a/copy"}]
    assert_status(
        api.patch(f"{WIDGETS}/w1", again, kind="json"), 422, "Invalid", "would nest more than"
    )


@pytest.mark.parametrize("kind", ["json", "yaml", "apply", "chunked"])
def test_a_body_over_3_mib_is_413(kube: KubeApiServer, api: Http, kind: str) -> None:
    big = json.dumps(widget("big", extra={"blob": "x" * MAX_BODY}))
    if kind == "json":
        reply = api.post(WIDGETS, big)
    elif kind == "yaml":
        reply = api.post(WIDGETS, big, content_type="application/yaml")
    elif kind == "apply":
        reply = api.patch(f"{WIDGETS}/big?fieldManager=t", big, kind="apply")
    else:  # no Content-Length: the limit applies while reading
        conn = api.connection()
        try:
            data = big.encode()
            chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
            headers = {**api.headers(), "Content-Type": "application/json"}
            conn.request("POST", WIDGETS, body=chunks, headers=headers, encode_chunked=True)
            resp = conn.getresponse()
            reply = Reply(resp.status, resp.headers, json.loads(resp.read()))
        finally:
            conn.close()
    assert_status(reply, 413, "RequestEntityTooLarge", f"limit is {MAX_BODY}")
    assert api.get(WIDGETS).body["items"] == []


def test_a_large_body_decodes_off_the_loop(
    kube: KubeApiServer, api: Http, pool: ThreadPoolExecutor
) -> None:
    """A 1 MiB YAML body takes a while to decode; it waits at the gate on a decoding thread
    while reads (and a watch) are answered, and is created once let through."""
    extra = {f"key-{i:05d}": {"value": "v" * 40, "n": i} for i in range(14_000)}
    body = yaml.safe_dump(widget("large", extra=extra))
    assert 1_000_000 < len(body) < MAX_BODY
    stream = api.watch(f"{WIDGETS}?watch=1")
    gate = kube.faults.hold_bodies()
    try:
        large: Future[Any] = pool.submit(
            api.post, WIDGETS, body, content_type="application/yaml", timeout=60
        )
        assert gate.entered.wait(WAIT), "the body never reached the decoder"
        assert api.get("/version").status == 200
        assert api.get(WIDGETS).body["items"] == []
        assert not large.done()
    finally:
        gate.release()
    try:
        created = large.result(60)
        assert created.status == 201, created.body
        event = stream.next(timeout=WAIT)
        assert event is not None
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "large")
    finally:
        stream.close()


def test_a_slow_body_does_not_hold_up_other_requests(kube: KubeApiServer, api: Http) -> None:
    """Half a body is sent, other requests are answered, then the rest arrives."""
    data = json.dumps(widget("slow")).encode()
    plain = socket.create_connection(("127.0.0.1", kube.port), timeout=WAIT)
    with tls_context(kube.ca_pem).wrap_socket(plain, server_hostname="127.0.0.1") as sock:
        sock.sendall(
            f"POST {WIDGETS} HTTP/1.1\r\nHost: 127.0.0.1:{kube.port}\r\n"
            f"Authorization: Bearer {kube.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data[: len(data) // 2]
        )
        assert api.get("/version").status == 200
        assert api.get(WIDGETS).body["items"] == []
        sock.sendall(data[len(data) // 2 :])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert api.get(f"{WIDGETS}/slow").status == 200


# --- sockets ------------------------------------------------------------------------------------


def _outside_address() -> str | None:
    """This machine's address on its way out (no packet is sent), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only decides the source
        address: str = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_binds_loopback_only(kube: KubeApiServer) -> None:
    import ipaddress

    assert kube.addresses
    for address in kube.addresses:
        assert ipaddress.ip_address(address[0]).is_loopback, address
    with pytest.raises(ValueError, match="loopback"):
        KubeApiServer(host="0.0.0.0")
    outside = _outside_address()
    if outside is not None:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((outside, kube.port), timeout=5).close()


# --- clients with the written kubeconfig -----------------------------------------------------


def _read_kubeconfig(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (cluster, user) of a kubeconfig's only context, after checking its file mode."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    assert len(config["clusters"]) == len(config["users"]) == 1
    return config["clusters"][0]["cluster"], config["users"][0]["user"]


@needs_kubectl
def test_kubectl_works_with_the_written_kubeconfig(
    kube: KubeApiServer, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    cluster, user = _read_kubeconfig(kubeconfig)
    assert cluster["server"] == kube.url
    assert cluster["server"].startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificate-authority-data"]) == kube.ca_pem
    assert user == {"token": kube.token}
    assert "default" in kubectl.ok("get", "ns", "-o", "name")
    kubectl.ok("create", "namespace", "made-by-kubectl")
    assert "made-by-kubectl" in kubectl.ok("get", "ns")
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"token": "not-the-token"}
    (tmp_path / "wrong-token").write_text(yaml.safe_dump(config))
    refused = Kubectl(tmp_path / "wrong-token", kubectl.home).run("get", "ns")
    assert refused.returncode != 0
    assert "Unauthorized" in refused.stderr or "must be logged in" in refused.stderr


def test_the_kubernetes_client_works_with_the_written_kubeconfig(k8s: Any) -> None:
    from kubernetes import client

    names = [n.metadata.name for n in client.CoreV1Api(k8s).list_namespace().items]
    assert "default" in names


@needs_kubectl
def test_sandbox_up_detach_writes_an_https_kubeconfig_with_a_token(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("jupyter-ack")
    state = tmp_path / "state"
    up = subprocess.run(
        [str(exe), "sandbox", "up", "--detach", "--state-dir", str(state), "--ack-period", "1"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        path = state / "kubeconfig"
        cluster, user = _read_kubeconfig(path)
        assert cluster["server"].startswith("https://127.0.0.1:")
        assert cluster["server"] in up.stdout
        ca = base64.b64decode(cluster["certificate-authority-data"])
        assert ca.startswith(b"-----BEGIN CERTIFICATE")
        token = user["token"]
        assert len(token) >= 32
        assert token not in up.stdout + (state / "sandbox.log").read_text()
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (state / "env").read_text().splitlines()
        )
        assert exports["KUBECONFIG"] == str(path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        got = subprocess.run(
            [str(KUBECTL), "get", "ns", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, "KUBECONFIG": exports["KUBECONFIG"], "HOME": str(tmp_path)},
            check=False,
        )
        assert got.returncode == 0, got.stderr
        assert "namespace/default" in got.stdout.split()
        # the audit's request: an unauthenticated POST made a namespace; now it is refused
        anonymous = Http(cluster["server"], None, ca)
        assert_status(
            anonymous.post(NAMESPACES, {"metadata": {"name": "intruder"}}), 401, "Unauthorized"
        )
        assert Http(cluster["server"], token, ca).get(f"{NAMESPACES}/intruder").status == 404
    finally:
        down = subprocess.run(
            [str(exe), "sandbox", "down", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert down.returncode == 0, down.stderr

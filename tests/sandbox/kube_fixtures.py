"""Fixtures for the Kubernetes API emulator's tests: small CRDs, a running server, a
kubeconfig, kubectl and the ``kubernetes`` client pointed at it."""

from __future__ import annotations

import copy
import http.client
import json
import os
import queue
import shutil
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_ack.sandbox.kubeapi import KubeApiServer

ROOT = Path(__file__).resolve().parents[2]
ACK_CRDS = ROOT.parent / "shared" / "reference" / "ack-crds"
PROJECT_CRDS = ROOT / "jupyter_ack" / "sandbox" / "crds"
KUBECTL = shutil.which("kubectl")

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.test"},
    "spec": {
        "group": "example.test",
        "names": {
            "kind": "Widget",
            "listKind": "WidgetList",
            "plural": "widgets",
            "singular": "widget",
            "shortNames": ["wd"],
            "categories": ["all"],
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {
                        "name": "Reason",
                        "type": "string",
                        "jsonPath": ".status.reason",
                        "priority": 1,
                    },
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A widget, for the emulator's tests.",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "description": "What the widget should be.",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "description": "How big."},
                                    "color": {"type": "string", "default": "blue"},
                                    "shape": {"type": "string", "enum": ["round", "square"]},
                                    "nested": {
                                        "type": "object",
                                        "properties": {
                                            "inner": {"type": "string"},
                                            "count": {"type": "integer"},
                                        },
                                    },
                                    "tags": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "key": {"type": "string"},
                                                "value": {"type": "string"},
                                            },
                                        },
                                    },
                                    "ports": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                        "items": {
                                            "type": "object",
                                            "required": ["name"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "port": {"type": "integer"},
                                            },
                                        },
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "reason": {"type": "string"},
                                    "observed": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.test"},
    "spec": {
        "group": "example.test",
        "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
        "scope": "Cluster",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}


def widget(name: str, size: int = 1, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size, **spec},
    }


def crds() -> list[dict[str, Any]]:
    return [copy.deepcopy(WIDGET_CRD), copy.deepcopy(GADGET_CRD)]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: Any

    @property
    def warnings(self) -> list[str]:
        return self.headers.get_all("Warning") or []


def tls_context(ca_pem: bytes) -> ssl.SSLContext:
    """A client context that trusts only the server's own certificate."""
    return ssl.create_default_context(cadata=ca_pem.decode())


class Http:
    """Raw HTTPS to the server, as a client library without opinions would send it: the
    server's CA, a bearer token (``None``: none), and nothing else."""

    def __init__(self, url: str, token: str | None, ca_pem: bytes) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.token = token
        self.context = tls_context(ca_pem)

    @classmethod
    def to(cls, server: KubeApiServer, token: str | None = None) -> Http:
        """A client of ``server`` with ``token``, by default the server's first one."""
        return cls(server.url, server.token if token is None else token, server.ca_pem)

    @classmethod
    def anonymous(cls, server: KubeApiServer) -> Http:
        """A client of ``server`` that sends no token at all."""
        return cls(server.url, None, server.ca_pem)

    def connection(self, timeout: float = 10) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, timeout=timeout, context=self.context
        )

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Accept": "application/json", "User-Agent": "kube-tests/1.0"}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(extra or {})
        return out

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        conn = self.connection(timeout)
        try:
            data = None
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs = self.headers(headers)
            if data is not None:
                hdrs["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode()
            return Reply(resp.status, resp.headers, parsed)
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, kind: str = "merge", **kw: Any) -> Reply:
        types = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "apply": "application/apply-patch+yaml",
        }
        return self.call("PATCH", path, body, content_type=types[kind], **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("DELETE", path, body, **kw)

    def watch(self, path: str, headers: dict[str, str] | None = None) -> WatchStream:
        return WatchStream(self, path, headers)


class WatchStream:
    """A watch response read line by line, each wait bounded by a timeout."""

    def __init__(self, client: Http, path: str, headers: dict[str, str] | None) -> None:
        self.conn = client.connection()
        self.conn.request("GET", path, headers=client.headers(headers))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next(self, timeout: float = 5) -> dict[str, Any] | None:
        """The next event, or None when the server ended the stream."""
        sock = self.conn.sock
        if sock is not None:
            sock.settimeout(timeout)
        line = self.resp.readline()
        if not line:
            return None
        event: dict[str, Any] = json.loads(line)
        return event

    def events(self, n: int, timeout: float = 5) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            event = self.next(timeout)
            assert event is not None, f"stream ended after {out}"
            out.append(event)
        return out

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def api(kube: KubeApiServer) -> Http:
    """Raw HTTPS to ``kube`` with its token and CA."""
    return Http.to(kube)


WIDGETS = "/apis/example.test/v1/namespaces/default/widgets"


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """A fresh server with the Widget and Gadget CRDs, bookmarks every 0.2 s."""
    with KubeApiServer(crds=crds(), bookmark_interval=0.2) as srv:
        yield srv


@pytest.fixture
def kubeconfig(kube: KubeApiServer, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@dataclass
class Kubectl:
    """Runs the real kubectl against the server, with its own cache directory."""

    kubeconfig: Path
    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(
            {
                "KUBECONFIG": str(self.kubeconfig),
                "HOME": str(self.home),
                "KUBECACHEDIR": str(self.home / "cache"),
            }
        )
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def stream(self, *args: str) -> LineReader:
        assert KUBECTL is not None
        proc = subprocess.Popen(
            [KUBECTL, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
        )
        return LineReader(proc)


class LineReader:
    """Lines of a long-running process, read on a thread, waited for with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout: float = 10) -> str:
        line = self.lines.get(timeout=timeout)
        if line is None:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the process ended: {err}")
        return line

    def until(self, needle: str, timeout: float = 10) -> str:
        while True:
            line = self.next(timeout)
            if needle in line:
                return line

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(kubeconfig, home)


@pytest.fixture
def k8s(kubeconfig: Path) -> Iterator[Any]:
    """A ``kubernetes`` ApiClient loaded from the written kubeconfig."""
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()

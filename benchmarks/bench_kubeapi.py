"""Benchmarks of the sandbox's Kubernetes API emulator, printed as a table.

    python benchmarks/bench_kubeapi.py [--objects 5000] [--quick]

Speed targets live here rather than in timed tests (which fail on a busy machine):

- start time of ``KubeApiServer(...).start()``, which includes making its self-signed
  certificate (target < 500 ms), and the certificate alone;
- list of N stored objects, as JSON and as a kubectl Table;
- watch event latency (create sent -> event read by the watcher), p50 and p95, with 1 and
  with 100 concurrent watchers, N objects stored (target p95 < 10 ms on loopback);
- a watch's ``timeoutSeconds=1`` honoured: the stream ends after 1 s (target under 3 s);
- the injected delay (``faults.delay(0.2)``) honoured: no response before 200 ms, and
  responses fast again (under 200 ms) once it is cleared.

The server runs in a child process so that the watchers' parsing does not share its GIL;
it sends back its URL, token and CA certificate, and every client here speaks HTTPS with
that CA and the token, as kubectl would. Latencies are measured in this process, from just
before the create request to the line.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import ssl
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
from common import Row, table  # beside this script

from jupyter_ack.sandbox.kubeapi import KubeApiServer
from jupyter_ack.sandbox.kubeapi.tls import self_signed

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.test"},
    "spec": {
        "group": "example.test",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "text": {"type": "string"},
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"phase": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        ],
    },
}
WIDGETS = "/apis/example.test/v1/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def widget(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "spec": {"size": 1, "text": "x" * 200},
    }


DELAY = 0.2  # the injected delay measured (the auth/faults tests use the same)
START_TARGET_MS = 500.0
LATENCY_TARGET_MS = 10.0
WATCH_TIMEOUT_S = 1
GROUP = "kube API"


def serve(conn: Any) -> None:
    """The child process: run a server, send back how to reach it, then obey commands
    (``("delay", seconds)``) until told to stop."""
    srv = KubeApiServer(crds=[CRD]).start()
    conn.send((srv.url, srv.token, srv.ca_pem.decode()))
    try:
        while (msg := conn.recv()) != "stop":
            if msg[0] == "delay":
                srv.faults.delay(msg[1])
            conn.send("ok")
    finally:
        srv.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class Target:
    """Where the server is and how to talk to it: its URL, bearer token and CA."""

    def __init__(self, url: str, token: str, ca_pem: str) -> None:
        self.url = url
        self.token = token
        self.context = ssl.create_default_context(cadata=ca_pem)
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 443

    def session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, ssl=self.context)
        return aiohttp.ClientSession(
            connector=connector, headers={"Authorization": f"Bearer {self.token}"}
        )


async def fill(session: aiohttp.ClientSession, url: str, n: int) -> None:
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem, session.post(url + WIDGETS, json=widget(f"stored-{i:05d}")) as r:
            assert r.status == 201, await r.text()

    await asyncio.gather(*(one(i) for i in range(n)))


async def time_list(session: aiohttp.ClientSession, url: str, accept: str, rounds: int) -> float:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        async with session.get(url + WIDGETS, headers={"Accept": accept}) as r:
            body = await r.read()
        took.append(time.perf_counter() - began)
        assert r.status == 200, body[:200]
    return statistics.median(took)


async def latency(
    session: aiohttp.ClientSession, target: Target, watchers: int, events: int, tag: str
) -> list[float]:
    """Per delivery latency: each create waits until every watcher has seen it. Watchers are
    bare TLS streams, each read by a task of its own, so that the client adds next to
    nothing; each one is registered once its response headers are in (the server registers
    the watch before it answers), so no event is measured before every watcher is in."""
    async with session.get(target.url + WIDGETS) as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    request = (
        f"GET {WIDGETS}?watch=1&resourceVersion={rv} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{target.port}\r\n"
        f"Authorization: Bearer {target.token}\r\n\r\n"
    ).encode()
    expected: list[bytes] = [b""]
    sent = [0.0]
    seen: list[float] = []
    done = asyncio.Event()

    async def read(reader: asyncio.StreamReader) -> None:
        buffer = bytearray()
        while data := await reader.read(1 << 20):
            now = time.perf_counter()
            buffer.extend(data)
            if expected[0] and expected[0] in buffer:
                buffer.clear()
                seen.append(now - sent[0])
                if len(seen) % watchers == 0:
                    done.set()

    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.Task[None]] = []
    try:
        for _ in range(watchers):
            reader, writer = await asyncio.open_connection(
                target.host, target.port, ssl=target.context, server_hostname="127.0.0.1"
            )
            writers.append(writer)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            readers.append(asyncio.create_task(read(reader)))
        for i in range(events):
            done.clear()
            expected[0] = f'"name":"{tag}-{i:05d}"'.encode()
            sent[0] = time.perf_counter()
            async with session.post(target.url + WIDGETS, json=widget(f"{tag}-{i:05d}")) as r:
                assert r.status == 201
            await asyncio.wait_for(done.wait(), 30)
    finally:
        for task in readers:
            task.cancel()
        for writer in writers:
            writer.close()
        await asyncio.gather(*readers, return_exceptions=True)
    return seen


async def watch_timeout(session: aiohttp.ClientSession, url: str) -> float:
    """How long a watch with ``timeoutSeconds`` stays open, from the request to its end."""
    began = time.perf_counter()
    async with session.get(f"{url}{WIDGETS}?watch=1&timeoutSeconds={WATCH_TIMEOUT_S}") as r:
        assert r.status == 200
        await r.read()
    return time.perf_counter() - began


async def version_times(session: aiohttp.ClientSession, url: str, rounds: int) -> list[float]:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        async with session.get(url + "/version") as r:
            body = await r.json()
        took.append(time.perf_counter() - began)
        assert r.status == 200, body
        assert body["major"] == "1", body
    return took


async def measure(
    target: Target, objects: int, quick: bool, control: Callable[[Any], None]
) -> list[Row]:
    rows: list[Row] = []
    url = target.url
    async with target.session() as session:
        began = time.perf_counter()
        await fill(session, url, objects)
        stored = time.perf_counter() - began
        rows.append(Row(GROUP, f"store {objects:,} objects (16 parallel creates)", stored, "s"))
        rounds = 3 if quick else 7
        for label, accept in (("JSON", "application/json"), ("Table", TABLE)):
            took = await time_list(session, url, accept, rounds) * 1000
            rows.append(
                Row(
                    GROUP,
                    f"list {objects:,} objects ({label})",
                    took,
                    "ms",
                    note=f"median of {rounds}",
                )
            )
        for watchers, events in ((1, 100 if quick else 300), (100, 20 if quick else 60)):
            lat = await latency(session, target, watchers, events, f"lat{watchers}")
            assert len(lat) == watchers * events, len(lat)
            p50, p95 = percentile(lat, 0.5) * 1000, percentile(lat, 0.95) * 1000
            rows.append(
                Row(
                    GROUP,
                    f"watch latency, {watchers} watcher(s), p95",
                    p95,
                    "ms",
                    target=f"< {LATENCY_TARGET_MS:g} ms",
                    ok=p95 < LATENCY_TARGET_MS,
                    note=f"p50 {p50:.2f} ms; {len(lat):,} deliveries, {objects:,} objects stored",
                )
            )
        ended = await watch_timeout(session, url)
        rows.append(
            Row(
                GROUP,
                f"watch timeoutSeconds={WATCH_TIMEOUT_S}: stream ends after",
                ended,
                "s",
                target=f"{WATCH_TIMEOUT_S} to 3 s",
                ok=WATCH_TIMEOUT_S * 0.9 <= ended < 3,
            )
        )
        n = 5 if quick else 10
        control(("delay", DELAY))
        try:
            delayed = await version_times(session, url, n)
        finally:
            control(("delay", 0))
        cleared = await version_times(session, url, n)
        rows.append(
            Row(
                GROUP,
                f"injected delay {DELAY:g} s honoured: fastest GET /version",
                min(delayed) * 1000,
                "ms",
                target=f">= {DELAY * 1000:.0f} ms",
                ok=min(delayed) >= DELAY,
                note=f"median {statistics.median(delayed) * 1000:.1f} ms of {n}",
            )
        )
        rows.append(
            Row(
                GROUP,
                "delay cleared: slowest GET /version",
                max(cleared) * 1000,
                "ms",
                target=f"< {DELAY * 1000:.0f} ms",
                ok=max(cleared) < DELAY,
                note=f"median {statistics.median(cleared) * 1000:.1f} ms of {n}",
            )
        )
    return rows


def start_time(rounds: int) -> float:
    """``KubeApiServer(...).start()``, which makes a fresh certificate each time; each
    started server answers ``/version`` before it is stopped (not timed)."""
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        srv = KubeApiServer(crds=[CRD]).start()
        took.append(time.perf_counter() - began)
        try:
            context = ssl.create_default_context(cadata=srv.ca_pem.decode())
            request = urllib.request.Request(
                srv.url + "/version", headers={"Authorization": f"Bearer {srv.token}"}
            )
            with urllib.request.urlopen(request, context=context, timeout=10) as r:
                assert r.status == 200
        finally:
            srv.stop()
    return statistics.median(took)


def certificate_time(rounds: int) -> float:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        self_signed("127.0.0.1")
        took.append(time.perf_counter() - began)
    return statistics.median(took)


def run(quick: bool, objects: int = 5000) -> list[Row]:
    rounds = 10
    started = start_time(rounds) * 1000
    rows: list[Row] = [
        Row(
            GROUP,
            "server start, incl. making its certificate",
            started,
            "ms",
            target=f"< {START_TARGET_MS:g} ms",
            ok=started < START_TARGET_MS,
            note=f"median of {rounds}",
        ),
        Row(
            GROUP,
            "  of which the certificate",
            certificate_time(rounds) * 1000,
            "ms",
            note=f"median of {rounds}",
        ),
    ]
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    proc.start()

    def control(msg: Any) -> None:
        parent.send(msg)
        assert parent.recv() == "ok"

    try:
        target = Target(*parent.recv())
        rows += asyncio.run(measure(target, objects, quick, control))
    finally:
        parent.send("stop")
        proc.join(30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and events")
    args = parser.parse_args()
    print(table(run(args.quick, args.objects)))


if __name__ == "__main__":
    main()

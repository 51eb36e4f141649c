"""Benchmarks of the sandbox's Kubernetes API emulator, printed as a table.

    python benchmarks/bench_kubeapi.py [--objects 5000] [--quick]

- start time of ``KubeApiServer(...).start()`` (target well under 1 s);
- list of N stored objects, as JSON and as a kubectl Table;
- watch event latency (create sent -> event read by the watcher), p50 and p95, with 1 and
  with 100 concurrent watchers, N objects stored (target p95 < 10 ms on loopback).

The server runs in a child process so that the watchers' parsing does not share its GIL;
latencies are measured in this process, from just before the create request to the line.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from typing import Any

import aiohttp

from jupyter_ack.sandbox.kubeapi import KubeApiServer

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


def serve(conn: Any) -> None:
    """The child process: run a server until told to stop."""
    srv = KubeApiServer(crds=[CRD]).start()
    conn.send(srv.url)
    conn.recv()
    srv.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


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
    session: aiohttp.ClientSession, url: str, watchers: int, events: int, tag: str
) -> list[float]:
    """Per delivery latency: each create waits until every watcher has seen it. Watchers are
    raw sockets read from loop callbacks, so that the client adds next to nothing."""
    async with session.get(url + WIDGETS) as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET {WIDGETS}?watch=1&resourceVersion={rv} HTTP/1.1\r\nHost: {host}\r\n\r\n"
    ).encode()
    expected: list[bytes] = [b""]
    sent = [0.0]
    seen: list[float] = []
    done = asyncio.Event()
    socks = []

    def readable(sock: socket.socket, buffer: bytearray) -> None:
        now = time.perf_counter()
        data = sock.recv(1 << 20)
        buffer.extend(data)
        if expected[0] and expected[0] in buffer:
            buffer.clear()
            seen.append(now - sent[0])
            if len(seen) % watchers == 0:
                done.set()

    for _ in range(watchers):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(request)
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), readable, sock, bytearray())
        socks.append(sock)
    await asyncio.sleep(0.5)  # let every watch register before measuring
    for i in range(events):
        done.clear()
        expected[0] = f'"name":"{tag}-{i:05d}"'.encode()
        sent[0] = time.perf_counter()
        async with session.post(url + WIDGETS, json=widget(f"{tag}-{i:05d}")) as r:
            assert r.status == 201
        await asyncio.wait_for(done.wait(), 30)
    for sock in socks:
        loop.remove_reader(sock.fileno())
        sock.close()
    return seen


async def measure(url: str, objects: int, quick: bool) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await fill(session, url, objects)
        rows.append(
            (
                f"store {objects:,} objects (16 parallel creates)",
                f"{time.perf_counter() - began:.2f} s",
                "",
            )
        )
        rounds = 3 if quick else 7
        rows.append(
            (
                f"list {objects:,} objects (JSON)",
                f"{await time_list(session, url, 'application/json', rounds) * 1000:.0f} ms",
                "",
            )
        )
        rows.append(
            (
                f"list {objects:,} objects (Table)",
                f"{await time_list(session, url, TABLE, rounds) * 1000:.0f} ms",
                "",
            )
        )
        for watchers, events in ((1, 100 if quick else 300), (100, 20 if quick else 60)):
            lat = await latency(session, url, watchers, events, f"lat{watchers}")
            p50, p95 = percentile(lat, 0.5) * 1000, percentile(lat, 0.95) * 1000
            verdict = "ok" if p95 < 10 else "over 10 ms"
            rows.append(
                (
                    f"watch latency, {watchers} watcher(s), {len(lat):,} deliveries",
                    f"p50 {p50:.2f} ms  p95 {p95:.2f} ms",
                    verdict,
                )
            )
    return rows


def start_time(rounds: int) -> float:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        srv = KubeApiServer(crds=[CRD]).start()
        took.append(time.perf_counter() - began)
        srv.stop()
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and events")
    args = parser.parse_args()

    rows = [("server start (median of 10)", f"{start_time(10) * 1000:.1f} ms", "")]
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    proc.start()
    try:
        url = parent.recv()
        rows += asyncio.run(measure(url, args.objects, args.quick))
    finally:
        parent.send("stop")
        proc.join(30)

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':<28}  note")
    print("-" * (width + 40))
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<28}  {note}")


if __name__ == "__main__":
    main()

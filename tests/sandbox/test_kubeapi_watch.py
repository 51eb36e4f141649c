"""Watches over HTTPS: initial state, changes, resume, 410, bookmarks, timeouts, selectors,
dropped connections, delivery in order and fan-out. (Watch latency is a speed target:
benchmarks/bench_kubeapi.py measures and reports it.)"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import WIDGETS, Http, api, kube, tls_context, widget

__all__ = ["api", "kube"]


def test_watch_without_resource_version_starts_with_the_current_state(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    api.post(WIDGETS, widget("b"))
    stream = api.watch(f"{WIDGETS}?watch=1")
    try:
        assert stream.status == 200
        first = stream.events(2)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in first] == [
            ("ADDED", "a"),
            ("ADDED", "b"),
        ]
        api.patch(f"{WIDGETS}/a", {"spec": {"size": 2}})
        api.delete(f"{WIDGETS}/b")
        changed, deleted = stream.events(2)
        assert changed["type"] == "MODIFIED"
        assert changed["object"]["spec"]["size"] == 2
        assert deleted["type"] == "DELETED"
        assert deleted["object"]["metadata"]["name"] == "b"
    finally:
        stream.close()


def test_resume_replays_what_came_after(api: Http) -> None:
    listed = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    api.post(WIDGETS, widget("a"))
    rv_after_a = api.get(f"{WIDGETS}/a").body["metadata"]["resourceVersion"]
    api.post(WIDGETS, widget("b"))
    stream = api.watch(f"{WIDGETS}?watch=true&resourceVersion={listed}")
    try:
        names = [e["object"]["metadata"]["name"] for e in stream.events(2)]
        assert names == ["a", "b"]
    finally:
        stream.close()
    stream = api.watch(f"{WIDGETS}?watch=true&resourceVersion={rv_after_a}")
    try:
        event = stream.next()
        assert event is not None
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")
    finally:
        stream.close()


def test_too_old_resource_version_is_an_error_event_with_410(
    kube: KubeApiServer, api: Http
) -> None:
    api.post(WIDGETS, widget("a"))
    old = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    api.post(WIDGETS, widget("b"))
    kube.faults.compact()
    stream = api.watch(f"{WIDGETS}?watch=1&resourceVersion={old}")
    try:
        assert stream.status == 200
        event = stream.next()
        assert event is not None
        assert event["type"] == "ERROR"
        status = event["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        assert status["message"].startswith(f"too old resource version: {old} (")
        assert stream.next() is None  # and the stream ends
    finally:
        stream.close()
    current = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    stream = api.watch(f"{WIDGETS}?watch=1&resourceVersion={current}")
    try:
        api.post(WIDGETS, widget("c"))
        event = stream.next()
        assert event is not None
        assert event["object"]["metadata"]["name"] == "c"
    finally:
        stream.close()


def test_history_limit_expires_old_versions() -> None:
    with KubeApiServer(crds=[], history_limit=5) as srv:
        http = Http.to(srv)
        start = http.get("/api/v1/namespaces").body["metadata"]["resourceVersion"]
        for i in range(8):
            http.post("/api/v1/namespaces", {"metadata": {"name": f"n{i}"}})
        stream = http.watch(f"/api/v1/namespaces?watch=1&resourceVersion={start}")
        try:
            event = stream.next()
            assert event is not None
            assert event["type"] == "ERROR"
            assert event["object"]["code"] == 410
        finally:
            stream.close()


def _assert_bookmark(event: dict[str, Any], rv: str) -> None:
    assert event["type"] == "BOOKMARK"
    assert event["object"]["kind"] == "Widget"
    assert event["object"]["apiVersion"] == "example.test/v1"
    assert event["object"]["metadata"]["resourceVersion"] == rv


def test_bookmarks_come_periodically(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    rv = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    stream = api.watch(f"{WIDGETS}?watch=1&allowWatchBookmarks=true&resourceVersion={rv}")
    try:
        for event in stream.events(3):  # every 0.2 s (the fixture's interval), over and over
            _assert_bookmark(event, rv)
    finally:
        stream.close()


def test_bookmarks_periodically_and_at_timeout(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    rv = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    began = time.monotonic()
    stream = api.watch(
        f"{WIDGETS}?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion={rv}"
    )
    try:
        events = []
        while (event := stream.next(timeout=5)) is not None:
            events.append(event)
        assert events, "the stream ended without its closing bookmark"
        for event in events:
            _assert_bookmark(event, rv)
        # The timeout ends the stream, and not before it is due (a lower bound only: how
        # much later is a speed figure, reported by benchmarks/bench_kubeapi.py).
        assert time.monotonic() - began >= 0.9
    finally:
        stream.close()


def test_no_bookmarks_unless_asked(api: Http) -> None:
    stream = api.watch(f"{WIDGETS}?watch=1&timeoutSeconds=0.6")
    try:
        assert stream.next(timeout=5) is None
    finally:
        stream.close()


def test_selectors_turn_changes_into_added_and_deleted(api: Http) -> None:
    body = widget("a")
    body["metadata"]["labels"] = {"team": "x"}
    api.post(WIDGETS, body)
    api.post(WIDGETS, widget("b"))
    stream = api.watch(f"{WIDGETS}?watch=1&labelSelector=team%3Dx")
    try:
        assert [e["object"]["metadata"]["name"] for e in stream.events(1)] == ["a"]
        api.patch(f"{WIDGETS}/b", {"metadata": {"labels": {"team": "x"}}})
        api.patch(f"{WIDGETS}/a", {"metadata": {"labels": {"team": "y"}}})
        api.patch(f"{WIDGETS}/b", {"spec": {"size": 3}})
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in stream.events(3)]
        assert got == [("ADDED", "b"), ("DELETED", "a"), ("MODIFIED", "b")]
    finally:
        stream.close()


def test_field_selector_watch_of_one_object(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    api.post(WIDGETS, widget("b"))
    stream = api.watch(f"{WIDGETS}?watch=1&fieldSelector=metadata.name%3Db")
    try:
        assert stream.events(1)[0]["object"]["metadata"]["name"] == "b"
        api.patch(f"{WIDGETS}/a", {"spec": {"size": 5}})
        api.patch(f"{WIDGETS}/b", {"spec": {"size": 6}})
        event = stream.next()
        assert event is not None
        assert event["object"]["metadata"]["name"] == "b"
    finally:
        stream.close()


def test_namespaced_watch_sees_only_its_namespace(api: Http) -> None:
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    everywhere = api.watch("/apis/example.test/v1/widgets?watch=1")
    here = api.watch(f"{WIDGETS}?watch=1")
    try:
        api.post("/apis/example.test/v1/namespaces/other/widgets", widget("o", namespace="other"))
        api.post(WIDGETS, widget("d"))
        assert [e["object"]["metadata"]["name"] for e in everywhere.events(2)] == ["o", "d"]
        assert [e["object"]["metadata"]["name"] for e in here.events(1)] == ["d"]
    finally:
        everywhere.close()
        here.close()


def test_finalized_delete_is_modified_then_deleted(api: Http) -> None:
    body = widget("a")
    body["metadata"]["finalizers"] = ["hold"]
    api.post(WIDGETS, body)
    rv = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    stream = api.watch(f"{WIDGETS}?watch=1&resourceVersion={rv}")
    try:
        api.delete(f"{WIDGETS}/a")
        marked = stream.events(1)[0]
        assert marked["type"] == "MODIFIED"
        assert marked["object"]["metadata"]["deletionTimestamp"]
        api.patch(f"{WIDGETS}/a", {"metadata": {"finalizers": None}})
        gone = stream.events(1)[0]
        assert gone["type"] == "DELETED"
        assert int(gone["object"]["metadata"]["resourceVersion"]) > int(
            marked["object"]["metadata"]["resourceVersion"]
        )
    finally:
        stream.close()


def test_drop_watches_ends_streams(kube: KubeApiServer, api: Http) -> None:
    streams = [api.watch(f"{WIDGETS}?watch=1") for _ in range(3)]
    try:
        api.post(WIDGETS, widget("a"))
        for s in streams:
            assert s.events(1)[0]["type"] == "ADDED"
        assert kube.faults.drop_watches() == 3
        for s in streams:
            assert s.next() is None
    finally:
        for s in streams:
            s.close()


def _raw_watch(kube: KubeApiServer) -> socket.socket:
    """A watch on a bare TLS socket, so that the test sees the chunked framing itself."""
    plain = socket.create_connection(("127.0.0.1", kube.port), timeout=5)
    sock = tls_context(kube.ca_pem).wrap_socket(plain, server_hostname="127.0.0.1")
    sock.sendall(
        f"GET {WIDGETS}?watch=1 HTTP/1.1\r\nHost: 127.0.0.1:{kube.port}\r\n"
        f"Authorization: Bearer {kube.token}\r\n\r\n".encode()
    )
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything up to the end of the connection, however it ended (a cut TLS connection
    may end in a reset rather than a clean end of file)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _read_until(sock: socket.socket, needle: bytes) -> bytes:
    data = b""
    while needle not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


@pytest.mark.parametrize("abort", [False, True])
def test_drop_with_abort_cuts_the_chunked_body(kube: KubeApiServer, api: Http, abort: bool) -> None:
    sock = _raw_watch(kube)
    try:
        _read_until(sock, b"Transfer-Encoding: chunked")
        api.post(WIDGETS, widget("a"))
        _read_until(sock, b'"ADDED"')
        kube.faults.drop_watches(abort=abort)
        if abort:  # the connection is cut: no last chunk
            assert not _read_until_closed(sock).endswith(b"0\r\n\r\n")
        else:  # the response ends properly and the connection stays usable
            assert _read_until(sock, b"0\r\n\r\n").endswith(b"0\r\n\r\n")
    finally:
        sock.close()


def test_send_initial_events_ends_with_a_marked_bookmark(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    stream = api.watch(
        f"{WIDGETS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan"
    )
    try:
        added, mark = stream.events(2)
        assert added["type"] == "ADDED"
        assert mark["type"] == "BOOKMARK"
        assert mark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    finally:
        stream.close()


def test_deleting_the_crd_deletes_objects_and_ends_watches(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    stream = api.watch(f"{WIDGETS}?watch=1")
    try:
        stream.events(1)
        api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.test")
        event = stream.next()
        assert event is not None
        assert event["type"] == "DELETED"
        assert stream.next() is None
    finally:
        stream.close()


def _deliveries(api: Http, watchers: int, events: int) -> list[list[tuple[str, str]]]:
    """What each of ``watchers`` watches saw of ``events`` creates: (type, name) in order.
    How fast they arrive is measured by benchmarks/bench_kubeapi.py, not here."""
    rv = api.get(WIDGETS).body["metadata"]["resourceVersion"]
    streams = [api.watch(f"{WIDGETS}?watch=1&resourceVersion={rv}") for _ in range(watchers)]
    received: list[list[tuple[str, str]]] = [[] for _ in range(watchers)]

    def read(i: int) -> None:
        for _ in range(events):
            event = streams[i].next(timeout=10)
            if event is None:
                return
            received[i].append((event["type"], event["object"]["metadata"]["name"]))

    readers = [threading.Thread(target=read, args=(i,)) for i in range(watchers)]
    for r in readers:
        r.start()
    try:
        for i in range(events):
            assert api.post(WIDGETS, widget(f"ev{i:03d}")).status == 201
        for r in readers:
            r.join(timeout=30)
        assert not any(r.is_alive() for r in readers)
    finally:
        for s in streams:
            s.close()
    return received


def test_events_reach_a_watcher_in_order_and_all_of_them(api: Http) -> None:
    (seen,) = _deliveries(api, watchers=1, events=60)
    assert seen == [("ADDED", f"ev{i:03d}") for i in range(60)]


def test_a_hundred_watchers_all_see_every_event(api: Http) -> None:
    seen = _deliveries(api, watchers=100, events=5)
    expected = [("ADDED", f"ev{i:03d}") for i in range(5)]
    assert len(seen) == 100
    assert all(got == expected for got in seen)

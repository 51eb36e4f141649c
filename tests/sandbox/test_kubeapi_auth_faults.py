"""Token authentication, deny rules, and fault injection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import WIDGETS, Http, api, crds, kube, widget

__all__ = ["api", "kube"]

GROUP = "example.test"


@pytest.fixture
def secured() -> Iterator[KubeApiServer]:
    with KubeApiServer(crds=crds(), tokens={"alice-token": "alice", "bob-token": "bob"}) as srv:
        yield srv


def test_no_or_bad_token_is_401(secured: KubeApiServer) -> None:
    for client in (Http.anonymous(secured), Http.to(secured, "wrong")):
        reply = client.get(WIDGETS)
        assert reply.status == 401
        assert reply.body == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    assert Http.to(secured, "alice-token").get(WIDGETS).status == 200


def test_deny_rules_are_403_with_the_real_message(secured: KubeApiServer) -> None:
    secured.deny(user="alice", verb="create", group=GROUP, resource="widgets", namespace=None)
    alice, bob = Http.to(secured, "alice-token"), Http.to(secured, "bob-token")
    reply = alice.post(WIDGETS, widget("w1"))
    assert reply.status == 403
    assert reply.body["reason"] == "Forbidden"
    assert reply.body["message"] == (
        'widgets.example.test is forbidden: User "alice" cannot create resource "widgets" in '
        'API group "example.test" in the namespace "default"'
    )
    assert reply.body["details"] == {"group": "example.test", "kind": "widgets"}
    assert bob.post(WIDGETS, widget("w1")).status == 201
    assert alice.get(f"{WIDGETS}/w1").status == 200  # only create is denied


def test_deny_by_name_namespace_scope_and_subresource(secured: KubeApiServer) -> None:
    alice = Http.to(secured, "alice-token")
    alice.post(WIDGETS, widget("w1"))
    secured.deny(user="alice", verb="get", resource="widgets", namespace="default")
    secured.deny(user="alice", verb="list", group=GROUP, resource="widgets", namespace=None)
    secured.deny(user="alice", verb="patch", resource="widgets/status")
    got = alice.get(f"{WIDGETS}/w1")
    assert got.body["message"] == (
        'widgets.example.test "w1" is forbidden: User "alice" cannot get resource "widgets" in '
        'API group "example.test" in the namespace "default"'
    )
    everywhere = alice.get("/apis/example.test/v1/widgets")
    assert everywhere.body["message"].endswith(
        'cannot list resource "widgets" in API group "example.test" at the cluster scope'
    )
    status = alice.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "x"}})
    assert status.status == 403
    assert 'cannot patch resource "widgets/status"' in status.body["message"]
    assert alice.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}}).status == 200


def test_https_only_with_its_own_certificate(secured: KubeApiServer) -> None:
    assert secured.url.startswith("https://127.0.0.1:")
    assert secured.ca_pem.startswith(b"-----BEGIN CERTIFICATE")
    assert secured.ca_file.read_bytes() == secured.ca_pem
    assert secured.token == "alice-token"  # the first one, for the kubeconfig


def test_fail_requests_500_then_recovers(kube: KubeApiServer, api: Http) -> None:
    kube.faults.fail_requests(2, status=500)
    for _ in range(2):
        reply = api.get(WIDGETS)
        assert reply.status == 500
        assert reply.body["reason"] == "InternalError"
        assert reply.body["message"] == "Internal error occurred: injected fault"
    assert api.get(WIDGETS).status == 200


def test_fail_requests_429_with_retry_after_on_matching_paths(
    kube: KubeApiServer, api: Http
) -> None:
    kube.faults.fail_requests(1, status=429, path_contains="/widgets")
    assert api.get("/api/v1/namespaces").status == 200  # not matching: untouched
    reply = api.get(WIDGETS)
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "1"
    assert reply.body["reason"] == "TooManyRequests"
    assert reply.body["details"] == {"retryAfterSeconds": 1}
    assert api.get(WIDGETS).status == 200


def test_delay_slows_every_response(kube: KubeApiServer, api: Http) -> None:
    kube.faults.delay(0.2)
    answers = (("/version", "gitVersion", "v1.32.0"), (WIDGETS, "kind", "WidgetList"))
    for path, key, value in answers:
        began = time.perf_counter()
        reply = api.get(path)
        # The delay really delays (a lower bound only: how closely it is honoured, and that
        # responses are fast again once cleared, are reported by benchmarks/bench_kubeapi.py).
        assert time.perf_counter() - began >= 0.2
        assert reply.status == 200  # and the delayed request still answers correctly
        assert reply.body[key] == value
    kube.faults.delay(0)
    assert kube.faults.delay_seconds == 0
    cleared = api.get("/version")
    assert cleared.status == 200
    assert cleared.body["gitVersion"] == "v1.32.0"


def test_a_large_body_is_413(api: Http) -> None:
    body = widget("big", extra={"blob": "x" * (3 * 1024 * 1024 + 10)})
    reply = api.post(WIDGETS, body)
    assert reply.status == 413
    assert reply.body["reason"] == "RequestEntityTooLarge"

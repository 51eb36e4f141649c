"""The ``kubernetes`` Python client against the server: CustomObjectsApi, DynamicClient and
watch.Watch, including the quirks the project relies on."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import k8s, kube, kubeconfig, widget

__all__ = ["k8s", "kube", "kubeconfig"]

G, V, P = "example.test", "v1", "widgets"


@pytest.fixture
def custom(k8s: Any) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(k8s)


def test_custom_objects_crud(custom: client.CustomObjectsApi) -> None:
    made = custom.create_namespaced_custom_object(G, V, "default", P, widget("w1", 1))
    assert made["metadata"]["generation"] == 1
    got = custom.get_namespaced_custom_object(G, V, "default", P, "w1")
    assert got["metadata"]["uid"] == made["metadata"]["uid"]
    listed = custom.list_namespaced_custom_object(G, V, "default", P)
    assert [o["metadata"]["name"] for o in listed["items"]] == ["w1"]
    patched = custom.patch_namespaced_custom_object(G, V, "default", P, "w1", {"spec": {"size": 2}})
    assert patched["spec"]["size"] == 2
    got["spec"]["size"] = 3
    with pytest.raises(ApiException) as stale:
        custom.replace_namespaced_custom_object(G, V, "default", P, "w1", got)
    assert stale.value.status == 409
    fresh = custom.get_namespaced_custom_object(G, V, "default", P, "w1")
    fresh["spec"]["size"] = 3
    replaced = custom.replace_namespaced_custom_object(G, V, "default", P, "w1", fresh)
    assert replaced["metadata"]["generation"] == 3
    status = custom.patch_namespaced_custom_object_status(
        G, V, "default", P, "w1", {"status": {"phase": "Up"}}
    )
    assert status["status"] == {"phase": "Up"}
    status["status"]["phase"] = "Down"
    put = custom.replace_namespaced_custom_object_status(G, V, "default", P, "w1", status)
    assert put["status"]["phase"] == "Down"
    assert custom.get_namespaced_custom_object_status(G, V, "default", P, "w1")["status"] == {
        "phase": "Down"
    }
    deleted = custom.delete_namespaced_custom_object(G, V, "default", P, "w1")
    assert deleted["metadata"]["name"] == "w1"
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(G, V, "default", P, "w1")
    assert missing.value.status == 404


def test_apply_that_creates_returns_none_from_the_client(custom: client.CustomObjectsApi) -> None:
    created = custom.patch_namespaced_custom_object(
        G,
        V,
        "default",
        P,
        "w1",
        widget("w1", 4),
        field_manager="me",
        _content_type="application/apply-patch+yaml",
    )
    assert created is None  # the client only parses the 200 it expects; 201 gives None
    updated = custom.patch_namespaced_custom_object(
        G,
        V,
        "default",
        P,
        "w1",
        widget("w1", 5),
        field_manager="me",
        _content_type="application/apply-patch+yaml",
    )
    assert updated["spec"]["size"] == 5


def test_dynamic_client(k8s: Any, tmp_path: Path) -> None:
    dyn = dynamic.DynamicClient(k8s, cache_file=str(tmp_path / "discovery.json"))
    widgets = dyn.resources.get(api_version="example.test/v1", kind="Widget")
    assert widgets.namespaced
    assert widgets.subresources["status"]
    made = widgets.create(body=widget("w1", 1), namespace="default")
    assert made.metadata.generation == 1
    applied = widgets.server_side_apply(
        body=widget("w1", 2),
        name="w1",
        namespace="default",
        field_manager="dyn",
        force_conflicts=True,
    )
    assert applied.spec.size == 2
    assert [i.metadata.name for i in widgets.get(namespace="default").items] == ["w1"]
    widgets.status.patch(
        body={"metadata": {"name": "w1"}, "status": {"phase": "Up"}},
        namespace="default",
        content_type="application/merge-patch+json",
    )
    assert widgets.get(name="w1", namespace="default").status.phase == "Up"
    namespaces = dyn.resources.get(api_version="v1", kind="Namespace")
    assert "default" in [n.metadata.name for n in namespaces.get().items]
    widgets.delete(name="w1", namespace="default")


def test_watch_stream_and_resume(custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(G, V, "default", P, widget("a"))
    listing = custom.list_namespaced_custom_object(G, V, "default", P)
    rv = listing["metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(G, V, "default", P, widget("b"))
    custom.patch_namespaced_custom_object(G, V, "default", P, "a", {"spec": {"size": 9}})
    w = watch.Watch()
    seen = []
    for event in w.stream(
        custom.list_namespaced_custom_object,
        G,
        V,
        "default",
        P,
        resource_version=rv,
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "b"), ("MODIFIED", "a")]
    assert int(w.resource_version) > int(rv)


def test_watch_410_is_an_api_exception_after_one_retry(
    kube: KubeApiServer, custom: client.CustomObjectsApi
) -> None:
    custom.create_namespaced_custom_object(G, V, "default", P, widget("a"))
    old = custom.list_namespaced_custom_object(G, V, "default", P)["metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(G, V, "default", P, widget("b"))
    kube.faults.compact()
    w = watch.Watch()
    with pytest.raises(ApiException) as gone:
        for _ in w.stream(
            custom.list_namespaced_custom_object, G, V, "default", P, resource_version=old
        ):
            pass
    assert gone.value.status == 410
    assert "Expired: too old resource version" in str(gone.value.reason)


def test_watch_bookmarks_move_the_resource_version(
    kube: KubeApiServer, custom: client.CustomObjectsApi
) -> None:
    custom.create_namespaced_custom_object(G, V, "default", P, widget("a"))
    rv = custom.list_namespaced_custom_object(G, V, "default", P)["metadata"]["resourceVersion"]
    client.CoreV1Api(custom.api_client).create_namespace({"metadata": {"name": "elsewhere"}})
    w = watch.Watch()
    kinds = []
    for event in w.stream(
        custom.list_namespaced_custom_object,
        G,
        V,
        "default",
        P,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=3,
    ):
        kinds.append(event["type"])
        if event["type"] == "BOOKMARK":
            w.stop()
    assert kinds == ["BOOKMARK"]
    assert int(w.resource_version) > int(rv)  # the namespace's write moved it on


def test_stop_from_another_thread_raises_protocol_error_in_the_reader(
    custom: client.CustomObjectsApi,
) -> None:
    w = watch.Watch()
    started = threading.Event()
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            for event in w.stream(custom.list_namespaced_custom_object, G, V, "default", P):
                if event["object"]["metadata"]["name"] == "go":
                    started.set()
            outcome.append(None)
        except BaseException as e:  # recorded for the assertion below
            outcome.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    custom.create_namespaced_custom_object(G, V, "default", P, widget("go"))
    assert started.wait(10)
    w.stop()
    reader.join(10)
    assert not reader.is_alive()
    assert len(outcome) == 1
    assert outcome[0] is None or isinstance(outcome[0], ProtocolError)


def test_core_v1_namespaces_and_events(k8s: Any) -> None:
    core = client.CoreV1Api(k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team")))
    assert core.read_namespace("team").status.phase == "Active"
    assert core.list_namespaced_event("team").items == []
    core.delete_namespace("team")
    with pytest.raises(ApiException) as gone:
        core.read_namespace("team")
    assert gone.value.status == 404


def test_token_auth_with_the_written_kubeconfig(tmp_path: Path) -> None:
    from kubernetes import config

    with KubeApiServer(crds=[], tokens={"t1": "alice"}) as srv:
        path = srv.write_kubeconfig(tmp_path / "kc")
        api_client = config.new_client_from_config(config_file=str(path))
        try:
            core = client.CoreV1Api(api_client)
            assert "default" in [n.metadata.name for n in core.list_namespace().items]
            srv.deny(user="alice", verb="list", group="", resource="namespaces")
            with pytest.raises(ApiException) as denied:
                core.list_namespace()
            assert denied.value.status == 403
        finally:
            api_client.close()

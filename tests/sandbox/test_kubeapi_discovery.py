"""Discovery and OpenAPI documents, as clients read them."""

from __future__ import annotations

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import Http, api, crds, kube

__all__ = ["api", "kube"]


def test_version_with_and_without_slash(api: Http) -> None:
    for path in ("/version", "/version/"):
        body = api.get(path).body
        assert (body["major"], body["minor"], body["gitVersion"]) == ("1", "32", "v1.32.0")


def test_api_and_core_resources(api: Http) -> None:
    assert api.get("/api").body["versions"] == ["v1"]
    core = api.get("/api/v1").body
    assert core["kind"] == "APIResourceList"
    assert core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["namespaces"]["namespaced"] is False
    assert by_name["namespaces"]["shortNames"] == ["ns"]
    assert by_name["events"]["namespaced"] is True
    assert set(by_name["namespaces"]["verbs"]) >= {"create", "get", "list", "watch", "delete"}
    assert "namespaces/status" in by_name


def test_group_list_with_and_without_slash(api: Http) -> None:
    for path in ("/apis", "/apis/"):
        body = api.get(path).body
        assert body["kind"] == "APIGroupList"
        groups = {g["name"]: g for g in body["groups"]}
        assert groups["example.test"]["preferredVersion"] == {
            "groupVersion": "example.test/v1",
            "version": "v1",
        }
        assert "apiextensions.k8s.io" in groups
    group = api.get("/apis/example.test").body
    assert group["kind"] == "APIGroup"
    assert group["versions"] == [{"groupVersion": "example.test/v1", "version": "v1"}]
    assert api.get("/apis/nothing.test").status == 404


def test_group_version_resources(api: Http) -> None:
    body = api.get("/apis/example.test/v1").body
    assert body["kind"] == "APIResourceList"
    assert body["groupVersion"] == "example.test/v1"
    by_name = {r["name"]: r for r in body["resources"]}
    widgets = by_name["widgets"]
    assert widgets["singularName"] == "widget"
    assert widgets["kind"] == "Widget"
    assert widgets["namespaced"] is True
    assert widgets["shortNames"] == ["wd"]
    assert widgets["categories"] == ["all"]
    assert sorted(widgets["verbs"]) == sorted(
        ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    assert by_name["widgets/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["gadgets"]["namespaced"] is False
    assert "gadgets/status" not in by_name  # no status subresource on that CRD
    assert api.get("/apis/example.test/v9").status == 404


def test_unknown_paths_are_404_status(api: Http) -> None:
    reply = api.get("/nothing/here")
    assert reply.status == 404
    assert reply.body["reason"] == "NotFound"
    assert reply.body["message"] == "the server could not find the requested resource"


def test_openapi_v3_index_and_documents(api: Http) -> None:
    assert api.get("/openapi/v2").status == 404
    index = api.get("/openapi/v3").body["paths"]
    assert {"api/v1", "apis/example.test/v1", "apis/apiextensions.k8s.io/v1"} <= set(index)
    url = index["apis/example.test/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/example.test/v1?hash=")
    doc = api.get(url).body
    widget = doc["components"]["schemas"]["test.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [
        {"group": "example.test", "kind": "Widget", "version": "v1"}
    ]
    assert widget["properties"]["spec"]["required"] == ["size"]
    patch = doc["paths"]["/apis/example.test/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "application/apply-patch+yaml" in patch["requestBody"]["content"]
    core = api.get(api.get("/openapi/v3").body["paths"]["api/v1"]["serverRelativeURL"]).body
    assert "io.k8s.api.core.v1.Namespace" in core["components"]["schemas"]


def test_openapi_hash_changes_with_the_types(api: Http) -> None:
    before = api.get("/openapi/v3").body["paths"]["apis/example.test/v1"]["serverRelativeURL"]
    api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.test")
    after = api.get("/openapi/v3").body["paths"]["apis/example.test/v1"]["serverRelativeURL"]
    assert before != after
    doc = api.get(after).body
    assert "test.example.v1.Gadget" not in doc["components"]["schemas"]


def test_start_answers_and_stop_is_clean() -> None:
    # How fast it starts (certificate included) is reported by benchmarks/bench_kubeapi.py.
    srv = KubeApiServer(crds=crds()).start()
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        version = Http.to(srv).get("/version")
        assert version.status == 200
        assert version.body["gitVersion"] == "v1.32.0"
    finally:
        srv.stop()
    assert srv._thread is None

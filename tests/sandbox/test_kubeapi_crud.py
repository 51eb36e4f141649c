"""Custom resources and namespaces over plain HTTP: create, read, list, replace, patch, delete,
with the apiserver's status codes and Status bodies."""

from __future__ import annotations

from typing import Any

from jupyter_ack.sandbox.kubeapi import KubeApiServer

from .kube_fixtures import WIDGETS, Http, api, kube, widget

__all__ = ["api", "kube"]  # fixtures used by name


def status_of(body: dict[str, Any]) -> tuple[str, int]:
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    return body["reason"], body["code"]


def test_create_fills_server_metadata(api: Http) -> None:
    reply = api.post(WIDGETS, widget("w1", 3))
    assert reply.status == 201
    meta = reply.body["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    assert meta["managedFields"][0]["manager"] == "kube-tests"
    assert meta["managedFields"][0]["operation"] == "Update"
    assert meta["managedFields"][0]["fieldsV1"]["f:spec"]["f:size"] == {}
    assert reply.body["spec"] == {"size": 3, "color": "blue"}  # the schema's default

    again = api.post(WIDGETS, widget("w1", 3))
    assert again.status == 409
    assert status_of(again.body) == ("AlreadyExists", 409)
    assert again.body["message"] == 'widgets.example.test "w1" already exists'
    assert again.body["details"] == {"name": "w1", "group": "example.test", "kind": "widgets"}


def test_get_missing_is_404_with_the_real_message(api: Http) -> None:
    reply = api.get(f"{WIDGETS}/nope")
    assert reply.status == 404
    assert status_of(reply.body) == ("NotFound", 404)
    assert reply.body["message"] == 'widgets.example.test "nope" not found'
    assert api.get("/apis/example.test/v1/namespaces/default/nothings").status == 404


def test_create_in_a_missing_namespace_is_404(api: Http) -> None:
    reply = api.post(
        "/apis/example.test/v1/namespaces/ghost/widgets", widget("w", namespace="ghost")
    )
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "ghost" not found'


def test_generate_name_and_name_required(api: Http) -> None:
    body = widget("x")
    body["metadata"] = {"generateName": "gen-"}
    made = api.post(WIDGETS, body)
    assert made.status == 201
    assert made.body["metadata"]["name"].startswith("gen-")
    assert len(made.body["metadata"]["name"]) == len("gen-") + 5
    body["metadata"] = {}
    reply = api.post(WIDGETS, body)
    assert reply.status == 422
    assert (
        "metadata.name: Required value: name or generateName is required" in reply.body["message"]
    )


def test_list_has_kind_version_and_resource_version(api: Http) -> None:
    for i in range(3):
        api.post(WIDGETS, widget(f"w{i}", i))
    reply = api.get(WIDGETS)
    assert reply.status == 200
    assert reply.body["kind"] == "WidgetList"
    assert reply.body["apiVersion"] == "example.test/v1"
    assert int(reply.body["metadata"]["resourceVersion"]) >= 3
    assert [o["metadata"]["name"] for o in reply.body["items"]] == ["w0", "w1", "w2"]
    assert all(o["kind"] == "Widget" for o in reply.body["items"])


def test_list_across_namespaces(api: Http) -> None:
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    api.post(WIDGETS, widget("a"))
    api.post("/apis/example.test/v1/namespaces/other/widgets", widget("b", namespace="other"))
    everywhere = api.get("/apis/example.test/v1/widgets").body["items"]
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in everywhere] == [
        ("default", "a"),
        ("other", "b"),
    ]
    assert [o["metadata"]["name"] for o in api.get(WIDGETS).body["items"]] == ["a"]


def test_label_selectors(api: Http) -> None:
    labels = {
        "a": {"app": "x", "tier": "web"},
        "b": {"app": "x", "tier": "db"},
        "c": {"app": "y"},
        "d": {},
    }
    for name, lab in labels.items():
        body = widget(name)
        body["metadata"]["labels"] = lab
        assert api.post(WIDGETS, body).status == 201

    def names(selector: str) -> list[str]:
        reply = api.get(f"{WIDGETS}?labelSelector={selector}")
        assert reply.status == 200, reply.body
        return [o["metadata"]["name"] for o in reply.body["items"]]

    assert names("app%3Dx") == ["a", "b"]
    assert names("app%3D%3Dx") == ["a", "b"]
    assert names("app!%3Dx") == ["c", "d"]
    assert names("tier+in+(web,db)") == ["a", "b"]
    assert names("tier+notin+(web)") == ["b", "c", "d"]
    assert names("tier") == ["a", "b"]
    assert names("!tier") == ["c", "d"]
    assert names("app%3Dx,tier%3Ddb") == ["b"]
    assert api.get(f"{WIDGETS}?labelSelector=%3D%3Dbad").status == 400


def test_field_selectors(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    api.post(WIDGETS, widget("b"))
    reply = api.get(f"{WIDGETS}?fieldSelector=metadata.name%3Db")
    assert [o["metadata"]["name"] for o in reply.body["items"]] == ["b"]
    reply = api.get(f"{WIDGETS}?fieldSelector=metadata.name!%3Db")
    assert [o["metadata"]["name"] for o in reply.body["items"]] == ["a"]
    reply = api.get("/apis/example.test/v1/widgets?fieldSelector=metadata.namespace%3Ddefault")
    assert len(reply.body["items"]) == 2
    bad = api.get(f"{WIDGETS}?fieldSelector=spec.size%3D1")
    assert bad.status == 400
    assert bad.body["message"] == (
        '"spec.size" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_limit_and_continue(api: Http) -> None:
    for i in range(7):
        api.post(WIDGETS, widget(f"w{i}"))
    seen, token, pages = [], "", 0
    while True:
        reply = api.get(f"{WIDGETS}?limit=3" + (f"&continue={token}" if token else ""))
        pages += 1
        seen += [o["metadata"]["name"] for o in reply.body["items"]]
        token = reply.body["metadata"].get("continue", "")
        if not token:
            break
        assert reply.body["metadata"]["remainingItemCount"] == 7 - len(seen)
    assert pages == 3
    assert seen == [f"w{i}" for i in range(7)]


def test_replace_conflicts_on_a_stale_resource_version(api: Http) -> None:
    made = api.post(WIDGETS, widget("w1", 1)).body
    first = dict(made, spec={"size": 2})
    assert api.put(f"{WIDGETS}/w1", first).status == 200
    stale = dict(made, spec={"size": 3})
    reply = api.put(f"{WIDGETS}/w1", stale)
    assert reply.status == 409
    assert status_of(reply.body) == ("Conflict", 409)
    assert reply.body["message"] == (
        'Operation cannot be fulfilled on widgets.example.test "w1": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    assert api.get(f"{WIDGETS}/w1").body["spec"]["size"] == 2


def test_replace_bumps_generation_only_for_spec_changes(api: Http) -> None:
    made = api.post(WIDGETS, widget("w1", 1)).body
    labelled = api.put(
        f"{WIDGETS}/w1", {**made, "metadata": {**made["metadata"], "labels": {"a": "b"}}}
    ).body
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != made["metadata"]["resourceVersion"]
    resized = api.put(f"{WIDGETS}/w1", {**labelled, "spec": {"size": 9, "color": "blue"}}).body
    assert resized["metadata"]["generation"] == 2
    same = api.put(f"{WIDGETS}/w1", resized).body
    assert same["metadata"]["resourceVersion"] == resized["metadata"]["resourceVersion"]


def test_replace_checks_name_and_existence(api: Http) -> None:
    made = api.post(WIDGETS, widget("w1")).body
    assert api.put(f"{WIDGETS}/w2", made).status == 400
    ghost = widget("ghost")
    assert api.put(f"{WIDGETS}/ghost", ghost).status == 404


def test_merge_and_json_patch(api: Http) -> None:
    api.post(WIDGETS, widget("w1", 1, nested={"inner": "a", "count": 1}))
    merged = api.patch(f"{WIDGETS}/w1", {"spec": {"nested": {"count": None}, "size": 5}})
    assert merged.status == 200
    assert merged.body["spec"]["nested"] == {"inner": "a"}
    assert merged.body["metadata"]["generation"] == 2
    ops = [
        {"op": "test", "path": "/spec/size", "value": 5},
        {"op": "replace", "path": "/spec/size", "value": 6},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
    ]
    patched = api.patch(f"{WIDGETS}/w1", ops, kind="json")
    assert patched.status == 200
    assert patched.body["spec"]["size"] == 6
    assert patched.body["metadata"]["labels"] == {"x": "y"}
    failed = api.patch(
        f"{WIDGETS}/w1", [{"op": "test", "path": "/spec/size", "value": 1}], kind="json"
    )
    assert failed.status == 422
    assert api.patch(f"{WIDGETS}/nope", {"spec": {}}).status == 404


def test_strategic_merge_patch_on_a_custom_resource_is_415(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}}, kind="strategic")
    assert reply.status == 415
    assert status_of(reply.body) == ("UnsupportedMediaType", 415)
    assert "application/merge-patch+json" in reply.body["message"]


def test_patch_with_a_stale_resource_version_conflicts(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.patch(f"{WIDGETS}/w1", {"metadata": {"resourceVersion": "1"}, "spec": {"size": 4}})
    assert reply.status == 409


def test_delete_returns_the_object(api: Http) -> None:
    made = api.post(WIDGETS, widget("w1")).body
    reply = api.delete(f"{WIDGETS}/w1")
    assert reply.status == 200
    assert reply.body["kind"] == "Widget"
    assert reply.body["metadata"]["uid"] == made["metadata"]["uid"]
    assert api.get(f"{WIDGETS}/w1").status == 404
    assert api.delete(f"{WIDGETS}/w1").status == 404


def test_delete_preconditions(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.delete(f"{WIDGETS}/w1", {"preconditions": {"uid": "not-it"}})
    assert reply.status == 409
    assert "Precondition failed: UID in precondition: not-it" in reply.body["message"]
    assert api.get(f"{WIDGETS}/w1").status == 200


def test_finalizers_hold_a_deleted_object_until_removed(api: Http) -> None:
    body = widget("w1")
    body["metadata"]["finalizers"] = ["example.test/cleanup"]
    api.post(WIDGETS, body)
    deleted = api.delete(f"{WIDGETS}/w1")
    assert deleted.status == 200
    meta = deleted.body["metadata"]
    assert meta["deletionTimestamp"]
    assert meta["deletionGracePeriodSeconds"] == 0
    assert meta["generation"] == 2
    still = api.get(f"{WIDGETS}/w1")
    assert still.status == 200
    assert still.body["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]
    grown = api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": ["a", "example.test/cleanup"]}})
    assert grown.status == 422
    assert "no new finalizers can be added if the object is being deleted" in grown.body["message"]
    done = api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": None}})
    assert done.status == 200
    assert api.get(f"{WIDGETS}/w1").status == 404


def test_dry_run_stores_nothing(api: Http) -> None:
    dry = api.post(f"{WIDGETS}?dryRun=All", widget("w1"))
    assert dry.status == 201
    assert dry.body["metadata"]["uid"]
    assert api.get(f"{WIDGETS}/w1").status == 404
    bad = dict(widget("w2"), spec={"size": "big"})
    assert api.post(f"{WIDGETS}?dryRun=All", bad).status == 422  # still fully validated

    rv = api.post(WIDGETS, widget("w1", 1)).body["metadata"]["resourceVersion"]
    assert api.patch(f"{WIDGETS}/w1?dryRun=All", {"spec": {"size": 2}}).body["spec"]["size"] == 2
    assert api.delete(f"{WIDGETS}/w1?dryRun=All").status == 200
    now = api.get(f"{WIDGETS}/w1").body
    assert now["spec"]["size"] == 1
    assert now["metadata"]["resourceVersion"] == rv


def test_wrong_kind_or_version_in_the_body_is_400(api: Http) -> None:
    body = widget("w1")
    body["apiVersion"] = "example.test/v2"
    reply = api.post(WIDGETS, body)
    assert reply.status == 400
    assert reply.body["message"] == (
        "the API version in the data (example.test/v2) does not match the expected API "
        "version (example.test/v1)"
    )
    no_kind = widget("w1")
    del no_kind["kind"]
    assert "Object 'Kind' is missing" in api.post(WIDGETS, no_kind).body["message"]


def test_methods_not_allowed(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.post(f"{WIDGETS}/w1", widget("w1"))
    assert reply.status == 405
    assert status_of(reply.body) == ("MethodNotAllowed", 405)
    assert api.put(WIDGETS, widget("w1")).status == 405


def test_cluster_scoped_resources(api: Http) -> None:
    gadget = {"apiVersion": "example.test/v1", "kind": "Gadget", "metadata": {"name": "g1"}}
    made = api.post("/apis/example.test/v1/gadgets", dict(gadget, spec={"any": {"thing": 1}}))
    assert made.status == 201
    assert "namespace" not in made.body["metadata"]
    assert made.body["spec"] == {"any": {"thing": 1}}
    assert api.get("/apis/example.test/v1/gadgets/g1").status == 200
    assert api.get("/apis/example.test/v1/namespaces/default/gadgets/g1").status == 404
    assert api.delete("/apis/example.test/v1/gadgets/g1").status == 200


def test_namespaces(api: Http) -> None:
    names = [n["metadata"]["name"] for n in api.get("/api/v1/namespaces").body["items"]]
    assert {"default", "kube-system"} <= set(names)
    made = api.post(
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
    )
    assert made.status == 201
    assert made.body["status"] == {"phase": "Active"}
    bad = api.post("/api/v1/namespaces", {"metadata": {"name": "Bad_Name"}})
    assert bad.status == 422
    assert bad.body["message"].startswith('Namespace "Bad_Name" is invalid: metadata.name')
    labelled = api.patch(
        "/api/v1/namespaces/team", {"metadata": {"labels": {"a": "b"}}}, kind="strategic"
    )
    assert labelled.body["metadata"]["labels"] == {"a": "b", "kubernetes.io/metadata.name": "team"}
    api.post("/apis/example.test/v1/namespaces/team/widgets", widget("w", namespace="team"))
    gone = api.delete("/api/v1/namespaces/team")
    assert gone.status == 200
    assert gone.body["status"]["phase"] == "Terminating"
    assert api.get("/api/v1/namespaces/team").status == 404
    assert api.get("/apis/example.test/v1/namespaces/team/widgets/w").status == 404
    protected = api.delete("/api/v1/namespaces/default")
    assert protected.status == 403
    assert (
        protected.body["message"]
        == 'namespaces "default" is forbidden: this namespace may not be deleted'
    )


def test_terminating_namespace_waits_for_finalizers(api: Http) -> None:
    api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    body = widget("w", namespace="team")
    body["metadata"]["finalizers"] = ["hold"]
    api.post("/apis/example.test/v1/namespaces/team/widgets", body)
    api.delete("/api/v1/namespaces/team")
    assert api.get("/api/v1/namespaces/team").body["status"]["phase"] == "Terminating"
    refused = api.post(
        "/apis/example.test/v1/namespaces/team/widgets", widget("x", namespace="team")
    )
    assert refused.status == 403
    assert "because it is being terminated" in refused.body["message"]
    api.patch("/apis/example.test/v1/namespaces/team/widgets/w", {"metadata": {"finalizers": []}})
    assert api.get("/api/v1/namespaces/team").status == 404


def test_events_list_is_empty_and_filterable(api: Http) -> None:
    query = "fieldSelector=involvedObject.name%3Dw1,involvedObject.kind%3DWidget"
    reply = api.get(f"/api/v1/namespaces/default/events?{query}")
    assert reply.status == 200
    assert reply.body["kind"] == "EventList"
    assert reply.body["items"] == []
    for name, target in (("e1", "w1"), ("e2", "w2")):
        event = {
            "metadata": {"name": name},
            "involvedObject": {"kind": "Widget", "name": target, "namespace": "default"},
            "reason": "Synced",
            "type": "Normal",
        }
        assert api.post("/api/v1/namespaces/default/events", event).status == 201
    found = api.get(f"/api/v1/namespaces/default/events?{query}").body["items"]
    assert [e["metadata"]["name"] for e in found] == ["e1"]
    deleted = api.delete("/api/v1/namespaces/default/events/e1")
    assert deleted.body["status"] == "Success"  # events answer a Status, not the object


def test_crd_created_and_deleted_over_http(kube: KubeApiServer, api: Http) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.other.test"},
        "spec": {
            "group": "other.test",
            "names": {"kind": "Thing", "plural": "things"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    made = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert made.status == 201
    conditions = {c["type"]: c["status"] for c in made.body["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert made.body["spec"]["names"]["listKind"] == "ThingList"
    groups = [g["name"] for g in api.get("/apis").body["groups"]]
    assert "other.test" in groups
    thing = {"apiVersion": "other.test/v1beta1", "kind": "Thing", "metadata": {"name": "t"}, "x": 1}
    assert api.post("/apis/other.test/v1beta1/namespaces/default/things", thing).status == 201
    assert (
        api.delete(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.other.test"
        ).status
        == 200
    )
    assert "other.test" not in [g["name"] for g in api.get("/apis").body["groups"]]
    assert api.get("/apis/other.test/v1beta1/namespaces/default/things/t").status == 404
    again = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert again.status == 201
    assert api.get("/apis/other.test/v1beta1/namespaces/default/things").body["items"] == []


def test_invalid_crd_is_422(api: Http) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong.name"},
        "spec": {
            "group": "x.test",
            "names": {"kind": "X", "plural": "xs"},
            "scope": "Namespaced",
            "versions": [],
        },
    }
    reply = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert reply.status == 422
    fields = {c["field"] for c in reply.body["details"]["causes"]}
    assert {"metadata.name", "spec.versions"} <= fields

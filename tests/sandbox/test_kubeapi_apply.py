"""Server-side apply and managedFields; the status subresource's isolation."""

from __future__ import annotations

from typing import Any

from .kube_fixtures import WIDGETS, Http, api, kube, widget

__all__ = ["api", "kube"]


def owners(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (m["manager"], m["operation"], m.get("subresource", "")): m["fieldsV1"]
        for m in obj["metadata"].get("managedFields", [])
    }


def test_apply_needs_a_field_manager(api: Http) -> None:
    reply = api.patch(f"{WIDGETS}/w1", widget("w1"), kind="apply")
    assert reply.status == 422
    assert reply.body["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply patch"
    )


def test_apply_creates_then_updates(api: Http) -> None:
    created = api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 2), kind="apply")
    assert created.status == 201
    assert created.body["metadata"]["generation"] == 1
    assert owners(created.body)[("alice", "Apply", "")] == {"f:spec": {"f:size": {}}}
    updated = api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 3), kind="apply")
    assert updated.status == 200
    assert updated.body["spec"]["size"] == 3
    assert updated.body["metadata"]["generation"] == 2
    same = api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 3), kind="apply")
    assert same.body["metadata"]["resourceVersion"] == updated.body["metadata"]["resourceVersion"]


def test_apply_accepts_yaml(api: Http) -> None:
    body = (
        "apiVersion: example.test/v1\nkind: Widget\nmetadata:\n  name: w1\n"
        "spec:\n  size: 4\n  nested:\n    inner: y\n"
    )
    reply = api.patch(f"{WIDGETS}/w1?fieldManager=yamler", body, kind="apply")
    assert reply.status == 201
    assert reply.body["spec"]["nested"] == {"inner": "y"}


def test_conflicts_with_another_manager_unless_forced(api: Http) -> None:
    api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 2, shape="round"), kind="apply")
    same_value = api.patch(f"{WIDGETS}/w1?fieldManager=bob", widget("w1", 2), kind="apply")
    assert same_value.status == 200  # equal values are shared, not a conflict
    assert owners(same_value.body)[("bob", "Apply", "")] == {"f:spec": {"f:size": {}}}

    reply = api.patch(f"{WIDGETS}/w1?fieldManager=bob", widget("w1", 5), kind="apply")
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"
    assert (
        reply.body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .spec.size'
    )
    assert reply.body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "alice"',
            "field": ".spec.size",
        }
    ]
    forced = api.patch(f"{WIDGETS}/w1?fieldManager=bob&force=true", widget("w1", 5), kind="apply")
    assert forced.status == 200
    assert forced.body["spec"]["size"] == 5
    assert owners(forced.body)[("alice", "Apply", "")] == {"f:spec": {"f:shape": {}}}


def test_conflict_with_an_update_manager_names_its_version(api: Http) -> None:
    api.post(f"{WIDGETS}?fieldManager=kubectl-create", widget("w1", 1))
    reply = api.patch(f"{WIDGETS}/w1?fieldManager=kubectl", widget("w1", 2), kind="apply")
    assert reply.status == 409
    assert reply.body["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using example.test/v1: '
        ".spec.size"
    )


def test_fields_an_applier_drops_are_removed(api: Http) -> None:
    api.patch(
        f"{WIDGETS}/w1?fieldManager=alice",
        widget("w1", 1, shape="round", nested={"inner": "a", "count": 2}),
        kind="apply",
    )
    api.patch(f"{WIDGETS}/w1", {"metadata": {"labels": {"team": "x"}}})
    reply = api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 1), kind="apply")
    spec = reply.body["spec"]
    assert "shape" not in spec
    assert "nested" not in spec
    assert spec["color"] == "blue"  # defaulted, nobody's: stays
    assert reply.body["metadata"]["labels"] == {"team": "x"}  # another manager's: stays


def test_keyed_lists_merge_by_key(api: Http) -> None:
    first = widget("w1", ports=[{"name": "http", "port": 80}])
    api.patch(f"{WIDGETS}/w1?fieldManager=alice", first, kind="apply")
    second = widget("w1", ports=[{"name": "https", "port": 443}])
    merged = api.patch(f"{WIDGETS}/w1?fieldManager=bob", second, kind="apply").body
    assert merged["spec"]["ports"] == [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
    fields = owners(merged)[("bob", "Apply", "")]["f:spec"]["f:ports"]
    assert fields == {'k:{"name":"https"}': {".": {}, "f:name": {}, "f:port": {}}}


def test_update_managers_take_the_fields_they_change(api: Http) -> None:
    api.patch(f"{WIDGETS}/w1?fieldManager=alice", widget("w1", 1), kind="apply")
    patched = api.patch(f"{WIDGETS}/w1?fieldManager=editor", {"spec": {"size": 2}}).body
    managers = owners(patched)
    assert ("alice", "Apply", "") not in managers  # it owned only size, now taken
    assert managers[("editor", "Update", "")] == {"f:spec": {"f:size": {}}}


def test_apply_dry_run_and_conflicting_resource_version(api: Http) -> None:
    dry = api.patch(f"{WIDGETS}/w1?fieldManager=a&dryRun=All", widget("w1"), kind="apply")
    assert dry.status == 201
    assert api.get(f"{WIDGETS}/w1").status == 404
    api.patch(f"{WIDGETS}/w1?fieldManager=a", widget("w1"), kind="apply")
    stale = widget("w1", 3)
    stale["metadata"]["resourceVersion"] = "1"
    assert api.patch(f"{WIDGETS}/w1?fieldManager=a", stale, kind="apply").status == 409


def test_force_is_refused_on_other_patches(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.patch(f"{WIDGETS}/w1?force=true", {"spec": {"size": 2}})
    assert reply.status == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in reply.body["message"]


# --- the status subresource ------------------------------------------------------------------


def test_status_is_ignored_on_the_main_resource(api: Http) -> None:
    body = widget("w1")
    body["status"] = {"phase": "Made"}
    made = api.post(WIDGETS, body).body
    assert "status" not in made
    replaced = api.put(f"{WIDGETS}/w1", {**made, "status": {"phase": "Sneaky"}}).body
    assert "status" not in replaced
    patched = api.patch(f"{WIDGETS}/w1", {"status": {"phase": "Sneaky"}}).body
    assert "status" not in patched


def test_status_writes_change_only_status(api: Http) -> None:
    made = api.post(WIDGETS, widget("w1", 1)).body
    put = api.put(
        f"{WIDGETS}/w1/status",
        {**made, "spec": {"size": 99}, "status": {"phase": "Running"}},
        headers={"User-Agent": "controller/1.0"},
    ).body
    assert put["status"] == {"phase": "Running"}
    assert put["spec"]["size"] == 1
    assert put["metadata"]["generation"] == 1
    assert owners(put)[("controller", "Update", "status")] == {"f:status": {".": {}, "f:phase": {}}}
    patched = api.patch(f"{WIDGETS}/w1/status", {"status": {"reason": "ok"}, "spec": {"size": 5}})
    assert patched.body["status"] == {"phase": "Running", "reason": "ok"}
    assert patched.body["spec"]["size"] == 1
    got = api.get(f"{WIDGETS}/w1/status")
    assert got.status == 200
    assert got.body["status"]["reason"] == "ok"
    stale = api.put(f"{WIDGETS}/w1/status", {**made, "status": {"phase": "Old"}})
    assert stale.status == 409


def test_status_apply_has_its_own_manager(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    body = {**widget("w1"), "status": {"phase": "Done", "observed": 1}}
    reply = api.patch(f"{WIDGETS}/w1/status?fieldManager=ctrl", body, kind="apply")
    assert reply.status == 200
    assert reply.body["status"] == {"phase": "Done", "observed": 1}
    assert owners(reply.body)[("ctrl", "Apply", "status")] == {
        "f:status": {"f:observed": {}, "f:phase": {}}
    }
    ghost = {**widget("nope"), "status": {"phase": "Done"}}
    assert api.patch(f"{WIDGETS}/nope/status?fieldManager=ctrl", ghost, kind="apply").status == 404


def test_spec_changes_bump_generation_but_metadata_and_status_do_not(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    api.patch(f"{WIDGETS}/w1", {"metadata": {"annotations": {"a": "b"}}})
    api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "x"}})
    assert api.get(f"{WIDGETS}/w1").body["metadata"]["generation"] == 1
    api.patch(f"{WIDGETS}/w1", {"spec": {"size": 7}})
    assert api.get(f"{WIDGETS}/w1").body["metadata"]["generation"] == 2

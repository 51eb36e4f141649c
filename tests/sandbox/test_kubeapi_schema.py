"""Validation, pruning and defaulting from the CRD's structural schema, with the apiserver's
messages, warnings and strict field validation."""

from __future__ import annotations

from .kube_fixtures import WIDGETS, Http, api, kube, widget

__all__ = ["api", "kube"]


def test_wrong_type_is_422_with_the_real_message(api: Http) -> None:
    reply = api.post(WIDGETS, widget("w1", "three"))  # type: ignore[arg-type]
    assert reply.status == 422
    body = reply.body
    assert body["reason"] == "Invalid"
    assert body["code"] == 422
    assert body["message"] == (
        'Widget.example.test "w1" is invalid: spec.size: Invalid value: "string": '
        'spec.size in body must be of type integer: "string"'
    )
    assert body["details"] == {
        "name": "w1",
        "group": "example.test",
        "kind": "Widget",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": 'Invalid value: "string": spec.size in body must be of type integer: '
                '"string"',
                "field": "spec.size",
            }
        ],
    }


def test_several_errors_are_listed_together(api: Http) -> None:
    body = widget("w1")
    body["spec"] = {"nested": {"count": "x"}, "shape": "oval"}
    reply = api.post(WIDGETS, body)
    assert reply.status == 422
    fields = [c["field"] for c in reply.body["details"]["causes"]]
    assert sorted(fields) == ["spec.nested.count", "spec.shape", "spec.size"]
    assert reply.body["message"].startswith('Widget.example.test "w1" is invalid: [')
    by_field = {c["field"]: c for c in reply.body["details"]["causes"]}
    assert by_field["spec.size"]["reason"] == "FieldValueRequired"
    assert by_field["spec.size"]["message"] == "Required value"
    assert by_field["spec.shape"]["message"] == (
        'Unsupported value: "oval": supported values: "round", "square"'
    )


def test_list_item_paths_are_indexed(api: Http) -> None:
    body = widget("w1", tags=[{"key": "a", "value": "b"}, {"key": 3}])
    reply = api.post(WIDGETS, body)
    assert reply.status == 422
    assert [c["field"] for c in reply.body["details"]["causes"]] == ["spec.tags[1].key"]


def test_unknown_fields_are_pruned_with_a_warning(api: Http) -> None:
    body = widget("w1", foo=1)
    body["spec"]["nested"] = {"inner": "x", "bar": True}
    body["top"] = 1
    reply = api.post(WIDGETS, body)
    assert reply.status == 201
    assert "foo" not in reply.body["spec"]
    assert reply.body["spec"]["nested"] == {"inner": "x"}
    assert "top" not in reply.body
    assert sorted(reply.warnings) == [
        '299 - "unknown field \\"spec.foo\\""',
        '299 - "unknown field \\"spec.nested.bar\\""',
        '299 - "unknown field \\"top\\""',
    ]
    quiet = api.post(f"{WIDGETS}?fieldValidation=Ignore", dict(widget("w2", foo=1)))
    assert quiet.status == 201
    assert quiet.warnings == []


def test_strict_field_validation_rejects_unknown_fields(api: Http) -> None:
    reply = api.post(f"{WIDGETS}?fieldValidation=Strict", widget("w1", foo=1))
    assert reply.status == 400
    assert reply.body["reason"] == "BadRequest"
    assert reply.body["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'unknown field "spec.foo"'
    )
    assert api.get(f"{WIDGETS}/w1").status == 404


def test_preserve_unknown_fields_keeps_everything_below(api: Http) -> None:
    extra = {"anything": {"deep": [1, {"x": None}]}, "n": 1.5}
    reply = api.post(WIDGETS, widget("w1", extra=extra))
    assert reply.status == 201
    assert reply.body["spec"]["extra"] == extra
    assert reply.warnings == []


def test_defaults_fill_absent_fields_only(api: Http) -> None:
    assert api.post(WIDGETS, widget("w1")).body["spec"]["color"] == "blue"
    assert api.post(WIDGETS, widget("w2", color="red")).body["spec"]["color"] == "red"


def test_validation_applies_to_updates_and_patches(api: Http) -> None:
    api.post(WIDGETS, widget("w1"))
    reply = api.patch(f"{WIDGETS}/w1", {"spec": {"size": {"not": "an int"}}})
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["message"] == (
        'Invalid value: "object": spec.size in body must be of type integer: "object"'
    )
    status = api.patch(f"{WIDGETS}/w1/status", {"status": {"observed": "x"}})
    assert status.status == 422
    assert status.body["details"]["causes"][0]["field"] == "status.observed"


def test_bad_labels_are_invalid(api: Http) -> None:
    body = widget("w1")
    body["metadata"]["labels"] = {"ok": "not ok!"}
    reply = api.post(WIDGETS, body)
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "metadata.labels"
    body["metadata"]["labels"] = {"n": 1}
    assert api.post(WIDGETS, body).status == 400


def test_annotations_over_256_kib_are_rejected(api: Http) -> None:
    body = widget("w1")
    body["metadata"]["annotations"] = {"big": "x" * 262_200}
    reply = api.post(WIDGETS, body)
    assert reply.status == 422
    assert (
        "metadata.annotations: Too long: may not be more than 262144 bytes" in reply.body["message"]
    )

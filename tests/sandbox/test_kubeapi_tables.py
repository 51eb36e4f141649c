"""Table responses for get, list and watch, as kubectl asks for them."""

from __future__ import annotations

from .kube_fixtures import WIDGETS, Http, api, kube, widget

__all__ = ["api", "kube"]

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def test_list_table_has_the_printer_columns(api: Http) -> None:
    api.post(WIDGETS, widget("w1", 3))
    api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Up", "reason": "because"}})
    table = api.get(WIDGETS, headers=TABLE).body
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    columns = [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", "string", 0),
        ("Phase", "string", 0),
        ("Size", "integer", 0),
        ("Reason", "string", 1),
        ("Age", "date", 0),
    ]
    assert table["columnDefinitions"][0]["format"] == "name"
    (row,) = table["rows"]
    assert row["cells"][:4] == ["w1", "Up", 3, "because"]
    assert row["cells"][4].endswith("s")  # an age such as "0s"
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "w1"
    assert table["metadata"]["resourceVersion"]


def test_missing_values_are_null_cells(api: Http) -> None:
    api.post(WIDGETS, widget("w1", 1))
    (row,) = api.get(WIDGETS, headers=TABLE).body["rows"]
    assert row["cells"][1] is None
    assert row["cells"][3] is None


def test_get_table_and_include_object(api: Http) -> None:
    api.post(WIDGETS, widget("w1", 2))
    table = api.get(f"{WIDGETS}/w1?includeObject=Object", headers=TABLE).body
    assert table["rows"][0]["object"]["spec"]["size"] == 2
    none = api.get(f"{WIDGETS}/w1?includeObject=None", headers=TABLE).body
    assert none["rows"][0]["object"] is None


def test_crd_without_columns_gets_age(api: Http) -> None:
    gadget = {"apiVersion": "example.test/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    api.post("/apis/example.test/v1/gadgets", gadget)
    table = api.get("/apis/example.test/v1/gadgets", headers=TABLE).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]


def test_namespace_table(api: Http) -> None:
    table = api.get("/api/v1/namespaces", headers=TABLE).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    rows = {r["cells"][0]: r["cells"][1] for r in table["rows"]}
    assert rows["default"] == "Active"


def test_watch_tables_send_columns_once(api: Http) -> None:
    api.post(WIDGETS, widget("a", 1))
    stream = api.watch(f"{WIDGETS}?watch=1", headers=TABLE)
    try:
        first = stream.events(1)[0]
        assert first["type"] == "ADDED"
        assert first["object"]["kind"] == "Table"
        assert len(first["object"]["columnDefinitions"]) == 5
        assert first["object"]["rows"][0]["cells"][0] == "a"
        api.patch(f"{WIDGETS}/a", {"spec": {"size": 8}})
        second = stream.events(1)[0]
        assert second["type"] == "MODIFIED"
        assert second["object"]["columnDefinitions"] == []
        assert second["object"]["rows"][0]["cells"][2] == 8
    finally:
        stream.close()


def test_partial_object_metadata(api: Http) -> None:
    api.post(WIDGETS, widget("a"))
    accept = {"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"}
    listing = api.get(WIDGETS, headers=accept).body
    assert listing["kind"] == "PartialObjectMetadataList"
    assert listing["items"][0]["metadata"]["name"] == "a"
    assert "spec" not in listing["items"][0]


def test_protobuf_only_is_not_acceptable(api: Http) -> None:
    reply = api.get(WIDGETS, headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert reply.status == 406
    assert reply.body["reason"] == "NotAcceptable"

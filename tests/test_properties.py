"""Property-based tests: no input, however broken, makes the core raise or print a traceback."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_ack import SourceError, load
from jupyter_ack.examples import example_path
from jupyter_ack.pipeline.diagnostics import Diagnostic

EXAMPLE_TEXT = example_path().read_text()
EXAMPLE = json.loads(EXAMPLE_TEXT)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)

STEP_KEYS = [
    "Name",
    "Type",
    "Arguments",
    "DependsOn",
    "PropertyFiles",
    "Get",
    "Std:JsonGet",
    "IfSteps",
    "ElseSteps",
]
names = st.sampled_from(
    ["A", "B", "C", "PreprocessAbaloneData", "TrainAbaloneModel", "", "x y", "<b>"]
)
step_like = st.fixed_dictionaries(
    {},
    optional={
        "Name": names | json_values,
        "Type": st.sampled_from(["Processing", "Training", "Condition", "ForEach", "Fail", "Nope"])
        | json_values,
        "Arguments": st.dictionaries(
            st.sampled_from(["IfSteps", "ElseSteps", "ForEachBody", "x", "Conditions"]),
            json_values,
            max_size=3,
        )
        | json_values,
        "DependsOn": st.lists(names | st.fixed_dictionaries({"Step": names}), max_size=3)
        | json_values,
        "PropertyFiles": json_values,
    },
)
definitions = st.fixed_dictionaries(
    {},
    optional={
        "Version": st.just("2020-12-01") | json_values,
        "Parameters": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "Name": names,
                    "Type": st.sampled_from(["String", "Integer", "Float", "Boolean", "X"]),
                    "DefaultValue": json_values,
                },
            ),
            max_size=4,
        )
        | json_values,
        "Steps": st.lists(step_like, max_size=6) | json_values,
    },
)


def check(defn_source: Any) -> list[Diagnostic]:
    defn = load(defn_source)
    diagnostics = defn.validate()
    for d in diagnostics:
        assert d.severity in ("error", "warning", "info")
        assert d.code
        assert d.message
        json.dumps(d.to_json())
    if defn.data is not None:
        json.dumps(defn.graph_json())
        ET.fromstring(defn.to_svg())
        defn.to_mermaid()
        defn.to_dot()
        defn._repr_mimebundle_()
        assert defn.ok == (not any(d.severity == "error" for d in diagnostics))
    return diagnostics


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value(value: Any) -> None:
    check(json.dumps(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions)
def test_definition_shaped_garbage(data: dict[str, Any]) -> None:
    diagnostics = check(data)
    if not isinstance(data.get("Steps"), list) or not data.get("Steps"):
        assert any(d.code == "SCHEMA" for d in diagnostics)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(EXAMPLE_TEXT.rstrip()) - 1))
def test_truncated_text_points_inside_the_text(cut: int) -> None:
    """Any prefix of a valid definition is a JSON_SYNTAX error located within that prefix."""
    text = EXAMPLE_TEXT[:cut]
    diagnostics = check(text)
    (d,) = [d for d in diagnostics if d.code == "JSON_SYNTAX"]
    assert d.line is not None
    assert d.column is not None
    lines = text.split("\n")
    assert 1 <= d.line <= len(lines)
    assert 1 <= d.column <= len(lines[d.line - 1]) + 1


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(EXAMPLE_TEXT) - 1),
    st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "\n", "x"]),
)
def test_one_character_changed(pos: int, char: str) -> None:
    check(EXAMPLE_TEXT[:pos] + char + EXAMPLE_TEXT[pos + 1 :])


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, (*prefix, i))
    return out


ALL_PATHS = paths(EXAMPLE)[1:]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_PATHS), st.sampled_from(["delete", "replace"]), json_values)
def test_mutated_example(path: tuple[Any, ...], action: str, value: Any) -> None:
    """Deleting or replacing any node of a valid definition never crashes; pointers resolve."""
    data = copy.deepcopy(EXAMPLE)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    text = json.dumps(data, indent=2)
    for d in check(text):
        if d.path is not None and d.code != "JSON_SYNTAX":
            assert d.line is not None, d  # every pointer was found in the text


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(raw: bytes) -> None:
    """Bytes that are not UTF-8 raise the one user-facing error; anything else loads."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(SourceError, match="not UTF-8"):
            load(raw)
    else:
        check(raw)

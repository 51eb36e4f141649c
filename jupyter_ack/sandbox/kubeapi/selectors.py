"""Label and field selectors with the apiserver's syntax and its error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors

JSON = dict[str, Any]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        try:  # gt / lt compare integers; a non-integer label never matches
            number, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound


_KEY = r"[A-Za-z0-9./_-]+"
_TERM = re.compile(
    rf"^\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<op>==|=|!=|>|<)\s*(?P<value>[A-Za-z0-9._-]*)"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<set>[^)]*)\))?)\s*$"
)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def parse_labels(text: str) -> list[Requirement]:
    if not text.strip():
        return []
    reqs = []
    for term in _split_terms(text):
        m = _TERM.match(term)
        if not m:
            raise errors.bad_request(
                f"unable to parse requirement: found '{term.strip()}', expected: identifier"
            )
        if m.group("not"):
            reqs.append(Requirement(m.group("nkey"), "!"))
        elif m.group("setop"):
            values = tuple(v.strip() for v in m.group("set").split(",") if v.strip())
            reqs.append(Requirement(m.group("key"), m.group("setop"), values))
        elif m.group("op"):
            op = {"==": "=", ">": "gt", "<": "lt"}.get(m.group("op"), m.group("op"))
            reqs.append(Requirement(m.group("key"), op, (m.group("value"),)))
        else:
            reqs.append(Requirement(m.group("key"), "exists"))
    return reqs


def labels_match(reqs: list[Requirement], obj: JSON) -> bool:
    if not reqs:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True)
class FieldTerm:
    path: str
    negate: bool
    value: str


def parse_fields(text: str) -> list[FieldTerm]:
    terms = []
    for raw in text.split(",") if text.strip() else []:
        for op, negate in (("!=", True), ("==", False), ("=", False)):
            if op in raw:
                path, _, value = raw.partition(op)
                terms.append(FieldTerm(path.strip(), negate, value.strip()))
                break
        else:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{raw}'")
    return terms


def lookup(obj: Any, path: str) -> Any:
    """The value at a dotted path (``.status.phase`` or ``involvedObject.name``), or None."""
    node = obj
    for part in path.strip(".").split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(
    terms: list[FieldTerm], supported: list[str], custom: bool
) -> Callable[[JSON], bool]:
    """A predicate for the terms, after checking each field is selectable on this type."""
    for t in terms:
        if t.path not in supported:
            if custom:
                quoted = ", ".join(f'"{s}"' for s in supported)
                raise errors.bad_request(f'"{t.path}" is not a known field selector: only {quoted}')
            raise errors.bad_request(f"field label not supported: {t.path}")

    def matches(obj: JSON) -> bool:
        for t in terms:
            equal = _as_text(lookup(obj, t.path)) == t.value
            if equal == t.negate:
                return False
        return True

    return matches


EVENT_FIELDS = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
]

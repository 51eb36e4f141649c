"""Who may talk to the emulator: the Host header, bearer tokens, and deny rules.

Every request needs a known bearer token (401 otherwise, as the apiserver with anonymous
auth off): the API can create and delete anything, and any local process or user could
otherwise reach a loopback port. The ``Host`` header must name loopback (403 otherwise), so
that a web page whose name a rebinding DNS server points at 127.0.0.1 cannot drive the API
from the user's browser. Deny rules stand in for RBAC in tests: a matching request gets 403
with the apiserver's exact "User ... cannot ..." message.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from . import errors

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def check_host(host: str | None, port: int) -> None:
    """403 unless ``host`` (the Host header) is a loopback name, with this server's port or
    none. Any other name reached this socket through a DNS answer pointing at loopback: a
    browser does that for a page that rebinds its own name, and must not get through."""
    given = (host or "").strip().lower()
    allowed = {form for name in LOOPBACK_NAMES for form in (name, f"{name}:{port}")}
    if given in allowed:
        return
    shown = "none" if host is None else f'"{host}"'
    raise errors.ApiError(
        403,
        "Forbidden",
        f"Host header {shown} is not allowed: the sandbox's API server answers only requests "
        f"addressed to 127.0.0.1, localhost or [::1] (port {port}), to protect it from DNS "
        "rebinding",
        {},
    )


@dataclass(frozen=True)
class Rule:
    user: str | None
    verb: str | None
    group: str | None
    resource: str | None
    namespace: str | None

    def matches(self, user: str, verb: str, group: str, resource: str, namespace: str) -> bool:
        return (
            (self.user is None or self.user == user)
            and (self.verb is None or self.verb == verb)
            and (self.group is None or self.group == group)
            and (self.resource is None or self.resource == resource)
            and (self.namespace is None or self.namespace == namespace)
        )


class Auth:
    """``tokens`` maps each bearer token to its user name; there is no anonymous access."""

    def __init__(self, tokens: dict[str, str]) -> None:
        if not tokens or not all(tokens):
            raise ValueError("the API server needs at least one token, and no empty token")
        self.tokens = dict(tokens)
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def user(self, authorization: str | None) -> str:
        """The user behind an ``Authorization: Bearer`` header; 401 when it is missing or
        unknown. Every token is compared in constant time, so timing tells nothing."""
        scheme, _, given = (authorization or "").partition(" ")
        presented = given.strip().encode()
        user = None
        for token, name in self.tokens.items():
            if hmac.compare_digest(token.encode(), presented):
                user = name
        if user is None or scheme.lower() != "bearer":
            raise errors.unauthorized()
        return user

    def deny(
        self,
        user: str | None,
        verb: str | None,
        group: str | None,
        resource: str | None,
        namespace: str | None,
    ) -> None:
        with self._lock:
            self._rules.append(Rule(user, verb, group, resource, namespace))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def check(
        self,
        user: str,
        verb: str,
        group: str,
        plural: str,
        subresource: str,
        namespace: str,
        name: str,
    ) -> None:
        """403 Forbidden when a deny rule matches (``resource`` may name ``plural/sub``)."""
        resource = f"{plural}/{subresource}" if subresource else plural
        with self._lock:
            rules = list(self._rules)
        if not any(r.matches(user, verb, group, resource, namespace) for r in rules):
            return
        where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        why = f'User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
        raise errors.forbidden(group, plural, name, why)

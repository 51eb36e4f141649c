"""Bearer-token authentication and deny rules, answered as the apiserver answers them.

Without tokens every request is the anonymous admin. Deny rules stand in for RBAC in tests:
a matching request gets 403 with the apiserver's exact "User ... cannot ..." message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from . import errors

ANONYMOUS = "system:anonymous"


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
    def __init__(self, tokens: dict[str, str] | None) -> None:
        self.tokens = dict(tokens) if tokens is not None else None
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def user(self, authorization: str | None) -> str:
        """The user behind an ``Authorization`` header; 401 when tokens are on and it is bad."""
        if self.tokens is None:
            return ANONYMOUS
        scheme, _, token = (authorization or "").partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
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

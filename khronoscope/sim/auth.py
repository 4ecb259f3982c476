"""Bearer-token users of the simulated API server and what each may touch.

The admin token may do everything. `add_user` tokens are limited per type: `allowed` (only
these types) and/or `forbidden` (never these types). Type names are kubectl's version-free
names (`secrets`, `deployments.apps`) or `*`. `namespaces` limits a token to those namespaces
(as RoleBindings do): cluster-scoped types and lists across all namespaces are refused. A refused
request is `403 Forbidden` with the message kube-apiserver's RBAC authorizer gives.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from khronoscope.sim.registry import ServedType
from khronoscope.sim.status import ApiError


@dataclass(slots=True)
class User:
    """One token's identity and permissions."""

    name: str
    token: str
    allowed: frozenset[str] | None = None  # None: every type
    forbidden: frozenset[str] = field(default_factory=frozenset)
    kubeconfig_path: str = ""
    namespaces: frozenset[str] | None = None  # None: every namespace and the cluster scope
    context_namespace: str = ""  # the namespace of its kubeconfig's context

    def may(self, st: ServedType, namespace: str | None = None) -> bool:
        """True when this user may use the type (in `namespace`; None: the cluster scope)."""
        if self.namespaces is not None and namespace not in self.namespaces:
            return False
        names = {st.name, st.rt.plural}
        if names & self.forbidden or "*" in self.forbidden:
            return False
        return self.allowed is None or bool(names & self.allowed) or "*" in self.allowed


class Users:
    """Tokens -> users."""

    def __init__(self) -> None:
        self._by_token: dict[str, User] = {}

    def add(
        self,
        name: str,
        allowed: set[str] | frozenset[str] | None = None,
        forbidden: set[str] | frozenset[str] = frozenset(),
        token: str | None = None,
        namespaces: set[str] | frozenset[str] | None = None,
        context_namespace: str = "",
    ) -> User:
        """Create (or replace) a user with a fresh token."""
        user = User(
            name,
            token or secrets.token_urlsafe(24),
            frozenset(allowed) if allowed is not None else None,
            frozenset(forbidden),
            namespaces=frozenset(namespaces) if namespaces is not None else None,
            context_namespace=context_namespace,
        )
        for t, u in list(self._by_token.items()):
            if u.name == name:
                del self._by_token[t]
        self._by_token[user.token] = user
        return user

    def by_name(self, name: str) -> User | None:
        """The user called `name`, or None."""
        return next((u for u in self._by_token.values() if u.name == name), None)

    def by_token(self, token: str) -> User | None:
        """The user of a token, or None."""
        return self._by_token.get(token)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_token.values())


def forbidden(
    user: str, verb: str, st: ServedType, namespace: str | None, sub: str = ""
) -> ApiError:
    """The 403 kube-apiserver answers when RBAC refuses a request."""
    resource = st.rt.plural + (f"/{sub}" if sub else "")
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    msg = (
        f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{st.rt.group}" {scope}'
    )
    details = {"kind": st.rt.plural}
    if st.rt.group:
        details = {"group": st.rt.group, "kind": st.rt.plural}
    return ApiError(403, "Forbidden", msg, details)


def unauthorized() -> ApiError:
    """The 401 for a missing or unknown token."""
    return ApiError(401, "Unauthorized", "Unauthorized")

"""Telling an account that may read only some namespaces that `-n NAMESPACE` may help.

Watched across all namespaces, every namespaced type is forbidden to an account whose rights
are RoleBindings in a few namespaces: it sees dozens of forbidden types and nothing else. The
hint names the kubeconfig context's namespace when a list there is allowed (checked with a
`limit=1` list of at most a few types: cheap), else it says `-n NAMESPACE` in general.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from khronoscope.cluster.connection import Connection
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.core.types import ResourceType

PROBES = 3  # types tried in the context's namespace, at most
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label, as the API wants


def _namespaced_path(rtype: ResourceType, namespace: str) -> str:
    base = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else f"/api/{rtype.version}"
    return f"{base}/namespaces/{namespace}/{rtype.plural}"


async def allowed_in(conn: Connection, rtype: ResourceType, namespace: str) -> bool:
    """True when the account may list `rtype` in `namespace` (one list of at most one item)."""
    try:
        await conn.get(_namespaced_path(rtype, namespace), {"limit": "1"})
    except (ApiError, TransportError):
        return False
    return True


async def namespace_hint(
    conn: Connection,
    forbidden: Sequence[ResourceType],
    namespaced: int,
    context_namespace: str,
) -> str:
    """The hint for namespaced types forbidden across all namespaces (out of `namespaced`
    watched that way), or "" when `-n` is unlikely to help."""
    if not forbidden:
        return ""
    head = (
        f"{len(forbidden)} of {namespaced} namespaced types are forbidden across all "
        "namespaces; if your account may read only some namespaces, "
    )
    if _NAMESPACE.fullmatch(context_namespace):
        # pods first: the type a namespace-scoped role grants most often
        candidates = sorted(forbidden, key=lambda t: t.name != "pods")[:PROBES]
        for rtype in candidates:
            if await allowed_in(conn, rtype, context_namespace):
                return (
                    f"{head}-n {context_namespace} may help (the context's namespace: "
                    f"{rtype.name} can be listed there)"
                )
    if 2 * len(forbidden) >= namespaced:
        return f"{head}-n NAMESPACE may help (watch only namespaces you are allowed in)"
    return ""

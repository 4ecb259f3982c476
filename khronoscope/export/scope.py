"""What an export includes: the user's filters and the objects skipped by default."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.errors import UsageError
from khronoscope.export import layout
from khronoscope.export.layout import normalize_prefix
from khronoscope.export.secrets import SecretsMode

# types that are the cluster's own bookkeeping, never something a user would apply
SKIPPED_TYPES = frozenset(
    {
        "events",
        "events.events.k8s.io",
        "endpoints",
        "leases.coordination.k8s.io",
        "nodes",
        "componentstatuses",
    }
)
SKIPPED_GROUPS = frozenset({"metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"})
SKIPPED_SECRET_TYPES = frozenset(
    {"kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token", "helm.sh/release.v1"}
)
SKIPPED_CONFIGMAPS = frozenset({"kube-root-ca.crt"})


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Filters and options of an export; `None` filters mean everything.

    `namespaces`: namespaced objects of these namespaces, plus their Namespace objects (other
    cluster-scoped objects are left out). `keys`: exactly these objects ("what is in view").
    """

    namespaces: frozenset[str] | None = None
    types: frozenset[str] | None = None
    keys: frozenset[ObjectKey] | None = None
    include_skipped: bool = False
    secrets: SecretsMode = SecretsMode.REDACT
    prefix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", normalize_prefix(self.prefix))

    def wants_key(self, key: ObjectKey) -> bool:
        """The filters that need no object content (checked before decoding anything)."""
        if self.keys is not None and key not in self.keys:
            return False
        if self.types is not None and key.type not in self.types:
            return False
        if self.namespaces is not None:
            if key.namespace and key.namespace not in self.namespaces:
                return False
            if not key.namespace and not (key.type == "namespaces" and key.name in self.namespaces):
                return False
        if key.type == "secrets" and self.secrets is SecretsMode.OMIT:
            return False
        return self.include_skipped or not type_skipped(key.type)

    def owner(self) -> Callable[[str], bool]:
        """A test of a path (relative to the prefix): is that file this export's to write or
        remove? A scoped export (`-t`, `-n`, the objects in view) leaves every file outside its
        scope as it is: `-t configmaps` on a branch holding a cluster must not delete the rest.
        """
        if self.keys is not None:
            paths = {layout.path_for(k) for k in self.keys}
            return paths.__contains__
        type_dirs = {layout.type_dir(t) for t in self.types} if self.types is not None else None
        namespaces = self.namespaces

        def owns(rel: str) -> bool:
            parsed = layout.parse(rel)
            if parsed is None:
                return False
            if type_dirs is not None and parsed.type_dir not in type_dirs:
                return False
            if namespaces is not None:
                if parsed.namespace:
                    return parsed.namespace in namespaces
                return parsed.type_dir == "namespaces" and parsed.name in namespaces
            return True

        return owns

    def wants(self, key: ObjectKey, obj: dict[str, Any]) -> bool:
        """All filters, including the default skips that read the object."""
        if not self.wants_key(key):
            return False
        return self.include_skipped or skip_reason(key, obj) is None

    def as_metadata(self) -> dict[str, Any]:
        """The filters as written in the export's metadata file (stable, sorted)."""
        out: dict[str, Any] = {"includeSkipped": self.include_skipped}
        if self.namespaces is not None:
            out["namespaces"] = sorted(self.namespaces)
        if self.types is not None:
            out["types"] = sorted(self.types)
        if self.keys is not None:
            out["objects"] = sorted(str(k) for k in self.keys)
        return out


def type_skipped(type_name: str) -> bool:
    """True for the types skipped by default whatever their content."""
    group = type_name.partition(".")[2]
    return type_name in SKIPPED_TYPES or group in SKIPPED_GROUPS


def skip_reason(key: ObjectKey, obj: dict[str, Any]) -> str | None:
    """Why an object is skipped by default (None: it is exported)."""
    if type_skipped(key.type):
        return "cluster bookkeeping"
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            return "owned by a controller"
    if key.type == "configmaps" and key.name in SKIPPED_CONFIGMAPS:
        return "created in every namespace by the cluster"
    if key.type == "secrets" and obj.get("type") in SKIPPED_SECRET_TYPES:
        return "generated credential"
    return None


def merged_filters(old: Mapping[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The filters a tree holds after an export with `new` on top of one with `old` (None: the
    tree held no export). An export without filters rewrote the whole tree: `new`. A scoped
    one added its scope to what was there: a filter absent on either side means everything,
    and what the tree held of skipped objects is as before."""
    narrowed = any(name in new for name in ("namespaces", "types", "objects"))
    if old is None or not narrowed:
        return new
    out: dict[str, Any] = {"includeSkipped": bool(old.get("includeSkipped"))}
    for name in ("namespaces", "types", "objects"):
        a, b = old.get(name), new.get(name)
        if isinstance(a, list) and isinstance(b, list):
            out[name] = sorted({*map(str, a), *b})
    return out


def known_types(
    names: Iterable[str], known: Mapping[str, ResourceType], present: Iterable[str] = ()
) -> frozenset[str]:
    """`resolve_types`, refusing (UsageError, exit 2) a name that matches no type the source
    knows (`known`) or holds objects of (`present`): a typo must not scope an export (or a
    comparison) to nothing."""
    have = set(known) | set(present)
    out: set[str] = set()
    for raw in names:
        resolved = resolve_types([raw], known)
        if resolved and not resolved & have:
            shown = ", ".join(sorted(have)[:8]) + (", ..." if len(have) > 8 else "")
            raise UsageError(
                f"unknown type {raw.strip()[:60]!r}: not a type of this source "
                f"(known: {shown or 'none'})"
            )
        out |= resolved & have or resolved
    return frozenset(out)


def known_namespaces(names: Iterable[str], seen: Iterable[str]) -> frozenset[str]:
    """The namespaces asked for, refusing (UsageError, exit 2) one the source never saw."""
    have = {n for n in seen if n}
    out = set()
    for name in names:
        if name not in have:
            shown = ", ".join(sorted(have)[:8]) + (", ..." if len(have) > 8 else "")
            raise UsageError(
                f"unknown namespace {name[:63]!r}: nothing of it in this source "
                f"(namespaces: {shown or 'none'})"
            )
        out.add(name)
    return frozenset(out)


def resolve_types(names: Iterable[str], known: Mapping[str, ResourceType]) -> frozenset[str]:
    """Canonical type names for what a user typed (`deploy`, `Deployment`, `deployments.apps`).

    A name that matches nothing known is kept as typed (lower case), so a filter on a type
    the cluster does not serve yet still works when it appears.
    """
    out: set[str] = set()
    for raw in names:
        text = raw.strip().lower()
        if not text:
            continue
        matches = [
            rt.name
            for rt in known.values()
            if text
            in (
                rt.name,
                rt.plural,
                rt.kind.lower(),
                rt.singular,
                f"{rt.kind.lower()}.{rt.group}" if rt.group else rt.kind.lower(),
                *rt.short_names,
            )
        ]
        # a bare plural matches the core type before any group's (kubectl's preference)
        core = [m for m in matches if "." not in m]
        out.update(core or matches or [text])
    return frozenset(out)

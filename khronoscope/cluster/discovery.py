"""Which resource types a cluster serves, and which of them to watch.

Discovery reads /api and /apis (every group, CRDs and aggregated APIs included, every version so
a type served only by a non-preferred version is not lost) and keeps, per type, the preferred
version that serves it. Selection keeps the types with list and watch, applies the user's
--include/--exclude, and drops duplicate types that serve the same stored objects (core `events`
and `events.events.k8s.io`; `ingresses.extensions` and `ingresses.networking.k8s.io`): the API
server says so with the same `storageVersionHash`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from khronoscope.cluster.connection import Connection
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.core.types import ResourceType
from khronoscope.errors import KhronoscopeError

# Servers older than 1.15 publish no storageVersionHash: the duplicates Kubernetes is known for.
_KNOWN_ALIASES = {
    "events.events.k8s.io": "events",
    "ingresses.extensions": "ingresses.networking.k8s.io",
    "deployments.extensions": "deployments.apps",
    "daemonsets.extensions": "daemonsets.apps",
    "replicasets.extensions": "replicasets.apps",
    "networkpolicies.extensions": "networkpolicies.networking.k8s.io",
    "podsecuritypolicies.extensions": "podsecuritypolicies.policy",
}

CRD_TYPE = "customresourcedefinitions.apiextensions.k8s.io"
APISERVICE_TYPE = "apiservices.apiregistration.k8s.io"


@dataclass
class Discovery:
    """Every resource type the server serves (subresources left out), core first, then the
    groups in the server's priority order."""

    types: list[ResourceType] = field(default_factory=list)
    storage_hash: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failed_groups: set[str] = field(default_factory=set)
    _alias: dict[str, str] | None = field(default=None, repr=False)

    def by_name(self) -> dict[str, ResourceType]:
        """Types by version-free name."""
        return {t.name: t for t in self.types}

    def alias_id(self, rtype: ResourceType) -> str:
        """Identity of the stored objects a type serves (equal for duplicate types): types are
        duplicates when they share a storageVersionHash or are a known Kubernetes pair."""
        if self._alias is None:
            self._alias = _alias_ids(self.types, self.storage_hash)
        return self._alias.get(rtype.name, rtype.name)


def _alias_ids(types: Iterable[ResourceType], hashes: dict[str, str]) -> dict[str, str]:
    """Union-find over both signals (a server may publish hashes for one type of a pair only)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    names = [t.name for t in types]
    for name in names:
        find(name)
        if hashes.get(name):
            union(name, f"#{hashes[name]}")
        if name in _KNOWN_ALIASES:
            union(name, _KNOWN_ALIASES[name])
    return {name: find(name) for name in names}


async def discover(conn: Connection, concurrency: int = 8) -> Discovery:
    """Read the server's discovery documents. A group version that fails (an aggregated API
    that is down) is reported in `errors`; the core API or /apis failing raises."""
    core = await conn.get_json("/api")
    groups = await conn.get_json("/apis")
    jobs: list[tuple[str, str, str]] = []  # (group, version, path)
    for version in core.get("versions") or ["v1"]:
        jobs.append(("", version, f"/api/{version}"))
    preferred: dict[str, list[str]] = {"": list(core.get("versions") or ["v1"])}
    for group in groups.get("groups") or []:
        name = group.get("name", "")
        versions = [v.get("version", "") for v in group.get("versions") or []]
        pref = (group.get("preferredVersion") or {}).get("version") or (versions[:1] or [""])[0]
        order = [pref, *[v for v in versions if v != pref]]
        preferred[name] = order
        jobs.extend((name, v, f"/apis/{name}/{v}") for v in order)

    sem = asyncio.Semaphore(concurrency)

    async def fetch(path: str) -> Any:
        async with sem:
            return await conn.get_json(path)

    results = await asyncio.gather(*(fetch(p) for _, _, p in jobs), return_exceptions=True)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    out = Discovery()
    for (group, version, _path), res in zip(jobs, results, strict=True):
        if isinstance(res, BaseException):
            if not isinstance(res, (ApiError, TransportError)):
                raise res
            if group == "":
                raise res
            out.errors[f"{group}/{version}"] = str(res)
            out.failed_groups.add(group)
            continue
        found[(group, version)] = res
    for group, order in preferred.items():
        seen: set[str] = set()
        for version in order:
            doc = found.get((group, version))
            if doc is None:
                continue
            for res in doc.get("resources") or []:
                plural = res.get("name", "")
                if not plural or "/" in plural or plural in seen:
                    continue  # subresources, and versions less preferred than one seen
                seen.add(plural)
                rtype = ResourceType(
                    group=group,
                    version=version,
                    plural=plural,
                    kind=res.get("kind", ""),
                    namespaced=bool(res.get("namespaced")),
                    short_names=tuple(res.get("shortNames") or ()),
                    verbs=tuple(res.get("verbs") or ()),
                    singular=res.get("singularName") or "",
                    categories=tuple(res.get("categories") or ()),
                )
                out.types.append(rtype)
                if res.get("storageVersionHash"):
                    out.storage_hash[rtype.name] = res["storageVersionHash"]
    return out


def resolve(name: str, types: Sequence[ResourceType]) -> ResourceType | None:
    """The type a user means by `name`, kubectl style: plural, singular, kind or short name,
    optionally qualified by `.group` or `.version.group`; the first in priority order wins."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    for qualified in (False, True):
        if qualified and "." not in wanted:
            break
        head, _, rest = wanted.partition(".") if qualified else (wanted, "", "")
        for match in (_plural_match, _other_match):
            for t in types:
                if qualified and rest not in (t.group, f"{t.version}.{t.group}"):
                    continue
                if match(t, head):
                    return t
    return None


def _plural_match(t: ResourceType, name: str) -> bool:
    return t.plural == name


def _other_match(t: ResourceType, name: str) -> bool:
    return name in (t.singular, t.kind.lower()) or name in t.short_names


def select(
    disc: Discovery,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    strict: bool = True,
) -> list[ResourceType]:
    """The types to watch: listable and watchable, filtered, one per set of duplicates.

    With `strict`, a name the user gave that the server does not serve raises (once running, a
    rescan passes strict=False and a vanished type simply stops being watched).
    """
    include, exclude = list(include), list(exclude)
    types = disc.types
    unknown: list[str] = []
    chosen: dict[str, ResourceType] = {}
    if include:
        for name in include:
            rtype = resolve(name, types)
            if rtype is None:
                unknown.append(name)
                continue
            if not rtype.watchable:
                if strict:
                    raise KhronoscopeError(
                        f"resource type '{name}' ({rtype.name}) cannot be listed and watched "
                        f"(verbs: {', '.join(rtype.verbs) or 'none'})"
                    )
                continue
            chosen.setdefault(disc.alias_id(rtype), rtype)
    else:
        for rtype in types:
            if rtype.watchable:
                chosen.setdefault(disc.alias_id(rtype), rtype)
    for name in exclude:
        rtype = resolve(name, types)
        if rtype is None:
            unknown.append(name)
            continue
        dropped = chosen.pop(disc.alias_id(rtype), None)
        if include and dropped is not None and strict:
            # `--include po --exclude pods`: the options contradict each other; say so
            raise KhronoscopeError(
                f"resource type '{name}' ({rtype.name}) is both included and excluded: "
                "give it to only one of --include and --exclude",
                exit_code=2,
            )
    if unknown and strict:
        hint = ""
        if disc.errors:
            hint = f"; discovery failed for {', '.join(sorted(disc.errors))}"
        names = ", ".join(f"'{n}'" for n in unknown)
        raise KhronoscopeError(
            f"unknown resource type {names} (not served by this cluster{hint})", exit_code=2
        )
    order = {t.name: i for i, t in enumerate(types)}
    return sorted(chosen.values(), key=lambda t: order[t.name])

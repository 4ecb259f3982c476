"""The simulated cluster's storage: every object, one global resourceVersion, an event log per type.

Like etcd behind kube-apiserver's watch cache:
- every write bumps one cluster-wide counter, which becomes the object's `resourceVersion`;
- each type keeps a log of its recent events (ADDED/MODIFIED/DELETED) so that a watch can resume
  from any resourceVersion still in the retained window, and a paginated list stays consistent
  at the resourceVersion of its first page (older states are rebuilt from the log);
- `compact()` forgets the past: a watch, an exact list or a continue token from before that
  point gets `410 Expired`, as after an etcd compaction.

Stored objects are immutable dicts (a new version is a new dict) with their JSON bytes cached,
so listing 10,000 pods is a join of cached bytes. Never mutate a dict you got from the store.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import heapq
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sortedcontainers import SortedDict

from khronoscope.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from khronoscope.sim.registry import Registry, ServedType
from khronoscope.sim.status import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    expired,
    not_found,
)

Key = tuple[str, str]  # (namespace or "", name)
Predicate = Callable[[dict[str, Any]], bool]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what generateName draws from
CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


def k8s_time(t_ns: int) -> str:
    """RFC 3339 (seconds) as object timestamps are written."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_ns // 1_000_000_000))


@dataclass(slots=True)
class Stored:
    """One version of one object: the dict (never mutated) and its cached JSON bytes."""

    obj: dict[str, Any]
    rv: int
    _raw: bytes | None = None

    def raw(self) -> bytes:
        """The object as JSON bytes (computed once)."""
        if self._raw is None:
            self._raw = orjson.dumps(self.obj)
        return self._raw


@dataclass(slots=True)
class WatchEvent:
    """One entry of a type's event log; `prev` is the version before (for selector transitions)."""

    rv: int
    type: str
    key: Key
    obj: Stored
    prev: Stored | None

    def line(self) -> bytes:
        """The watch line `{"type":..,"object":..}\\n`, built per use (caching it would double
        the memory of the retained log; the object's own bytes are cached already)."""
        return b'{"type":"' + self.type.encode() + b'","object":' + self.obj.raw() + b"}\n"


@dataclass(slots=True)
class ListResult:
    """One page of a list: items, the list's resourceVersion, continue token, remaining count."""

    items: list[Stored]
    rv: int
    continue_token: str = ""
    remaining: int | None = None


class TypeStore:
    """The objects of one storage type and its recent event log."""

    def __init__(self, name: str, namespaced: bool) -> None:
        self.name = name
        self.namespaced = namespaced
        self.objects: SortedDict = SortedDict()  # Key -> Stored, in etcd key order
        self._rvs: list[int] = []
        self._events: list[WatchEvent] = []
        # a watch from below this resourceVersion has lost events of this type
        self.dropped_rv = 0
        self._waiter: asyncio.Future[None] | None = None

    def append(self, ev: WatchEvent) -> None:
        """Add an event to the log and wake the watchers."""
        self._rvs.append(ev.rv)
        self._events.append(ev)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def changed(self) -> asyncio.Future[None]:
        """A future resolved at the next event of this type."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def wake(self) -> None:
        """Wake the watchers without an event (they re-check their state: drop, compaction)."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def since(self, rv: int) -> list[WatchEvent]:
        """The retained events with resourceVersion > rv, oldest first."""
        i = bisect.bisect_right(self._rvs, rv)
        return self._events[i:]

    def events_after(self, rv: int, limit: int) -> list[WatchEvent]:
        """Up to `limit` retained events with resourceVersion > rv."""
        i = bisect.bisect_right(self._rvs, rv)
        return self._events[i : i + limit]

    @property
    def last_rv(self) -> int:
        """The resourceVersion of the newest event of this type (0 if none retained)."""
        return self._rvs[-1] if self._rvs else self.dropped_rv

    def trim(self, retain: int) -> None:
        """Keep only the newest `retain` events (amortised: trims when 25% over)."""
        if len(self._rvs) > retain + retain // 4:
            cut = len(self._rvs) - retain
            self.dropped_rv = self._rvs[cut - 1]
            del self._rvs[:cut]
            del self._events[:cut]

    def clear_log(self) -> None:
        """Forget every event (compaction)."""
        if self._rvs:
            self.dropped_rv = self._rvs[-1]
        self._rvs = []
        self._events = []

    def log_size(self) -> int:
        """Number of retained events."""
        return len(self._rvs)


def fields_v1(value: Any, depth: int = 3) -> dict[str, Any]:
    """An approximation of managedFields' FieldsV1 of a value (field names to `depth`)."""
    if not isinstance(value, dict) or depth == 0:
        return {}
    out: dict[str, Any] = {}
    for k, v in value.items():
        if k in ("apiVersion", "kind", "status") and depth == 3 and k != "status":
            continue
        if isinstance(v, dict):
            sub = fields_v1(v, depth - 1)
            out[f"f:{k}"] = {".": {}, **sub} if sub else {}
        else:
            out[f"f:{k}"] = {}
    return out


def _meta_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {}
    for k in ("labels", "annotations", "ownerReferences", "finalizers"):
        if meta.get(k):
            out[f"f:{k}"] = {f"f:{x}": {} for x in meta[k]} if isinstance(meta[k], dict) else {}
    return {"f:metadata": out} if out else {}


def encode_continue(rv: int, key: Key, namespaced: bool) -> str:
    """A continue token in the apiserver's format (base64 JSON with rv and start key)."""
    start = f"{key[0]}/{key[1]}\x00" if namespaced else f"{key[1]}\x00"
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str, namespaced: bool) -> tuple[int, Key]:
    """(rv, key after which to continue) from a continue token; 400 when unreadable."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        rv = int(data["rv"])
        start = str(data["start"])
        if data.get("v") != "meta.k8s.io/v1" or not start.endswith("\x00"):
            raise ValueError("bad version")
    except Exception as err:
        raise bad_request(f"invalid continue token: continue key is not valid: {err}") from None
    start = start[:-1]
    if namespaced:
        ns, _, name = start.partition("/")
        return rv, (ns, name)
    return rv, ("", start)


@dataclass(slots=True)
class WriteContext:
    """Who writes and how: the field manager, dry run, and the subresource written."""

    manager: str = "khronoscope-sim"
    dry_run: bool = False
    # None: the main resource; "status": the status subresource; "*": both (scenario writes)
    subresource: str | None = None
    now_ns: int | None = None


@dataclass
class StoreStats:
    """Counters for benchmarks and tests."""

    writes: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)


class Store:
    """All objects of the simulated cluster, with a global resourceVersion and event logs."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        retain_events: int = 10_000,
        seed: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.registry = registry or Registry()
        self.retain_events = retain_events
        self.clock = clock
        self.rv = 1
        self.compacted_rv = 0
        self._types: dict[str, TypeStore] = {}
        self._rng = random.Random(seed)
        self.stats = StoreStats()
        # called after each committed event: (storage type name, event)
        self.listeners: list[Callable[[str, WatchEvent], None]] = []

    # ---- types -----------------------------------------------------------------------------

    def served(self, name: str) -> ServedType:
        """The served type for a version-free name; KeyError if unknown."""
        st = self.registry.by_name(name)
        if st is None:
            raise KeyError(name)
        return st

    def type_store(self, name: str) -> TypeStore:
        """The TypeStore of a storage type (created on first use)."""
        ts = self._types.get(name)
        if ts is None:
            st = self.registry.by_name(name)
            namespaced = st.rt.namespaced if st else True
            ts = self._types[name] = TypeStore(name, namespaced)
        return ts

    def type_names(self) -> list[str]:
        """Storage types that hold or held objects."""
        return list(self._types)

    # ---- reads -----------------------------------------------------------------------------

    def get(self, name: str, namespace: str, obj_name: str) -> Stored | None:
        """The current version of one object, or None."""
        ts = self._types.get(name)
        if ts is None:
            return None
        return ts.objects.get((namespace if ts.namespaced else "", obj_name))

    def list(
        self,
        name: str,
        namespace: str | None = None,
        *,
        predicate: Predicate | None = None,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        rv_match: str = "",
    ) -> ListResult:
        """One page of objects of a type, as GET on a collection returns it.

        `namespace` None lists all namespaces. Pages after the first (and exact-resourceVersion
        lists) are served at the first page's resourceVersion, rebuilt from the event log.
        """
        ts = self.type_store(name)
        start: Key | None = None
        at_rv = self.rv
        if continue_token:
            at_rv, start = decode_continue(continue_token, ts.namespaced)
            if at_rv < self.compacted_rv or at_rv < ts.dropped_rv:
                raise expired(CONTINUE_TOO_OLD)
        elif resource_version and rv_match == "Exact":
            at_rv = self._parse_rv(resource_version)
            if at_rv < self.compacted_rv or at_rv < ts.dropped_rv:
                raise expired(f"too old resource version: {at_rv} ({self.compacted_rv})")
            if at_rv > self.rv:
                raise ApiError(
                    504, "Timeout", f"Too large resource version: {at_rv}, current: {self.rv}"
                )
        elif resource_version and resource_version != "0":
            self._parse_rv(resource_version)  # NotOlderThan: the current state satisfies it
        if namespace is not None and not ts.namespaced:
            namespace = None
        touched = self._state_at(ts, at_rv) if at_rv < self.rv else {}
        keys = self._iter_keys(ts, namespace, start, touched)
        items: list[Stored] = []
        last_key: Key | None = None
        more = False
        for key in keys:
            stored = touched[key] if key in touched else ts.objects[key]
            if stored is None:
                continue
            if predicate is not None and not predicate(stored.obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(stored)
            last_key = key
        result = ListResult(items, at_rv)
        if more and last_key is not None:
            result.continue_token = encode_continue(at_rv, last_key, ts.namespaced)
            if predicate is None:
                result.remaining = self._count_after(ts, namespace, last_key, touched)
        return result

    @staticmethod
    def _parse_rv(text: str) -> int:
        try:
            value = int(text)
            if value < 0:
                raise ValueError
            return value
        except ValueError:
            raise bad_request(
                f"resourceVersion: Invalid value: {text!r}: must be an integer"
            ) from None

    def _state_at(self, ts: TypeStore, rv: int) -> dict[Key, Stored | None]:
        """Keys changed after `rv` -> their version at `rv` (None: did not exist)."""
        out: dict[Key, Stored | None] = {}
        for ev in ts.since(rv):
            if ev.key not in out:
                out[ev.key] = ev.prev if ev.type != ADDED else None
        return out

    @staticmethod
    def _ns_range(ts: TypeStore, namespace: str | None, start: Key | None) -> Iterator[Key]:
        if namespace is None:
            lo = start
            return (
                ts.objects.irange(minimum=lo, inclusive=(False, True)) if lo else iter(ts.objects)
            )
        lo = start if start and start[0] == namespace else (namespace, "")
        inclusive = (start is None or start[0] != namespace, True)
        return ts.objects.irange(minimum=lo, maximum=(namespace, "\U0010ffff"), inclusive=inclusive)

    def _iter_keys(
        self,
        ts: TypeStore,
        namespace: str | None,
        start: Key | None,
        touched: dict[Key, Stored | None],
    ) -> Iterator[Key]:
        current = self._ns_range(ts, namespace, start)
        if not touched:
            return current
        gone = sorted(
            k
            for k, v in touched.items()
            if v is not None
            and k not in ts.objects
            and (namespace is None or k[0] == namespace)
            and (start is None or k > start)
        )
        return heapq.merge(current, gone) if gone else current

    def _count_after(
        self, ts: TypeStore, namespace: str | None, last: Key, touched: dict[Key, Stored | None]
    ) -> int:
        hi = (namespace, "\U0010ffff") if namespace is not None else None
        n = len(list(ts.objects.irange(minimum=last, maximum=hi, inclusive=(False, True))))
        for k, v in touched.items():
            if k <= last or (namespace is not None and k[0] != namespace):
                continue
            now_exists = k in ts.objects
            if v is None and now_exists:
                n -= 1
            elif v is not None and not now_exists:
                n += 1
        return n

    # ---- writes ----------------------------------------------------------------------------

    def _new_uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _now(self, ctx: WriteContext) -> int:
        return ctx.now_ns if ctx.now_ns is not None else self.clock()

    def _commit(
        self,
        ts: TypeStore,
        key: Key,
        obj: dict[str, Any] | None,
        etype: str,
        prev: Stored | None,
        final: dict[str, Any] | None = None,
    ) -> Stored:
        """Give `obj` the next resourceVersion, store it and log the event."""
        self.rv += 1
        rv = self.rv
        body = obj if obj is not None else final
        assert body is not None
        meta = dict(body.get("metadata") or {})
        meta["resourceVersion"] = str(rv)
        # kind and apiVersion first, as the apiserver writes them (lists strip that prefix)
        new = {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), **body}
        new["metadata"] = meta
        stored = Stored(new, rv)
        if etype == DELETED:
            ts.objects.pop(key, None)
        else:
            ts.objects[key] = stored
        ev = WatchEvent(rv, etype, key, stored, prev)
        ts.append(ev)
        ts.trim(self.retain_events)
        self.stats.writes += 1
        self.stats.events_by_type[ts.name] = self.stats.events_by_type.get(ts.name, 0) + 1
        for listener in self.listeners:
            listener(ts.name, ev)
        return stored

    def _managed_entry(
        self, st: ServedType, ctx: WriteContext, fields: dict[str, Any], operation: str, now: int
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": ctx.manager,
            "operation": operation,
            "apiVersion": st.rt.api_version,
            "time": k8s_time(now),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
        if ctx.subresource == "status":
            entry["subresource"] = "status"
        return entry

    def _with_managed(
        self,
        meta: dict[str, Any],
        st: ServedType,
        ctx: WriteContext,
        fields: dict[str, Any],
        now: int,
        operation: str = "Update",
    ) -> None:
        entries = list(meta.get("managedFields") or [])
        new_entry = self._managed_entry(st, ctx, fields, operation, now)
        for i, e in enumerate(entries):
            if (
                e.get("manager") == ctx.manager
                and e.get("operation") == operation
                and e.get("subresource") == new_entry.get("subresource")
            ):
                merged = merge_patch(e.get("fieldsV1") or {}, fields)
                new_entry["fieldsV1"] = merged
                entries[i] = new_entry
                break
        else:
            entries.append(new_entry)
        meta["managedFields"] = entries

    def create(
        self,
        name: str,
        obj: dict[str, Any],
        ctx: WriteContext | None = None,
        namespace: str | None = None,
    ) -> Stored:
        """Create an object (POST); 409 if it exists, 404 if its namespace does not."""
        ctx = ctx or WriteContext()
        st = self.served(name)
        ts = self.type_store(st.storage)
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        meta = dict(obj.get("metadata") or {})
        ns = ""
        if st.rt.namespaced:
            ns = meta.get("namespace") or namespace or "default"
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            if self.get("namespaces", "", ns) is None:
                raise not_found("namespaces", ns)
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        obj_name = meta.get("name") or ""
        if not obj_name and meta.get("generateName"):
            for _ in range(20):
                suffix = "".join(self._rng.choice(_NAME_CHARS) for _ in range(5))
                obj_name = meta["generateName"] + suffix
                if (ns, obj_name) not in ts.objects:
                    break
        if not obj_name:
            raise ApiError(
                422,
                "Invalid",
                f'{st.rt.kind} "" is invalid: metadata.name: Required value: name or '
                "generateName is required",
            )
        key = (ns, obj_name)
        if key in ts.objects:
            raise already_exists(st.rt.plural, obj_name, st.rt.group)
        now = self._now(ctx)
        meta["name"] = obj_name
        # scenario writes may bring their own uid (so ownerReferences can point at it)
        if not (ctx.subresource == "*" and meta.get("uid")):
            meta["uid"] = self._new_uid()
        meta.pop("resourceVersion", None)
        meta["creationTimestamp"] = k8s_time(now)
        meta.pop("deletionTimestamp", None)
        body = {"kind": st.rt.kind, "apiVersion": st.rt.api_version}
        body.update(obj)
        body["kind"] = st.rt.kind
        body["apiVersion"] = st.rt.api_version
        _default(st, body)
        if _has_generation(st):
            meta["generation"] = 1
        self._with_managed(meta, st, ctx, {**_meta_fields(body), **fields_v1(body)}, now)
        body["metadata"] = _ordered_meta(meta)
        if ctx.dry_run:
            return Stored({**body, "metadata": {**body["metadata"], "resourceVersion": ""}}, 0)
        return self._commit(ts, key, body, ADDED, None)

    def _existing(
        self, st: ServedType, namespace: str, obj_name: str
    ) -> tuple[TypeStore, Key, Stored]:
        ts = self.type_store(st.storage)
        key = (namespace if st.rt.namespaced else "", obj_name)
        cur = ts.objects.get(key)
        if cur is None:
            raise not_found(st.rt.plural, obj_name, st.rt.group)
        return ts, key, cur

    def replace(
        self,
        name: str,
        obj: dict[str, Any],
        ctx: WriteContext | None = None,
        namespace: str = "",
        obj_name: str | None = None,
    ) -> Stored:
        """Update an object with a whole new body (PUT); 409 on a stale resourceVersion."""
        ctx = ctx or WriteContext()
        st = self.served(name)
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        meta_in = obj.get("metadata") or {}
        obj_name = obj_name or meta_in.get("name", "")
        if meta_in.get("name") and meta_in["name"] != obj_name:
            raise bad_request("the name of the object does not match the name on the URL")
        namespace = namespace or meta_in.get("namespace", "")
        ts, key, cur = self._existing(st, namespace, obj_name)
        want_rv = meta_in.get("resourceVersion")
        if want_rv and want_rv != cur.obj["metadata"]["resourceVersion"]:
            raise conflict(st.rt.plural, obj_name, st.rt.group)
        return self._update(st, ts, key, cur, obj, ctx, fields_v1(obj))

    def patch(
        self,
        name: str,
        namespace: str,
        obj_name: str,
        patch: Any,
        patch_type: str = "merge",
        ctx: WriteContext | None = None,
    ) -> Stored:
        """Patch an object: patch_type "merge", "strategic", "json" or "apply"."""
        ctx = ctx or WriteContext()
        st = self.served(name)
        ts, key, cur = self._existing(st, namespace, obj_name)
        try:
            if patch_type == "json":
                new = json_patch(cur.obj, patch)
                fields: dict[str, Any] = {}
            elif patch_type in ("strategic", "apply"):
                new = strategic_merge_patch(cur.obj, patch)
                fields = fields_v1(patch)
            else:
                if not isinstance(patch, dict):
                    raise PatchError("merge patch must be a JSON object")
                new = merge_patch(cur.obj, patch)
                fields = fields_v1(patch)
        except PatchError as err:
            raise ApiError(422, "Invalid", str(err)) from None
        if not isinstance(new, dict):
            raise bad_request("the patched object is not a JSON object")
        want_rv = (new.get("metadata") or {}).get("resourceVersion")
        if (
            patch_type != "json"
            and isinstance(patch, dict)
            and (patch.get("metadata") or {}).get("resourceVersion")
            and want_rv != cur.obj["metadata"]["resourceVersion"]
        ):
            raise conflict(st.rt.plural, obj_name, st.rt.group)
        return self._update(
            st, ts, key, cur, new, ctx, fields, "Apply" if patch_type == "apply" else "Update"
        )

    def _update(
        self,
        st: ServedType,
        ts: TypeStore,
        key: Key,
        cur: Stored,
        new: dict[str, Any],
        ctx: WriteContext,
        fields: dict[str, Any],
        operation: str = "Update",
    ) -> Stored:
        old = cur.obj
        body = dict(new)
        sub = ctx.subresource
        if st.has_status and sub is None:
            # writes to the main resource cannot change status (it has its own subresource)
            if "status" in old:
                body["status"] = old["status"]
            else:
                body.pop("status", None)
        elif st.has_status and sub == "status":
            # writes to /status change only the status
            body = {k: v for k, v in old.items() if k != "status"}
            if "status" in new:
                body["status"] = new["status"]
            fields = {"f:status": fields.get("f:status", {})}
        old_meta = old.get("metadata") or {}
        meta = dict(body.get("metadata") or {})
        if sub == "status":
            meta = dict(old_meta)
        for k in (
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        body["kind"] = old.get("kind")
        body["apiVersion"] = old.get("apiVersion")
        if "generation" in old_meta or _has_generation(st):
            gen = old_meta.get("generation", 1)
            if _spec_of(body) != _spec_of(old):
                gen += 1
            meta["generation"] = gen
        meta["managedFields"] = list(old_meta.get("managedFields") or [])
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        body["metadata"] = meta
        if body == old:  # a no-op write: no new resourceVersion, no event (as the apiserver)
            return cur
        now = self._now(ctx)
        self._with_managed(meta, st, ctx, fields, now, operation)
        body["metadata"] = _ordered_meta(meta)
        if ctx.dry_run:
            return Stored(body, cur.rv)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._commit(ts, key, None, DELETED, cur, final=body)
        if st.storage == "customresourcedefinitions.apiextensions.k8s.io":
            body = _crd_status(body)
        return self._commit(ts, key, body, MODIFIED, cur)

    def delete(
        self,
        name: str,
        namespace: str,
        obj_name: str,
        ctx: WriteContext | None = None,
        precondition_uid: str | None = None,
        precondition_rv: str | None = None,
    ) -> Stored:
        """Delete an object; with finalizers it only gets a deletionTimestamp (MODIFIED)."""
        ctx = ctx or WriteContext()
        st = self.served(name)
        ts, key, cur = self._existing(st, namespace, obj_name)
        meta = cur.obj.get("metadata") or {}
        if precondition_uid and precondition_uid != meta.get("uid"):
            raise conflict(st.rt.plural, obj_name, st.rt.group)
        if precondition_rv and precondition_rv != meta.get("resourceVersion"):
            raise conflict(st.rt.plural, obj_name, st.rt.group)
        if ctx.dry_run:
            return cur
        now = self._now(ctx)
        if st.storage == "namespaces":
            return self._delete_namespace(ts, key, cur, now)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return cur
            new_meta = {**meta, "deletionTimestamp": k8s_time(now), "deletionGracePeriodSeconds": 0}
            return self._commit(ts, key, {**cur.obj, "metadata": new_meta}, MODIFIED, cur)
        return self._commit(ts, key, None, DELETED, cur, final=cur.obj)

    def _delete_namespace(self, ts: TypeStore, key: Key, cur: Stored, now: int) -> Stored:
        # the namespace goes Terminating, its contents go, then it goes (the namespace controller)
        meta = {**cur.obj["metadata"], "deletionTimestamp": k8s_time(now)}
        terminating = {**cur.obj, "metadata": meta, "status": {"phase": "Terminating"}}
        cur = self._commit(ts, key, terminating, MODIFIED, cur)
        ns = key[1]
        for other in list(self._types.values()):
            if not other.namespaced:
                continue
            for k in list(other.objects.irange(minimum=(ns, ""), maximum=(ns, "\U0010ffff"))):
                prev = other.objects[k]
                self._commit(other, k, None, DELETED, prev, final=prev.obj)
        return self._commit(ts, key, None, DELETED, cur, final=cur.obj)

    def compact(self) -> int:
        """Forget the past up to now: older resourceVersions answer 410 Expired. Returns it."""
        self.compacted_rv = self.rv
        for ts in self._types.values():
            ts.clear_log()
            ts.wake()
        return self.rv

    def count(self, name: str, namespace: str | None = None) -> int:
        """Number of current objects of a storage type (in one namespace if given)."""
        ts = self._types.get(name)
        if ts is None:
            return 0
        if namespace is None:
            return len(ts.objects)
        return sum(1 for _ in ts.objects.irange((namespace, ""), (namespace, "\U0010ffff")))

    def objects(self, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The current objects of a storage type (for tests and assertions), in key order."""
        ts = self._types.get(name)
        if ts is None:
            return []
        if namespace is None:
            return [s.obj for s in ts.objects.values()]
        keys = ts.objects.irange((namespace, ""), (namespace, "\U0010ffff"))
        return [ts.objects[k].obj for k in keys]


_META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)


def _ordered_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """metadata with its keys in the order the apiserver writes them."""
    out = {k: meta[k] for k in _META_ORDER if k in meta}
    for k, v in meta.items():
        if k not in out:
            out[k] = v
    return out


# groups whose types track metadata.generation (core types such as pods and services do not)
_GENERATION_GROUPS = frozenset(
    {"apps", "batch", "autoscaling", "networking.k8s.io", "apiextensions.k8s.io", "policy"}
)


def _has_generation(st: ServedType) -> bool:
    return bool(st.crd) or st.rt.group in _GENERATION_GROUPS


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def _default(st: ServedType, body: dict[str, Any]) -> None:
    """The few defaults the apiserver fills in that clients rely on."""
    name = st.storage
    if name == "pods":
        body.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif name == "namespaces":
        body.setdefault("spec", {"finalizers": ["kubernetes"]})
        body.setdefault("status", {"phase": "Active"})
    elif name in ("deployments.apps", "replicasets.apps", "statefulsets.apps"):
        spec = body.get("spec")
        if isinstance(spec, dict) and "replicas" not in spec:
            body["spec"] = {**spec, "replicas": 1}
    elif name == "customresourcedefinitions.apiextensions.k8s.io":
        body.update(_crd_status(body))


def _crd_status(body: dict[str, Any]) -> dict[str, Any]:
    names = (body.get("spec") or {}).get("names") or {}
    status = {
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "acceptedNames": names,
        "storedVersions": [
            v.get("name")
            for v in (body.get("spec") or {}).get("versions") or []
            if v.get("storage")
        ],
    }
    return {**body, "status": status}

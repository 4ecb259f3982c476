"""One object's history as the history screen lists it: each version's time, kind, the field
paths it changed and who wrote it (the field manager, from managedFields).

Attribution: between two consecutive versions, the managedFields entries that are new or whose
`time` moved name the writers (`kubectl-edit`, `kube-controller-manager`, `helm`...). With
several writers, each changed field goes to the writer whose fieldsV1 covers it. Versions are
decoded on demand (the screen asks only for the lines it draws). No UI here.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.printers.redact import redact
from khronoscope.temporal.diff import changed_paths
from khronoscope.temporal.reader import TemporalReader
from khronoscope.tui.objdiff import is_noise, path_rank

_MISSING = object()


@dataclass
class VersionEntry:
    """One version: when, what kind of change, who wrote it, what it changed."""

    index: int
    t: int
    kind: ChangeKind
    managers: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    noise: int = 0


def _entry_id(e: dict[str, Any]) -> tuple[str, str, str]:
    return (str(e.get("manager", "")), str(e.get("operation", "")), str(e.get("subresource", "")))


def _managed(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not obj:
        return []
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return [e for e in entries if isinstance(e, dict)]


def writers(prev: dict[str, Any] | None, cur: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The managedFields entries of `cur` that wrote it: new since `prev`, or with a new time.

    For a first version (no `prev`) the entries with the latest time (its creator, usually).
    """
    now = _managed(cur)
    if not now:
        return []
    if prev is None:
        return _latest(now)
    before = {_entry_id(e): e.get("time") for e in _managed(prev)}
    return [e for e in now if before.get(_entry_id(e), _MISSING) != e.get("time")]


def _latest(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest = max(str(e.get("time", "")) for e in entries)
    return [e for e in entries if str(e.get("time", "")) == latest]


def likely_writers(prev: dict[str, Any] | None, cur: dict[str, Any] | None) -> list[str]:
    """Names of the writers of `cur`; when no entry moved (managedFields times have a
    resolution of one second, so a second write within it leaves them as they were), the
    latest writers marked `?`."""
    found = writers(prev, cur)
    if found or prev is None:
        return [manager_name(e) for e in found]
    entries = _managed(cur)
    return [manager_name(e) + "?" for e in _latest(entries)] if entries else []


def manager_name(entry: dict[str, Any]) -> str:
    """`kubectl-edit`, or `kubelet (status)` for a subresource write."""
    name = str(entry.get("manager") or "?")
    sub = entry.get("subresource")
    return f"{name} ({sub})" if sub else name


# --- which writer owns a changed field ---------------------------------------------------------


def _field_paths(a: Any, b: Any, prefix: str, steps: tuple[Any, ...], out: list) -> None:
    """Like temporal.diff.changed_paths, with each path's steps for walking fieldsV1: a dict key
    `("f", key)`, a list item `("item", value)` (matched against `k:{...}`/`v:`/`i:` keys)."""
    if a is b:
        return
    if type(a) is dict and type(b) is dict:
        for k in sorted(a.keys() | b.keys(), key=str):
            sub = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append((sub, (*steps, ("f", k))))
            else:
                _field_paths(a[k], b[k], sub, (*steps, ("f", k)), out)
        return
    if type(a) is list and type(b) is list:
        an, bn = _named(a), _named(b)
        if an is not None and bn is not None:
            for name in list(an) + [n for n in bn if n not in an]:
                sub = f"{prefix}[{name}]"
                item = bn.get(name, an.get(name))
                if name not in an or name not in bn:
                    out.append((sub, (*steps, ("item", item, -1))))
                else:
                    _field_paths(an[name], bn[name], sub, (*steps, ("item", item, -1)), out)
            return
        if len(a) == len(b):
            for i, (av, bv) in enumerate(zip(a, b, strict=True)):
                _field_paths(av, bv, f"{prefix}[{i}]", (*steps, ("item", bv, i)), out)
            return
    if type(a) is not type(b) or a != b:
        out.append((prefix or ".", steps))


def _named(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(type(x) is dict and isinstance(x.get("name"), str) for x in items):
        return None
    named = {x["name"]: x for x in items}
    return named if len(named) == len(items) else None


def _item_child(node: dict[str, Any], item: Any, index: int) -> Any:
    for k, child in node.items():
        if k.startswith("k:") and isinstance(item, dict):
            try:
                want = json.loads(k[2:])
            except ValueError:
                continue
            if isinstance(want, dict) and all(item.get(f) == v for f, v in want.items()):
                return child
        elif k.startswith("v:"):
            try:
                if json.loads(k[2:]) == item:
                    return child
            except ValueError:
                continue
        elif k == f"i:{index}":
            return child
    return None


def covers(fields: Any, steps: tuple[Any, ...]) -> bool:
    """True when a fieldsV1 tree owns the field reached by `steps` (or a whole parent of it)."""
    node = fields
    for step in steps:
        if not isinstance(node, dict):
            return False
        child = node.get(f"f:{step[1]}") if step[0] == "f" else _item_child(node, step[1], step[2])
        if child is None:
            return False
        if child == {}:
            return True  # a leaf: the manager owns the whole value below it
        node = child
    return True


# --- the history -------------------------------------------------------------------------------


class ObjectHistory:
    """The versions of one object, oldest first; `entry(i)` decodes what line i needs."""

    def __init__(self, tmap: TemporalReader, key: ObjectKey, cache: int = 64) -> None:
        self.tmap = tmap
        self.key = key
        self.versions: list[tuple[int, ChangeKind]] = tmap.history(key)
        self._objs: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._entries: dict[int, VersionEntry] = {}
        self._cache = cache

    def __len__(self) -> int:
        return len(self.versions)

    def refresh(self) -> bool:
        """Pick up versions recorded since (live); True if there are new ones."""
        n = len(self.versions)
        self.versions = self.tmap.history(self.key)
        # a late write may have changed an old version: forget what was computed after it
        if len(self.versions) != n:
            self._entries = {i: e for i, e in self._entries.items() if i < n - 1}
            self._objs.clear()
            return True
        return False

    def index_at(self, t: int) -> int:
        """The version in force at t (-1 before the first)."""
        lo, hi = 0, len(self.versions)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.versions[mid][0] <= t:
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    def obj(self, i: int) -> dict[str, Any] | None:
        """Version i decoded (None for a delete); a few are kept."""
        if i < 0:
            return None
        if i in self._objs:
            self._objs.move_to_end(i)
            return self._objs[i]
        t, kind = self.versions[i]
        value = None if kind is ChangeKind.DELETED else self.tmap.get(self.key, t)
        self._objs[i] = value
        if len(self._objs) > self._cache:
            self._objs.popitem(last=False)
        return value

    def entry(self, i: int) -> VersionEntry:
        """What version i changed and who wrote it."""
        found = self._entries.get(i)
        if found is not None:
            return found
        t, kind = self.versions[i]
        entry = VersionEntry(i, t, kind)
        cur = self.obj(i)
        prev = self.obj(i - 1) if kind is ChangeKind.MODIFIED else None
        if kind is not ChangeKind.DELETED:
            wrote = writers(prev, cur)
            entry.managers = likely_writers(prev, cur)
            if kind is ChangeKind.MODIFIED and prev is not None and cur is not None:
                self._paths(entry, prev, cur, wrote)
                entry.paths.sort(key=path_rank)
        self._entries[i] = entry
        return entry

    def _paths(
        self,
        entry: VersionEntry,
        prev: dict[str, Any],
        cur: dict[str, Any],
        wrote: list[dict[str, Any]],
    ) -> None:
        a, b = redact(prev, self.key.type, True), redact(cur, self.key.type, True)
        if len(wrote) <= 1:
            all_paths = changed_paths(a, b)
            entry.paths = [p for p in all_paths if not is_noise(p)]
            entry.noise = len(all_paths) - len(entry.paths)
            return
        found: list[tuple[str, tuple[Any, ...]]] = []
        _field_paths(a, b, "", (), found)
        for path, steps in found:
            if is_noise(path):
                entry.noise += 1
                continue
            entry.paths.append(path)
            for e in wrote:
                if covers(e.get("fieldsV1") or {}, steps):
                    entry.owners[path] = manager_name(e)
                    break

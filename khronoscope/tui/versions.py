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

from khronoscope.core.provenance import OBSERVED, Provenance, ProvenanceStore
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.core.writers import likely_writers, manager_name, who_wrote, writers
from khronoscope.printers.objdiff import comparable, is_noise, path_rank
from khronoscope.temporal.diff import changed_paths
from khronoscope.temporal.reader import TemporalReader

__all__ = ["ObjectHistory", "VersionEntry", "covers", "likely_writers", "manager_name", "writers"]


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
    user: str = ""  # the audit user, when an audit log said
    origin: str = OBSERVED  # observed, audit or reconstructed
    unknown: bool = False  # a write whose result is not known (no body in the audit log)
    note: str = ""
    mark: bool = False  # not a version: a note at t (a field manager's last write...)


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
    """The versions of one object, oldest first, with its marks (notes at a time, from the
    provenance store) among them as rows of their own; `entry(i)` decodes what row i needs."""

    def __init__(
        self,
        tmap: TemporalReader,
        key: ObjectKey,
        cache: int = 64,
        provenance: ProvenanceStore | None = None,
    ) -> None:
        self.tmap = tmap
        self.key = key
        self.provenance = provenance
        self.versions: list[tuple[int, ChangeKind]] = tmap.history(key)
        self.marks: list[Provenance] = []
        # (t, i): version i when i >= 0, mark ~i otherwise
        self.rows: list[tuple[int, int]] = []
        self._objs: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._entries: dict[int, VersionEntry] = {}
        self._cache = cache
        self._build_rows()

    def _build_rows(self) -> None:
        self.marks = self.provenance.marks(self.key) if self.provenance is not None else []
        rows = [(t, i) for i, (t, _) in enumerate(self.versions)]
        if self.marks:
            rows += [(m.t, ~j) for j, m in enumerate(self.marks)]
            # at the same time, the version first, then its marks
            rows.sort(key=lambda r: (r[0], r[1] < 0))
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def refresh(self) -> bool:
        """Pick up versions recorded since (live); True if there are new ones."""
        n, m = len(self.versions), len(self.marks)
        self.versions = self.tmap.history(self.key)
        marks = self.provenance.marks(self.key) if self.provenance is not None else []
        # a late write may have changed an old version: forget what was computed after it
        if len(self.versions) != n or len(marks) != m:
            self._entries = {i: e for i, e in self._entries.items() if i < n - 1}
            self._objs.clear()
            self._build_rows()
            return True
        return False

    def row_t(self, row: int) -> int:
        """The time of a row (a version's start, or a mark's time)."""
        return self.rows[row][0]

    def index_at(self, t: int) -> int:
        """The row of the version in force at t (-1 before the first)."""
        lo, hi = 0, len(self.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.rows[mid][0] <= t:
                lo = mid + 1
            else:
                hi = mid
        row = lo - 1
        while row >= 0 and self.rows[row][1] < 0:
            row -= 1
        return row

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

    def entry(self, row: int) -> VersionEntry:
        """What the version of `row` changed and who wrote it (or the mark of `row`)."""
        t, i = self.rows[row]
        if i < 0:
            m = self.marks[~i]
            return VersionEntry(
                row, t, ChangeKind.MODIFIED, user=m.user, origin=m.origin, note=m.note, mark=True
            )
        found = self._entries.get(i)
        if found is not None:
            return found
        t, kind = self.versions[i]
        entry = VersionEntry(row, t, kind)
        cur = self.obj(i)
        prev = self.obj(i - 1) if kind is ChangeKind.MODIFIED else None
        who = who_wrote(self.provenance, self.key, t, prev, cur)
        entry.user, entry.origin, entry.unknown, entry.note = (
            who.user,
            who.origin,
            who.unknown,
            who.note,
        )
        if kind is not ChangeKind.DELETED:
            wrote = writers(prev, cur)
            entry.managers = list(who.managers)
            if (
                kind is ChangeKind.MODIFIED
                and prev is not None
                and cur is not None
                and not who.unknown
                and not who.after_rebuilt
            ):
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
        a, b = comparable(self.key, prev, cur)
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

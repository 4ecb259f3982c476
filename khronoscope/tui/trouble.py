"""What "something went wrong" means, per row, and the moments it began (no UI here).

A row is in trouble when a pod is not Ready or failing (CrashLoopBackOff, ImagePullBackOff,
Error, OOMKilled...), a node is NotReady, an Event is a Warning, a Deployment/StatefulSet/
DaemonSet/ReplicaSet has fewer ready replicas than desired, a Job failed, a PVC is Lost.
A trouble *moment* is a change after which a row is in trouble and was not (or is in another
trouble) just before: a pod going into CrashLoopBackOff, each new Warning. A pod not Ready is a
moment only when it was Ready just before (starting up is not trouble). Views whose own type
has no rule (ConfigMaps, Services...) look at the types that do, in the same namespace.

The strip's marks come from `TroubleIndex`, filled a slice at a time so a big record never
stalls a frame; the `x`/`X` steps scan from the cursor (like `[` `]`), bounded.
"""

from __future__ import annotations

import functools
import heapq
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.printers import ColumnSet, columns_for
from khronoscope.temporal.map import ChangeRef, Namespaces, TemporalMap

_BAD_POD = frozenset(
    {
        "CrashLoopBackOff",
        "Error",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "OOMKilled",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "ContainerCannotRun",
        "Evicted",
        "Failed",
        "Unknown",
        "ContainerStatusUnknown",
        "NodeLost",
        "DeadlineExceeded",
        "StartError",
    }
)
_OK_POD = frozenset({"Running", "Completed", "Succeeded"})

TROUBLE_TYPES: tuple[str, ...] = (
    "pods",
    "nodes",
    "events",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "replicasets.apps",
    "jobs.batch",
    "persistentvolumeclaims",
)
"""Types with a trouble rule (the others' views look at these)."""

_SCAN_LIMIT = 200_000  # a step gives up past this many changes rather than freeze


def _ratio(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str) or "/" not in text:
        return None
    a, _, b = text.partition("/")
    try:
        return int(a), int(b)
    except ValueError:
        return None


@functools.cache
def _layout(type_name: str) -> tuple[str, dict[str, int]]:
    """A builtin type's row layout name and column indexes (rows are checked by the thousand
    while the timeline's marks are found)."""
    columns: ColumnSet = columns_for(type_name)
    return columns.fmt, {c.name: i for i, c in enumerate(columns.columns)}


def _cell(indexes: dict[str, int], row: object, name: str) -> object:
    cells = getattr(row, "cells", None)
    i = indexes.get(name, -1)
    if cells is None or i < 0 or i >= len(cells):
        return None
    return cells[i]


def trouble_of(type_name: str, row: object) -> str:
    """Why the row is in trouble, or "" (rows of a type without a rule are never in trouble)."""
    if row is None or type_name not in TROUBLE_TYPES:
        return ""
    fmt, columns = _layout(type_name)
    if getattr(row, "fmt", None) != fmt:
        return ""  # a row in another layout says nothing reliable
    if type_name == "pods":
        status = str(_cell(columns, row, "STATUS") or "")
        if status in _BAD_POD or status.startswith(("Init:Error", "Init:CrashLoop", "Init:Image")):
            return status
        ready = _ratio(_cell(columns, row, "READY"))
        if status == "Running" and ready is not None and ready[0] < ready[1]:
            return f"not Ready ({ready[0]}/{ready[1]})"
        if status.startswith(("ExitCode:", "Signal:")) and status != "ExitCode:0":
            return status
        return ""
    if type_name == "nodes":
        status = str(_cell(columns, row, "STATUS") or "")
        return status.split(",")[0] if status.split(",")[0] in ("NotReady", "Unknown") else ""
    if type_name == "events":
        return "Warning" if _cell(columns, row, "TYPE") == "Warning" else ""
    if type_name in ("deployments.apps", "statefulsets.apps"):
        ready = _ratio(_cell(columns, row, "READY"))
        if ready is not None and ready[0] < ready[1]:
            return f"{ready[0]}/{ready[1]} ready"
        return ""
    if type_name in ("daemonsets.apps", "replicasets.apps"):
        desired, ready = _cell(columns, row, "DESIRED"), _cell(columns, row, "READY")
        if isinstance(desired, int) and isinstance(ready, int) and ready < desired:
            return f"{ready}/{desired} ready"
        return ""
    if type_name == "jobs.batch":
        status = str(_cell(columns, row, "STATUS") or "")
        return status if status in ("Failed", "FailureTarget") else ""
    if type_name == "persistentvolumeclaims":
        status = str(_cell(columns, row, "STATUS") or "")
        return status if status == "Lost" else ""
    return ""


RowMatch = Callable[[ObjectKey, Hashable], bool]


@dataclass(frozen=True)
class TroubleScope:
    """Where to look: one object, or types in some namespaces (optionally only rows passing
    `match`: the table's filter)."""

    types: tuple[str, ...] = ()
    namespace: Namespaces = None
    key: ObjectKey | None = None
    match: RowMatch | None = None

    @staticmethod
    def for_view(type_name: str, namespace: str | None, match: RowMatch | None) -> TroubleScope:
        """The browser's view; a type without a rule looks at the types with one."""
        if type_name in TROUBLE_TYPES:
            return TroubleScope((type_name,), namespace, None, match)
        return TroubleScope(TROUBLE_TYPES, namespace)

    def label(self) -> str:
        """What the message says was looked at."""
        if self.key is not None:
            return self.key.name
        if len(self.types) == 1:
            return self.types[0].split(".", 1)[0]
        return "pods, nodes, events, workloads"


_WORKLOADS = frozenset(
    {"deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps"}
)


def _restarts(row: object) -> int:
    value = _cell(_layout("pods")[1], row, "RESTARTS")
    return value[0] if isinstance(value, tuple) and isinstance(value[0], int) else 0


def began_at(tmap: TemporalMap, ref: ChangeRef) -> str:
    """The trouble a change began ("" if none): the row after it is in trouble and the row
    before was not (or was in another trouble); for a pod also each restart (a crash); for a
    workload, a drop below its desired ready replicas (not its start-up)."""
    return _began(tmap, ref.key, ref.t)


def _began(tmap: TemporalMap, key: ObjectKey, t: int) -> str:
    type_name = key.type
    row_after = tmap.row(key, t)
    after = trouble_of(type_name, row_after)
    if not after:
        return ""
    if type_name == "events":
        return after  # every Warning seen is a moment something went wrong
    row_before = tmap.row(key, t - 1)
    if type_name in _WORKLOADS and row_before is None:
        return ""  # a workload starting up has no ready replicas yet: not trouble
    before = trouble_of(type_name, row_before)
    if type_name == "pods" and row_before is not None:
        restarts = _restarts(row_after)
        if restarts > _restarts(row_before):
            return f"{after}, restart {restarts}"
    if type_name == "pods" and after.startswith("not Ready") and not _was_ready(row_before):
        # every pod is Running but not Ready for a while as it starts (a readiness probe, a
        # rollout): only a pod that was Ready and lost it went wrong
        return ""
    return after if after != before else ""


def _was_ready(row: object) -> bool:
    """A pod row Running with every container Ready."""
    if row is None:
        return False
    columns = _layout("pods")[1]
    ready = _ratio(_cell(columns, row, "READY"))
    status = _cell(columns, row, "STATUS")
    return status == "Running" and ready is not None and ready[0] == ready[1]


def _changes(
    tmap: TemporalMap, scope: TroubleScope, start: int | None, end: int | None
) -> Iterator[ChangeRef]:
    if scope.key is not None:
        # one object: its own versions, not every change of its namespace
        key = scope.key
        return (
            ChangeRef(t, key, kind)
            for t, kind in tmap.history(key)
            if (start is None or t >= start) and (end is None or t <= end)
        )
    streams = []
    for type_name in scope.types:
        ns = scope.namespace
        if type_name == "nodes":
            ns = None  # cluster-scoped: a node going down concerns every namespace
        streams.append(tmap.changes(start, end, type_name, ns))
    return heapq.merge(*streams, key=lambda r: r.t)


def _in_scope(tmap: TemporalMap, scope: TroubleScope, key: ObjectKey, t: int) -> str:
    what = _began(tmap, key, t)
    if what and scope.match is not None:
        row = tmap.row(key, t)
        if row is not None and not scope.match(key, row):
            return ""
    return what


def _kids_changed_at(tmap: TemporalMap, scope: TroubleScope, t: int) -> list[int]:
    """Key ids of the changes in scope at exactly t (ids: a first sync's 50,000 are no
    50,000 ChangeRefs)."""
    kids: list[int] = []
    for type_name in scope.types:
        ns = None if type_name == "nodes" else scope.namespace
        kids.extend(tmap.changed_keys(t - 1, t, type_name, ns)[0])
    return kids


@dataclass(frozen=True)
class TroubleMoment:
    """Where a trouble step landed: when, which object, and what went wrong."""

    t: int
    key: ObjectKey
    what: str


def next_trouble(tmap: TemporalMap, t: int, scope: TroubleScope) -> TroubleMoment | None:
    """The first trouble moment strictly after t (None: none, or too far to scan)."""
    for n, ref in enumerate(_changes(tmap, scope, t + 1, None)):
        if n >= _SCAN_LIMIT:
            return None
        what = _in_scope(tmap, scope, ref.key, ref.t)
        if what:
            return TroubleMoment(ref.t, ref.key, what)
    return None


def previous_trouble(tmap: TemporalMap, t: int, scope: TroubleScope) -> TroubleMoment | None:
    """The last trouble moment strictly before t, scanning back in growing windows."""
    first = tmap.first_t
    if first is None:
        return None
    width = 60 * 1_000_000_000
    hi = t - 1
    scanned = 0
    while hi >= first:
        lo = max(hi - width, first)
        found: TroubleMoment | None = None
        for ref in _changes(tmap, scope, lo, hi):
            scanned += 1
            what = _in_scope(tmap, scope, ref.key, ref.t)
            if what:
                found = TroubleMoment(ref.t, ref.key, what)
        if found is not None:
            return found
        if scanned >= _SCAN_LIMIT:
            return None
        hi = lo - 1
        width *= 4
    return None


class TroubleIndex:
    """The trouble moments of one scope, found a time-bounded slice at a time (the timeline
    calls `advance` each frame and draws what is known so far)."""

    def __init__(self, tmap: TemporalMap, scope: TroubleScope) -> None:
        self.tmap = tmap
        self.scope = scope
        self.times: list[int] = []
        self._scanned_to: int | None = None  # every change at or before this t was looked at
        # the key ids changed at one moment still to look at, when a slice ended among them (a
        # cluster's first list puts every object at the same t: 50,000 pods are no one slice)
        self._pending: list[int] = []
        self._pending_t = 0
        self._seen_changes = -1
        self.complete = False

    def advance(self, budget_s: float = 0.01) -> bool:
        """Scan for up to `budget_s`; True when something new was found. No iterator is kept
        between calls (a live store changes between frames); a slice that ends among the
        changes of one moment keeps the rest of that moment's changes for the next."""
        tmap = self.tmap
        if tmap.change_count == self._seen_changes and self.complete:
            return False
        seen = tmap.change_count
        deadline = time.perf_counter() + budget_s
        found = False
        if self._pending:
            found, done = self._finish_pending(deadline)
            if not done:
                return found
        start = None if self._scanned_to is None else self._scanned_to + 1
        last_t: int | None = None
        refs = _changes(tmap, self.scope, start, None)
        for n, ref in enumerate(refs):
            if n % 64 == 63 and time.perf_counter() > deadline:
                # out of time: what was scanned at earlier moments is done
                if ref.t == last_t and self.scope.key is None:
                    # among one moment's changes: the rest of them next time (all of that
                    # moment's keys: the few already looked at were not trouble)
                    self._pending = _kids_changed_at(tmap, self.scope, ref.t)
                    self._pending_t = ref.t
                    self._scanned_to = ref.t
                else:
                    self._scanned_to = ref.t - 1
                return found
            last_t = ref.t
            if self.times and self.times[-1] == ref.t:
                continue  # this moment is marked already
            if _in_scope(tmap, self.scope, ref.key, ref.t):
                self.times.append(ref.t)
                found = True
        if last_t is not None:
            self._scanned_to = last_t
        self._seen_changes = seen
        self.complete = True
        return found

    def _finish_pending(self, deadline: float) -> tuple[bool, bool]:
        """Look at the kept changes of one moment until the deadline: (found, all done)."""
        pending = self._pending
        t = self._pending_t
        if self.times and self.times[-1] == t:
            pending.clear()  # marked already
            return False, True
        tmap = self.tmap
        looked = 0
        while pending:
            looked += 1
            if looked % 64 == 0 and time.perf_counter() > deadline:
                return False, False
            if _in_scope(tmap, self.scope, tmap.key_of(pending.pop()), t):
                self.times.append(t)
                pending.clear()  # one mark per moment: the rest of it need not be looked at
                return True, True
        return False, True

    def between(self, lo: int, hi: int) -> int:
        """How many trouble moments in [lo, hi]."""
        return bisect_right(self.times, hi) - bisect_left(self.times, lo)

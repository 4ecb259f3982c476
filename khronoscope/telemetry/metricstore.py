"""CPU and memory samples of pods, their containers and nodes, queried as of t.

A series is three parallel arrays (sample times, nanocores, bytes): 24 bytes a sample, bisect
by time. A pod's total and each of its containers are separate series (the total is what tables
show, containers are for the detail view). The time of a sample is metrics-server's own
`timestamp` (the end of its window), so a sample polled twice is stored once.

Memory is bounded: past `max_samples` in all, every series loses its oldest quarter, and
`dropped_before` says from when the store is complete again.
"""

from __future__ import annotations

import bisect
import enum
import logging
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from khronoscope.core.types import ObjectKey

log = logging.getLogger(__name__)

SeriesKey = tuple[str, str, str, str]  # (type, namespace, name, container or "")
SampleSink = Callable[[int, ObjectKey, int, int, dict[str, tuple[int, int]]], None]
MAX_AGE_NS = 150 * 1_000_000_000  # a sample older than this is not "the usage at t"


class Sample(NamedTuple):
    """Usage at one time: CPU in nanocores, memory in bytes."""

    t: int
    cpu: int
    memory: int


class MetricsState(enum.Enum):
    """Whether metrics can be had (a state, shown once; never an error loop)."""

    UNKNOWN = "unknown"  # not asked yet
    AVAILABLE = "available"
    ABSENT = "absent"  # metrics.k8s.io is not served: no metrics-server
    FORBIDDEN = "forbidden"
    FAILING = "failing"  # served but answering errors (being retried)
    RECORDED = "recorded"  # replaying what a recording holds


@dataclass(slots=True, eq=False)
class _Series:
    times: array = field(default_factory=lambda: array("q"))
    cpu: array = field(default_factory=lambda: array("q"))
    memory: array = field(default_factory=lambda: array("q"))


class MetricStore:
    """Usage samples per pod (total and per container) and per node."""

    def __init__(self, max_samples: int = 4_000_000) -> None:
        self.max_samples = max_samples
        self._series: dict[SeriesKey, _Series] = {}
        self._containers: dict[tuple[str, str, str], list[str]] = {}
        self._types: dict[str, int] = {}  # type -> samples stored
        self._sinks: list[SampleSink] = []
        self.samples = 0
        self.dropped_before: int | None = None
        self.state = MetricsState.UNKNOWN
        self.state_reason = ""
        self.version = 0

    def add_sink(self, sink: SampleSink) -> None:
        """Call `sink(t, key, cpu, memory, containers)` for every sample stored from now on."""
        self._sinks.append(sink)

    def set_state(self, state: MetricsState, reason: str = "") -> bool:
        """Record whether metrics can be had; True when it changed."""
        if state is self.state and reason == self.state_reason:
            return False
        self.state = state
        self.state_reason = reason
        self.version += 1
        return True

    # --- writing -----------------------------------------------------------------------------

    def add(
        self,
        t: int,
        key: ObjectKey,
        cpu: int,
        memory: int,
        containers: dict[str, tuple[int, int]] | None = None,
    ) -> bool:
        """Store a sample of an object (and of its containers); False when the object already
        has a sample at t or later (an unchanged timestamp polled again)."""
        total = self._series_of((key.type, key.namespace, key.name, ""))
        if total.times and t <= total.times[-1]:
            return False
        self._append(total, key.type, t, cpu, memory)
        if containers:
            names = self._containers.setdefault((key.type, key.namespace, key.name), [])
            for name, (c_cpu, c_mem) in containers.items():
                if name not in names:
                    names.append(name)
                s = self._series_of((key.type, key.namespace, key.name, name))
                if not s.times or t > s.times[-1]:
                    self._append(s, key.type, t, c_cpu, c_mem)
        self.version += 1
        for sink in self._sinks:
            try:
                sink(t, key, cpu, memory, containers or {})
            except Exception:
                log.exception("metrics sink %r failed", sink)
        if self.samples > self.max_samples:
            self._trim()
        return True

    def insert_many(
        self, samples: Iterable[tuple[int, ObjectKey, int, int, dict[str, tuple[int, int]]]]
    ) -> int:
        """Store samples in any order (a recording's history arrives newest window first);
        samples at a time a series already has are skipped. Returns how many were new."""
        by_series: dict[SeriesKey, list[tuple[int, int, int]]] = {}
        for t, key, cpu, memory, containers in samples:
            by_series.setdefault((key.type, key.namespace, key.name, ""), []).append(
                (t, cpu, memory)
            )
            if containers:
                names = self._containers.setdefault((key.type, key.namespace, key.name), [])
                for name, (c_cpu, c_mem) in containers.items():
                    if name not in names:
                        names.append(name)
                    by_series.setdefault((key.type, key.namespace, key.name, name), []).append(
                        (t, c_cpu, c_mem)
                    )
        added = 0
        for skey, items in by_series.items():
            s = self._series_of(skey)
            merged = dict(zip(s.times, zip(s.cpu, s.memory, strict=True), strict=True))
            before = len(merged)
            for t, cpu, memory in items:
                merged.setdefault(t, (cpu, memory))
            new = len(merged) - before
            if not new:
                continue
            order = sorted(merged)
            s.times = array("q", order)
            s.cpu = array("q", (merged[t][0] for t in order))
            s.memory = array("q", (merged[t][1] for t in order))
            if skey[3] == "":
                added += new
                self.samples += new
                self._types[skey[0]] = self._types.get(skey[0], 0) + new
        if added:
            self.version += 1
        return added

    def _series_of(self, skey: SeriesKey) -> _Series:
        s = self._series.get(skey)
        if s is None:
            s = self._series[skey] = _Series()
        return s

    def _append(self, s: _Series, type_name: str, t: int, cpu: int, memory: int) -> None:
        s.times.append(t)
        s.cpu.append(cpu)
        s.memory.append(memory)
        self.samples += 1
        self._types[type_name] = self._types.get(type_name, 0) + 1

    def _trim(self) -> None:
        """Drop the oldest quarter of every series (keeps recent history everywhere)."""
        cutoff = None
        total = 0
        for s in self._series.values():
            n = len(s.times) // 4
            if n:
                end = s.times[n - 1]
                cutoff = end if cutoff is None else max(cutoff, end)
                del s.times[:n], s.cpu[:n], s.memory[:n]
            total += len(s.times)
        self.samples = total
        if cutoff is not None:
            self.dropped_before = max(self.dropped_before or cutoff, cutoff)

    def trim_before(self, t: int) -> int:
        """Forget samples no read at or after t needs (the one in force at t stays); a series
        with nothing recent enough to be shown at t goes whole, with its container list (a
        recorder sees pods come and go all day). Returns how many samples went."""
        dropped = 0
        gone: list[SeriesKey] = []
        for skey, s in self._series.items():
            times = s.times
            if not times or times[-1] < t - MAX_AGE_NS:
                dropped += len(times)
                gone.append(skey)
                continue
            n = max(bisect.bisect_left(times, t) - 1, 0)
            if n:
                del s.times[:n], s.cpu[:n], s.memory[:n]
                dropped += n
        for skey in gone:
            del self._series[skey]
        if gone:
            series = self._series
            for ck in [ck for ck in self._containers if (*ck, "") not in series]:
                del self._containers[ck]
        if dropped:
            self.samples = sum(len(s.times) for s in self._series.values())
            self.dropped_before = max(self.dropped_before or t, t)
            self.version += 1
        return dropped

    # --- reading -----------------------------------------------------------------------------

    def has_type(self, type_name: str) -> bool:
        """True when samples of this type (`pods`, `nodes`) were stored."""
        return self._types.get(type_name, 0) > 0

    def at(
        self, key: ObjectKey, t: int, container: str = "", max_age: int = MAX_AGE_NS
    ) -> Sample | None:
        """The sample in force at t: the newest with time <= t, if not older than max_age."""
        s = self._series.get((key.type, key.namespace, key.name, container))
        if s is None:
            return None
        i = bisect.bisect_right(s.times, t) - 1
        if i < 0 or t - s.times[i] > max_age:
            return None
        return Sample(s.times[i], s.cpu[i], s.memory[i])

    def usage_at(
        self, keys: list[ObjectKey], t: int, memory: bool = False, max_age: int = MAX_AGE_NS
    ) -> list[float]:
        """CPU (nanocores) or memory (bytes) in force at t of many objects at once, -1 where
        none: what sorting a table by usage needs, without a Sample per row."""
        get = self._series.get
        right = bisect.bisect_right
        out: list[float] = []
        append = out.append
        for key in keys:
            s = get((key.type, key.namespace, key.name, ""))
            if s is None:
                append(-1.0)
                continue
            times = s.times
            i = right(times, t) - 1
            if i < 0 or t - times[i] > max_age:
                append(-1.0)
            else:
                append(float(s.memory[i] if memory else s.cpu[i]))
        return out

    def series(
        self,
        key: ObjectKey,
        container: str = "",
        start: int | None = None,
        end: int | None = None,
    ) -> list[Sample]:
        """Samples with start <= t <= end, oldest first."""
        s = self._series.get((key.type, key.namespace, key.name, container))
        if s is None:
            return []
        lo = 0 if start is None else bisect.bisect_left(s.times, start)
        hi = len(s.times) if end is None else bisect.bisect_right(s.times, end)
        return [Sample(s.times[i], s.cpu[i], s.memory[i]) for i in range(lo, hi)]

    def keys(self) -> list[ObjectKey]:
        """Every object with samples, sorted."""
        return sorted({ObjectKey(t, ns, name) for t, ns, name, c in self._series if not c})

    def containers(self, key: ObjectKey) -> list[str]:
        """Containers with their own series, in first-seen order."""
        return list(self._containers.get((key.type, key.namespace, key.name), ()))

    def range(self, key: ObjectKey) -> tuple[int, int] | None:
        """(first, last) sample time of an object, None without samples."""
        s = self._series.get((key.type, key.namespace, key.name, ""))
        if s is None or not s.times:
            return None
        return s.times[0], s.times[-1]

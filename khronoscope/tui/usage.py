"""What the pods and nodes tables show beside their stored rows: capture marks and CPU/MEM at t.

Rows are computed once per version at ingest and know nothing of metrics; usage changes on its
own clock. So these cells are drawn per visible row: the sample in force at t (a bisect) and,
for pods, the requests and limits of the version in force (decoded once per version, cached).
No Textual here.
"""

from __future__ import annotations

from typing import Any

from khronoscope.core.quantity import (
    QuantityError,
    cpu_nanocores,
    format_cpu,
    format_memory,
    memory_bytes,
    percent,
)
from khronoscope.core.source import HistorySource, log_capture, logs_of, metrics_of
from khronoscope.core.types import ObjectKey

POD_COLUMNS = ("CPU", "%CPU/R", "%CPU/L", "MEM", "%MEM/R", "%MEM/L")
NODE_COLUMNS = ("CPU", "%CPU", "MEM", "%MEM")
WIDTHS = {"CPU": 6, "MEM": 7}
NA = "n/a"
Resources = tuple[int | None, int | None, int | None, int | None]


class TableTelemetry:
    """Marks and usage cells for one table (type) over a source."""

    def __init__(self, source: HistorySource, type_name: str) -> None:
        self.source = source
        self.type_name = type_name
        self.metrics = metrics_of(source)
        self.logs = logs_of(source)
        capture = log_capture(source)
        self.marks = capture.log_marks if capture is not None else None
        self._resources: dict[ObjectKey, tuple[int | None, Any]] = {}

    def columns(self) -> tuple[str, ...]:
        """Extra column headers (none until samples of this type exist)."""
        m = self.metrics
        if m is None or not m.has_type(self.type_name):
            return ()
        if self.type_name == "pods":
            return POD_COLUMNS
        if self.type_name == "nodes":
            return NODE_COLUMNS
        return ()

    @property
    def version(self) -> int:
        """Bumped whenever samples are added (a usage sort must be redone)."""
        return self.metrics.version if self.metrics is not None else 0

    def sort_values(self, keys: list[ObjectKey], t: int, column: str) -> list[float]:
        """The numbers behind a usage column at t, for sorting (-1: no sample, or no request
        or limit to take a share of)."""
        if self.metrics is None:
            return [-1.0] * len(keys)
        usage = self.metrics.usage_at(keys, t, memory="MEM" in column)
        if column in ("CPU", "MEM"):
            return usage
        slot = {"%CPU/R": 0, "%CPU": 0, "%CPU/L": 1, "%MEM/R": 2, "%MEM": 2, "%MEM/L": 3}[column]
        out = []
        for key, used in zip(keys, usage, strict=True):
            of = self._of(key, t)[slot] if used >= 0 else None
            out.append(used / of if of else -1.0)
        return out

    def marked(self, key: ObjectKey) -> bool:
        """A pod whose logs are captured (live: marked; a recording: has lines)."""
        if self.type_name != "pods":
            return False
        if self.marks is not None:
            return bool(self.marks.is_marked(key))
        return self.logs is not None and self.logs.has_pod(key.namespace, key.name)

    def cells(self, key: ObjectKey, t: int) -> tuple[str, ...]:
        """Usage at t and its share of requests/limits (pods) or allocatable (nodes)."""
        cols = self.columns()
        if not cols or self.metrics is None:
            return ()
        sample = self.metrics.at(key, t)
        if sample is None:
            return (NA,) * len(cols)
        cpu, mem = format_cpu(sample.cpu), format_memory(sample.memory)
        res = self._of(key, t)
        if self.type_name == "nodes":
            return (cpu, _pct(sample.cpu, res[0]), mem, _pct(sample.memory, res[2]))
        return (
            cpu,
            _pct(sample.cpu, res[0]),
            _pct(sample.cpu, res[1]),
            mem,
            _pct(sample.memory, res[2]),
            _pct(sample.memory, res[3]),
        )

    def _of(self, key: ObjectKey, t: int) -> Resources:
        """(cpu request, cpu limit, memory request, memory limit) of the version in force at t
        (nodes: allocatable cpu and memory in the request slots)."""
        tmap = self.source.tmap
        version = tmap.previous_change(t + 1, key=key)
        cached = self._resources.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]  # type: ignore[no-any-return]
        obj = tmap.get(key, t) or {}
        res = node_allocatable(obj) if self.type_name == "nodes" else pod_resources(obj)
        if len(self._resources) > 50_000:
            self._resources.clear()
        self._resources[key] = (version, res)
        return res


def pod_resources(pod: dict[str, Any]) -> Resources:
    """Sums over a pod's containers of CPU (nanocores) and memory (bytes) requests and limits;
    None when a container does not set one (a sum over some containers would mislead)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if not containers:
        return (None, None, None, None)
    totals: list[int | None] = [0, 0, 0, 0]
    for c in containers:
        res = c.get("resources") or {}
        for i, (kind, name) in enumerate(
            (("requests", "cpu"), ("limits", "cpu"), ("requests", "memory"), ("limits", "memory"))
        ):
            value = (res.get(kind) or {}).get(name)
            if totals[i] is None:
                continue
            if value is None and kind == "requests":
                # a request defaults to the limit when only the limit is set
                value = (res.get("limits") or {}).get(name)
            if value is None:
                totals[i] = None
                continue
            try:
                amount = cpu_nanocores(value) if name == "cpu" else memory_bytes(value)
            except QuantityError:
                totals[i] = None
                continue
            totals[i] = (totals[i] or 0) + amount
    return (totals[0], totals[1], totals[2], totals[3])


def node_allocatable(node: dict[str, Any]) -> Resources:
    """A node's allocatable CPU and memory (what `kubectl top nodes` divides by)."""
    alloc = (node.get("status") or {}).get("allocatable") or {}
    try:
        cpu = cpu_nanocores(alloc["cpu"]) if "cpu" in alloc else None
        mem = memory_bytes(alloc["memory"]) if "memory" in alloc else None
    except QuantityError:
        return (None, None, None, None)
    return (cpu, None, mem, None)


def _pct(usage: int, of: int | None) -> str:
    p = percent(usage, of)
    return NA if p is None else f"{p}%"

"""Polling metrics.k8s.io (metrics-server) for pods and nodes into the MetricStore.

Every `interval` seconds (15 by default: metrics-server's own resolution, unlike the Go tool's
1 s) the pods' and nodes' usage lists are fetched; each sample is stored at metrics-server's
`timestamp`, so a sample seen twice is stored once. A cluster without metrics-server (the group
is not served: 404) is a state, set once and re-checked every few minutes quietly; 403 likewise;
other errors are retried at the normal pace with the reason kept for views.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from khronoscope.cluster.connection import Connection
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.core.quantity import QuantityError, cpu_nanocores, memory_bytes
from khronoscope.core.timefmt import parse_k8s_time
from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.metricstore import MetricsState, MetricStore

log = logging.getLogger(__name__)
BASE = "/apis/metrics.k8s.io/v1beta1"


@dataclass
class MetricsTuning:
    """Polling pace (seconds); `interval` 0 turns polling off."""

    interval: float = 15.0
    absent_retry: float = 300.0


class MetricsPoller:
    """Fetches pod and node usage periodically; see the module docstring."""

    def __init__(
        self,
        conn: Connection,
        store: MetricStore,
        namespaces: tuple[str, ...] = (),
        exclude_namespaces: tuple[str, ...] = (),
        tuning: MetricsTuning | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.namespaces = namespaces
        self.exclude = frozenset(exclude_namespaces)
        self.tuning = tuning or MetricsTuning()
        self.on_change = on_change
        self.polls = 0

    async def run(self) -> None:
        """Poll until cancelled."""
        if self.tuning.interval <= 0:
            return
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug must not end polling silently
                log.exception("metrics poll failed")
                self.store.set_state(MetricsState.FAILING, f"internal error: {err}")
            quiet = self.store.state in (MetricsState.ABSENT, MetricsState.FORBIDDEN)
            await asyncio.sleep(self.tuning.absent_retry if quiet else self.tuning.interval)

    async def poll_once(self) -> int:
        """One poll of pods and nodes; returns how many new samples were stored."""
        self.polls += 1
        added = 0
        errors: list[tuple[MetricsState, str]] = []
        pod_paths = (
            [f"{BASE}/namespaces/{ns}/pods" for ns in self.namespaces]
            if self.namespaces
            else [f"{BASE}/pods"]
        )
        ok = False
        for path in [*pod_paths, f"{BASE}/nodes"]:
            try:
                doc = await self.conn.get_json(path)
            except ApiError as err:
                errors.append(_state_of(err))
                continue
            except TransportError as err:
                errors.append((MetricsState.FAILING, str(err)))
                continue
            ok = True
            added += self._store(doc, nodes=path.endswith("/nodes"))
        if ok:
            changed = self.store.set_state(MetricsState.AVAILABLE)
        else:
            state, reason = errors[0] if errors else (MetricsState.FAILING, "no answer")
            changed = self.store.set_state(state, reason)
            if changed:
                log.info("metrics: %s (%s)", state.value, reason)
        if (added or changed) and self.on_change is not None:
            self.on_change()
        return added

    def _store(self, doc: Any, nodes: bool) -> int:
        added = 0
        items = doc.get("items") if isinstance(doc, dict) else None
        for item in items or ():
            try:
                meta = item["metadata"]
                t = parse_k8s_time(item.get("timestamp"))
                if t is None:
                    continue
                if nodes:
                    usage = item.get("usage") or {}
                    key = ObjectKey("nodes", "", meta["name"])
                    cpu = cpu_nanocores(usage.get("cpu", 0))
                    mem = memory_bytes(usage.get("memory", 0))
                    if self.store.add(t, key, cpu, mem):
                        added += 1
                    continue
                ns = meta.get("namespace", "")
                if ns in self.exclude:
                    continue
                containers: dict[str, tuple[int, int]] = {}
                for c in item.get("containers") or ():
                    usage = c.get("usage") or {}
                    containers[c.get("name", "")] = (
                        cpu_nanocores(usage.get("cpu", 0)),
                        memory_bytes(usage.get("memory", 0)),
                    )
                cpu = sum(v[0] for v in containers.values())
                mem = sum(v[1] for v in containers.values())
                if self.store.add(t, ObjectKey("pods", ns, meta["name"]), cpu, mem, containers):
                    added += 1
            except (KeyError, TypeError, AttributeError, QuantityError) as err:
                log.debug("metrics item skipped: %s", err)
        return added


def _state_of(err: ApiError) -> tuple[MetricsState, str]:
    if err.not_found:
        return MetricsState.ABSENT, "metrics.k8s.io is not served (no metrics-server)"
    if err.forbidden:
        return MetricsState.FORBIDDEN, err.summary
    return MetricsState.FAILING, err.summary

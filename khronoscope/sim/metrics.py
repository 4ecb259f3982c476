"""Resource usage the simulated metrics-server reports (metrics.k8s.io/v1beta1 pods and nodes).

Scenarios set per-container samples (CPU in nanocores, memory in bytes); a running pod without
a sample gets a steady value derived from its name, so big clusters report metrics without a
write per pod. A node's usage is its system overhead plus the usage of the pods bound to it.
Only running pods are reported, like metrics-server (which has no samples for others).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from khronoscope.core.quantity import format_cpu_nanocores, format_memory_kib
from khronoscope.sim.store import Store, k8s_time

WINDOW = "15s"
NODE_BASE_CPU = 180_000_000  # nanocores of kubelet, runtime and system daemons
NODE_BASE_MEM = 900 * 2**20


@dataclass(frozen=True, slots=True)
class Usage:
    """One container's usage sample."""

    container: str
    cpu_nanocores: int
    memory_bytes: int


def default_usage(namespace: str, pod: str, container: str) -> Usage:
    """A steady, name-derived usage for containers no scenario sample covers."""
    h = zlib.crc32(f"{namespace}/{pod}/{container}".encode())
    cpu = 1_000_000 + (h % 60) * 1_000_000  # 1m .. 60m
    mem = (16 + (h >> 8) % 200) * 2**20  # 16Mi .. 216Mi
    return Usage(container, cpu, mem)


class MetricsStore:
    """The latest usage sample of each pod (explicit ones) and node overrides."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self.clock = clock
        self._pods: dict[tuple[str, str], tuple[int, tuple[Usage, ...]]] = {}
        self._nodes: dict[str, tuple[int, int, int]] = {}
        self.available = True  # False: as if metrics-server were not installed

    def set_pod(self, namespace: str, name: str, usage: tuple[Usage, ...], t_ns: int) -> None:
        """Record a pod's sample taken at t_ns."""
        self._pods[(namespace, name)] = (t_ns, usage)

    def set_node(self, name: str, cpu_nanocores: int, memory_bytes: int, t_ns: int) -> None:
        """Override a node's usage (otherwise derived from its pods)."""
        self._nodes[name] = (t_ns, cpu_nanocores, memory_bytes)

    def forget_pod(self, namespace: str, name: str) -> None:
        """Drop a deleted pod's sample."""
        self._pods.pop((namespace, name), None)

    def _pod_usage(self, pod: dict[str, Any]) -> tuple[int, tuple[Usage, ...]]:
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        sample = self._pods.get(key)
        if sample is not None:
            return sample
        containers = (pod.get("spec") or {}).get("containers") or []
        usage = tuple(default_usage(key[0], key[1], c.get("name", "")) for c in containers)
        return self._sample_time(), usage

    def _sample_time(self) -> int:
        # metrics-server scrapes every 15 s: report the last scrape time
        now = self.clock()
        period = 15 * 1_000_000_000
        return now - now % period

    def pod_metrics(self, store: Store, namespace: str | None) -> list[dict[str, Any]]:
        """PodMetrics objects for the running pods (of one namespace if given)."""
        out = []
        for pod in store.objects("pods", namespace):
            if (pod.get("status") or {}).get("phase") != "Running":
                continue
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            t, usage = self._pod_usage(pod)
            meta = pod["metadata"]
            out.append(
                {
                    "kind": "PodMetrics",
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {
                        "name": meta["name"],
                        "namespace": meta.get("namespace", ""),
                        "creationTimestamp": k8s_time(self.clock()),
                        "labels": meta.get("labels") or {},
                    },
                    "timestamp": k8s_time(t),
                    "window": WINDOW,
                    "containers": [
                        {
                            "name": u.container,
                            "usage": {
                                "cpu": format_cpu_nanocores(u.cpu_nanocores),
                                "memory": format_memory_kib(u.memory_bytes),
                            },
                        }
                        for u in usage
                    ],
                }
            )
        return out

    def node_metrics(self, store: Store) -> list[dict[str, Any]]:
        """NodeMetrics objects for the Ready nodes."""
        per_node: dict[str, list[int]] = {}
        for pod in store.objects("pods"):
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or (pod.get("status") or {}).get("phase") != "Running":
                continue
            _, usage = self._pod_usage(pod)
            acc = per_node.setdefault(node, [0, 0])
            for u in usage:
                acc[0] += u.cpu_nanocores
                acc[1] += u.memory_bytes
        out = []
        for node in store.objects("nodes"):
            meta = node["metadata"]
            conditions = (node.get("status") or {}).get("conditions") or []
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            if not ready:
                continue  # metrics-server cannot scrape an unreachable kubelet
            name = meta["name"]
            if name in self._nodes:
                t, cpu, mem = self._nodes[name]
            else:
                t = self._sample_time()
                cpu, mem = per_node.get(name, [0, 0])
                cpu += NODE_BASE_CPU + zlib.crc32(name.encode()) % 50 * 1_000_000
                mem += NODE_BASE_MEM
            out.append(
                {
                    "kind": "NodeMetrics",
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {
                        "name": name,
                        "creationTimestamp": k8s_time(self.clock()),
                        "labels": meta.get("labels") or {},
                    },
                    "timestamp": k8s_time(t),
                    "window": WINDOW,
                    "usage": {"cpu": format_cpu_nanocores(cpu), "memory": format_memory_kib(mem)},
                }
            )
        return out

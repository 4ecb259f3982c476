"""A cluster of n pods for benchmarks (`scale_source`), and `Churn`, which keeps changing it
like a busy cluster."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from khronoscope.core.timefmt import NS, format_k8s_time
from khronoscope.core.types import ObjectKey
from tests.testing.memsource import T0, MemorySource, new_source
from tests.testing.objects import namespace, node, pod


def scale_pod(i: int, t: int, state: str = "running", restarts: int = 0) -> dict[str, Any]:
    """Pod number i of the scale scenario: realistic size (labels, annotations, managedFields)."""
    ns = f"team-{i % 20:02d}"
    app = f"svc-{i % 250:03d}"
    obj = pod(
        f"{app}-{i:05d}-{(i * 7919) % 100000:05d}",
        ns,
        t,
        node_name=f"node-{i % 50:02d}",
        phase="Running",
        state=state,
        restarts=restarts,
        last_finished=t + restarts * NS if restarts else None,
        labels={"app": app, "tier": ("web", "api", "worker")[i % 3], "pod-template-hash": "abc12"},
        ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        owner=f"{app}-abc12",
        image=f"registry.example.com/{app}:1.{i % 7}.0",
    )
    obj["metadata"]["annotations"] = {
        "prometheus.io/scrape": "true",
        "kubectl.kubernetes.io/restartedAt": format_k8s_time(t),
    }
    obj["metadata"]["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": format_k8s_time(t),
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:tier": {}}}},
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": format_k8s_time(t),
            "subresource": "status",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}}},
        },
    ]
    obj["spec"]["containers"][0]["env"] = [
        {"name": "SERVICE", "value": app},
        {"name": "REPLICA", "value": str(i)},
    ]
    return obj


def scale_source(pods: int = 10_000, live: bool = True) -> MemorySource:
    """A cluster of `pods` pods in 20 namespaces on 50 nodes, written at T0 (one sync)."""
    src = new_source("scale", live)
    for n in range(20):
        src.put(T0, namespace(f"team-{n:02d}", T0 - 86400 * NS))
    for n in range(50):
        src.put(T0, node(f"node-{n:02d}", T0 - 86400 * NS, ip=f"10.1.0.{n}"))
    for i in range(pods):
        src.put(T0, scale_pod(i, T0 - (i % 3600) * NS))
    return src


class Churn:
    """Keeps changing a scale source like a busy cluster: restarts, crash loops, replacements."""

    def __init__(self, src: MemorySource, pods: int, seed: int = 7) -> None:
        self.src = src
        self.pods = pods
        self.rng = random.Random(seed)
        self.restarts = [0] * pods

    def step(self, t: int, changes: int) -> Iterator[ObjectKey]:
        """Apply `changes` changes at t (spread over the last ms); yield the keys touched."""
        rng = self.rng
        for k in range(changes):
            i = rng.randrange(self.pods)
            self.restarts[i] += 1
            state = "crashloop" if rng.random() < 0.3 else "running"
            obj = scale_pod(i, T0 - (i % 3600) * NS, state, self.restarts[i])
            when = t - (changes - k) * 1000
            self.src.put(when, obj)
            yield ObjectKey("pods", obj["metadata"]["namespace"], obj["metadata"]["name"])

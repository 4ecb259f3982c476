"""The scale scenario: N nodes, M running pods, and a steady churn of changes (benchmarks).

Options (`--scenario scale:nodes=50,pods=10000,churn=200,namespaces=20`):
- `nodes`: number of nodes (default 50)
- `pods`: number of pods kept running (default 10000)
- `namespaces`: namespaces the pods spread over (default 20)
- `churn`: changes per second after the start (default 100): 70% pod status updates
  (restarts, readiness flaps), 20% pod replacements (delete + create), 10% node heartbeats.

All objects appear at t=0 already Running (no start-up choreography), so a client can list
all of them as soon as the first batch is applied.
"""

from __future__ import annotations

from typing import Any, ClassVar

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import (
    NOW,
    Create,
    Delete,
    Patch,
    Scenario,
    ScenarioOption,
    Script,
)


class ScaleScenario(Scenario):
    """Many nodes and pods with a configurable churn rate."""

    name = "scale"
    summary = "N nodes, M pods, steady churn (benchmarks); options nodes, pods, namespaces, churn"
    options_help = "nodes=50,pods=10000,namespaces=20,churn=100"
    option_specs: ClassVar[dict[str, ScenarioOption]] = {
        "nodes": ScenarioOption(50, 1, 100_000),
        "pods": ScenarioOption(10_000, 0, 1_000_000),
        "namespaces": ScenarioOption(20, 1, 100_000),
        "churn": ScenarioOption(100, 0, 1_000_000),
    }

    def build(self, script: Script) -> None:
        """Create everything at t=0, then churn forever."""
        self.n_nodes = int(self.options["nodes"])
        self.n_pods = int(self.options["pods"])
        self.n_ns = int(self.options["namespaces"])
        self.churn = int(self.options["churn"])
        self.s = script
        self.pods: list[tuple[str, str, str, str, int]] = []  # ns, name, node, app, restarts
        self.serial = 0
        script.at(0.0, self._bootstrap)
        if self.churn:
            # changes come in batches of up to 10 (or one per tick at low rates)
            batch = min(10, self.churn)
            script.every(batch / self.churn, lambda: self._churn(batch), start=1.0)

    def _node_name(self, i: int) -> str:
        return f"node-{i:04d}"

    def _new_pod(self, index: int) -> tuple[str, str, str, str, int]:
        ns = f"team-{index % self.n_ns:02d}"
        app = f"app-{(index // self.n_ns) % 50:02d}"
        self.serial += 1
        rs_hash = o.short_hash(f"{self.seed}/{self.serial}", 10)
        name = f"{app}-{rs_hash}-{o.short_hash(str(self.serial), 5)}"
        node = self._node_name(self.s.rng.randrange(self.n_nodes))
        return ns, name, node, app, 0

    def _pod_obj(self, ns: str, name: str, node: str, app: str, restarts: int) -> dict[str, Any]:
        spec = o.pod_template(
            {"app": app}, [o.container("main", f"registry.example.com/{app}:1.0.0", 8080)]
        )["spec"]
        spec["nodeName"] = node
        pod = o.pod(
            ns,
            name,
            {"app": app, "tier": "backend" if int(app[-2:]) % 2 else "frontend"},
            spec,
            None,
        )
        pod["status"] = self._status(restarts, True)
        return pod

    def _status(self, restarts: int, ready: bool) -> dict[str, Any]:
        flag = "True" if ready else "False"
        return {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": NOW},
                {
                    "type": "ContainersReady",
                    "status": flag,
                    "lastProbeTime": None,
                    "lastTransitionTime": NOW,
                },
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": NOW,
                },
            ],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": ready,
                    "restartCount": restarts,
                    "started": True,
                    "image": "registry.example.com/app:1.0.0",
                    "imageID": "",
                    "state": {"running": {"startedAt": NOW}},
                }
            ],
            "qosClass": "Burstable",
        }

    def _bootstrap(self) -> None:
        e = self.s.emit
        for i in range(self.n_ns):
            e(Create("namespaces", o.namespace(f"team-{i:02d}")))
        for i in range(self.n_nodes):
            name = self._node_name(i)
            e(
                Create(
                    "nodes",
                    o.node(name, f"10.1.{i // 250}.{i % 250 + 1}", f"zone-{i % 3}"),
                    manager="kubelet",
                )
            )
        for i in range(self.n_pods):
            pod = self._new_pod(i)
            self.pods.append(pod)
            e(Create("pods", self._pod_obj(*pod)))

    def _churn(self, batch: int) -> None:
        rng = self.s.rng
        e = self.s.emit
        for _ in range(batch):
            r = rng.random()
            if r < 0.7 and self.pods:
                i = rng.randrange(len(self.pods))
                ns, name, node, app, restarts = self.pods[i]
                ready = rng.random() < 0.8
                if not ready:
                    restarts += 1
                self.pods[i] = (ns, name, node, app, restarts)
                e(
                    Patch(
                        "pods",
                        ns,
                        name,
                        {"status": self._status(restarts, ready)},
                        manager="kubelet",
                    )
                )
            elif r < 0.9 and self.pods:
                i = rng.randrange(len(self.pods))
                ns, name, _node, _app, _ = self.pods[i]
                e(Delete("pods", ns, name, manager="kubelet"))
                pod = self._new_pod(rng.randrange(10**6))
                self.pods[i] = pod
                e(Create("pods", self._pod_obj(*pod)))
            else:
                node = self._node_name(rng.randrange(self.n_nodes))
                e(
                    Patch(
                        "nodes",
                        "",
                        node,
                        {"status": {"conditions": o.node_conditions(True)}},
                        manager="kubelet",
                    )
                )

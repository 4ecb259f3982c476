"""The simulated nodes: registration, Ready and NotReady (taints, the node controller's Events),
the kubelets' heartbeats and lease renewals, and where a new pod is placed."""

from __future__ import annotations

from typing import Any

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import NOW, Create, Patch, Script
from khronoscope.sim.scenarios.events import EventRecorder
from khronoscope.sim.scenarios.models import KCM, KUBELET, NodeModel, PodModel


class Nodes:
    """The cluster's nodes, by name, and what their kubelets and the node controller write."""

    def __init__(self, script: Script, events: EventRecorder) -> None:
        self.s = script
        self.rng = script.rng
        self.events = events
        self.by_name: dict[str, NodeModel] = {}

    def names(self) -> list[str]:
        """The nodes' names, in the order they were added."""
        return list(self.by_name)

    def get(self, name: str) -> NodeModel | None:
        """The node called `name`, if there is one."""
        return self.by_name.get(name)

    def add(self, name: str, ip: str, zone: str, role: str = "") -> None:
        """Create a Ready node."""
        self.by_name[name] = NodeModel(name, ip, role=role, since=self.s.now)
        self.s.emit(Create("nodes", o.node(name, ip, zone, role), manager=KUBELET))
        self.s.emit(Create("leases.coordination.k8s.io", o.node_lease(name), manager=KUBELET))
        self.events.record(
            "", "Node", name, "Starting", "Starting kubelet.", component=KUBELET, host=name
        )
        self.events.record(
            "",
            "Node",
            name,
            "RegisteredNode",
            f"Node {name} event: Registered Node {name} in Controller",
            component="node-controller",
        )

    def set_ready(self, name: str, ready: bool) -> None:
        """A node stops (or resumes) posting status: its conditions, taints and Event (its pods
        are the world's to update: see `World.set_node_ready`)."""
        node = self.by_name[name]
        node.ready = ready
        node.since = self.s.now
        taints: list[dict[str, Any]] | None = None
        if not ready:
            taints = [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": NOW},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": NOW},
            ]
        self.s.emit(
            Patch(
                "nodes",
                "",
                name,
                {"spec": {"taints": taints}, "status": {"conditions": o.node_conditions(ready)}},
                manager=KCM if not ready else KUBELET,
            )
        )
        if ready:
            self.events.record(
                "", "Node", name, "NodeReady", f"Node {name} status is now: NodeReady", host=name
            )
        else:
            self.events.record(
                "",
                "Node",
                name,
                "NodeNotReady",
                f"Node {name} status is now: NodeNotReady",
                component="node-controller",
            )

    def warn_pod_not_ready(self, pod: PodModel) -> None:
        """The node controller's Warning on a pod whose node stopped answering."""
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "NodeNotReady",
            "Node is not ready",
            "Warning",
            component="node-controller",
        )

    def heartbeat(self, name: str) -> None:
        """A kubelet's periodic status update (heartbeat times move)."""
        node = self.by_name[name]
        if not node.ready:
            return
        conds = o.node_conditions(True)
        for c in conds:
            c["lastTransitionTime"] = o.at(node.since)
        self.s.emit(Patch("nodes", "", name, {"status": {"conditions": conds}}, manager=KUBELET))

    def renew_lease(self, name: str) -> None:
        """A kubelet renews its node lease (every 10 s in a real cluster) while it is up."""
        if self.by_name[name].ready:
            self.s.emit(
                Patch(
                    "leases.coordination.k8s.io",
                    "kube-node-lease",
                    name,
                    {"spec": {"renewTime": NOW}},
                    manager=KUBELET,
                )
            )

    def pick(self) -> NodeModel:
        """A ready worker node, chosen at random (the scheduler's choice)."""
        workers = [n for n in self.by_name.values() if n.ready and n.role != "control-plane"]
        return self.rng.choice(workers or list(self.by_name.values()))

    def pod_ip(self, node: NodeModel) -> str:
        """The next pod IP on a node."""
        ip = f"10.244.{node.ip.split('.')[-1]}.{node.next_ip}"
        node.next_ip = node.next_ip % 250 + 1
        return ip

"""A small model of a cluster's controllers and kubelets, emitting the ops a real one would cause.

`World` wires the parts a scenario drives and passes changes between them: the nodes
(`nodes.py`), the kubelet playing each pod's life (`kubelet.py`, with the status it writes in
`podstatus.py` and the apps' log text in `applogs.py`), the deployment and endpoints controllers
(`controllers.py`) and the Events they all write (`events.py`), over the plain records of
`models.py`. Everything is driven by the `Script`'s seeded RNG and clock.
"""

from __future__ import annotations

from khronoscope.sim.scenarios.base import Action, Script
from khronoscope.sim.scenarios.controllers import DeploymentController, EndpointsController
from khronoscope.sim.scenarios.events import EventRecorder
from khronoscope.sim.scenarios.kubelet import Kubelet
from khronoscope.sim.scenarios.models import PodModel, Traffic
from khronoscope.sim.scenarios.nodes import Nodes


class World:
    """The simulated cluster's parts, wired: a pod's change reaches its controllers and endpoints,
    a node's readiness reaches its pods."""

    def __init__(self, script: Script) -> None:
        self.s = script
        self.rng = script.rng
        self.traffic = Traffic()
        self.events = EventRecorder(script)
        self.nodes = Nodes(script, self.events)
        self.kubelet = Kubelet(script, self.events, self.nodes, self.traffic, self.pod_changed)
        self.deployments = DeploymentController(script, self.events, self.kubelet)
        self.endpoints = EndpointsController(script, self.kubelet.pods)

    def emit(self, action: Action) -> None:
        """Emit an op now."""
        self.s.emit(action)

    def pod_changed(self, pod: PodModel) -> None:
        """Propagate a pod change to its owners' statuses, rollouts and endpoints."""
        self.deployments.pod_changed(pod)
        self.endpoints.sync(pod.ns)

    def set_node_ready(self, name: str, ready: bool) -> None:
        """A node stops (or resumes) posting status: its conditions and Events, then its pods'
        readiness, and whatever follows from that."""
        self.nodes.set_ready(name, ready)
        # a snapshot: a pod's change may start new pods (a rollout step) while we go
        for pod in list(self.kubelet.pods.values()):
            if pod.node == name and not pod.gone:
                pod.node_ready = ready
                if not ready:
                    self.nodes.warn_pod_not_ready(pod)
                self.kubelet.patch_pod_status(pod)
                self.pod_changed(pod)

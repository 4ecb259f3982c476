"""The simulated kubelet: a pod's life on its node.

A pod is created and scheduled, pulls its images and runs its containers (Events, start-up log
lines); it becomes Ready, or crashes and loops through Error and CrashLoopBackOff with a growing
back-off, or completes (jobs); it is deleted gracefully. Meanwhile its containers write log lines
and the pods' usage is sampled. Every change of a pod is reported to `on_change`, which the world
passes on to the pod's controllers and the endpoints.
"""

from __future__ import annotations

from collections.abc import Callable

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.applogs import AppLogs
from khronoscope.sim.scenarios.base import (
    NOW,
    Create,
    Delete,
    Log,
    Patch,
    PodUsage,
    RestartLog,
    Script,
)
from khronoscope.sim.scenarios.events import EventRecorder
from khronoscope.sim.scenarios.models import KCM, KUBELET, ContainerModel, PodModel, Traffic
from khronoscope.sim.scenarios.nodes import Nodes
from khronoscope.sim.scenarios.podstatus import pod_status


class Kubelet:
    """The pods, by (namespace, name), and what the kubelets (and scheduler) write about them."""

    def __init__(
        self,
        script: Script,
        events: EventRecorder,
        nodes: Nodes,
        traffic: Traffic,
        on_change: Callable[[PodModel], None],
    ) -> None:
        self.s = script
        self.rng = script.rng
        self.events = events
        self.nodes = nodes
        self.traffic = traffic
        self.logs = AppLogs(script.rng, traffic)
        self.on_change = on_change
        self.pods: dict[tuple[str, str], PodModel] = {}

    def start_pod(self, pod: PodModel) -> None:
        """Create a pod and play its start-up: scheduling, image pull, containers running."""
        pod.created_at = self.s.now
        pod.containers = [ContainerModel(c["name"], c["image"]) for c in pod.spec["containers"]]
        self.pods[(pod.ns, pod.name)] = pod
        owner_ref = pod.owner_ref
        if pod.owner is not None:
            owner_ref = o.owner("ReplicaSet", pod.owner.name, pod.ns)
        self.s.emit(
            Create("pods", o.pod(pod.ns, pod.name, pod.labels, pod.spec, owner_ref), manager=KCM)
        )
        self.s.after(self.rng.uniform(0.05, 0.4), self._schedule, pod)

    def _schedule(self, pod: PodModel) -> None:
        if pod.gone:
            return
        node = self.nodes.get(pod.node)
        if node is None:
            node = self.nodes.pick()
        pod.node = node.name
        pod.ip = self.nodes.pod_ip(node)
        pod.scheduled_at = self.s.now
        pod.node_ready = node.ready
        self.s.emit(
            Patch(
                "pods",
                pod.ns,
                pod.name,
                {"spec": {"nodeName": node.name}},
                manager="kube-scheduler",
            )
        )
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "Scheduled",
            f"Successfully assigned {pod.ns}/{pod.name} to {node.name}",
            component="default-scheduler",
        )
        self.patch_pod_status(pod)
        self.s.after(self.rng.uniform(0.4, 1.5), self._pull, pod)

    def _pull(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        for c in pod.containers:
            path = f"spec.containers{{{c.name}}}"
            self.events.record(
                pod.ns,
                "Pod",
                pod.name,
                "Pulling",
                f'Pulling image "{c.image}"',
                host=pod.node,
                field_path=path,
            )
        self.patch_pod_status(pod)
        self.s.after(self.rng.uniform(0.5, 2.5), self._run, pod)

    def _run(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        for c in pod.containers:
            path = f"spec.containers{{{c.name}}}"
            ms = self.rng.randint(300, 4000)
            self.events.record(
                pod.ns,
                "Pod",
                pod.name,
                "Pulled",
                f'Successfully pulled image "{c.image}" in {ms}ms ({ms}ms including waiting)',
                host=pod.node,
                field_path=path,
            )
            self.events.record(
                pod.ns,
                "Pod",
                pod.name,
                "Created",
                f"Created container {c.name}",
                host=pod.node,
                field_path=path,
                dedupe=True,
            )
            self.events.record(
                pod.ns,
                "Pod",
                pod.name,
                "Started",
                f"Started container {c.name}",
                host=pod.node,
                field_path=path,
                dedupe=True,
            )
            self._container_start(pod, c)
        pod.phase = "Running"
        if pod.behavior == "job":
            # no readiness probe: the kubelet reports a started container ready at once, so a
            # running Job pod is 1/1 Running (and 0/1 Completed once it has succeeded)
            for c in pod.containers:
                c.ready = True
            pod.ready_since = self.s.now
        self.patch_pod_status(pod)
        if pod.behavior == "ok":
            self.s.after(self.rng.uniform(1.0, 4.0), self._become_ready, pod)
        elif pod.behavior == "crash":
            self.s.after(self.rng.uniform(1.5, 3.0), self._crash, pod)
        elif pod.behavior == "job":
            self.s.after(self.rng.uniform(3.0, 8.0), self._complete, pod)

    def _container_start(self, pod: PodModel, c: ContainerModel) -> None:
        c.state, c.reason, c.started_at = "running", "", self.s.now
        for line in self.logs.startup_lines(pod, c):
            self.s.emit(Log(pod.ns, pod.name, c.name, line))
        self.s.after(
            self.rng.uniform(0.2, pod.profile.log_period), self._log_tick, pod, c, c.restarts
        )

    def _become_ready(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting or pod.phase != "Running":
            return
        for c in pod.containers:
            c.ready = c.state == "running"
        pod.ready_since = self.s.now
        self.patch_pod_status(pod)
        self.on_change(pod)

    def _crash(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        c = pod.containers[0]
        for line in self.logs.crash_lines(pod, c):
            self.s.emit(Log(pod.ns, pod.name, c.name, line))
        c.last_terminated = (c.started_at, self.s.now, 1, "Error")
        c.state, c.reason, c.ready = "terminated", "Error", False
        self.patch_pod_status(pod)
        backoff = min(300.0, 10.0 * (2**c.restarts))
        self.s.after(self.rng.uniform(0.3, 1.0), self._backoff, pod, c, backoff)

    def _backoff(self, pod: PodModel, c: ContainerModel, backoff: float) -> None:
        if pod.gone or pod.deleting:
            return
        c.restarts += 1
        c.state, c.reason = "waiting", "CrashLoopBackOff"
        self.patch_pod_status(pod)
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "BackOff",
            f"Back-off restarting failed container {c.name} in pod "
            f"{pod.name}_{pod.ns}({pod.name[-5:]})",
            "Warning",
            host=pod.node,
            field_path=f"spec.containers{{{c.name}}}",
            dedupe=True,
        )
        self.on_change(pod)
        self.s.after(backoff, self._restart, pod, c)

    def _restart(self, pod: PodModel, c: ContainerModel) -> None:
        if pod.gone or pod.deleting:
            return
        path = f"spec.containers{{{c.name}}}"
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "Pulled",
            f'Container image "{c.image}" already present on machine',
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "Created",
            f"Created container {c.name}",
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.events.record(
            pod.ns,
            "Pod",
            pod.name,
            "Started",
            f"Started container {c.name}",
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.s.emit(RestartLog(pod.ns, pod.name, c.name))
        self._container_start(pod, c)
        self.patch_pod_status(pod)
        self.s.after(self.rng.uniform(1.5, 3.0), self._crash, pod)

    def _complete(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        for c in pod.containers:
            self.s.emit(
                Log(
                    pod.ns,
                    pod.name,
                    c.name,
                    f"report: done rows={self.rng.randint(800, 5000)} duration=4.2s",
                )
            )
            c.last_terminated = None
            c.state, c.reason, c.ready = "terminated", "Completed", False
        pod.phase = "Succeeded"
        self.patch_pod_status(pod)
        if pod.on_done:
            pod.on_done(pod)

    def delete_pod(self, pod: PodModel, reason_event: bool = True) -> None:
        """Gracefully delete a pod: Terminating, containers stop, then gone."""
        if pod.deleting or pod.gone:
            return
        pod.deleting = True
        self.s.emit(
            Patch(
                "pods",
                pod.ns,
                pod.name,
                {"metadata": {"deletionTimestamp": NOW, "deletionGracePeriodSeconds": 30}},
                manager=KCM,
            )
        )
        if reason_event and pod.node:
            for c in pod.containers:
                self.events.record(
                    pod.ns,
                    "Pod",
                    pod.name,
                    "Killing",
                    f"Stopping container {c.name}",
                    host=pod.node,
                    field_path=f"spec.containers{{{c.name}}}",
                )
        self.on_change(pod)
        self.s.after(self.rng.uniform(0.5, 2.5), self._gone, pod)

    def _gone(self, pod: PodModel) -> None:
        pod.gone = True
        self.s.emit(Delete("pods", pod.ns, pod.name, manager=KUBELET))
        self.pods.pop((pod.ns, pod.name), None)
        self.on_change(pod)

    def patch_pod_status(self, pod: PodModel) -> None:
        """Emit the pod's status as the kubelet would write it now."""
        self.s.emit(
            Patch(
                "pods",
                pod.ns,
                pod.name,
                {"status": pod_status(pod, self.nodes.get(pod.node), self.s.now)},
                manager=KUBELET,
            )
        )

    def _log_tick(self, pod: PodModel, c: ContainerModel, instance: int) -> None:
        if pod.gone or c.state != "running" or c.restarts != instance:
            return
        self.s.emit(Log(pod.ns, pod.name, c.name, self.logs.log_line(pod, c)))
        period = pod.profile.log_period / max(0.5, self.traffic.load.get(pod.profile.kind, 1.0))
        self.s.after(self.rng.expovariate(1.0 / period), self._log_tick, pod, c, instance)

    def sample_metrics(self) -> None:
        """Emit a usage sample for every running pod (metrics-server scrapes every 15 s)."""
        for pod in self.pods.values():
            if pod.phase != "Running" or pod.gone or pod.deleting:
                continue
            prof = pod.profile
            load = self.traffic.load.get(prof.kind, 1.0)
            samples = []
            for c in pod.containers:
                if c.state != "running":
                    continue
                cpu = prof.cpu_m * load * self.rng.uniform(0.85, 1.15)
                mem = prof.mem_mi * (1 + 0.25 * (load - 1)) * self.rng.uniform(0.97, 1.03)
                samples.append((c.name, int(cpu * 1_000_000), int(mem * 2**20)))
            if samples:
                self.s.emit(PodUsage(pod.ns, pod.name, tuple(samples)))

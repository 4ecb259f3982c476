"""A small model of a cluster's controllers and kubelets, emitting the ops a real one would cause.

`World` keeps deployments, replica sets, pods, services and nodes as Python records and turns
their life into scenario ops: a pod goes Pending -> scheduled -> ContainerCreating -> Running,
with the Events, log lines and usage samples along the way; a crashing container loops through
Error and CrashLoopBackOff with growing back-off; deployments roll out new replica sets and
their statuses follow the pods. Everything is driven by the `Script`'s seeded RNG and clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from khronoscope.sim.scenarios import objects as o
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

KCM = "kube-controller-manager"
KUBELET = "kubelet"


def at(t: float) -> str:
    """A timestamp placeholder: the wall-clock time at which scenario offset `t` was applied."""
    return f"<at:{t:.3f}>"


@dataclass
class AppProfile:
    """How an application's containers behave: log lines and resource usage."""

    kind: str  # web, api, checkout, payments, redis, coredns, generic, job
    cpu_m: float = 20.0  # typical CPU in millicores
    mem_mi: float = 80.0  # typical memory in MiB
    log_period: float = 3.0  # seconds between log lines on average


@dataclass
class ContainerModel:
    """One container of a pod."""

    name: str
    image: str
    restarts: int = 0
    state: str = "waiting"  # waiting, running, terminated
    reason: str = "ContainerCreating"
    started_at: float = 0.0
    last_terminated: tuple[float, float, int, str] | None = None  # started, finished, code, reason
    ready: bool = False


@dataclass
class PodModel:
    """One pod and what its containers do."""

    ns: str
    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    profile: AppProfile
    behavior: str = "ok"  # ok, crash, job
    owner: ReplicaSetModel | None = None
    node: str = ""
    ip: str = ""
    phase: str = "Pending"
    containers: list[ContainerModel] = field(default_factory=list)
    created_at: float = 0.0
    scheduled_at: float = 0.0
    ready_since: float = 0.0
    # readiness as last written, and when it last flipped: a condition's lastTransitionTime
    # moves only when its status does, as the kubelet writes it
    ready_written: bool | None = None
    ready_flipped_at: float = 0.0
    deleting: bool = False
    gone: bool = False
    node_ready: bool = True
    on_done: Callable[[PodModel], None] | None = None
    owner_ref: dict[str, Any] | None = None  # for pods of jobs, stateful sets, daemon sets

    @property
    def ready(self) -> bool:
        """True when every container is ready and its node answers."""
        return (
            self.phase == "Running"
            and self.node_ready
            and not self.deleting
            and all(c.ready for c in self.containers)
        )


@dataclass
class ReplicaSetModel:
    """A replica set of a deployment."""

    ns: str
    name: str
    deploy: DeploymentModel
    pod_hash: str
    revision: int
    template: dict[str, Any]
    behavior: str
    image: str
    replicas: int = 0
    pods: list[PodModel] = field(default_factory=list)
    last_status: dict[str, Any] = field(default_factory=dict)

    def live(self) -> list[PodModel]:
        """Pods not being deleted."""
        return [p for p in self.pods if not p.deleting and not p.gone]


@dataclass
class DeploymentModel:
    """A deployment and its replica sets (current last)."""

    ns: str
    name: str
    labels: dict[str, str]
    replicas: int
    profile: AppProfile
    port: int | None
    service: str | None
    sets: list[ReplicaSetModel] = field(default_factory=list)
    revision: int = 1
    generation: int = 1
    last_status: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, tuple[str, str, str, float]] = field(default_factory=dict)
    containers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> ReplicaSetModel:
        """The replica set of the current template."""
        return self.sets[-1]


@dataclass
class NodeModel:
    """A node."""

    name: str
    ip: str
    ready: bool = True
    next_ip: int = 2
    role: str = ""
    since: float = 0.0  # when Ready last changed


class World:
    """Drives the model and emits ops on a Script."""

    def __init__(self, script: Script) -> None:
        self.s = script
        self.rng = script.rng
        self.nodes: dict[str, NodeModel] = {}
        self.deployments: dict[tuple[str, str], DeploymentModel] = {}
        self.pods: dict[tuple[str, str], PodModel] = {}
        self.services: dict[tuple[str, str], tuple[dict[str, str], int]] = {}
        self.endpoints_state: dict[tuple[str, str], Any] = {}
        self.events: dict[tuple[str, str, str], tuple[str, int, float]] = {}
        self.event_seen: dict[tuple[str, str], float] = {}  # (ns, event name) -> last time
        self.event_ttl = 3600.0  # the apiserver's --event-ttl: events go an hour after last seen
        self.load: dict[str, float] = {}  # app -> load multiplier (1.0 normal)
        self.error_rate: dict[str, float] = {}  # app -> share of log lines that are errors

    # ---- helpers -------------------------------------------------------------------------

    def emit(self, action: Any) -> None:
        """Emit an op now."""
        self.s.emit(action)

    def event(
        self,
        ns: str,
        kind: str,
        name: str,
        reason: str,
        message: str,
        etype: str = "Normal",
        component: str = KUBELET,
        host: str = "",
        api_version: str = "v1",
        field_path: str = "",
        dedupe: bool = False,
    ) -> None:
        """Record an Event about an object (counted and patched when `dedupe` and seen before)."""
        key = (ns, f"{kind}/{name}", reason + (field_path if dedupe else message))
        if dedupe and key in self.events:
            ev_name, count, first = self.events[key]
            count += 1
            self.events[key] = (ev_name, count, first)
            self.event_seen[(ns or "default", ev_name)] = self.s.now
            self.emit(
                Patch(
                    "events",
                    ns or "default",
                    ev_name,
                    {"count": count, "lastTimestamp": NOW, "message": message},
                    manager=component,
                )
            )
            return
        ev_name = f"{name}.{self.rng.getrandbits(64):016x}"
        involved: dict[str, Any] = {
            "kind": kind,
            "namespace": ns,
            "name": name,
            "uid": o.kind_uid(ns, kind, name),
            "apiVersion": api_version,
        }
        if not ns:
            del involved["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        self.emit(
            Create(
                "events",
                o.event(ns, ev_name, involved, reason, message, etype, component, host),
                manager=component,
            )
        )
        self.event_seen[(ns or "default", ev_name)] = self.s.now
        if dedupe:
            self.events[key] = (ev_name, 1, self.s.now)

    def expire_events(self) -> None:
        """Delete the events not seen for `event_ttl` seconds (the apiserver's event TTL)."""
        horizon = self.s.now - self.event_ttl
        for (ns, name), seen in list(self.event_seen.items()):
            if seen < horizon:
                del self.event_seen[(ns, name)]
                self.emit(Delete("events", ns, name, manager="kube-apiserver"))
        for key, (name, _, _) in list(self.events.items()):
            if (key[0] or "default", name) not in self.event_seen:
                del self.events[key]

    def pick_node(self) -> NodeModel:
        """A ready worker node, chosen at random."""
        workers = [n for n in self.nodes.values() if n.ready and n.role != "control-plane"]
        return self.rng.choice(workers or list(self.nodes.values()))

    def pod_ip(self, node: NodeModel) -> str:
        """The next pod IP on a node."""
        ip = f"10.244.{node.ip.split('.')[-1]}.{node.next_ip}"
        node.next_ip = node.next_ip % 250 + 1
        return ip

    # ---- nodes ---------------------------------------------------------------------------

    def add_node(self, name: str, ip: str, zone: str, role: str = "") -> None:
        """Create a Ready node."""
        self.nodes[name] = NodeModel(name, ip, role=role, since=self.s.now)
        self.emit(Create("nodes", o.node(name, ip, zone, role), manager=KUBELET))
        self.emit(Create("leases.coordination.k8s.io", o.node_lease(name), manager=KUBELET))
        self.event("", "Node", name, "Starting", "Starting kubelet.", component=KUBELET, host=name)
        self.event(
            "",
            "Node",
            name,
            "RegisteredNode",
            f"Node {name} event: Registered Node {name} in Controller",
            component="node-controller",
        )

    def set_node_ready(self, name: str, ready: bool) -> None:
        """A node stops (or resumes) posting status: conditions, taints, pods' readiness, events."""
        node = self.nodes[name]
        node.ready = ready
        node.since = self.s.now
        taints: list[dict[str, Any]] | None = None
        if not ready:
            taints = [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": NOW},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": NOW},
            ]
        self.emit(
            Patch(
                "nodes",
                "",
                name,
                {"spec": {"taints": taints}, "status": {"conditions": o.node_conditions(ready)}},
                manager=KCM if not ready else KUBELET,
            )
        )
        if ready:
            self.event(
                "", "Node", name, "NodeReady", f"Node {name} status is now: NodeReady", host=name
            )
        else:
            self.event(
                "",
                "Node",
                name,
                "NodeNotReady",
                f"Node {name} status is now: NodeNotReady",
                component="node-controller",
            )
        for pod in list(self.pods.values()):
            if pod.node == name and not pod.gone:
                pod.node_ready = ready
                if not ready:
                    self.event(
                        pod.ns,
                        "Pod",
                        pod.name,
                        "NodeNotReady",
                        "Node is not ready",
                        "Warning",
                        component="node-controller",
                    )
                self.patch_pod_status(pod)
                self.pod_changed(pod)

    def heartbeat(self, name: str) -> None:
        """A kubelet's periodic status update (heartbeat times move)."""
        node = self.nodes[name]
        if not node.ready:
            return
        conds = o.node_conditions(True)
        for c in conds:
            c["lastTransitionTime"] = at(node.since)
        self.emit(Patch("nodes", "", name, {"status": {"conditions": conds}}, manager=KUBELET))

    def renew_lease(self, name: str) -> None:
        """A kubelet renews its node lease (every 10 s in a real cluster) while it is up."""
        if self.nodes[name].ready:
            self.emit(
                Patch(
                    "leases.coordination.k8s.io",
                    "kube-node-lease",
                    name,
                    {"spec": {"renewTime": NOW}},
                    manager=KUBELET,
                )
            )

    # ---- pods ----------------------------------------------------------------------------

    def start_pod(self, pod: PodModel) -> None:
        """Create a pod and play its start-up: scheduling, image pull, containers running."""
        pod.created_at = self.s.now
        pod.containers = [ContainerModel(c["name"], c["image"]) for c in pod.spec["containers"]]
        self.pods[(pod.ns, pod.name)] = pod
        owner_ref = pod.owner_ref
        if pod.owner is not None:
            owner_ref = o.owner("ReplicaSet", pod.owner.name, pod.ns)
        self.emit(
            Create("pods", o.pod(pod.ns, pod.name, pod.labels, pod.spec, owner_ref), manager=KCM)
        )
        self.s.after(self.rng.uniform(0.05, 0.4), self._schedule, pod)

    def _schedule(self, pod: PodModel) -> None:
        if pod.gone:
            return
        node = self.nodes[pod.node] if pod.node in self.nodes else self.pick_node()
        pod.node = node.name
        pod.ip = self.pod_ip(node)
        pod.scheduled_at = self.s.now
        pod.node_ready = node.ready
        self.emit(
            Patch(
                "pods",
                pod.ns,
                pod.name,
                {"spec": {"nodeName": node.name}},
                manager="kube-scheduler",
            )
        )
        self.event(
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
            self.event(
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
            self.event(
                pod.ns,
                "Pod",
                pod.name,
                "Pulled",
                f'Successfully pulled image "{c.image}" in {ms}ms ({ms}ms including waiting)',
                host=pod.node,
                field_path=path,
            )
            self.event(
                pod.ns,
                "Pod",
                pod.name,
                "Created",
                f"Created container {c.name}",
                host=pod.node,
                field_path=path,
                dedupe=True,
            )
            self.event(
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
        self.patch_pod_status(pod)
        if pod.behavior == "ok":
            self.s.after(self.rng.uniform(1.0, 4.0), self._become_ready, pod)
        elif pod.behavior == "crash":
            self.s.after(self.rng.uniform(1.5, 3.0), self._crash, pod)
        elif pod.behavior == "job":
            self.s.after(self.rng.uniform(3.0, 8.0), self._complete, pod)

    def _container_start(self, pod: PodModel, c: ContainerModel) -> None:
        c.state, c.reason, c.started_at = "running", "", self.s.now
        for line in self.startup_lines(pod, c):
            self.emit(Log(pod.ns, pod.name, c.name, line))
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
        self.pod_changed(pod)

    def _crash(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        c = pod.containers[0]
        for line in self.crash_lines(pod, c):
            self.emit(Log(pod.ns, pod.name, c.name, line))
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
        self.event(
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
        self.pod_changed(pod)
        self.s.after(backoff, self._restart, pod, c)

    def _restart(self, pod: PodModel, c: ContainerModel) -> None:
        if pod.gone or pod.deleting:
            return
        path = f"spec.containers{{{c.name}}}"
        self.event(
            pod.ns,
            "Pod",
            pod.name,
            "Pulled",
            f'Container image "{c.image}" already present on machine',
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.event(
            pod.ns,
            "Pod",
            pod.name,
            "Created",
            f"Created container {c.name}",
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.event(
            pod.ns,
            "Pod",
            pod.name,
            "Started",
            f"Started container {c.name}",
            host=pod.node,
            field_path=path,
            dedupe=True,
        )
        self.emit(RestartLog(pod.ns, pod.name, c.name))
        self._container_start(pod, c)
        self.patch_pod_status(pod)
        self.s.after(self.rng.uniform(1.5, 3.0), self._crash, pod)

    def _complete(self, pod: PodModel) -> None:
        if pod.gone or pod.deleting:
            return
        for c in pod.containers:
            self.emit(
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
        self.emit(
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
                self.event(
                    pod.ns,
                    "Pod",
                    pod.name,
                    "Killing",
                    f"Stopping container {c.name}",
                    host=pod.node,
                    field_path=f"spec.containers{{{c.name}}}",
                )
        self.pod_changed(pod)
        self.s.after(self.rng.uniform(0.5, 2.5), self._gone, pod)

    def _gone(self, pod: PodModel) -> None:
        pod.gone = True
        self.emit(Delete("pods", pod.ns, pod.name, manager=KUBELET))
        self.pods.pop((pod.ns, pod.name), None)
        self.pod_changed(pod)

    def patch_pod_status(self, pod: PodModel) -> None:
        """Emit the pod's status as the kubelet would write it now."""
        self.emit(
            Patch("pods", pod.ns, pod.name, {"status": self.pod_status(pod)}, manager=KUBELET)
        )

    def pod_status(self, pod: PodModel) -> dict[str, Any]:
        """The status block of a pod from the model."""
        sched = at(pod.scheduled_at) if pod.node else NOW
        conds: list[dict[str, Any]] = []
        if pod.node:
            started = pod.phase != "Pending" or any(c.state != "waiting" for c in pod.containers)
            ready = pod.ready
            if ready != pod.ready_written:
                pod.ready_written = ready
                pod.ready_flipped_at = (pod.ready_since or self.s.now) if ready else self.s.now
            ready_time = at(pod.ready_flipped_at)
            conds = [
                {
                    "type": "PodReadyToStartContainers",
                    "status": "True" if started else "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": sched,
                },
                {
                    "type": "Initialized",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": sched,
                },
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": ready_time,
                },
                {
                    "type": "ContainersReady",
                    "status": "True" if ready else "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": ready_time,
                },
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": sched,
                },
            ]
            if not ready:
                waiting = [c.name for c in pod.containers if not c.ready]
                for cond in conds[2:4]:
                    if pod.phase == "Succeeded":
                        cond["reason"] = "PodCompleted"
                    else:
                        cond["reason"] = "ContainersNotReady"
                        cond["message"] = f"containers with unready status: [{' '.join(waiting)}]"
        else:
            conds = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": NOW,
                }
            ]
        status: dict[str, Any] = {"phase": pod.phase, "conditions": conds, "qosClass": "Burstable"}
        if pod.node:
            node = self.nodes.get(pod.node)
            status["hostIP"] = node.ip if node else ""
            status["startTime"] = sched
            if pod.phase != "Pending" or any(c.state != "waiting" for c in pod.containers):
                status["podIP"] = pod.ip
                status["podIPs"] = [{"ip": pod.ip}]
            statuses = []
            for c in pod.containers:
                cs: dict[str, Any] = {
                    "name": c.name,
                    "image": c.image,
                    "imageID": "",
                    "ready": c.ready and pod.node_ready,
                    "restartCount": c.restarts,
                    "started": c.state == "running",
                }
                if c.state == "running":
                    cs["state"] = {"running": {"startedAt": at(c.started_at)}}
                    cs["imageID"] = (
                        f"docker.io/library/{c.image}@sha256:{o.short_hash(c.image, 16)}"
                    )
                    cs["containerID"] = (
                        f"containerd://{o.short_hash(pod.name + c.name + str(c.restarts), 32)}"
                    )
                elif c.state == "terminated":
                    code = 0 if c.reason == "Completed" else 1
                    cs["state"] = {
                        "terminated": {
                            "exitCode": code,
                            "reason": c.reason,
                            "startedAt": at(c.started_at),
                            "finishedAt": NOW,
                        }
                    }
                else:
                    cs["state"] = {"waiting": {"reason": c.reason}}
                    if c.reason == "CrashLoopBackOff":
                        cs["state"]["waiting"]["message"] = (
                            f"back-off {int(min(300, 10 * 2 ** (c.restarts - 1)))}s "
                            "restarting failed "
                            f"container={c.name} pod={pod.name}_{pod.ns}"
                        )
                if c.last_terminated is not None:
                    st, fin, code, reason = c.last_terminated
                    cs["lastState"] = {
                        "terminated": {
                            "exitCode": code,
                            "reason": reason,
                            "startedAt": at(st),
                            "finishedAt": at(fin),
                        }
                    }
                else:
                    cs["lastState"] = {}
                statuses.append(cs)
            status["containerStatuses"] = statuses
        return status

    def pod_changed(self, pod: PodModel) -> None:
        """Propagate a pod change to its owners' statuses, rollouts and endpoints."""
        if pod.owner is not None:
            rs = pod.owner
            self.sync_rs_status(rs)
            self.rollout_step(rs.deploy)
            self.sync_deploy_status(rs.deploy)
        self.sync_endpoints(pod.ns)

    # ---- logs and metrics ----------------------------------------------------------------

    def _log_tick(self, pod: PodModel, c: ContainerModel, instance: int) -> None:
        if pod.gone or c.state != "running" or c.restarts != instance:
            return
        self.emit(Log(pod.ns, pod.name, c.name, self.log_line(pod, c)))
        period = pod.profile.log_period / max(0.5, self.load.get(pod.profile.kind, 1.0))
        self.s.after(self.rng.expovariate(1.0 / period), self._log_tick, pod, c, instance)

    def startup_lines(self, pod: PodModel, c: ContainerModel) -> list[str]:
        """What a container prints when it starts."""
        kind = pod.profile.kind
        if kind == "web":
            return [
                "/docker-entrypoint.sh: Configuration complete; ready for start up",
                "nginx/1.25.4 start worker processes",
            ]
        if kind in ("api", "payments"):
            return [
                f'{{"level":"info","ts":"<now>","msg":"starting","version":"{c.image.split(":")[-1]}"}}',
                '{"level":"info","ts":"<now>","msg":"loaded configuration","source":"env"}',
                '{"level":"info","ts":"<now>","msg":"listening","addr":":8080"}',
            ]
        if kind == "checkout":
            return [
                "INFO  checkout starting (pid 1)",
                "INFO  connected to redis at redis.shop.svc:6379",
                "INFO  serving on :8080",
            ]
        if kind == "redis":
            return [
                "1:C <now> * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
                "1:M <now> * Ready to accept connections tcp",
            ]
        if kind == "coredns":
            return [".:53", "CoreDNS-1.11.1", "linux/amd64, go1.20.7, ae2bbc2"]
        if kind == "job":
            return ["report: starting daily revenue report"]
        return [f"{c.name}: started"]

    def crash_lines(self, pod: PodModel, c: ContainerModel) -> list[str]:
        """What a crashing container prints before it dies."""
        return [
            '{"level":"info","ts":"<now>","msg":"loaded configuration",'
            '"source":"configmap/api-config"}',
            '{"level":"error","ts":"<now>","msg":"feature new_pricing enabled but '
            'PRICING_SERVICE_URL is not set","config":"api-config"}',
            '{"level":"fatal","ts":"<now>","msg":"invalid configuration, exiting","exitCode":1}',
            "panic: invalid configuration: PRICING_SERVICE_URL is required when "
            "FEATURE_NEW_PRICING=true",
            "",
            "goroutine 1 [running]:",
            "main.mustLoadConfig(...)",
            "\t/src/cmd/api/main.go:87 +0x1d4",
            "main.main()",
            "\t/src/cmd/api/main.go:41 +0x65",
        ]

    def log_line(self, pod: PodModel, c: ContainerModel) -> str:
        """One ordinary log line of a running container (an error at the app's error rate)."""
        r = self.rng
        kind = pod.profile.kind
        err = r.random() < self.error_rate.get(kind, 0.0)
        if kind == "web":
            path = r.choice(
                ["/", "/products", f"/products/{r.randint(1, 500)}", "/cart", "/static/app.js"]
            )
            code = r.choice([502, 504]) if err else r.choice([200, 200, 200, 304])
            return (
                f'10.244.0.{r.randint(2, 250)} - - [<now>] "GET {path} HTTP/1.1" {code} '
                f"{r.randint(200, 9000)} "
                f'"-" "Mozilla/5.0"'
            )
        if kind == "api":
            if err:
                return (
                    '{"level":"error","ts":"<now>","msg":"request failed","path":"/v1/prices",'
                    '"error":"db: connection pool exhausted (size=5)"}'
                )
            path = r.choice(["/v1/prices", "/v1/products", "/v1/cart", "/healthz"])
            return (
                '{"level":"info","ts":"<now>","msg":"request completed","method":"GET",'
                f'"path":"{path}",'
                f'"status":200,"duration_ms":{r.randint(2, 60)}}}'
            )
        if kind == "checkout":
            if err:
                return r.choice(
                    [
                        "WARN  upstream api.shop.svc returned 503, retrying "
                        f"(attempt {r.randint(1, 3)}/3)",
                        "ERROR payment authorization timed out after 5000ms",
                        "ERROR order failed: upstream api unavailable",
                    ]
                )
            total = f"{r.randint(5, 300)}.{r.randint(0, 99):02d}"
            return f"INFO  order {r.randint(10000, 99999)} placed total={total} USD"
        if kind == "payments":
            if err:
                return '{"level":"warn","ts":"<now>","msg":"card network slow","latency_ms":2300}'
            return (
                '{"level":"info","ts":"<now>","msg":"authorized payment",'
                f'"id":"pay_{r.getrandbits(40):010x}",'
                f'"amount":{r.randint(5, 300)}}}'
            )
        if kind == "redis":
            return r.choice(
                [
                    "1:M <now> * 100 changes in 300 seconds. Saving...",
                    "1:M <now> * Background saving started by pid 42",
                    "42:C <now> * DB saved on disk",
                    "1:M <now> * Background saving terminated with success",
                ]
            )
        if kind == "coredns":
            name = r.choice(
                [
                    "api.shop.svc.cluster.local.",
                    "redis.shop.svc.cluster.local.",
                    "payments-api.payments.svc.cluster.local.",
                ]
            )
            return (
                f"[INFO] 10.244.{r.randint(1, 3)}.{r.randint(2, 250)}:{r.randint(30000, 60000)} - "
                f'{r.randint(1, 65535)} "A IN {name} udp 52 false 512" NOERROR qr,aa,rd 106 '
                f"0.000{r.randint(1, 999)}s"
            )
        if kind == "job":
            return f"report: processed batch {r.randint(1, 40)}"
        return f"{c.name}: tick {r.randint(1, 10**6)}"

    def sample_metrics(self) -> None:
        """Emit a usage sample for every running pod (metrics-server scrapes every 15 s)."""
        for pod in self.pods.values():
            if pod.phase != "Running" or pod.gone or pod.deleting:
                continue
            prof = pod.profile
            load = self.load.get(prof.kind, 1.0)
            samples = []
            for c in pod.containers:
                if c.state != "running":
                    continue
                cpu = prof.cpu_m * load * self.rng.uniform(0.85, 1.15)
                mem = prof.mem_mi * (1 + 0.25 * (load - 1)) * self.rng.uniform(0.97, 1.03)
                samples.append((c.name, int(cpu * 1_000_000), int(mem * 2**20)))
            if samples:
                self.emit(PodUsage(pod.ns, pod.name, tuple(samples)))

    # ---- deployments ---------------------------------------------------------------------

    def add_deployment(
        self,
        ns: str,
        name: str,
        containers: list[dict[str, Any]],
        replicas: int,
        profile: AppProfile,
        port: int | None = None,
        service: str | None = None,
        behavior: str = "ok",
    ) -> DeploymentModel:
        """Create a deployment, its first replica set and pods."""
        labels = {"app": name}
        d = DeploymentModel(
            ns, name, labels, replicas, profile, port, service, containers=containers
        )
        self.deployments[(ns, name)] = d
        template = o.pod_template(labels, containers)
        self.emit(
            Create(
                "deployments.apps",
                o.deployment(ns, name, labels, replicas, template),
                manager="kubectl-create",
            )
        )
        self._new_rs(d, template, behavior, containers[0]["image"])
        self.rollout_step(d)
        self.sync_deploy_status(d)
        return d

    def _new_rs(
        self, d: DeploymentModel, template: dict[str, Any], behavior: str, image: str
    ) -> ReplicaSetModel:
        pod_hash = o.short_hash(f"{d.ns}/{d.name}/{image}/{d.revision}", 10)
        rs = ReplicaSetModel(
            d.ns, f"{d.name}-{pod_hash}", d, pod_hash, d.revision, template, behavior, image
        )
        d.sets.append(rs)
        self.emit(
            Create(
                "replicasets.apps",
                o.replicaset(d.ns, rs.name, d.name, pod_hash, d.labels, 0, template, d.revision),
            )
        )
        return rs

    def scale_rs(self, rs: ReplicaSetModel, replicas: int) -> None:
        """Set a replica set's size: pods are created or deleted, with the controllers' events."""
        if replicas == rs.replicas:
            return
        d = rs.deploy
        verb = "up" if replicas > rs.replicas else "down"
        self.event(
            d.ns,
            "Deployment",
            d.name,
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs.name} to {replicas}"
            + (f" from {rs.replicas}" if rs.replicas else ""),
            component="deployment-controller",
            api_version="apps/v1",
        )
        rs.replicas = replicas
        self.emit(
            Patch(
                "replicasets.apps",
                rs.ns,
                rs.name,
                {
                    "metadata": {
                        "annotations": {
                            "deployment.kubernetes.io/desired-replicas": str(d.replicas)
                        }
                    },
                    "spec": {"replicas": replicas},
                },
            )
        )
        live = rs.live()
        while len(live) < replicas:
            name = f"{rs.name}-{''.join(self.rng.choice(o.NAME_CHARS) for _ in range(5))}"
            labels = {**d.labels, "pod-template-hash": rs.pod_hash}
            spec = dict(rs.template["spec"])
            pod = PodModel(d.ns, name, labels, spec, d.profile, rs.behavior, rs)
            rs.pods.append(pod)
            live.append(pod)
            self.event(
                d.ns,
                "ReplicaSet",
                rs.name,
                "SuccessfulCreate",
                f"Created pod: {name}",
                component="replicaset-controller",
                api_version="apps/v1",
            )
            self.start_pod(pod)
        if len(live) > replicas:
            # the controller deletes not-ready pods first, then the youngest
            victims = sorted(live, key=lambda p: (p.ready, -p.created_at))[: len(live) - replicas]
            for pod in victims:
                self.event(
                    d.ns,
                    "ReplicaSet",
                    rs.name,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod.name}",
                    component="replicaset-controller",
                    api_version="apps/v1",
                )
                self.delete_pod(pod)
        self.sync_rs_status(rs)

    def rollout_step(self, d: DeploymentModel) -> None:
        """One pass of the deployment controller's rolling update."""
        new = d.current
        old = [rs for rs in d.sets[:-1] if rs.replicas > 0]
        surge = math.ceil(d.replicas * 0.25)
        unavailable = math.floor(d.replicas * 0.25)
        # old unhealthy pods go first (they serve nothing)
        for rs in old:
            unready = sum(1 for p in rs.live() if not p.ready)
            if unready and rs.replicas > 0 and sum(1 for p in rs.live() if p.ready) < rs.replicas:
                self.scale_rs(rs, rs.replicas - min(unready, rs.replicas))
        old = [rs for rs in d.sets[:-1] if rs.replicas > 0]
        total = new.replicas + sum(rs.replicas for rs in old)
        if not old:
            if new.replicas != d.replicas:
                self.scale_rs(new, d.replicas)
            return
        if new.replicas < d.replicas and total < d.replicas + surge:
            self.scale_rs(new, min(d.replicas, new.replicas + d.replicas + surge - total))
        ready = sum(1 for rs in d.sets for p in rs.live() if p.ready)
        removable = ready - (d.replicas - unavailable)
        for rs in old:
            if removable <= 0:
                break
            n = min(removable, rs.replicas)
            self.scale_rs(rs, rs.replicas - n)
            removable -= n

    def rollout(
        self,
        d: DeploymentModel,
        image: str,
        behavior: str,
        manager: str = "kubectl-set",
        cause: str = "",
    ) -> None:
        """Change a deployment's image: a new revision and replica set, rolled out."""
        d.revision = max(rs.revision for rs in d.sets) + 1
        d.generation += 1
        containers = [dict(c) for c in d.containers]
        containers[0]["image"] = image
        d.containers = containers
        template = o.pod_template(d.labels, containers)
        annotations = {"deployment.kubernetes.io/revision": str(d.revision)}
        if cause:
            annotations["kubernetes.io/change-cause"] = cause
        self.emit(
            Patch(
                "deployments.apps",
                d.ns,
                d.name,
                {"metadata": {"annotations": annotations}, "spec": {"template": template}},
                manager=manager,
            )
        )
        existing = next(
            (rs for rs in d.sets if rs.image == image and rs.behavior == behavior), None
        )
        if existing is not None:
            # a rollback: the old replica set becomes current again with a new revision
            d.sets.remove(existing)
            d.sets.append(existing)
            existing.revision = d.revision
            self.emit(
                Patch(
                    "replicasets.apps",
                    d.ns,
                    existing.name,
                    {
                        "metadata": {
                            "annotations": {"deployment.kubernetes.io/revision": str(d.revision)}
                        }
                    },
                )
            )
            self.event(
                d.ns,
                "Deployment",
                d.name,
                "DeploymentRollback",
                f'Rolled back deployment "{d.name}" to revision {d.revision}',
                component="deployment-controller",
                api_version="apps/v1",
            )
        else:
            self._new_rs(d, template, behavior, image)
        self.rollout_step(d)
        self.sync_deploy_status(d)

    def scale_deployment(self, d: DeploymentModel, replicas: int, manager: str) -> None:
        """Change a deployment's replicas (kubectl scale, or the HPA)."""
        d.replicas = replicas
        d.generation += 1
        self.emit(
            Patch(
                "deployments.apps", d.ns, d.name, {"spec": {"replicas": replicas}}, manager=manager
            )
        )
        self.rollout_step(d)
        self.sync_deploy_status(d)

    def sync_rs_status(self, rs: ReplicaSetModel) -> None:
        """Emit a replica set's status if it changed."""
        live = [p for p in rs.pods if not p.gone]
        ready = sum(1 for p in live if p.ready)
        status = {
            "replicas": len(live),
            "fullyLabeledReplicas": len(live),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": 1,
        }
        rs.pods = live
        if status != rs.last_status:
            rs.last_status = status
            self.emit(Patch("replicasets.apps", rs.ns, rs.name, {"status": status}))

    def _condition(
        self, d: DeploymentModel, ctype: str, status: str, reason: str, message: str
    ) -> dict[str, Any]:
        prev = d.conditions.get(ctype)
        if prev is None or prev[0] != status:
            d.conditions[ctype] = (status, reason, message, self.s.now)
        elif prev[1] != reason:
            d.conditions[ctype] = (status, reason, message, prev[3])
        st, rsn, msg, since = d.conditions[ctype]
        return {
            "type": ctype,
            "status": st,
            "lastUpdateTime": NOW,
            "lastTransitionTime": at(since),
            "reason": rsn,
            "message": msg,
        }

    def sync_deploy_status(self, d: DeploymentModel) -> None:
        """Emit a deployment's status if it changed (replica counts and conditions)."""
        pods = [p for rs in d.sets for p in rs.pods if not p.gone]
        ready = sum(1 for p in pods if p.ready)
        updated = len([p for p in d.current.pods if not p.gone])
        unavailable = max(0, d.replicas - ready)
        min_avail = d.replicas - math.floor(d.replicas * 0.25)
        summary = (
            len(pods),
            updated,
            ready,
            unavailable,
            d.generation,
            d.current.name,
            ready >= min_avail,
            updated == d.replicas and ready >= d.replicas,
        )
        if summary == d.last_status.get("summary"):
            return
        d.last_status = {"summary": summary}
        available = self._condition(
            d,
            "Available",
            "True" if ready >= min_avail else "False",
            "MinimumReplicasAvailable" if ready >= min_avail else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if ready >= min_avail
            else "Deployment does not have minimum availability.",
        )
        done = summary[-1] and all(rs.replicas == 0 for rs in d.sets[:-1])
        progressing = self._condition(
            d,
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
            f'ReplicaSet "{d.current.name}" has successfully progressed.'
            if done
            else f'ReplicaSet "{d.current.name}" is progressing.',
        )
        status: dict[str, Any] = {
            "observedGeneration": d.generation,
            "replicas": len(pods),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [available, progressing],
        }
        if unavailable:
            status["unavailableReplicas"] = unavailable
        else:
            status["unavailableReplicas"] = None
        self.emit(Patch("deployments.apps", d.ns, d.name, {"status": status}))

    # ---- services ------------------------------------------------------------------------

    def add_service(
        self, ns: str, name: str, selector: dict[str, str], port: int, target: int, ip: str
    ) -> None:
        """Create a Service and its Endpoints."""
        self.services[(ns, name)] = (selector, target)
        self.emit(
            Create(
                "services",
                o.service(ns, name, selector, port, target, ip),
                manager="kubectl-create",
            )
        )
        self.emit(
            Create(
                "endpoints", o.endpoints(ns, name, [], [], target), manager="endpoint-controller"
            )
        )
        self.endpoints_state[(ns, name)] = ([], [])

    def sync_endpoints(self, ns: str) -> None:
        """Emit the Endpoints of a namespace's services whose addresses changed."""
        for (sns, name), (selector, target) in self.services.items():
            if sns != ns:
                continue
            ready, not_ready = [], []
            for p in self.pods.values():
                if p.ns != ns or p.gone or p.deleting or not p.ip or p.phase != "Running":
                    continue
                if all(p.labels.get(k) == v for k, v in selector.items()):
                    (ready if p.ready else not_ready).append((p.ip, p.node, p.name))
            state = (sorted(ready), sorted(not_ready))
            if state != self.endpoints_state.get((ns, name)):
                self.endpoints_state[(ns, name)] = state
                ep = o.endpoints(ns, name, state[0], state[1], target)
                self.emit(
                    Patch(
                        "endpoints",
                        ns,
                        name,
                        {"subsets": ep.get("subsets")},
                        manager="endpoint-controller",
                    )
                )

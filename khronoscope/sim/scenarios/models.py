"""The simulated cluster's plain records: apps, pods and containers, replica sets, deployments,
nodes, and the traffic the apps are under. The kubelet, controllers and nodes change them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KCM = "kube-controller-manager"
KUBELET = "kubelet"


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


@dataclass
class Traffic:
    """How hard each app is hit now: a load multiplier (1.0 normal) and the share of its log
    lines that are errors, by `AppProfile.kind`; the scenario raises them during an incident."""

    load: dict[str, float] = field(default_factory=dict)
    error_rate: dict[str, float] = field(default_factory=dict)

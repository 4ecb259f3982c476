"""The simulated controllers: deployments rolling out replica sets, replica sets keeping their
pods, and the endpoints of services following the pods that are ready.

The deployment controller creates a replica set per template revision and moves pods from the
old ones to the new one within surge and unavailability budgets (25 %), deleting unready pods
first; a rollback makes an earlier replica set current again. Statuses and conditions are
written only when they change, with the transition times a real controller keeps.
"""

from __future__ import annotations

import math
from typing import Any

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import NOW, Create, Patch, Script
from khronoscope.sim.scenarios.events import EventRecorder
from khronoscope.sim.scenarios.kubelet import Kubelet
from khronoscope.sim.scenarios.models import (
    AppProfile,
    DeploymentModel,
    PodModel,
    ReplicaSetModel,
)


class DeploymentController:
    """The deployments, by (namespace, name), and their replica sets' pods."""

    def __init__(self, script: Script, events: EventRecorder, kubelet: Kubelet) -> None:
        self.s = script
        self.rng = script.rng
        self.events = events
        self.kubelet = kubelet
        self.by_key: dict[tuple[str, str], DeploymentModel] = {}

    def pod_changed(self, pod: PodModel) -> None:
        """A pod of a replica set changed: its set's and deployment's statuses, the rollout."""
        if pod.owner is not None:
            rs = pod.owner
            self.sync_rs_status(rs)
            self.rollout_step(rs.deploy)
            self.sync_deploy_status(rs.deploy)

    def add(
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
        self.by_key[(ns, name)] = d
        template = o.pod_template(labels, containers)
        self.s.emit(
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
        self.s.emit(
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
        self.events.record(
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
        self.s.emit(
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
            self.events.record(
                d.ns,
                "ReplicaSet",
                rs.name,
                "SuccessfulCreate",
                f"Created pod: {name}",
                component="replicaset-controller",
                api_version="apps/v1",
            )
            self.kubelet.start_pod(pod)
        if len(live) > replicas:
            # the controller deletes not-ready pods first, then the youngest
            victims = sorted(live, key=lambda p: (p.ready, -p.created_at))[: len(live) - replicas]
            for pod in victims:
                self.events.record(
                    d.ns,
                    "ReplicaSet",
                    rs.name,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod.name}",
                    component="replicaset-controller",
                    api_version="apps/v1",
                )
                self.kubelet.delete_pod(pod)
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
        self.s.emit(
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
            self.s.emit(
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
            self.events.record(
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

    def scale(self, d: DeploymentModel, replicas: int, manager: str) -> None:
        """Change a deployment's replicas (kubectl scale, or the HPA)."""
        d.replicas = replicas
        d.generation += 1
        self.s.emit(
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
            self.s.emit(Patch("replicasets.apps", rs.ns, rs.name, {"status": status}))

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
            "lastTransitionTime": o.at(since),
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
        self.s.emit(Patch("deployments.apps", d.ns, d.name, {"status": status}))


class EndpointsController:
    """The services, by (namespace, name), and their Endpoints: the pods their selector matches,
    ready or not."""

    def __init__(self, script: Script, pods: dict[tuple[str, str], PodModel]) -> None:
        self.s = script
        self.pods = pods
        self.services: dict[tuple[str, str], tuple[dict[str, str], int]] = {}
        self.state: dict[tuple[str, str], Any] = {}

    def add_service(
        self, ns: str, name: str, selector: dict[str, str], port: int, target: int, ip: str
    ) -> None:
        """Create a Service and its Endpoints."""
        self.services[(ns, name)] = (selector, target)
        self.s.emit(
            Create(
                "services",
                o.service(ns, name, selector, port, target, ip),
                manager="kubectl-create",
            )
        )
        self.s.emit(
            Create(
                "endpoints", o.endpoints(ns, name, [], [], target), manager="endpoint-controller"
            )
        )
        self.state[(ns, name)] = ([], [])

    def sync(self, ns: str) -> None:
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
            if state != self.state.get((ns, name)):
                self.state[(ns, name)] = state
                ep = o.endpoints(ns, name, state[0], state[1], target)
                self.s.emit(
                    Patch(
                        "endpoints",
                        ns,
                        name,
                        {"subsets": ep.get("subsets")},
                        manager="endpoint-controller",
                    )
                )

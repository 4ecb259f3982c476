"""The status block the kubelet writes for a pod: phase, conditions and container states, with
the transition and start times a real kubelet keeps."""

from __future__ import annotations

from typing import Any

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import NOW
from khronoscope.sim.scenarios.models import NodeModel, PodModel


def pod_status(pod: PodModel, node: NodeModel | None, now: float) -> dict[str, Any]:
    """The status block of `pod` on `node` at `now` (a readiness flip is noted on the pod: its
    conditions' lastTransitionTime moves only then)."""
    sched = o.at(pod.scheduled_at) if pod.node else NOW
    conds: list[dict[str, Any]] = []
    if pod.node:
        started = pod.phase != "Pending" or any(c.state != "waiting" for c in pod.containers)
        ready = pod.ready
        if ready != pod.ready_written:
            pod.ready_written = ready
            pod.ready_flipped_at = (pod.ready_since or now) if ready else now
        ready_time = o.at(pod.ready_flipped_at)
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
                cs["state"] = {"running": {"startedAt": o.at(c.started_at)}}
                cs["imageID"] = f"docker.io/library/{c.image}@sha256:{o.short_hash(c.image, 16)}"
                cs["containerID"] = (
                    f"containerd://{o.short_hash(pod.name + c.name + str(c.restarts), 32)}"
                )
            elif c.state == "terminated":
                code = 0 if c.reason == "Completed" else 1
                cs["state"] = {
                    "terminated": {
                        "exitCode": code,
                        "reason": c.reason,
                        "startedAt": o.at(c.started_at),
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
                        "startedAt": o.at(st),
                        "finishedAt": o.at(fin),
                    }
                }
            else:
                cs["lastState"] = {}
            statuses.append(cs)
        status["containerStatuses"] = statuses
    return status

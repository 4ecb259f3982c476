"""The incident scenario: a small story at known times (pods Pending -> Running ->
CrashLoopBackOff, a pod Terminating, a node going NotReady, a `kubectl edit`, a Secret, a CRD
with printer columns, a forbidden type)."""

from __future__ import annotations

from typing import Any

from khronoscope.core.timefmt import NS, format_k8s_time
from tests.testing.memsource import MemorySource, at, new_source
from tests.testing.objects import (
    DATABASE_CRD,
    _meta,
    api_deployment,
    database,
    deployment,
    event,
    namespace,
    node,
    pod,
    replicaset,
    secret,
    web_config,
)


def incident_source(live: bool = False) -> MemorySource:
    """The incident scenario, every change at a known time (see the module docstring)."""
    src = new_source("incident", live)
    put = src.put
    for ns in ("default", "kube-system", "shop"):
        put(at(0), namespace(ns, at(0) - 86400 * NS))
    for i, name in enumerate(("node-1", "node-2", "node-3"), start=1):
        put(at(0), node(name, at(0) - 86400 * NS, ip=f"10.0.0.{10 + i}"))
    put(at(0), DATABASE_CRD)
    put(
        at(0),
        pod(
            "coredns-6d4b75cb6d-x7k2p",
            "kube-system",
            at(0) - 86400 * NS,
            node_name="node-1",
            phase="Running",
            state="running",
            labels={"k8s-app": "kube-dns"},
            ip="10.244.0.2",
        ),
    )
    put(at(0), web_config(at(0) - 3600 * NS))
    put(at(0), secret(at(0) - 3600 * NS))
    put(
        at(0),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("web", "shop", at(0) - 3600 * NS, {"app": "web"}),
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.12.7",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            },
        },
    )

    # t=10s: deployment web rolls out three pods: Pending, ContainerCreating, Running
    put(at(10), deployment("web", "shop", at(10), 3, 0))
    put(at(10), replicaset("web-5d9c7", "shop", at(10), "web", 3, 0))
    web = ("web-5d9c7-aaaaa", "web-5d9c7-bbbbb", "web-5d9c7-ccccc")
    nodes = ("node-1", "node-2", "node-3")
    labels = {"app": "web", "pod-template-hash": "5d9c7"}
    for name in web:
        put(at(10), pod(name, "shop", at(10), labels=labels, owner="web-5d9c7"))
    for i, name in enumerate(web):
        put(
            at(12),
            pod(
                name,
                "shop",
                at(10),
                node_name=nodes[i],
                state="creating",
                labels=labels,
                owner="web-5d9c7",
            ),
        )
        put(
            at(12),
            event(
                f"{name}.sched",
                "shop",
                at(12),
                "Pod",
                name,
                "Scheduled",
                f"Successfully assigned shop/{name} to {nodes[i]}",
            ),
        )
    for i, name in enumerate(web):
        put(
            at(20),
            pod(
                name,
                "shop",
                at(10),
                node_name=nodes[i],
                phase="Running",
                state="running",
                labels=labels,
                ip=f"10.244.{i}.{10 + i}",
                owner="web-5d9c7",
            ),
        )
    put(at(20), deployment("web", "shop", at(10), 3, 3))
    put(at(20), replicaset("web-5d9c7", "shop", at(10), "web", 3, 3))

    # t=30s: api comes up, then crash-loops from t=60s (restarts 1, 2, 3)
    api = "api-7f8b9-x2x4q"
    api_labels = {"app": "api", "pod-template-hash": "7f8b9"}
    put(at(30), api_deployment(at(30), 0))
    put(at(30), pod(api, "shop", at(30), labels=api_labels))
    put(
        at(32),
        pod(
            api,
            "shop",
            at(30),
            node_name="node-2",
            phase="Running",
            state="running",
            labels=api_labels,
            ip="10.244.1.20",
        ),
    )
    put(at(32), api_deployment(at(32), 1))
    for n, when in ((1, 60), (2, 90), (3, 150)):
        put(
            at(when),
            pod(
                api,
                "shop",
                at(30),
                node_name="node-2",
                phase="Running",
                state="crashloop",
                restarts=n,
                last_finished=at(when),
                labels=api_labels,
                ip="10.244.1.20",
            ),
        )
        put(
            at(when),
            event(
                f"{api}.backoff",
                "shop",
                at(60),
                "Pod",
                api,
                "BackOff",
                "Back-off restarting failed container api in pod " + api,
                warn=True,
            )
            | {"count": n, "lastTimestamp": format_k8s_time(at(when))},
        )
    # t=45s: someone runs `kubectl edit` on the ConfigMap; t=58s: `kubectl set image` on api
    put(at(45), web_config(at(0) - 3600 * NS, edited=at(45)))
    put(at(58), api_deployment(at(32), 1, image_set=at(58)))
    put(at(60), api_deployment(at(60), 0, image_set=at(58)))

    # the custom resource: Provisioning at 40s, Ready at 100s
    put(at(40), database("orders-db", "shop", at(40), "Provisioning", "False", 3))
    put(at(100), database("orders-db", "shop", at(40), "Ready", "True", 3))

    # a job that runs from 50s to 80s
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("migrate", "shop", at(50)),
        "spec": {"completions": 1},
        "status": {"startTime": format_k8s_time(at(50)), "active": 1},
    }
    put(at(50), job)
    put(
        at(80),
        job
        | {
            "status": {
                "startTime": format_k8s_time(at(50)),
                "completionTime": format_k8s_time(at(80)),
                "succeeded": 1,
                "conditions": [{"type": "Complete", "status": "True"}],
            }
        },
    )

    # t=120s: web-...-ccccc is deleted (Terminating), gone at 125s, replaced at 126s
    doomed = "web-5d9c7-ccccc"
    put(
        at(120),
        pod(
            doomed,
            "shop",
            at(10),
            node_name="node-3",
            phase="Running",
            state="running",
            labels=labels,
            ip="10.244.2.12",
            deleting=at(150),
            owner="web-5d9c7",
        ),
    )
    src.delete(at(125), pod(doomed, "shop", at(10)))
    fresh = "web-5d9c7-ddddd"
    put(at(126), pod(fresh, "shop", at(126), labels=labels, owner="web-5d9c7"))
    put(
        at(130),
        pod(
            fresh,
            "shop",
            at(126),
            node_name="node-1",
            phase="Running",
            state="running",
            labels=labels,
            ip="10.244.0.30",
            owner="web-5d9c7",
        ),
    )

    # t=140s: node-3 stops reporting
    put(at(140), node("node-3", at(0) - 86400 * NS, ready=False, ip="10.0.0.13"))
    return src


END = at(180)
"""A moment after the last change of the incident scenario."""

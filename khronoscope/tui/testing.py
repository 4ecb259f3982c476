"""An in-memory HistorySource over a deterministic synthetic past, for tests, benches and dev.

`incident_source()` tells a small story at known times (pods Pending -> Running ->
CrashLoopBackOff, a pod Terminating, a node going NotReady, a Secret, a CRD with printer
columns, a forbidden type); `scale_source(n)` holds n pods for benchmarks, and `Churn` keeps
changing them like a busy cluster.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeState, TypeStatus
from khronoscope.core.timefmt import NS, format_k8s_time, parse_k8s_time
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.printers import row_for
from khronoscope.temporal import TemporalMap

T0 = parse_k8s_time("2026-03-14T09:00:00Z") or 0
"""Start of the incident scenario (every time below is T0 + seconds)."""


def at(seconds: float) -> int:
    """T0 + seconds, in ns."""
    return T0 + int(seconds * NS)


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "pods", "Pod", True, ("po",), ("list", "watch"), "pod"),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), ("list", "watch"), "node"),
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("list", "watch")),
    ResourceType("", "v1", "services", "Service", True, ("svc",), ("list", "watch"), "service"),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), ("list", "watch")),
    ResourceType("", "v1", "secrets", "Secret", True, (), ("list", "watch"), "secret"),
    ResourceType("", "v1", "events", "Event", True, ("ev",), ("list", "watch"), "event"),
    ResourceType(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        ("list", "watch"),
    ),
    ResourceType(
        "", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), ("list", "watch")
    ),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("list", "watch")),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("list", "watch")),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("list", "watch")),
    ResourceType("batch", "v1", "jobs", "Job", True, (), ("list", "watch"), "job"),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("list", "watch")),
    ResourceType(
        "networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), ("list", "watch")
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        ("list", "watch"),
    ),
    ResourceType("example.com", "v1", "databases", "Database", True, ("db",), ("list", "watch")),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), ("list", "watch")),
    ResourceType("events.k8s.io", "v1", "events", "Event", True, (), ("list", "watch")),
)


@dataclass
class MemorySource:
    """A HistorySource held in memory: a TemporalMap (rows from `printers.row_for`) plus the
    types and statuses a session would report."""

    tmap: TemporalMap
    info: SourceInfo
    types: dict[str, ResourceType]
    status: dict[str, TypeStatus] = field(default_factory=dict)
    live: bool = False
    gap_list: list[Gap] = field(default_factory=list)
    marks: list[Bookmark] = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        """True while `Churn` (or a test) keeps adding changes."""
        return self.live

    def resource_types(self) -> dict[str, ResourceType]:
        """Every known type by name."""
        return dict(self.types)

    def type_status(self) -> dict[str, TypeStatus]:
        """Per-type watch status."""
        return dict(self.status)

    def gaps(self) -> list[Gap]:
        """Recorded gaps, oldest first."""
        return list(self.gap_list)

    def bookmarks(self) -> list[Bookmark]:
        """Bookmarks, oldest first."""
        return sorted(self.marks, key=lambda b: b.t)

    def add_bookmark(self, bookmark: Bookmark) -> Bookmark:
        """Store a bookmark with a fresh id."""
        bookmark.id = max((b.id for b in self.marks), default=0) + 1
        self.marks.append(bookmark)
        return bookmark

    def remove_bookmark(self, bookmark_id: int) -> None:
        """Delete a bookmark."""
        self.marks = [b for b in self.marks if b.id != bookmark_id]

    def rename_bookmark(self, bookmark_id: int, label: str) -> Bookmark | None:
        """Relabel a bookmark in place."""
        for b in self.marks:
            if b.id == bookmark_id:
                b.label = label
                return b
        return None

    # --- writing the past --------------------------------------------------------------------

    def put(self, t: int, obj: dict[str, Any]) -> None:
        """Record `obj` (its type found from apiVersion/kind) at t."""
        rt = self._type_of(obj)
        self.tmap.put(rt.key_of(obj), t, obj)
        st = self.status.get(rt.name)
        if st is not None:
            st.changes += 1

    def delete(self, t: int, obj: dict[str, Any]) -> None:
        """Record that `obj` is gone at t."""
        rt = self._type_of(obj)
        self.tmap.delete(rt.key_of(obj), t)

    def _type_of(self, obj: dict[str, Any]) -> ResourceType:
        api = obj.get("apiVersion", "v1")
        group = api.rpartition("/")[0]
        for rt in self.types.values():
            if rt.kind == obj.get("kind") and rt.group == group:
                return rt
        raise KeyError(f"no type for {api} {obj.get('kind')}")


def new_source(cluster: str = "synthetic", live: bool = False) -> MemorySource:
    """An empty MemorySource knowing the scenario's types, every type LIVE except Roles
    (forbidden, as for an unprivileged account)."""
    types = {rt.name: rt for rt in RESOURCE_TYPES}
    status = {name: TypeStatus(TypeState.LIVE, T0) for name in types}
    status["roles.rbac.authorization.k8s.io"] = TypeStatus(
        TypeState.FORBIDDEN,
        T0,
        'roles.rbac.authorization.k8s.io is forbidden: User "dev" cannot list resource "roles"',
    )
    return MemorySource(
        TemporalMap(row_fn=row_for),
        SourceInfo(cluster, context=f"{cluster}-admin"),
        types,
        status,
        live,
    )


# --- object builders ---------------------------------------------------------------------------


def _meta(
    name: str, ns: str | None, t: int, labels: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    meta["uid"] = f"uid-{ns or ''}-{name}"
    meta["resourceVersion"] = str(t // 1_000_000)
    meta["creationTimestamp"] = format_k8s_time(t)
    if labels:
        meta["labels"] = dict(sorted(labels.items()))
    meta.update(extra)
    return meta


def namespace(name: str, t: int) -> dict[str, Any]:
    """A Namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, None, t, {"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(name: str, t: int, ready: bool = True, ip: str = "10.0.0.1") -> dict[str, Any]:
    """A Node, Ready or NotReady."""
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if name.endswith("-1"):
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, None, t, labels),
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "4", "memory": "16318808Ki", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "16216408Ki", "pods": "110"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "Unknown",
                    "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                    "message": "kubelet is posting ready status"
                    if ready
                    else "Kubelet stopped posting node status.",
                    "lastHeartbeatTime": format_k8s_time(t),
                }
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.2",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-28-amd64",
                "containerRuntimeVersion": "containerd://1.7.22",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def pod(
    name: str,
    ns: str,
    created: int,
    *,
    node_name: str = "",
    phase: str = "Pending",
    state: str = "pending",
    restarts: int = 0,
    last_finished: int | None = None,
    labels: dict[str, str] | None = None,
    image: str = "nginx:1.27",
    ip: str = "",
    deleting: int | None = None,
    owner: str = "",
) -> dict[str, Any]:
    """A Pod with one container in `state`: pending, creating, running, crashloop, completed."""
    container: dict[str, Any] = {
        "name": name.split("-")[0],
        "image": image,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    meta = _meta(name, ns, created, labels)
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "controller": True}
        ]
    if deleting is not None:
        meta["deletionTimestamp"] = format_k8s_time(deleting)
        meta["deletionGracePeriodSeconds"] = 30
    spec: dict[str, Any] = {"containers": [container], "restartPolicy": "Always"}
    if node_name:
        spec["nodeName"] = node_name
    status: dict[str, Any] = {"phase": phase, "qosClass": "Burstable"}
    conditions = [{"type": "PodScheduled", "status": "True" if node_name else "False"}]
    if state != "pending":
        cs: dict[str, Any] = {
            "name": container["name"],
            "image": image,
            "restartCount": restarts,
            "ready": state == "running",
            "started": state == "running",
        }
        if state == "creating":
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        elif state == "running":
            cs["state"] = {"running": {"startedAt": format_k8s_time(created + 2 * NS)}}
        elif state == "crashloop":
            cs["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off restarting failed container {container['name']}",
                }
            }
        elif state == "completed":
            cs["state"] = {"terminated": {"reason": "Completed", "exitCode": 0}}
        if last_finished is not None:
            cs["lastState"] = {
                "terminated": {
                    "reason": "Error",
                    "exitCode": 1,
                    "finishedAt": format_k8s_time(last_finished),
                }
            }
        status["containerStatuses"] = [cs]
        status["hostIP"] = "10.0.0.1"
        if ip:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        status["startTime"] = format_k8s_time(created + NS)
        ready = "True" if state == "running" else "False"
        conditions += [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "ContainersReady", "status": ready},
        ]
    status["conditions"] = conditions
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def deployment(name: str, ns: str, created: int, replicas: int, ready: int) -> dict[str, Any]:
    """A Deployment with `ready` of `replicas` ready."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, ns, created, {"app": name}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "updatedReplicas": replicas,
            "availableReplicas": ready,
        },
    }


def replicaset(name: str, ns: str, created: int, app: str, replicas: int, ready: int) -> dict:
    """A ReplicaSet of a deployment."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": _meta(
            name,
            ns,
            created,
            {"app": app},
            annotations={"deployment.kubernetes.io/revision": "1"},
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": app,
                    "uid": f"uid-{ns}-{app}",
                    "controller": True,
                }
            ],
        ),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def event(
    name: str, ns: str, t: int, kind: str, obj: str, reason: str, message: str, warn: bool = False
) -> dict[str, Any]:
    """A core/v1 Event about `kind`/`obj`."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": _meta(name, ns, t),
        "involvedObject": {"kind": kind, "name": obj, "namespace": ns},
        "reason": reason,
        "message": message,
        "type": "Warning" if warn else "Normal",
        "firstTimestamp": format_k8s_time(t),
        "lastTimestamp": format_k8s_time(t),
        "count": 1,
        "source": {"component": "kubelet"},
    }


DATABASE_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "databases.example.com", "creationTimestamp": format_k8s_time(T0)},
    "spec": {
        "group": "example.com",
        "names": {"plural": "databases", "singular": "database", "kind": "Database"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "additionalPrinterColumns": [
                    {"name": "Engine", "type": "string", "jsonPath": ".spec.engine"},
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {
                        "name": "Ready",
                        "type": "string",
                        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                    },
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }
        ],
    },
}


def database(name: str, ns: str, created: int, phase: str, ready: str, size: int) -> dict:
    """A Database custom resource."""
    return {
        "apiVersion": "example.com/v1",
        "kind": "Database",
        "metadata": _meta(name, ns, created),
        "spec": {"engine": "postgres", "size": size},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]},
    }


SECRET_PASSWORD = "hunter2-s3cr3t"
"""The value the scenario's Secret held: must never appear on screen."""


def secret(t: int) -> dict[str, Any]:
    """shop/db-credentials, with its values and the kubectl last-applied copy of them."""
    import base64
    import json

    data = {
        "password": base64.b64encode(SECRET_PASSWORD.encode()).decode(),
        "username": base64.b64encode(b"orders").decode(),
    }
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": "shop"},
        "data": data,
    }
    meta = _meta(
        "db-credentials",
        "shop",
        t,
        {"app": "orders"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
    )
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data}


def _managed(manager: str, t: int, fields: dict[str, Any], status: bool = False) -> dict:
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": "v1",
        "time": format_k8s_time(t),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if status:
        entry["subresource"] = "status"
    return entry


def web_config(created: int, edited: int | None = None) -> dict[str, Any]:
    """shop/web-config; `edited`: after the `kubectl edit` that set LOG_LEVEL to debug."""
    meta = _meta("web-config", "shop", created, {"app": "web"})
    meta["resourceVersion"] = str((edited or created) // 1_000_000)
    managed = [
        _managed(
            "kubectl-client-side-apply",
            created,
            {"f:data": {".": {}, "f:LOG_LEVEL": {}, "f:nginx.conf": {}}},
        )
    ]
    if edited is not None:
        managed.append(_managed("kubectl-edit", edited, {"f:data": {"f:LOG_LEVEL": {}}}))
    meta["managedFields"] = managed
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {
            "LOG_LEVEL": "debug" if edited is not None else "info",
            "nginx.conf": "server {\n  listen 8080;\n}\n",
        },
    }


API_IMAGE_RC = "registry.example.com/shop/api:v2.1.0-rc1"
"""The image `kubectl set image` rolls out to deployment shop/api at T0 + 58 s."""


def api_deployment(status_t: int, ready: int, image_set: int | None = None) -> dict[str, Any]:
    """Deployment shop/api (created at 30 s), its status as written by the controller at
    `status_t`; `image_set`: after `kubectl set image` changed its image."""
    obj = deployment("api", "shop", at(30), 1, ready)
    obj["metadata"]["resourceVersion"] = str(max(status_t, image_set or 0) // 1_000_000)
    container = obj["spec"]["template"]["spec"]["containers"][0]
    api_fields = {
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {"f:spec": {"f:containers": {'k:{"name":"api"}': {"f:name": {}}}}},
        }
    }
    if image_set is None:
        containers = api_fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
        containers['k:{"name":"api"}']["f:image"] = {}
    managed = [
        _managed("kubectl-client-side-apply", at(30), api_fields),
        _managed(
            "kube-controller-manager",
            status_t,
            {"f:status": {"f:readyReplicas": {}, "f:availableReplicas": {}, "f:replicas": {}}},
            status=True,
        ),
    ]
    if image_set is not None:
        container["image"] = API_IMAGE_RC
        image = {'k:{"name":"api"}': {"f:image": {}}}
        managed.append(
            _managed(
                "kubectl-set",
                image_set,
                {"f:spec": {"f:template": {"f:spec": {"f:containers": image}}}},
            )
        )
    obj["metadata"]["managedFields"] = managed
    return obj


# --- the incident ------------------------------------------------------------------------------


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


# --- scale -------------------------------------------------------------------------------------


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

"""Kubernetes objects as a cluster would hand them over (metadata, managedFields, status),
built at known times for the synthetic scenarios."""

from __future__ import annotations

from typing import Any

from khronoscope.core.timefmt import NS, format_k8s_time
from tests.testing.memsource import T0, at


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

"""Builders of realistic Kubernetes objects for scenarios (plain dicts; `NOW` and `at(t)` for
timestamps)."""

from __future__ import annotations

import hashlib
from typing import Any

from khronoscope.sim.scenarios.base import NOW

Obj = dict[str, Any]
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def at(t: float) -> str:
    """A timestamp placeholder: the wall-clock time at which scenario offset `t` was applied."""
    return f"<at:{t:.3f}>"


def short_hash(text: str, n: int = 10) -> str:
    """A stable name suffix from text, with the alphabet Kubernetes uses (`7d9f8b6c5d`)."""
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(NAME_CHARS[b % len(NAME_CHARS)] for b in digest[:n])


def meta(
    name: str, namespace: str | None = None, labels: dict[str, str] | None = None, **extra: Any
) -> Obj:
    """An object's metadata."""
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    out.update(extra)
    return out


def uid_for(hint: str) -> str:
    """A stable uid for an object the scenario names (`shop/deploy/api`)."""
    digest = hashlib.sha256(hint.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


def kind_uid(namespace: str, kind: str, name: str) -> str:
    """The uid the scenario gives an object (owner references and events point at it)."""
    return uid_for(f"{namespace}/{kind}/{name}")


def owner(
    kind: str, name: str, namespace: str, api_version: str = "apps/v1", controller: bool = True
) -> Obj:
    """An ownerReference to an object created with `kind_uid`."""
    uid = kind_uid(namespace, kind, name)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    """A Namespace."""
    lab = {"kubernetes.io/metadata.name": name, **(labels or {})}
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": meta(name, labels=lab),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node_conditions(ready: bool, now: str = NOW) -> list[Obj]:
    """The conditions of a healthy (or unreachable) node."""

    def cond(t: str, status: str, reason: str, message: str) -> Obj:
        return {
            "type": t,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    if ready:
        return [
            cond(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            cond(
                "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
            ),
            cond(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    unknown = "Kubelet stopped posting node status."
    return [
        cond("MemoryPressure", "Unknown", "NodeStatusUnknown", unknown),
        cond("DiskPressure", "Unknown", "NodeStatusUnknown", unknown),
        cond("PIDPressure", "Unknown", "NodeStatusUnknown", unknown),
        cond("Ready", "Unknown", "NodeStatusUnknown", unknown),
    ]


def node(
    name: str, ip: str, zone: str, role: str = "", cpu: str = "4", memory: str = "16Gi"
) -> Obj:
    """A Node with capacity, addresses, nodeInfo and Ready conditions."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": zone,
        "node.kubernetes.io/instance-type": "m5.xlarge",
    }
    spec: Obj = {
        "podCIDR": f"10.244.{ip.split('.')[-1]}.0/24",
        "providerID": f"aws:///{zone}/i-{short_hash(name, 12)}",
    }
    if role:
        labels[f"node-role.kubernetes.io/{role}"] = ""
        if role == "control-plane":
            spec["taints"] = [
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
            ]
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": meta(
            name,
            labels=labels,
            uid=kind_uid("", "Node", name),
            annotations={"node.alpha.kubernetes.io/ttl": "0"},
        ),
        "spec": spec,
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {
                "cpu": cpu,
                "memory": memory,
                "pods": "110",
                "ephemeral-storage": "95Gi",
            },
            "conditions": node_conditions(True),
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": short_hash(name + "m", 16),
                "systemUUID": short_hash(name + "s", 16),
                "bootID": short_hash(name + "b", 16),
                "kernelVersion": "6.1.0-18-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.13",
                "kubeletVersion": "v1.30.0",
                "kubeProxyVersion": "v1.30.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def node_lease(name: str) -> Obj:
    """The Lease a kubelet renews in kube-node-lease."""
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": meta(
            name,
            "kube-node-lease",
            ownerReferences=[
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": name,
                    "uid": kind_uid("", "Node", name),
                }
            ],
        ),
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": 40,
            "renewTime": NOW,
        },
    }


def container(
    name: str,
    image: str,
    port: int | None = None,
    cpu: str = "100m",
    memory: str = "128Mi",
    env: list[Obj] | None = None,
    env_from_cm: str | None = None,
) -> Obj:
    """A container spec with requests/limits, an optional port and env."""
    c: Obj = {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    if port:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        c["readinessProbe"] = {
            "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
            "periodSeconds": 10,
            "timeoutSeconds": 1,
            "successThreshold": 1,
            "failureThreshold": 3,
        }
    if env:
        c["env"] = env
    if env_from_cm:
        c["envFrom"] = [{"configMapRef": {"name": env_from_cm}}]
    return c


def pod_template(labels: dict[str, str], containers: list[Obj], sa: str = "default") -> Obj:
    """A pod template (deployments, replicasets, jobs...)."""
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": sa,
            "schedulerName": "default-scheduler",
            "securityContext": {},
        },
    }


def deployment(
    ns: str, name: str, labels: dict[str, str], replicas: int, template: Obj, revision: int = 1
) -> Obj:
    """A Deployment with a RollingUpdate strategy."""
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": meta(
            name,
            ns,
            labels,
            uid=kind_uid(ns, "Deployment", name),
            annotations={"deployment.kubernetes.io/revision": str(revision)},
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": labels["app"]}},
            "template": template,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }


def replicaset(
    ns: str,
    name: str,
    deploy: str,
    pod_hash: str,
    labels: dict[str, str],
    replicas: int,
    template: Obj,
    revision: int,
) -> Obj:
    """A ReplicaSet owned by a Deployment."""
    lab = {**labels, "pod-template-hash": pod_hash}
    tmpl = {
        **template,
        "metadata": {"labels": {**template["metadata"]["labels"], "pod-template-hash": pod_hash}},
    }
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": meta(
            name,
            ns,
            lab,
            uid=kind_uid(ns, "ReplicaSet", name),
            annotations={
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                "deployment.kubernetes.io/revision": str(revision),
            },
            ownerReferences=[owner("Deployment", deploy, ns)],
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": labels["app"], "pod-template-hash": pod_hash}},
            "template": tmpl,
        },
        "status": {"replicas": 0, "observedGeneration": 1},
    }


def pod(ns: str, name: str, labels: dict[str, str], spec: Obj, owner_ref: Obj | None) -> Obj:
    """A new Pending pod (not yet scheduled)."""
    m = meta(name, ns, labels, uid=kind_uid(ns, "Pod", name))
    if owner_ref:
        m["ownerReferences"] = [owner_ref]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": m,
        "spec": dict(spec),
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    }


def service(
    ns: str,
    name: str,
    selector: dict[str, str],
    port: int,
    target: int,
    ip: str,
    svc_type: str = "ClusterIP",
) -> Obj:
    """A Service."""
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": meta(name, ns, {"app": selector.get("app", name)}),
        "spec": {
            "type": svc_type,
            "selector": dict(selector),
            "ports": [{"name": "http", "port": port, "targetPort": target, "protocol": "TCP"}],
            "clusterIP": ip,
            "clusterIPs": [ip],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
        "status": {"loadBalancer": {}},
    }


def endpoints(
    ns: str,
    name: str,
    ready: list[tuple[str, str, str]],
    not_ready: list[tuple[str, str, str]],
    port: int,
) -> Obj:
    """Endpoints of a service: (ip, node, pod name) for ready and not-ready addresses."""

    def addr(ip: str, node_name: str, pod_name: str) -> Obj:
        return {
            "ip": ip,
            "nodeName": node_name,
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod_name},
        }

    subset: Obj = {"ports": [{"name": "http", "port": port, "protocol": "TCP"}]}
    if ready:
        subset["addresses"] = [addr(*a) for a in ready]
    if not_ready:
        subset["notReadyAddresses"] = [addr(*a) for a in not_ready]
    out: Obj = {"kind": "Endpoints", "apiVersion": "v1", "metadata": meta(name, ns, {"app": name})}
    if ready or not_ready:
        out["subsets"] = [subset]
    return out


def configmap(
    ns: str, name: str, data: dict[str, str], labels: dict[str, str] | None = None
) -> Obj:
    """A ConfigMap."""
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": meta(name, ns, labels),
        "data": dict(data),
    }


def secret(ns: str, name: str, data: dict[str, str], secret_type: str = "Opaque") -> Obj:
    """A Secret (data values already base64)."""
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": meta(name, ns),
        "type": secret_type,
        "data": dict(data),
    }


def service_account(ns: str, name: str) -> Obj:
    """A ServiceAccount."""
    return {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta(name, ns)}


def event(
    ns: str,
    name: str,
    involved: Obj,
    reason: str,
    message: str,
    etype: str = "Normal",
    component: str = "kubelet",
    host: str = "",
    count: int = 1,
) -> Obj:
    """A core/v1 Event about `involved` (kind, name, namespace, uid?, apiVersion, fieldPath?)."""
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": meta(name, ns),
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": NOW,
        "lastTimestamp": NOW,
        "count": count,
        "type": etype,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host,
    }


def hpa(
    ns: str, name: str, target_kind: str, target: str, min_r: int, max_r: int, cpu_target: int
) -> Obj:
    """An autoscaling/v2 HorizontalPodAutoscaler on CPU utilisation."""
    return {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": meta(name, ns, uid=kind_uid(ns, "HorizontalPodAutoscaler", name)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target},
            "minReplicas": min_r,
            "maxReplicas": max_r,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_target},
                    },
                }
            ],
        },
        "status": {"currentReplicas": min_r, "desiredReplicas": min_r},
    }


def crd_widgets() -> Obj:
    """The CustomResourceDefinition of demo.khronoscope.io/v1 Widget (with printer columns)."""
    return {
        "kind": "CustomResourceDefinition",
        "apiVersion": "apiextensions.k8s.io/v1",
        "metadata": meta("widgets.demo.khronoscope.io"),
        "spec": {
            "group": "demo.khronoscope.io",
            "scope": "Namespaced",
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "listKind": "WidgetList",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "color": {"type": "string"},
                                        "size": {"type": "integer"},
                                    },
                                },
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                        }
                    },
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }


def widget(ns: str, name: str, color: str, size: int) -> Obj:
    """A Widget custom resource."""
    return {
        "kind": "Widget",
        "apiVersion": "demo.khronoscope.io/v1",
        "metadata": meta(name, ns, {"app": "widgets"}),
        "spec": {"color": color, "size": size},
        "status": {"phase": "Ready"},
    }


def role(ns: str, name: str, rules: list[Obj]) -> Obj:
    """An RBAC Role."""
    return {
        "kind": "Role",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta(name, ns),
        "rules": rules,
    }


def role_binding(ns: str, name: str, role_name: str, sa: str) -> Obj:
    """An RBAC RoleBinding of a Role to a ServiceAccount."""
    return {
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta(name, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
    }


def cluster_role(name: str, rules: list[Obj]) -> Obj:
    """An RBAC ClusterRole."""
    return {
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta(name),
        "rules": rules,
    }


def cluster_role_binding(name: str, role_name: str, ns: str, sa: str) -> Obj:
    """An RBAC ClusterRoleBinding to a ServiceAccount."""
    return {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta(name),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role_name,
        },
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
    }


def ingress(ns: str, name: str, host: str, service_name: str, port: int) -> Obj:
    """A networking.k8s.io/v1 Ingress."""
    return {
        "kind": "Ingress",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": meta(name, ns),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": service_name, "port": {"number": port}}
                                },
                            }
                        ]
                    },
                }
            ],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}},
    }


def pv(name: str, size: str, claim_ns: str, claim: str) -> Obj:
    """A bound PersistentVolume."""
    return {
        "kind": "PersistentVolume",
        "apiVersion": "v1",
        "metadata": meta(name),
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": "standard",
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": claim_ns, "name": claim},
            "hostPath": {"path": f"/var/lib/volumes/{name}"},
        },
        "status": {"phase": "Bound"},
    }


def pvc(ns: str, name: str, size: str, volume: str) -> Obj:
    """A bound PersistentVolumeClaim."""
    return {
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "metadata": meta(name, ns),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": "standard",
            "volumeName": volume,
            "volumeMode": "Filesystem",
        },
        "status": {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": size},
        },
    }

"""A realistic synthetic change stream for benchmarks: pods with managedFields moving through
their phases and churning, node heartbeats, events, ConfigMap edits.

`stream(objects, changes, seed)` yields (t_ns, ObjectKey, obj-or-None) in time order; None is a
delete. Objects are built fresh each time (as a watcher's parser would hand them over).
"""

from __future__ import annotations

import random
import zlib
from collections import deque
from collections.abc import Iterator
from typing import Any

from khronoscope.core.types import ObjectKey

T0 = 1_795_000_000 * 1_000_000_000
SECOND = 1_000_000_000


def _h(value: object) -> int:
    # stable across processes (str hash() is salted per process)
    return zlib.crc32(repr(value).encode())


def _ts(t: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t // SECOND))


def pod(
    name: str,
    ns: str,
    node: str,
    rv: int,
    t: int,
    phase: str,
    restarts: int,
    created: int,
    waiting: str | None = None,
) -> dict[str, Any]:
    """A pod of two containers with managedFields, ~6 KiB of JSON like a real one."""
    running = phase == "Running" and waiting is None
    statuses = []
    for cname, image in (
        ("app", "registry.example.com/shop/app:v1.4.2"),
        ("envoy", "envoyproxy/envoy:v1.29.1"),
    ):
        state = (
            {"running": {"startedAt": _ts(created + 5 * SECOND)}}
            if running
            else (
                {
                    "waiting": {
                        "reason": waiting,
                        "message": f"back-off restarting failed container {cname}",
                    }
                }
                if waiting
                else {"waiting": {"reason": "ContainerCreating"}}
            )
        )
        statuses.append(
            {
                "name": cname,
                "ready": running,
                "restartCount": restarts,
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{'ab12' * 16}",
                "started": running,
                "containerID": f"containerd://{_h((name, cname, restarts)):064x}",
                "state": state,
                "lastState": {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": _ts(t - 30 * SECOND),
                        "finishedAt": _ts(t - 10 * SECOND),
                    }
                }
                if restarts
                else {},
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": name.rsplit("-", 1)[0] + "-",
            "namespace": ns,
            "uid": f"{_h(name) & 0xFFFFFFFF:08x}-1111-2222-3333-{created % 10**12:012d}",
            "resourceVersion": str(rv),
            "creationTimestamp": _ts(created),
            "labels": {
                "app": name.split("-")[0],
                "pod-template-hash": "7d9f8c6b5",
                "tier": "backend",
            },
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": name.rsplit("-", 1)[0],
                    "uid": "6f1c2d3e-aaaa-bbbb-cccc-000000000001",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": _ts(created),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {
                            "f:generateName": {},
                            "f:labels": {
                                ".": {},
                                "f:app": {},
                                "f:pod-template-hash": {},
                                "f:tier": {},
                            },
                            "f:ownerReferences": {
                                ".": {},
                                'k:{"uid":"6f1c2d3e-aaaa-bbbb-cccc-000000000001"}': {},
                            },
                        },
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"app"}': {
                                    ".": {},
                                    "f:env": {},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {},
                                    "f:resources": {},
                                },
                                'k:{"name":"envoy"}': {".": {}, "f:image": {}, "f:name": {}},
                            },
                            "f:dnsPolicy": {},
                            "f:restartPolicy": {},
                        },
                    },
                },
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": _ts(t),
                    "subresource": "status",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:status": {
                            "f:conditions": {},
                            "f:containerStatuses": {},
                            "f:hostIP": {},
                            "f:phase": {},
                            "f:podIP": {},
                            "f:podIPs": {},
                            "f:startTime": {},
                        }
                    },
                },
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/shop/app:v1.4.2",
                    "imagePullPolicy": "IfNotPresent",
                    "env": [{"name": f"FEATURE_{i}", "value": f"value-{i}"} for i in range(12)],
                    "ports": [
                        {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                        {"containerPort": 9090, "name": "metrics", "protocol": "TCP"},
                    ],
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "256Mi"},
                        "limits": {"cpu": "1", "memory": "512Mi"},
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                        "periodSeconds": 10,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [
                        {
                            "name": "kube-api-access-x7k2p",
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "readOnly": True,
                        },
                        {"name": "config", "mountPath": "/etc/app"},
                    ],
                },
                {
                    "name": "envoy",
                    "image": "envoyproxy/envoy:v1.29.1",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                },
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
                {
                    "name": "kube-api-access-x7k2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                },
            ],
        },
        "status": {
            "phase": phase,
            "hostIP": f"10.0.{_h(node) % 200}.{_h(node) % 250}",
            "podIP": f"10.244.{_h(name) % 250}.{_h(name) % 200}",
            "podIPs": [{"ip": f"10.244.{_h(name) % 250}.{_h(name) % 200}"}],
            "qosClass": "Burstable",
            "startTime": _ts(created + SECOND),
            "conditions": [
                {
                    "type": c,
                    "status": "True" if running or c == "PodScheduled" else "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": _ts(t),
                }
                for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": statuses,
        },
    }


def node(name: str, rv: int, t: int, ready: bool = True) -> dict[str, Any]:
    """A node with the heartbeat fields the kubelet rewrites every few seconds."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"node-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": _ts(T0 - 86400 * SECOND),
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "m5.xlarge",
                "topology.kubernetes.io/zone": f"eu-west-1{'abc'[_h(name) % 3]}",
            },
            "managedFields": [
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": _ts(t),
                    "subresource": "status",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:status": {"f:conditions": {}, "f:images": {}, "f:nodeInfo": {}}
                    },
                }
            ],
        },
        "spec": {
            "podCIDR": "10.244.1.0/24",
            "providerID": f"aws:///eu-west-1a/i-{_h(name) & 0xFFFFFFFFFF:010x}",
        },
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {
                "cpu": "3920m",
                "memory": "15Gi",
                "pods": "110",
                "ephemeral-storage": "92Gi",
            },
            "conditions": [
                {
                    "type": c,
                    "status": ("True" if ready else "Unknown") if c == "Ready" else "False",
                    "lastHeartbeatTime": _ts(t),
                    "lastTransitionTime": _ts(T0),
                    "reason": f"Kubelet{c}",
                    "message": f"kubelet reports {c}",
                }
                for c in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
            ],
            "images": [
                {
                    "names": [
                        f"registry.example.com/img{i}@sha256:{i:064x}",
                        f"registry.example.com/img{i}:v{i}",
                    ],
                    "sizeBytes": 10**7 + i,
                }
                for i in range(25)
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.29.3",
                "containerRuntimeVersion": "containerd://1.7.13",
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "6.5.0-1016-aws",
                "architecture": "amd64",
                "operatingSystem": "linux",
            },
        },
    }


def event(name: str, ns: str, rv: int, t: int, reason: str, obj_name: str) -> dict[str, Any]:
    """A core Event about a pod."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"ev-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": _ts(t),
        },
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": obj_name, "apiVersion": "v1"},
        "reason": reason,
        "message": f"{reason} for pod {obj_name}",
        "type": "Warning" if reason == "BackOff" else "Normal",
        "source": {"component": "kubelet"},
        "firstTimestamp": _ts(t),
        "lastTimestamp": _ts(t),
        "count": 1,
    }


def configmap(name: str, ns: str, rv: int, t: int, rev: int) -> dict[str, Any]:
    """A ConfigMap whose data is edited now and then."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"cm-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": _ts(T0),
        },
        "data": {
            "app.yaml": "\n".join(f"key{i}: value{i}-{rev if i == 3 else 0}" for i in range(30)),
            "LOG_LEVEL": "info",
        },
    }


EVENT_TTL = 3600 * SECOND
"""How long the API server keeps an Event (kube-apiserver's --event-ttl default)."""


def stream(
    objects: int = 10_000, changes: int = 1_000_000, seed: int = 1, event_ttl: int | None = None
) -> Iterator[tuple[int, ObjectKey, dict | None]]:
    """About `objects` live objects and `changes` changes, ~5 ms apart on average.

    Events are never deleted unless `event_ttl` (ns) is given: then each goes that long after
    it was made, as the API server expires them, so the live set stops growing once the stream
    is `event_ttl` long (with EVENT_TTL: ~140,000 events live after ~720,000 changes); the
    deletes count as changes. Without it, every fifth change adds an Event for good.
    """
    rnd = random.Random(seed)
    namespaces = [f"team-{i}" for i in range(20)]
    nodes = [
        f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal"
        for i in range(max(3, objects // 200))
    ]
    n_pods = int(objects * 0.9)
    n_cms = max(1, objects // 40)
    t = T0
    rv = 1000
    pods: dict[ObjectKey, list[Any]] = {}
    serial = 0
    emitted = 0

    def new_pod() -> tuple[ObjectKey, list[Any]]:
        nonlocal serial
        serial += 1
        app = rnd.choice(["web", "api", "checkout", "cart", "search", "auth"])
        name = f"{app}-7d9f8c6b5-{serial:05x}"
        key = ObjectKey("pods", rnd.choice(namespaces), name)
        return key, [rnd.choice(nodes), "Pending", 0, t, None]

    # initial sync: everything appears
    for n in nodes:
        rv += 1
        yield t, ObjectKey("nodes", "", n), node(n, rv, t)
        emitted += 1
    for i in range(n_cms):
        rv += 1
        ns = namespaces[i % len(namespaces)]
        yield t, ObjectKey("configmaps", ns, f"config-{i}"), configmap(f"config-{i}", ns, rv, t, 0)
        emitted += 1
    for _ in range(n_pods):
        key, state = new_pod()
        state[1] = "Running"
        pods[key] = state
        rv += 1
        yield t, key, pod(key.name, key.namespace, state[0], rv, t, "Running", 0, state[3])
        emitted += 1
    pod_keys = list(pods)
    heartbeat_every = 10 * SECOND
    next_heartbeat = {n: t + rnd.randrange(heartbeat_every) for n in nodes}
    cm_rev = [0] * n_cms
    event_serial = 0
    expiring: deque[tuple[int, ObjectKey]] = deque()
    while emitted < changes:
        t += rnd.randrange(1, 10_000_000)  # up to 10 ms apart
        rv += 1
        if expiring and expiring[0][0] <= t:
            yield t, expiring.popleft()[1], None
            emitted += 1
            continue
        r = rnd.random()
        due = [n for n, nt in next_heartbeat.items() if nt <= t][:1]
        if due:
            n = due[0]
            next_heartbeat[n] = t + heartbeat_every
            yield t, ObjectKey("nodes", "", n), node(n, rv, t, ready=rnd.random() > 0.002)
        elif r < 0.55:
            key = pod_keys[rnd.randrange(len(pod_keys))]
            st = pods.get(key)
            if st is None:
                continue
            roll = rnd.random()
            if st[1] == "Pending":
                st[1], st[4] = "Running", None
            elif roll < 0.3:
                st[2] += 1
                st[4] = "CrashLoopBackOff"
            else:
                st[4] = None
            yield t, key, pod(key.name, key.namespace, st[0], rv, t, st[1], st[2], st[3], st[4])
        elif r < 0.75:
            # churn: one pod goes, a new one comes
            i = rnd.randrange(len(pod_keys))
            old = pod_keys[i]
            if old in pods:
                del pods[old]
                yield t, old, None
                emitted += 1
            key, st = new_pod()
            pods[key] = st
            pod_keys[i] = key
            t += 1000
            yield t, key, pod(key.name, key.namespace, st[0], rv, t, "Pending", 0, st[3])
        elif r < 0.95:
            event_serial += 1
            key = pod_keys[rnd.randrange(len(pod_keys))]
            ns = key.namespace
            reason = rnd.choice(["Scheduled", "Pulled", "Created", "Started", "BackOff"])
            ev_key = ObjectKey("events", ns, f"{key.name}.{event_serial:x}")
            yield t, ev_key, event(ev_key.name, ns, rv, t, reason, key.name)
            if event_ttl is not None:
                expiring.append((t + event_ttl, ev_key))
        else:
            i = rnd.randrange(n_cms)
            cm_rev[i] += 1
            ns = namespaces[i % len(namespaces)]
            yield (
                t,
                ObjectKey("configmaps", ns, f"config-{i}"),
                configmap(f"config-{i}", ns, rv, t, cm_rev[i]),
            )
        emitted += 1

"""A seeded, realistic stream of cluster changes for recording tests and benchmarks.

Objects look like what an API server sends (metadata with managedFields, spec, status), change the
way a busy cluster changes them (status flaps, resourceVersion bumps, rollouts, deletes), and carry
Secrets so that redaction can be checked. Same seed, same stream.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson

from khronoscope.core.types import Change, ChangeKind, ObjectKey

NS = 1_000_000_000
T0 = 1_795_000_000 * NS  # 2026-11-18, a fixed moment so outputs are reproducible

NAMESPACES = ["default", "payments", "checkout", "kube-system", "monitoring"]


def _ts(t: int) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(t // NS, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _managed(t: int, manager: str) -> list[dict[str, Any]]:
    return [
        {
            "manager": manager,
            "operation": "Update",
            "apiVersion": "v1",
            "time": _ts(t),
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}}},
                "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}}},
            },
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": _ts(t),
            "fieldsType": "FieldsV1",
            "subresource": "status",
            "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}}},
        },
    ]


def make_pod(rng: random.Random, ns: str, name: str, t: int, app: str, image: str) -> dict:
    """A pod as the API server returns it (about 3 KiB of JSON)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"{rng.getrandbits(128):032x}",
            "resourceVersion": str(rng.randrange(10**6, 10**7)),
            "creationTimestamp": _ts(t),
            "labels": {"app": app, "pod-template-hash": f"{rng.getrandbits(32):08x}"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-rs",
                    "uid": f"{rng.getrandbits(128):032x}",
                    "controller": True,
                }
            ],
            "managedFields": _managed(t, "kube-controller-manager"),
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi"},
                    },
                    "env": [
                        {"name": "MODE", "value": "production"},
                        {"name": "REGION", "value": "eu-west-1"},
                    ],
                    "volumeMounts": [
                        {
                            "name": "kube-api-access",
                            "readOnly": True,
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        }
                    ],
                    "terminationMessagePath": "/dev/termination-log",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": f"node-{rng.randrange(20):02d}",
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": c, "status": "True", "lastTransitionTime": _ts(t)}
                for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "podIP": f"10.244.{rng.randrange(256)}.{rng.randrange(256)}",
            "startTime": _ts(t),
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": True,
                    "restartCount": 0,
                    "image": image,
                    "imageID": f"docker.io/library/{image}@sha256:{rng.getrandbits(256):064x}",
                    "containerID": f"containerd://{rng.getrandbits(256):064x}",
                    "started": True,
                    "state": {"running": {"startedAt": _ts(t)}},
                }
            ],
            "qosClass": "Burstable",
        },
    }


def make_configmap(rng: random.Random, ns: str, name: str, t: int) -> dict:
    """A small ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"{rng.getrandbits(128):032x}",
            "resourceVersion": str(rng.randrange(10**6, 10**7)),
            "creationTimestamp": _ts(t),
        },
        "data": {"LOG_LEVEL": "info", "FEATURE_X": "on", "config.yaml": "a: 1\nb: [1, 2, 3]\n"},
    }


def make_secret(rng: random.Random, ns: str, name: str, t: int) -> dict:
    """A Secret whose values a recording must not keep unless asked."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"{rng.getrandbits(128):032x}",
            "resourceVersion": str(rng.randrange(10**6, 10**7)),
            "creationTimestamp": _ts(t),
        },
        "data": {"password": "aHVudGVyMg==", "token": f"{rng.getrandbits(128):032x}"},
    }


def make_node(rng: random.Random, name: str, t: int) -> dict:
    """A cluster-scoped Node."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"{rng.getrandbits(128):032x}",
            "resourceVersion": str(rng.randrange(10**6, 10**7)),
            "creationTimestamp": _ts(t),
            "labels": {"kubernetes.io/hostname": name},
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": _ts(t)}],
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        },
    }


def changes(
    seed: int, count: int, objects: int = 200, step_ns: int = 10_000_000
) -> Iterator[Change]:
    """`count` changes over about `objects` live objects, times strictly increasing from T0.

    The first changes create the objects; then pods flap status, bump resourceVersion, roll out a
    new image (delete + add), configmaps and secrets are edited, nodes heartbeat.
    """
    rng = random.Random(seed)
    live: dict[ObjectKey, dict] = {}
    order: list[ObjectKey] = []  # the live keys, for O(1) random choice (swap-remove on delete)
    where: dict[ObjectKey, int] = {}
    t = T0
    made = 0
    serial = 0

    def emit(key: ObjectKey, kind: ChangeKind, obj: dict | None) -> Change:
        # a JSON round trip copies several times faster than deepcopy (the values are JSON)
        return Change(t, key, kind, orjson.loads(orjson.dumps(obj)) if obj is not None else None)

    while made < count:
        t += rng.randrange(1, 2 * step_ns)
        r = rng.random()
        if len(live) < objects and (r < 0.5 or len(live) < 8):
            serial += 1
            roll = rng.random()
            ns = rng.choice(NAMESPACES)
            if roll < 0.75:
                app = rng.choice(["web", "api", "worker", "cache"])
                name = f"{app}-{serial:06d}"
                key = ObjectKey("pods", ns, name)
                obj = make_pod(rng, ns, name, t, app, f"{app}:1.{rng.randrange(9)}")
            elif roll < 0.88:
                name = f"cm-{serial:05d}"
                key = ObjectKey("configmaps", ns, name)
                obj = make_configmap(rng, ns, name, t)
            elif roll < 0.95:
                name = f"secret-{serial:05d}"
                key = ObjectKey("secrets", ns, name)
                obj = make_secret(rng, ns, name, t)
            else:
                name = f"node-{serial:05d}"
                key = ObjectKey("nodes", "", name)
                obj = make_node(rng, name, t)
            live[key] = obj
            where[key] = len(order)
            order.append(key)
            yield emit(key, ChangeKind.ADDED, obj)
            made += 1
            continue
        key = order[rng.randrange(len(order))]
        obj = live[key]
        if rng.random() < 0.04 and key.type != "nodes":
            del live[key]
            i = where.pop(key)
            last = order.pop()
            if last != key:
                order[i] = last
                where[last] = i
            yield emit(key, ChangeKind.DELETED, None)
            made += 1
            continue
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        if key.type == "pods":
            st = obj["status"]
            cs = st["containerStatuses"][0]
            if rng.random() < 0.3:
                cs["restartCount"] += 1
                cs["state"] = {"running": {"startedAt": _ts(t)}}
            ready = rng.random() < 0.8
            cs["ready"] = ready
            st["conditions"][1]["status"] = "True" if ready else "False"
            st["conditions"][1]["lastTransitionTime"] = _ts(t)
            obj["metadata"]["managedFields"][1]["time"] = _ts(t)
            if rng.random() < 0.05:
                image = f"{obj['metadata']['labels']['app']}:2.{rng.randrange(9)}"
                obj["spec"]["containers"][0]["image"] = image
        elif key.type == "configmaps":
            obj["data"]["LOG_LEVEL"] = rng.choice(["debug", "info", "warn"])
        elif key.type == "secrets":
            obj["data"]["token"] = f"{rng.getrandbits(128):032x}"
        else:
            obj["status"]["conditions"][0]["lastHeartbeatTime"] = _ts(t)
        yield emit(key, ChangeKind.MODIFIED, obj)
        made += 1

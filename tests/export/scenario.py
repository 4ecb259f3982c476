"""A seeded synthetic cluster history for the export tests, and a HistorySource over it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.source import (
    Bookmark,
    Gap,
    SourceCapability,
    SourceInfo,
    TypeState,
    TypeStatus,
)
from khronoscope.core.timefmt import NS, parse_time
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.temporal import TemporalMap

T0 = parse_time("2026-01-10T10:00:00Z")
PASSWORD = "hunter2-very-secret"
PASSWORD2 = "rotated-s3cr3t-value"
TOKEN = "tok-ABCDEFGH-12345"
LONG_NAME = "a" * 120 + "." + "b" * 132  # 253 characters

TYPES = {
    rt.name: rt
    for rt in [
        ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("list", "watch")),
        ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), ("list", "watch")),
        ResourceType("", "v1", "secrets", "Secret", True, (), ("list", "watch")),
        ResourceType("", "v1", "services", "Service", True, ("svc",), ("list", "watch")),
        ResourceType(
            "",
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            True,
            ("pvc",),
            ("list", "watch"),
        ),
        ResourceType("", "v1", "pods", "Pod", True, ("po",), ("list", "watch")),
        ResourceType("", "v1", "events", "Event", True, ("ev",), ("list", "watch")),
        ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("list", "watch")),
        ResourceType(
            "apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")
        ),
        ResourceType(
            "other.io", "v1beta1", "deployments", "Deployment", True, (), ("list", "watch")
        ),
        ResourceType("example.com", "v1", "widgets", "Widget", True, ("wd",), ("list", "watch")),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            False,
            (),
            ("list", "watch"),
        ),
        ResourceType(
            "rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), ("list", "watch")
        ),
        ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, (), ("list", "watch")),
    ]
}


@dataclass
class MemorySource:
    """A HistorySource over a TemporalMap filled by a test (what a recording reader yields)."""

    tmap: TemporalMap = field(default_factory=TemporalMap)
    info: SourceInfo = field(default_factory=lambda: SourceInfo(cluster="kind-test"))
    types: dict[str, ResourceType] = field(default_factory=lambda: dict(TYPES))
    statuses: dict[str, TypeStatus] = field(default_factory=dict)
    live: bool = False
    capabilities: SourceCapability = SourceCapability.NONE

    @property
    def is_live(self) -> bool:
        return self.live

    def resource_types(self) -> dict[str, ResourceType]:
        return self.types

    def type_status(self) -> dict[str, TypeStatus]:
        return self.statuses

    def gaps(self) -> list[Gap]:
        return []

    def bookmarks(self) -> list[Bookmark]:
        return []

    def add_bookmark(self, bookmark: Bookmark) -> Bookmark:
        return bookmark

    def remove_bookmark(self, bookmark_id: int) -> None:
        return None

    def rename_bookmark(self, bookmark_id: int, label: str) -> Bookmark | None:
        return None

    def put(self, t: int, obj: dict[str, Any], type_name: str | None = None) -> ObjectKey:
        rt = self.types[type_name or _type_of(obj)]
        key = rt.key_of(obj)
        self.tmap.put(key, t, obj)
        return key

    def delete(self, t: int, key: ObjectKey) -> None:
        self.tmap.delete(key, t)

    def forbid(self, type_name: str, t: int) -> None:
        self.statuses[type_name] = TypeStatus(TypeState.FORBIDDEN, t, "403")


def _type_of(obj: dict[str, Any]) -> str:
    api = obj["apiVersion"]
    group = api.split("/")[0] if "/" in api else ""
    for rt in TYPES.values():
        if rt.kind == obj["kind"] and rt.group == group:
            return rt.name
    raise KeyError(obj["kind"])


_rv = [100]


def meta(name: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
    """metadata as the API server returns it (uid, resourceVersion, managedFields...)."""
    _rv[0] += 1
    m: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{name[:20]}-{namespace}",
        "resourceVersion": str(_rv[0]),
        "creationTimestamp": "2026-01-10T09:00:00Z",
        "managedFields": [
            {"manager": "kubectl", "operation": "Update", "time": "2026-01-10T09:00:00Z"}
        ],
    }
    if namespace:
        m["namespace"] = namespace
    m.update(extra)
    return m


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def deployment(
    image: str, replicas: int = 2, ready: int = 2, group: str = "apps"
) -> dict[str, Any]:
    obj = {
        "apiVersion": f"{group}/v1" if group == "apps" else f"{group}/v1beta1",
        "kind": "Deployment",
        "metadata": meta(
            "web",
            "app",
            generation=3,
            labels={"app": "web"},
            annotations={
                "deployment.kubernetes.io/revision": "4",
                "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}',
                "team": "payments",
            },
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                },
            },
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "observedGeneration": 3},
    }
    return obj


def secret(values: dict[str, str], name: str = "db-creds", type_: str = "Opaque") -> dict[str, Any]:
    data = {k: b64(v) for k, v in values.items()}
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "stringData": values})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(
            name,
            "app",
            annotations={
                "kubectl.kubernetes.io/last-applied-configuration": applied,
                "backup.example.com/copy": f"password={values.get('password', '')}",
            },
        ),
        "type": type_,
        "data": data,
    }


def configmap(name: str, data: dict[str, str], namespace: str = "app") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, namespace),
        "data": data,
    }


def seeded() -> tuple[MemorySource, dict[str, int]]:
    """The scenario: moments named by what happens; see the test of the range export."""
    src = MemorySource()
    t = {
        name: T0 + i * 10 * NS
        for i, name in enumerate(
            ["base", "image", "status", "cm_deleted", "cm_recreated", "rotated", "new_key", "event"]
        )
    }
    t0 = t["base"]
    for ns in ("default", "app", "kube-system"):
        src.put(
            t0,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": meta(ns),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )
    src.put(t0, deployment("web:1.0"))
    src.put(
        t0,
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": meta(
                "web-abc",
                "app",
                ownerReferences=[
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                        "uid": "u",
                        "controller": True,
                    }
                ],
            ),
            "spec": {"replicas": 2},
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta(
                "web-abc-x1",
                "app",
                ownerReferences=[
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": "web-abc",
                        "uid": "u",
                        "controller": True,
                    }
                ],
            ),
            "spec": {"containers": [{"name": "web", "image": "web:1.0"}]},
            "status": {"phase": "Running"},
        },
    )
    src.put(
        t0,
        configmap(
            "app-config",
            {
                "settings.yaml": "mode: on\nretries: 08\nlist:\n- y\n- n\n",
                "flag": "on",
                "octal": "0o17",
                "sci": "1e3",
                "zero": "08",
                "yes": "yes",
                "null": "null",
                "empty": "",
            },
        ),
    )
    src.put(t0, configmap("kube-root-ca.crt", {"ca.crt": "-----BEGIN CERTIFICATE-----\nx\n"}))
    src.put(t0, configmap("Upper.Case", {"k": "v"}))
    src.put(t0, configmap(LONG_NAME, {"k": "long"}))
    src.put(t0, configmap("dotted.name.v2", {"k": "dots"}))
    src.put(t0, secret({"password": PASSWORD, "user": "admin"}))
    src.put(
        t0,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta("default-token-x", "app"),
            "type": "kubernetes.io/service-account-token",
            "data": {"token": b64(TOKEN)},
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("web", "app"),
            "spec": {
                "clusterIP": "10.96.0.15",
                "clusterIPs": ["10.96.0.15"],
                "ports": [{"port": 80, "protocol": "TCP"}],
                "selector": {"app": "web"},
            },
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("web-headless", "app"),
            "spec": {
                "clusterIP": "None",
                "clusterIPs": ["None"],
                "ports": [{"port": 80}],
                "selector": {"app": "web"},
            },
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta("data", "app", annotations={"pv.kubernetes.io/bind-completed": "yes"}),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "volumeName": "pvc-123",
                "resources": {"requests": {"storage": "1Gi"}},
            },
            "status": {"phase": "Bound"},
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": meta("w1", "app"),
            "spec": {"size": 3, "status": "kept-in-spec"},
            "status": {"ok": True},
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": meta("ünï-cödé", "app"),
            "spec": {"size": 1},
        },
    )
    src.put(
        t0,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta("system:controller:job-controller"),
            "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]}],
        },
    )
    src.put(t0, deployment("other:1", group="other.io"))
    src.put(
        t0,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta("leader", "kube-system"),
            "spec": {"holderIdentity": "x"},
        },
    )
    # image change: a real change
    src.put(t["image"], deployment("web:1.1", ready=1))
    # only the cluster's own bookkeeping changes: no commit
    src.put(t["status"], deployment("web:1.1", ready=2))
    src.put(
        t["status"],
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta(
                "web-abc-x2",
                "app",
                ownerReferences=[
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": "web-abc",
                        "uid": "u",
                        "controller": True,
                    }
                ],
            ),
            "spec": {"containers": [{"name": "web", "image": "web:1.1"}]},
        },
    )
    src.delete(t["cm_deleted"], ObjectKey("configmaps", "app", "app-config"))
    src.put(t["cm_recreated"], configmap("app-config", {"flag": "off"}))
    # a rotated value is invisible once redacted: no commit
    src.put(t["rotated"], secret({"password": PASSWORD2, "user": "admin"}))
    src.put(t["new_key"], secret({"password": PASSWORD2, "user": "admin", "token": TOKEN}))
    src.put(
        t["event"],
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": meta("web.1", "app"),
            "reason": "Scheduled",
        },
    )
    return src, t

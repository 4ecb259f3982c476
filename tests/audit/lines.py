"""Hand-written audit Events, laid out as kube-apiserver 1.20 writes them (field order and all)."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path
from typing import Any

T0 = "2026-05-01T10:00:00"
_ids = itertools.count(1)

ALICE = {"username": "alice@example.com", "groups": ["devs", "system:authenticated"]}
KCM = {"username": "system:kube-controller-manager", "groups": ["system:authenticated"]}
KUBECTL = "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07"
KCM_AGENT = "kube-controller-manager/v1.20.2 (linux/amd64) kubernetes/faecb19/deployment-controller"


def stamp(second: float) -> str:
    """T0 plus `second` seconds, with microseconds, as the API server writes it."""
    whole = int(second)
    micros = round((second - whole) * 1_000_000)
    return f"2026-05-01T10:{whole // 60:02d}:{whole % 60:02d}.{micros:06d}Z"


def event(
    at: float,
    verb: str,
    resource: str,
    name: str = "",
    namespace: str = "shop",
    group: str = "",
    version: str = "v1",
    sub: str = "",
    level: str = "RequestResponse",
    code: int = 200,
    request: Any = None,
    response: Any = None,
    user: dict[str, Any] | None = None,
    agent: str = KUBECTL,
    ips: list[str] | None = None,
    stage: str = "ResponseComplete",
    uri: str | None = None,
    audit_id: str | None = None,
    received: float | None = None,
) -> dict[str, Any]:
    """One audit Event (its request received `received`, else 1 ms before `at`)."""
    ref: dict[str, Any] = {"resource": resource}
    if namespace:
        ref["namespace"] = namespace
    if name:
        ref["name"] = name
    if group:
        ref["apiGroup"] = group
    ref["apiVersion"] = version
    if sub:
        ref["subresource"] = sub
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id or f"00000000-0000-0000-0000-{next(_ids):012d}",
        "stage": stage,
        "requestURI": uri or f"{prefix}/namespaces/{namespace}/{resource}/{name}",
        "verb": verb,
        "user": user or ALICE,
        "sourceIPs": ips or ["10.0.0.7"],
        "userAgent": agent,
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
    }
    if level == "RequestResponse":
        if request is not None:
            ev["requestObject"] = request
        if response is not None:
            ev["responseObject"] = response
    ev["requestReceivedTimestamp"] = stamp(received if received is not None else max(at - 0.001, 0))
    ev["stageTimestamp"] = stamp(at)
    ev["annotations"] = {"authorization.k8s.io/decision": "allow"}
    return ev


def deployment(
    name: str, rv: int, replicas: int = 1, image: str = "nginx:1.19", **meta: Any
) -> dict:
    """A Deployment as the API server answers with it."""
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "resourceVersion": str(rv),
            "generation": 1,
            "creationTimestamp": f"{T0}Z",
            **meta,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
        "status": {},
    }


def pod(name: str, rv: int, **meta: Any) -> dict:
    """A Pod as the API server answers with it."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "shop", "resourceVersion": str(rv), **meta},
        "spec": {"containers": [{"name": "main", "image": "nginx"}]},
        "status": {"phase": "Pending"},
    }


def secret(name: str, rv: int, value: str) -> dict:
    """A Secret with one value (base64 in `data`, as the API server answers)."""
    import base64

    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "shop", "resourceVersion": str(rv)},
        "type": "Opaque",
        "data": {"password": base64.b64encode(value.encode()).decode()},
    }


def line(ev: dict[str, Any]) -> bytes:
    """One JSON line, compact, as the API server writes."""
    return json.dumps(ev, separators=(",", ":")).encode() + b"\n"


def write(path: Path, events: list[dict[str, Any]], gz: bool = False, tail: bytes = b"") -> Path:
    """An audit log file (gzipped when asked), with extra bytes at the end if given."""
    data = b"".join(line(e) for e in events) + tail
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path

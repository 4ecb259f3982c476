"""Server-side printing: the `meta.k8s.io/v1 Table` kubectl asks for with `Accept: ...;as=Table`.

Columns follow kube-apiserver's printers for the common types (pods: NAME READY STATUS RESTARTS
AGE IP NODE...), CRDs use their additionalPrinterColumns (simple JSONPaths), anything else gets
the generic NAME / CREATED AT table the real server gives types without a printer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from khronoscope.core.timefmt import format_age, parse_k8s_time
from khronoscope.sim.registry import ServedType

TABLE_ACCEPT_MARK = "as=Table"

Obj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority (1: only with -o wide)


def _age(obj: Obj, now: int) -> str:
    t = parse_k8s_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if t is None else format_age(now - t)


def _since(ts: str | None, now: int) -> str:
    t = parse_k8s_time(ts)
    return "<unknown>" if t is None else format_age(now - t)


def pod_status(pod: Obj) -> str:
    """The STATUS column of `kubectl get pods` (the reason a user reads)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in reversed(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        if "terminated" in state and (state["terminated"] or {}).get("exitCode", 0) == 0:
            continue
        if "waiting" in state and (state["waiting"] or {}).get("reason") not in (
            None,
            "",
            "PodInitializing",
        ):
            return f"Init:{state['waiting']['reason']}"
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            t = state["terminated"] or {}
            reason = f"ExitCode:{t.get('exitCode', 0)}"
        elif "running" in state and cs.get("ready"):
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_row(pod: Obj, now: int) -> list[Any]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    last = None
    for cs in statuses:
        fin = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if fin and (last is None or fin > last):
            last = fin
    restart_text = (
        str(restarts) if not (restarts and last) else f"{restarts} ({_since(last, now)} ago)"
    )
    gates = spec.get("readinessGates") or []
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_status(pod),
        restart_text,
        _age(pod, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"{len(gates)}" if gates else "<none>",
    ]


def _images(spec: Obj) -> tuple[str, str]:
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(
        c.get("image", "") for c in containers
    )


def _selector_text(spec: Obj) -> str:
    from khronoscope.core.selectors import selector_from_match

    return selector_from_match(spec.get("selector")) or "<none>"


def _deploy_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec)
    return [
        o["metadata"]["name"],
        f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(o, now),
        names,
        images,
        _selector_text(spec),
    ]


def _rs_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec)
    return [
        o["metadata"]["name"],
        spec.get("replicas", 0),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _age(o, now),
        names,
        images,
        _selector_text(spec),
    ]


def _sts_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec)
    return [
        o["metadata"]["name"],
        f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        _age(o, now),
        names,
        images,
    ]


def _ds_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec)
    sel = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [
        o["metadata"]["name"],
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>",
        _age(o, now),
        names,
        images,
        _selector_text(spec),
    ]


def _node_row(o: Obj, now: int) -> list[Any]:
    meta, spec, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    ready = "Unknown"
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = {"True": "Ready", "False": "NotReady"}.get(c.get("status"), "NotReady")
    status = ready + (",SchedulingDisabled" if spec.get("unschedulable") else "")
    labels = meta.get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = st.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    return [
        meta["name"],
        status,
        ",".join(roles) or "<none>",
        _age(o, now),
        info.get("kubeletVersion", ""),
        addrs.get("InternalIP", "<none>"),
        addrs.get("ExternalIP", "<none>"),
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _svc_row(o: Obj, now: int) -> list[Any]:
    spec = o.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}"
        f"/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    ingress = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    if not external:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    sel = spec.get("selector") or {}
    return [
        o["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        external,
        ports or "<none>",
        _age(o, now),
        ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>",
    ]


def _ns_row(o: Obj, now: int) -> list[Any]:
    return [o["metadata"]["name"], (o.get("status") or {}).get("phase", "Active"), _age(o, now)]


def _cm_row(o: Obj, now: int) -> list[Any]:
    return [
        o["metadata"]["name"],
        len(o.get("data") or {}) + len(o.get("binaryData") or {}),
        _age(o, now),
    ]


def _secret_row(o: Obj, now: int) -> list[Any]:
    return [o["metadata"]["name"], o.get("type", "Opaque"), len(o.get("data") or {}), _age(o, now)]


def _event_row(o: Obj, now: int) -> list[Any]:
    inv = o.get("involvedObject") or {}
    last = (
        o.get("lastTimestamp")
        or o.get("eventTime")
        or (o.get("metadata") or {}).get("creationTimestamp")
    )
    first = o.get("firstTimestamp") or last
    src = o.get("source") or {}
    return [
        _since(last, now),
        o.get("type", ""),
        o.get("reason", ""),
        f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
        inv.get("fieldPath", ""),
        src.get("component") or o.get("reportingComponent", ""),
        o.get("message", "").strip(),
        _since(first, now),
        o.get("count", 1),
        o["metadata"]["name"],
    ]


def _job_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    status = (
        "Complete"
        if conds.get("Complete") == "True"
        else "Failed"
        if conds.get("Failed") == "True"
        else "Running"
    )
    duration = ""
    start, end = parse_k8s_time(st.get("startTime")), parse_k8s_time(st.get("completionTime"))
    if start:
        duration = format_age((end or now) - start)
    return [
        o["metadata"]["name"],
        status,
        f"{st.get('succeeded', 0)}/{spec.get('completions', 1)}",
        duration,
        _age(o, now),
    ]


def _cronjob_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    last = st.get("lastScheduleTime")
    return [
        o["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "True" if spec.get("suspend") else "False",
        len(st.get("active") or []),
        _since(last, now) if last else "<none>",
        _age(o, now),
    ]


def _hpa_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {
        (m.get("resource") or {}).get("name"): m
        for m in st.get("currentMetrics") or []
        if m.get("type") == "Resource"
    }
    for m in spec.get("metrics") or []:
        if m.get("type") != "Resource":
            continue
        res = m.get("resource") or {}
        want = (res.get("target") or {}).get("averageUtilization")
        have = (
            ((current.get(res.get("name")) or {}).get("resource") or {})
            .get("current", {})
            .get("averageUtilization")
        )
        targets.append(f"{res.get('name')}: {have if have is not None else '<unknown>'}%/{want}%")
    return [
        o["metadata"]["name"],
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        ", ".join(targets) or "<none>",
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 0),
        st.get("currentReplicas", 0),
        _age(o, now),
    ]


def _ing_row(o: Obj, now: int) -> list[Any]:
    spec = o.get("spec") or {}
    hosts = ",".join(r.get("host", "*") for r in spec.get("rules") or []) or "*"
    lb = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [
        o["metadata"]["name"],
        spec.get("ingressClassName") or "<none>",
        hosts,
        ",".join(i.get("ip") or i.get("hostname", "") for i in lb),
        "80, 443" if spec.get("tls") else "80",
        _age(o, now),
    ]


def _pvc_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [
        o["metadata"]["name"],
        st.get("phase", "Pending"),
        spec.get("volumeName", ""),
        (st.get("capacity") or {}).get("storage", ""),
        ",".join(
            {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
            for m in st.get("accessModes") or []
        ),
        spec.get("storageClassName") or "",
        _age(o, now),
    ]


def _pv_row(o: Obj, now: int) -> list[Any]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    claim = spec.get("claimRef") or {}
    return [
        o["metadata"]["name"],
        (spec.get("capacity") or {}).get("storage", ""),
        ",".join(
            {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
            for m in spec.get("accessModes") or []
        ),
        spec.get("persistentVolumeReclaimPolicy", ""),
        st.get("phase", ""),
        f"{claim.get('namespace')}/{claim.get('name')}" if claim else "",
        spec.get("storageClassName") or "",
        _age(o, now),
    ]


def _crd_row(o: Obj, now: int) -> list[Any]:
    return [o["metadata"]["name"], (o.get("metadata") or {}).get("creationTimestamp", "")]


_S, _I, _D = "string", "integer", "date"
PRINTERS: dict[str, tuple[list[Column], Callable[[Obj, int], list[Any]]]] = {
    "pods": (
        [
            ("Name", _S, 0),
            ("Ready", _S, 0),
            ("Status", _S, 0),
            ("Restarts", _S, 0),
            ("Age", _S, 0),
            ("IP", _S, 1),
            ("Node", _S, 1),
            ("Nominated Node", _S, 1),
            ("Readiness Gates", _S, 1),
        ],
        _pod_row,
    ),
    "deployments.apps": (
        [
            ("Name", _S, 0),
            ("Ready", _S, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _deploy_row,
    ),
    "replicasets.apps": (
        [
            ("Name", _S, 0),
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _rs_row,
    ),
    "statefulsets.apps": (
        [
            ("Name", _S, 0),
            ("Ready", _S, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
        ],
        _sts_row,
    ),
    "daemonsets.apps": (
        [
            ("Name", _S, 0),
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Node Selector", _S, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _ds_row,
    ),
    "nodes": (
        [
            ("Name", _S, 0),
            ("Status", _S, 0),
            ("Roles", _S, 0),
            ("Age", _S, 0),
            ("Version", _S, 0),
            ("Internal-IP", _S, 1),
            ("External-IP", _S, 1),
            ("OS-Image", _S, 1),
            ("Kernel-Version", _S, 1),
            ("Container-Runtime", _S, 1),
        ],
        _node_row,
    ),
    "services": (
        [
            ("Name", _S, 0),
            ("Type", _S, 0),
            ("Cluster-IP", _S, 0),
            ("External-IP", _S, 0),
            ("Port(s)", _S, 0),
            ("Age", _S, 0),
            ("Selector", _S, 1),
        ],
        _svc_row,
    ),
    "namespaces": ([("Name", _S, 0), ("Status", _S, 0), ("Age", _S, 0)], _ns_row),
    "configmaps": ([("Name", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _cm_row),
    "secrets": ([("Name", _S, 0), ("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _secret_row),
    "events": (
        [
            ("Last Seen", _S, 0),
            ("Type", _S, 0),
            ("Reason", _S, 0),
            ("Object", _S, 0),
            ("Subobject", _S, 1),
            ("Source", _S, 1),
            ("Message", _S, 0),
            ("First Seen", _S, 1),
            ("Count", _I, 1),
            ("Name", _S, 1),
        ],
        _event_row,
    ),
    "jobs.batch": (
        [
            ("Name", _S, 0),
            ("Status", _S, 0),
            ("Completions", _S, 0),
            ("Duration", _S, 0),
            ("Age", _S, 0),
        ],
        _job_row,
    ),
    "cronjobs.batch": (
        [
            ("Name", _S, 0),
            ("Schedule", _S, 0),
            ("Timezone", _S, 0),
            ("Suspend", _S, 0),
            ("Active", _I, 0),
            ("Last Schedule", _S, 0),
            ("Age", _S, 0),
        ],
        _cronjob_row,
    ),
    "horizontalpodautoscalers.autoscaling": (
        [
            ("Name", _S, 0),
            ("Reference", _S, 0),
            ("Targets", _S, 0),
            ("MinPods", _I, 0),
            ("MaxPods", _I, 0),
            ("Replicas", _I, 0),
            ("Age", _S, 0),
        ],
        _hpa_row,
    ),
    "ingresses.networking.k8s.io": (
        [
            ("Name", _S, 0),
            ("Class", _S, 0),
            ("Hosts", _S, 0),
            ("Address", _S, 0),
            ("Ports", _S, 0),
            ("Age", _S, 0),
        ],
        _ing_row,
    ),
    "persistentvolumeclaims": (
        [
            ("Name", _S, 0),
            ("Status", _S, 0),
            ("Volume", _S, 0),
            ("Capacity", _S, 0),
            ("Access Modes", _S, 0),
            ("StorageClass", _S, 0),
            ("Age", _S, 0),
        ],
        _pvc_row,
    ),
    "persistentvolumes": (
        [
            ("Name", _S, 0),
            ("Capacity", _S, 0),
            ("Access Modes", _S, 0),
            ("Reclaim Policy", _S, 0),
            ("Status", _S, 0),
            ("Claim", _S, 0),
            ("StorageClass", _S, 0),
            ("Age", _S, 0),
        ],
        _pv_row,
    ),
}


def _jsonpath(obj: Any, path: str) -> Any:
    """A CRD printer column value: the simple `.a.b[0].c` JSONPaths CRDs use."""
    cur = obj
    for part in path.strip().lstrip(".").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            try:
                cur = cur[int(part[1:-1])] if isinstance(cur, list) else None
            except (ValueError, IndexError):
                return None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


def _partial(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def _column(name: str, typ: str, priority: int, description: str = "", fmt: str = "") -> Obj:
    out: Obj = {
        "name": name,
        "type": typ,
        "format": fmt,
        "description": description or name,
        "priority": priority,
    }
    return out


def table_for(st: ServedType, objs: list[Obj], now: int) -> Obj:
    """A meta.k8s.io/v1 Table of `objs` as the apiserver prints type `st`."""
    rows: list[Obj] = []
    if st.storage in PRINTERS and st.view is None:
        cols, row_fn = PRINTERS[st.storage]
        columns = [_column(n, t, p, fmt="name" if n == "Name" else "") for n, t, p in cols]
        rows = [{"cells": row_fn(o, now), "object": _partial(o)} for o in objs]
    elif st.printer_columns:
        columns = [_column("Name", "string", 0, fmt="name")]
        for c in st.printer_columns:
            columns.append(
                _column(
                    c.get("name", ""),
                    c.get("type", "string"),
                    int(c.get("priority", 0)),
                    c.get("description", ""),
                )
            )
        for o in objs:
            cells: list[Any] = [o["metadata"]["name"]]
            for c in st.printer_columns:
                v = _jsonpath(o, c.get("jsonPath", ""))
                if c.get("type") == "date" and isinstance(v, str):
                    v = _since(v, now)
                cells.append(v)
            rows.append({"cells": cells, "object": _partial(o)})
    else:
        columns = [_column("Name", "string", 0, fmt="name"), _column("Created At", "date", 0)]
        rows = [
            {
                "cells": [
                    o["metadata"]["name"],
                    (o.get("metadata") or {}).get("creationTimestamp"),
                ],
                "object": _partial(o),
            }
            for o in objs
        ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    }

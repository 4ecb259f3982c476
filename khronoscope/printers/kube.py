"""kubectl's table printers for the built-in types, as cell values that do not depend on t.

Each `_<kind>` function mirrors the matching `print<Kind>` of kubectl
(k8s.io/kubernetes/pkg/printers/internalversion/printers.go) and returns the cells after NAME.
They run on every ingested change, so they read dicts directly and allocate little.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from khronoscope.core.timefmt import parse_k8s_time
from khronoscope.printers.columns import CellKind, Column

AGE = Column("AGE", CellKind.AGE)
_EMPTY: dict[str, Any] = {}
_NONE = "<none>"


def ts(value: object) -> int | None:
    """An API timestamp as ns; None when absent or not a timestamp."""
    return _ts(value) if isinstance(value, str) else None


@lru_cache(maxsize=65536)
def _ts(value: str) -> int | None:
    # cached: the same creationTimestamp repeats in every version of an object
    return parse_k8s_time(value)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else _EMPTY


def created(obj: dict[str, Any]) -> int | None:
    """The object's creationTimestamp as ns."""
    return ts(_meta(obj).get("creationTimestamp"))


# --- pods --------------------------------------------------------------------------------------

POD_COLUMNS = (
    Column("READY"),
    Column("STATUS"),
    Column("RESTARTS", CellKind.RESTARTS),
    AGE,
    Column("NODE"),
    Column("IP"),
    Column("NOMINATED NODE", wide=True),
)


def _restartable(container: dict[str, Any] | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _finished_at(status: dict[str, Any]) -> int | None:
    last = status.get("lastState") or _EMPTY
    term = last.get("terminated")
    return ts(term.get("finishedAt")) if term else None


def pod_cells(pod: dict[str, Any]) -> tuple[Any, ...]:
    """READY, STATUS, RESTARTS, AGE, NODE, IP, NOMINATED NODE as kubectl computes them."""
    meta = _meta(pod)
    spec = pod.get("spec") or _EMPTY
    status = pod.get("status") or _EMPTY
    containers = spec.get("containers") or ()
    init_specs = spec.get("initContainers") or ()
    total = len(containers)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: int | None = None
    last_sidecar_restart: int | None = None
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase

    for cond in status.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_by_name: dict[str, dict[str, Any]] = {}
    for c in init_specs:
        init_by_name[c.get("name", "")] = c
        if _restartable(c):
            total += 1

    initializing = False
    init_statuses = status.get("initContainerStatuses") or ()
    for i, cs in enumerate(init_statuses):
        restarts += cs.get("restartCount") or 0
        finished = _finished_at(cs)
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        sidecar = _restartable(init_by_name.get(cs.get("name", "")))
        if sidecar:
            sidecar_restarts += cs.get("restartCount") or 0
            if finished is not None and (
                last_sidecar_restart is None or finished > last_sidecar_restart
            ):
                last_sidecar_restart = finished
        state = cs.get("state") or _EMPTY
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and (term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{term.get('exitCode') or 0}"
            else:
                reason = "Init:" + term["reason"]
        elif (
            waiting is not None
            and waiting.get("reason")
            and waiting["reason"] != ("PodInitializing")
        ):
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        statuses = status.get("containerStatuses") or ()
        for cs in reversed(statuses):
            restarts += cs.get("restartCount") or 0
            finished = _finished_at(cs)
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or _EMPTY
            waiting = state.get("waiting")
            term = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                if term.get("signal"):
                    reason = f"Signal:{term['signal']}"
                else:
                    reason = f"ExitCode:{term.get('exitCode') or 0}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"

    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    ips = status.get("podIPs")
    ip = (ips[0].get("ip") if ips else None) or status.get("podIP") or _NONE
    return (
        f"{ready}/{total}",
        reason,
        (restarts, last_restart if restarts else None),
        ts(meta.get("creationTimestamp")),
        spec.get("nodeName") or _NONE,
        ip,
        status.get("nominatedNodeName") or _NONE,
    )


def _condition_true(status: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or ()
    )


def _has_condition(status: dict[str, Any], kind: str) -> bool:
    # kubectl's hasPodReadyCondition: the Ready condition is present and True
    return _condition_true(status, kind)


# --- workloads ---------------------------------------------------------------------------------

DEPLOYMENT_COLUMNS = (
    Column("READY"),
    Column("UP-TO-DATE", CellKind.NUMBER),
    Column("AVAILABLE", CellKind.NUMBER),
    AGE,
    Column("CONTAINERS", wide=True),
    Column("IMAGES", wide=True),
)


def _replicas(spec: dict[str, Any]) -> int:
    value = spec.get("replicas")
    return 1 if value is None else value


def _template_containers(spec: dict[str, Any]) -> tuple[str, str]:
    pod_spec = (spec.get("template") or _EMPTY).get("spec") or _EMPTY
    cs = pod_spec.get("containers") or ()
    return (
        ",".join(c.get("name", "") for c in cs),
        ",".join(c.get("image", "") for c in cs),
    )


def deployment_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """READY, UP-TO-DATE, AVAILABLE, AGE (+ wide CONTAINERS, IMAGES)."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    names, images = _template_containers(spec)
    return (
        f"{status.get('readyReplicas') or 0}/{_replicas(spec)}",
        status.get("updatedReplicas") or 0,
        status.get("availableReplicas") or 0,
        created(obj),
        names,
        images,
    )


REPLICASET_COLUMNS = (
    Column("DESIRED", CellKind.NUMBER),
    Column("CURRENT", CellKind.NUMBER),
    Column("READY", CellKind.NUMBER),
    AGE,
    Column("CONTAINERS", wide=True),
    Column("IMAGES", wide=True),
)


def replicaset_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """DESIRED, CURRENT, READY, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    names, images = _template_containers(spec)
    return (
        _replicas(spec),
        status.get("replicas") or 0,
        status.get("readyReplicas") or 0,
        created(obj),
        names,
        images,
    )


STATEFULSET_COLUMNS = (
    Column("READY"),
    AGE,
    Column("CONTAINERS", wide=True),
    Column("IMAGES", wide=True),
)


def statefulset_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """READY, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    names, images = _template_containers(spec)
    return (f"{status.get('readyReplicas') or 0}/{_replicas(spec)}", created(obj), names, images)


DAEMONSET_COLUMNS = (
    Column("DESIRED", CellKind.NUMBER),
    Column("CURRENT", CellKind.NUMBER),
    Column("READY", CellKind.NUMBER),
    Column("UP-TO-DATE", CellKind.NUMBER),
    Column("AVAILABLE", CellKind.NUMBER),
    Column("NODE SELECTOR"),
    AGE,
)


def daemonset_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE SELECTOR, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    pod_spec = (spec.get("template") or _EMPTY).get("spec") or _EMPTY
    selector = pod_spec.get("nodeSelector") or {}
    return (
        status.get("desiredNumberScheduled") or 0,
        status.get("currentNumberScheduled") or 0,
        status.get("numberReady") or 0,
        status.get("updatedNumberScheduled") or 0,
        status.get("numberAvailable") or 0,
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or _NONE,
        created(obj),
    )


JOB_COLUMNS = (
    Column("STATUS"),
    Column("COMPLETIONS"),
    Column("DURATION", CellKind.DURATION),
    AGE,
)


def _job_condition(status: dict[str, Any], kind: str) -> bool:
    return _condition_true(status, kind)


def job_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """STATUS, COMPLETIONS, DURATION, AGE (kubectl 1.30)."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    if _job_condition(status, "Complete"):
        state = "Complete"
    elif _job_condition(status, "Failed"):
        state = "Failed"
    elif _meta(obj).get("deletionTimestamp"):
        state = "Terminating"
    elif _job_condition(status, "Suspended"):
        state = "Suspended"
    elif _job_condition(status, "FailureTarget"):
        state = "FailureTarget"
    elif _job_condition(status, "SuccessCriteriaMet"):
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    succeeded = status.get("succeeded") or 0
    completions = spec.get("completions")
    parallelism = spec.get("parallelism")
    if completions is not None:
        done = f"{succeeded}/{completions}"
    elif parallelism is not None and parallelism > 1:
        done = f"{succeeded}/1 of {parallelism}"
    else:
        done = f"{succeeded}/1"
    return (
        state,
        done,
        (ts(status.get("startTime")), ts(status.get("completionTime"))),
        created(obj),
    )


CRONJOB_COLUMNS = (
    Column("SCHEDULE"),
    Column("TIMEZONE"),
    Column("SUSPEND"),
    Column("ACTIVE", CellKind.NUMBER),
    Column("LAST SCHEDULE", CellKind.AGE),
    AGE,
)


def cronjob_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    return (
        spec.get("schedule", ""),
        spec.get("timeZone") or _NONE,
        "True" if spec.get("suspend") else "False",
        len(status.get("active") or ()),
        ts(status.get("lastScheduleTime")),
        created(obj),
    )


# --- networking --------------------------------------------------------------------------------

SERVICE_COLUMNS = (
    Column("TYPE"),
    Column("CLUSTER-IP"),
    Column("EXTERNAL-IP"),
    Column("PORT(S)"),
    AGE,
    Column("SELECTOR", wide=True),
)


def _lb_ips(status: dict[str, Any], wide: bool = False) -> str:
    ingress = ((status.get("loadBalancer") or _EMPTY).get("ingress")) or ()
    found = [i.get("ip") or i.get("hostname") or "" for i in ingress]
    text = ",".join(f for f in found if f)
    if not wide and len(text) > 16:
        text = text[:13] + "..."
    return text


def service_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE."""
    spec = obj.get("spec") or _EMPTY
    kind = spec.get("type") or "ClusterIP"
    external_ips = spec.get("externalIPs") or ()
    if kind in ("ClusterIP", "NodePort"):
        external = ",".join(external_ips) or _NONE
    elif kind == "LoadBalancer":
        lb = _lb_ips(obj.get("status") or _EMPTY)
        parts = ([*lb.split(",")] if lb else []) + list(external_ips)
        external = ",".join(parts) if parts else "<pending>"
    elif kind == "ExternalName":
        external = spec.get("externalName", "")
    else:
        external = "<unknown>"
    ports = []
    for p in spec.get("ports") or ():
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            ports.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            ports.append(f"{p.get('port')}/{proto}")
    selector = spec.get("selector") or {}
    return (
        kind,
        spec.get("clusterIP") or _NONE,
        external,
        ",".join(ports) or _NONE,
        created(obj),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or _NONE,
    )


INGRESS_COLUMNS = (
    Column("CLASS"),
    Column("HOSTS"),
    Column("ADDRESS"),
    Column("PORTS"),
    AGE,
)


def ingress_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """CLASS, HOSTS, ADDRESS, PORTS, AGE."""
    spec = obj.get("spec") or _EMPTY
    hosts = [r.get("host") for r in spec.get("rules") or () if r.get("host")]
    if not hosts:
        host_text = "*"
    elif len(hosts) > 4:
        host_text = ",".join(hosts[:4]) + f" + {len(hosts) - 4} more..."
    else:
        host_text = ",".join(hosts)
    return (
        spec.get("ingressClassName") or _NONE,
        host_text,
        _lb_ips(obj.get("status") or _EMPTY),
        "80, 443" if spec.get("tls") else "80",
        created(obj),
    )


# --- config and storage ------------------------------------------------------------------------

CONFIGMAP_COLUMNS = (Column("DATA", CellKind.NUMBER), AGE)


def configmap_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """DATA, AGE."""
    return (len(obj.get("data") or ()) + len(obj.get("binaryData") or ()), created(obj))


SECRET_COLUMNS = (Column("TYPE"), Column("DATA", CellKind.NUMBER), AGE)


def secret_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """TYPE, DATA (how many keys; never a value), AGE."""
    return (obj.get("type") or "Opaque", len(obj.get("data") or ()), created(obj))


_ACCESS = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _modes(modes: Any) -> str:
    return ",".join(_ACCESS.get(m, m) for m in modes or ())


def _storage_class(obj: dict[str, Any]) -> str:
    spec = obj.get("spec") or _EMPTY
    beta = (_meta(obj).get("annotations") or _EMPTY).get("volume.beta.kubernetes.io/storage-class")
    return spec.get("storageClassName") or beta or ""


PV_COLUMNS = (
    Column("CAPACITY"),
    Column("ACCESS MODES"),
    Column("RECLAIM POLICY"),
    Column("STATUS"),
    Column("CLAIM"),
    Column("STORAGECLASS"),
    Column("VOLUMEATTRIBUTESCLASS"),
    Column("REASON"),
    AGE,
)


def pv_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """CAPACITY, ACCESS MODES, RECLAIM POLICY, STATUS, CLAIM, STORAGECLASS, VAC, REASON, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    claim = spec.get("claimRef")
    phase = status.get("phase") or ""
    if _meta(obj).get("deletionTimestamp"):
        phase = "Terminating"
    return (
        (spec.get("capacity") or _EMPTY).get("storage", ""),
        _modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy") or "",
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason") or "",
        created(obj),
    )


PVC_COLUMNS = (
    Column("STATUS"),
    Column("VOLUME"),
    Column("CAPACITY"),
    Column("ACCESS MODES"),
    Column("STORAGECLASS"),
    Column("VOLUMEATTRIBUTESCLASS"),
    AGE,
)


def pvc_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """STATUS, VOLUME, CAPACITY, ACCESS MODES, STORAGECLASS, VOLUMEATTRIBUTESCLASS, AGE."""
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    phase = status.get("phase") or ""
    if _meta(obj).get("deletionTimestamp"):
        phase = "Terminating"
    volume = spec.get("volumeName") or ""
    capacity = modes = ""
    if volume:
        capacity = (status.get("capacity") or _EMPTY).get("storage", "")
        modes = _modes(status.get("accessModes"))
    return (
        phase,
        volume,
        capacity,
        modes,
        _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        created(obj),
    )


# --- cluster -----------------------------------------------------------------------------------

NODE_COLUMNS = (
    Column("STATUS"),
    Column("ROLES"),
    AGE,
    Column("VERSION"),
    Column("INTERNAL-IP", wide=True),
    Column("OS-IMAGE", wide=True),
    Column("CONTAINER-RUNTIME", wide=True),
)

_ROLE_PREFIX = "node-role.kubernetes.io/"


def node_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """STATUS (Ready/NotReady/Unknown, SchedulingDisabled), ROLES, AGE, VERSION."""
    status = obj.get("status") or _EMPTY
    states = [
        ("Ready" if c.get("status") == "True" else "NotReady")
        for c in status.get("conditions") or ()
        if c.get("type") == "Ready"
    ][:1] or ["Unknown"]
    if (obj.get("spec") or _EMPTY).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for k, v in (_meta(obj).get("labels") or _EMPTY).items():
        if k.startswith(_ROLE_PREFIX) and len(k) > len(_ROLE_PREFIX):
            roles.add(k[len(_ROLE_PREFIX) :])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    info = status.get("nodeInfo") or _EMPTY
    internal = next(
        (a.get("address") for a in status.get("addresses") or () if a.get("type") == "InternalIP"),
        _NONE,
    )
    return (
        ",".join(states),
        ",".join(sorted(roles)) or _NONE,
        created(obj),
        info.get("kubeletVersion", ""),
        internal,
        info.get("osImage", ""),
        info.get("containerRuntimeVersion", ""),
    )


NAMESPACE_COLUMNS = (Column("STATUS"), AGE)


def namespace_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """STATUS, AGE."""
    return ((obj.get("status") or _EMPTY).get("phase") or "", created(obj))


EVENT_COLUMNS = (
    Column("LAST SEEN", CellKind.AGE),
    Column("TYPE"),
    Column("REASON"),
    Column("OBJECT"),
    Column("MESSAGE"),
    Column("COUNT", CellKind.NUMBER, wide=True),
)


def event_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """LAST SEEN, TYPE, REASON, OBJECT (kind/name), MESSAGE (core/v1 Event)."""
    series = obj.get("series") or _EMPTY
    last = (
        ts(obj.get("lastTimestamp"))
        or ts(series.get("lastObservedTime"))
        or ts(obj.get("eventTime"))
        or ts(obj.get("firstTimestamp"))
        or created(obj)
    )
    involved = obj.get("involvedObject") or _EMPTY
    return (
        last,
        obj.get("type") or "",
        obj.get("reason") or "",
        f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}",
        (obj.get("message") or "").replace("\n", " ").strip(),
        series.get("count") or obj.get("count") or 1,
    )


def events_v1_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """The same columns for events.k8s.io/v1 Events (regarding/note/deprecated* fields)."""
    series = obj.get("series") or _EMPTY
    last = (
        ts(series.get("lastObservedTime"))
        or ts(obj.get("deprecatedLastTimestamp"))
        or ts(obj.get("eventTime"))
        or created(obj)
    )
    regarding = obj.get("regarding") or _EMPTY
    return (
        last,
        obj.get("type") or "",
        obj.get("reason") or "",
        f"{(regarding.get('kind') or '').lower()}/{regarding.get('name', '')}",
        (obj.get("note") or "").replace("\n", " ").strip(),
        series.get("count") or obj.get("deprecatedCount") or 1,
    )


CRD_COLUMNS = (Column("CREATED AT", CellKind.TIMESTAMP),)


def crd_object_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """CREATED AT (kubectl prints CRDs' creation time, not their age)."""
    return (created(obj),)


GENERIC_COLUMNS = (AGE,)


def generic_cells(obj: dict[str, Any]) -> tuple[Any, ...]:
    """AGE only (NAME is the key's)."""
    return (created(obj),)


Printer = tuple[tuple[Column, ...], Callable[[dict[str, Any]], tuple[Any, ...]]]

BUILTIN: dict[str, Printer] = {
    "pods": (POD_COLUMNS, pod_cells),
    "deployments.apps": (DEPLOYMENT_COLUMNS, deployment_cells),
    "replicasets.apps": (REPLICASET_COLUMNS, replicaset_cells),
    "statefulsets.apps": (STATEFULSET_COLUMNS, statefulset_cells),
    "daemonsets.apps": (DAEMONSET_COLUMNS, daemonset_cells),
    "jobs.batch": (JOB_COLUMNS, job_cells),
    "cronjobs.batch": (CRONJOB_COLUMNS, cronjob_cells),
    "services": (SERVICE_COLUMNS, service_cells),
    "ingresses.networking.k8s.io": (INGRESS_COLUMNS, ingress_cells),
    "configmaps": (CONFIGMAP_COLUMNS, configmap_cells),
    "secrets": (SECRET_COLUMNS, secret_cells),
    "nodes": (NODE_COLUMNS, node_cells),
    "namespaces": (NAMESPACE_COLUMNS, namespace_cells),
    "events": (EVENT_COLUMNS, event_cells),
    "events.events.k8s.io": (EVENT_COLUMNS, events_v1_cells),
    "persistentvolumes": (PV_COLUMNS, pv_cells),
    "persistentvolumeclaims": (PVC_COLUMNS, pvc_cells),
    "customresourcedefinitions.apiextensions.k8s.io": (CRD_COLUMNS, crd_object_cells),
}

"""`kubectl describe`-like summaries of an object as of t (pods, nodes, and a generic one).

Ages and event times are relative to t, not to now: describing a pod at 14:32 yesterday shows
what `kubectl describe` would have shown then. Secret values are never printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from khronoscope.core.timefmt import format_age, to_datetime
from khronoscope.printers.kube import pod_cells, ts
from khronoscope.printers.redact import LAST_APPLIED, is_secret

_EMPTY: dict[str, Any] = {}


def _when(value: str | None, tz: tzinfo | None) -> str:
    t = ts(value)
    if t is None:
        return "<unknown>"
    return to_datetime(t, tz).strftime("%a, %d %b %Y %H:%M:%S %z")


def _pairs(mapping: dict[str, Any] | None, skip: Iterable[str] = ()) -> list[str]:
    items = [f"{k}={v}" for k, v in (mapping or {}).items() if k not in skip]
    return items or ["<none>"]


class _Out:
    """Lines with kubectl's `Label:  value` alignment per block."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def kv(self, key: str, value: Any, indent: int = 0, width: int = 0) -> None:
        label = f"{key}:"
        pad = max(width, len(label) + 2)
        self.lines.append(" " * indent + label.ljust(pad) + ("" if value is None else str(value)))

    def multi(self, key: str, values: list[str], indent: int = 0, width: int = 0) -> None:
        self.kv(key, values[0], indent, width)
        pad = max(width, len(key) + 3)
        self.lines.extend(" " * (indent + pad) + v for v in values[1:])

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def table(self, header: list[str], rows: list[list[str]], indent: int = 2) -> None:
        widths = [len(h) for h in header]
        for r in rows:
            widths = [max(w, len(c)) for w, c in zip(widths, r, strict=False)]
        rule = ["-" * len(h) for h in header]
        for r in (header, rule, *rows):
            cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
            self.lines.append((" " * indent + "  ".join(cells)).rstrip())

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _events(out: _Out, events: list[dict[str, Any]], t: int) -> None:
    if not events:
        out.kv("Events", "<none>")
        return
    out.kv("Events", "")
    rows = []
    for ev in sorted(events, key=lambda e: _event_last(e) or 0):
        last = _event_last(ev)
        first = ts(ev.get("firstTimestamp")) or ts(ev.get("eventTime")) or last
        count = ev.get("count") or (ev.get("series") or _EMPTY).get("count") or 1
        age = format_age(t - last) if last is not None else "<unknown>"
        if count > 1 and first is not None:
            age = f"{age} (x{count} over {format_age(t - first)})"
        source = ev.get("source") or _EMPTY
        origin = source.get("component") or ev.get("reportingComponent") or ""
        rows.append(
            [
                ev.get("type") or "",
                ev.get("reason") or "",
                age,
                origin,
                (ev.get("message") or ev.get("note") or "").replace("\n", " "),
            ]
        )
    out.table(["Type", "Reason", "Age", "From", "Message"], rows)


def _event_last(ev: dict[str, Any]) -> int | None:
    series = ev.get("series") or _EMPTY
    return (
        ts(ev.get("lastTimestamp"))
        or ts(series.get("lastObservedTime"))
        or ts(ev.get("eventTime"))
        or ts(ev.get("firstTimestamp"))
        or ts((ev.get("metadata") or _EMPTY).get("creationTimestamp"))
    )


def _meta_block(out: _Out, meta: dict[str, Any], w: int) -> None:
    out.kv("Name", meta.get("name", ""), width=w)
    if meta.get("namespace"):
        out.kv("Namespace", meta["namespace"], width=w)
    out.multi("Labels", _pairs(meta.get("labels")), width=w)
    out.multi("Annotations", _pairs(meta.get("annotations"), skip=(LAST_APPLIED,)), width=w)


def _container_state(out: _Out, label: str, state: dict[str, Any], tz: tzinfo | None) -> None:
    if not state:
        out.kv(label, "Waiting", 4, 16)
        return
    if "running" in state:
        out.kv(label, "Running", 4, 16)
        out.kv("Started", _when(state["running"].get("startedAt"), tz), 6, 14)
    elif "waiting" in state:
        out.kv(label, "Waiting", 4, 16)
        if state["waiting"].get("reason"):
            out.kv("Reason", state["waiting"]["reason"], 6, 14)
    elif "terminated" in state:
        term = state["terminated"]
        out.kv(label, "Terminated", 4, 16)
        out.kv("Reason", term.get("reason") or "", 6, 14)
        out.kv("Exit Code", term.get("exitCode", 0), 6, 14)
        out.kv("Started", _when(term.get("startedAt"), tz), 6, 14)
        out.kv("Finished", _when(term.get("finishedAt"), tz), 6, 14)


def _containers(
    out: _Out,
    title: str,
    specs: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    tz: tzinfo | None,
) -> None:
    if not specs:
        return
    out.kv(title, "")
    by_name = {s.get("name"): s for s in statuses}
    for c in specs:
        st = by_name.get(c.get("name")) or {}
        out.line(f"  {c.get('name', '')}:")
        if st.get("containerID"):
            out.kv("Container ID", st["containerID"], 4, 16)
        out.kv("Image", c.get("image", ""), 4, 16)
        for p in c.get("ports") or ():
            out.kv("Port", f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}", 4, 16)
        _container_state(out, "State", st.get("state") or {}, tz)
        if st.get("lastState"):
            _container_state(out, "Last State", st["lastState"], tz)
        out.kv("Ready", "True" if st.get("ready") else "False", 4, 16)
        out.kv("Restart Count", st.get("restartCount", 0), 4, 16)
        res = c.get("resources") or {}
        for kind in ("limits", "requests"):
            if res.get(kind):
                out.kv(kind.capitalize(), "", 4, 16)
                for k, v in res[kind].items():
                    out.kv(k, v, 6, 10)
        env = c.get("env") or ()
        if env:
            out.kv("Environment", "", 4, 16)
            for e in env:
                # a value from a Secret is named, never resolved
                src = e.get("valueFrom")
                value = "<set from a reference>" if src else e.get("value", "")
                out.kv(e.get("name", ""), value, 6, 10)
        else:
            out.kv("Environment", "<none>", 4, 16)


def describe_pod(
    pod: dict[str, Any], events: list[dict[str, Any]], t: int, tz: tzinfo | None = None
) -> str:
    """A pod as `kubectl describe pod` shows it, as of t."""
    meta = pod.get("metadata") or _EMPTY
    spec = pod.get("spec") or _EMPTY
    status = pod.get("status") or _EMPTY
    ready, reason, *_ = pod_cells(pod)
    out = _Out()
    w = 18
    out.kv("Name", meta.get("name", ""), width=w)
    out.kv("Namespace", meta.get("namespace", ""), width=w)
    out.kv("Priority", spec.get("priority", 0), width=w)
    out.kv("Service Account", spec.get("serviceAccountName") or "default", width=w)
    node = spec.get("nodeName") or "<none>"
    host_ip = status.get("hostIP")
    out.kv("Node", f"{node}/{host_ip}" if host_ip else node, width=w)
    out.kv("Start Time", _when(status.get("startTime"), tz), width=w)
    out.multi("Labels", _pairs(meta.get("labels")), width=w)
    out.multi("Annotations", _pairs(meta.get("annotations"), skip=(LAST_APPLIED,)), width=w)
    out.kv("Status", reason, width=w)
    if meta.get("deletionTimestamp"):
        out.kv("Terminating", f"since {_when(meta['deletionTimestamp'], tz)}", width=w)
    if status.get("reason"):
        out.kv("Reason", status["reason"], width=w)
    if status.get("message"):
        out.kv("Message", status["message"], width=w)
    out.kv("IP", status.get("podIP") or "", width=w)
    out.kv("Ready", ready, width=w)
    owners = meta.get("ownerReferences") or ()
    for o in owners:
        if o.get("controller"):
            out.kv("Controlled By", f"{o.get('kind')}/{o.get('name')}", width=w)
    _containers(
        out,
        "Init Containers",
        spec.get("initContainers") or [],
        status.get("initContainerStatuses") or [],
        tz,
    )
    _containers(
        out, "Containers", spec.get("containers") or [], status.get("containerStatuses") or [], tz
    )
    conditions = status.get("conditions") or ()
    if conditions:
        out.kv("Conditions", "")
        out.table(
            ["Type", "Status"], [[c.get("type", ""), c.get("status", "")] for c in conditions]
        )
    volumes = spec.get("volumes") or ()
    if volumes:
        out.kv("Volumes", "")
        for v in volumes:
            kinds = [k for k in v if k != "name"]
            out.line(f"  {v.get('name', '')}:")
            out.kv("Type", kinds[0] if kinds else "<unknown>", 4, 12)
    out.kv("QoS Class", status.get("qosClass") or "", width=w)
    out.multi("Node-Selectors", _pairs(spec.get("nodeSelector")), width=w)
    _events(out, events, t)
    return out.text()


def describe_node(
    node: dict[str, Any],
    pods: list[dict[str, Any]],
    events: list[dict[str, Any]],
    t: int,
    tz: tzinfo | None = None,
) -> str:
    """A node as `kubectl describe node` shows it, with the pods on it as of t."""
    meta = node.get("metadata") or _EMPTY
    spec = node.get("spec") or _EMPTY
    status = node.get("status") or _EMPTY
    out = _Out()
    w = 22
    out.kv("Name", meta.get("name", ""), width=w)
    roles = sorted(
        k.split("/", 1)[1]
        for k in (meta.get("labels") or {})
        if k.startswith("node-role.kubernetes.io/")
    )
    out.kv("Roles", ",".join(roles) or "<none>", width=w)
    out.multi("Labels", _pairs(meta.get("labels")), width=w)
    out.multi("Annotations", _pairs(meta.get("annotations"), skip=(LAST_APPLIED,)), width=w)
    out.kv("CreationTimestamp", _when(meta.get("creationTimestamp"), tz), width=w)
    taints = [
        f"{x.get('key')}{'=' + x['value'] if x.get('value') else ''}:{x.get('effect')}"
        for x in spec.get("taints") or ()
    ]
    out.multi("Taints", taints or ["<none>"], width=w)
    out.kv("Unschedulable", "true" if spec.get("unschedulable") else "false", width=w)
    conditions = status.get("conditions") or ()
    out.kv("Conditions", "")
    out.table(
        ["Type", "Status", "LastHeartbeatTime", "Reason", "Message"],
        [
            [
                c.get("type", ""),
                c.get("status", ""),
                _when(c.get("lastHeartbeatTime"), tz),
                c.get("reason", ""),
                c.get("message", ""),
            ]
            for c in conditions
        ],
    )
    out.kv("Addresses", "")
    for a in status.get("addresses") or ():
        out.kv(a.get("type", ""), a.get("address", ""), 2, 14)
    for title, field in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if status.get(field):
            out.kv(title, "")
            for k, v in status[field].items():
                out.kv(k, v, 2, 20)
    info = status.get("nodeInfo") or {}
    out.kv("System Info", "")
    for label, field in (
        ("Machine ID", "machineID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
    ):
        out.kv(label, info.get(field, ""), 2, 28)
    if spec.get("podCIDR"):
        out.kv("PodCIDR", spec["podCIDR"], width=w)
    running = [
        p for p in pods if (p.get("status") or _EMPTY).get("phase") not in ("Succeeded", "Failed")
    ]
    out.kv("Non-terminated Pods", f"({len(running)} in total)", width=w)
    rows = []
    for p in sorted(
        running, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])
    ):
        pm = p.get("metadata") or _EMPTY
        req, lim = _pod_resources(p)
        created = ts(pm.get("creationTimestamp"))
        rows.append(
            [
                pm.get("namespace", ""),
                pm.get("name", ""),
                req.get("cpu", "0"),
                lim.get("cpu", "0"),
                req.get("memory", "0"),
                lim.get("memory", "0"),
                format_age(t - created) if created is not None else "<unknown>",
            ]
        )
    if rows:
        out.table(
            [
                "Namespace",
                "Name",
                "CPU Requests",
                "CPU Limits",
                "Memory Requests",
                "Memory Limits",
                "Age",
            ],
            rows,
        )
    _events(out, events, t)
    return out.text()


def _ns_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or _EMPTY
    return meta.get("namespace", ""), meta.get("name", "")


def _pod_resources(pod: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    # summed per resource when there is one container; several are listed joined by '+'
    req: dict[str, list[str]] = {}
    lim: dict[str, list[str]] = {}
    for c in (pod.get("spec") or _EMPTY).get("containers") or ():
        res = c.get("resources") or {}
        for k, v in (res.get("requests") or {}).items():
            req.setdefault(k, []).append(str(v))
        for k, v in (res.get("limits") or {}).items():
            lim.setdefault(k, []).append(str(v))
    return {k: "+".join(v) for k, v in req.items()}, {k: "+".join(v) for k, v in lim.items()}


def describe_generic(
    obj: dict[str, Any], events: list[dict[str, Any]], t: int, tz: tzinfo | None = None
) -> str:
    """Any other object: metadata, then its other fields as an indented tree (kubectl's
    generic describer); Secret values replaced by their sizes' absence: keys only."""
    meta = obj.get("metadata") or _EMPTY
    out = _Out()
    w = 20
    _meta_block(out, meta, w)
    out.kv("API Version", obj.get("apiVersion", ""), width=w)
    out.kv("Kind", obj.get("kind", ""), width=w)
    out.kv("CreationTimestamp", _when(meta.get("creationTimestamp"), tz), width=w)
    if meta.get("deletionTimestamp"):
        out.kv("DeletionTimestamp", _when(meta["deletionTimestamp"], tz), width=w)
    for o in meta.get("ownerReferences") or ():
        out.kv("Owner", f"{o.get('kind')}/{o.get('name')}", width=w)
    secret = is_secret(obj)
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if secret and key in ("data", "stringData") and isinstance(value, dict):
            out.kv(_title(key), "")
            for k in value:
                out.kv(k, "<redacted>", 2)
            continue
        _tree(out, _title(key), value, 0)
    _events(out, events, t)
    return out.text()


def _title(key: str) -> str:
    return key[:1].upper() + key[1:]


def _tree(out: _Out, key: str, value: Any, indent: int) -> None:
    if isinstance(value, dict):
        out.kv(key, "" if value else "<none>", indent)
        for k, v in value.items():
            # nested keys as they are: label keys, data keys and field names alike
            _tree(out, str(k), v, indent + 2)
    elif isinstance(value, list):
        if not value:
            out.kv(key, "<none>", indent)
        elif all(not isinstance(v, dict | list) for v in value):
            out.kv(key, ", ".join(str(v) for v in value), indent)
        else:
            out.kv(key, "", indent)
            for v in value:
                if isinstance(v, dict):
                    first = True
                    for k, vv in v.items():
                        _tree(out, ("- " if first else "  ") + str(k), vv, indent + 2)
                        first = False
                else:
                    out.line(" " * (indent + 2) + f"- {v}")
    else:
        out.kv(key, value, indent)

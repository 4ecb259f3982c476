"""A hostile cluster: terminal-injection payloads in every free-text field a cluster (or a crafted
recording) can hold, and a check that no control byte of them reaches a terminal.

The world is a script (objects at known times, log lines, notes, bookmarks, gaps, watch states,
cluster identity) applied either to an in-memory source (the TUI tests) or to a recording file
(the CLI tests, and `open`). Each hostile string starts with a plain marker (`p07-`, `a07-`...) so
a test can also prove the text was drawn, not silently left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.core.source import (
    Bookmark,
    Gap,
    SourceCapability,
    SourceInfo,
    TypeState,
    TypeStatus,
)
from khronoscope.core.timefmt import NS, format_k8s_time
from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType
from khronoscope.printers import row_for
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.marks import LogMarks
from khronoscope.telemetry.metricstore import MetricStore
from khronoscope.temporal import TemporalMap
from tests import testing

PAYLOADS: dict[str, str] = {
    "osc52-clipboard": "\x1b]52;c;cHduZWQ=\x1b\\",
    "osc0-title-bel": "\x1b]0;pwned-title\x07",
    "osc2-title-st": "\x1b]2;pwned-title\x1b\\",
    "osc8-hyperlink": "\x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\",
    "csi-clear-home": "\x1b[2J\x1b[H",
    "csi-cursor-moves": "\x1b[5A\x1b[20C\x1b7\x1b8\x1b[s",
    "csi-sgr-conceal": "\x1b[8m\x1b[30;40m",
    "ris-reset": "\x1bc",
    "dcs-query": "\x1bP+q544e\x1b\\",
    "cr-overwrite": "\rOVERWRITTEN",
    "backspace": "abc\x08\x08\x08XYZ",
    "bel-nul-vt-ff": "\x07\x00\x0b\x0c",
    "c1-csi-8bit": "\x9b2J\x9b1;1H",
    "c1-osc-8bit": "\x9d0;pwned-title\x9c",
    "del": "x\x7f\x7fy",
    "bidi-override": "\u202eexe.txt\u202c",
    "bidi-embedding": "\u202a\u202bltr-rtl\u202c",
    "bidi-isolate": "\u2066\u2067\u2068iso\u2069",
    "bidi-marks": "\u200e\u200f\u061cmarks",
    "newline-tab": "one\ntwo\tthree",
    "markup-click": "[@click=app.quit]click me[/]",
    "markup-style": "[bold red on white]styled[/]",
    "markup-link": "[link=https://evil.example/]link[/link]",
}
NAMES = list(PAYLOADS)
MARKUP = {n for n in NAMES if n.startswith("markup")}

FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
"""What must never reach a terminal from cluster text: C0, DEL, C1, bidi controls."""

# what Textual itself writes around the text it draws: SGR styles, cursor positioning, modes,
# the pointer shape (OSC 22), and a newline before each line's cursor move
_TEXTUAL_OWN = re.compile(
    r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H|\x1b\[\?\d+[hl]|\x1b\]22;[a-z-]+\x07|\n(?=\x1b\[\d+;\d+H)"
)


def leaks(raw: str) -> list[str]:
    """Control bytes in `raw` terminal output that its renderer did not put there itself (with
    some context each), and any payload sequence found verbatim."""
    found = []
    rest = _TEXTUAL_OWN.sub("", raw)
    for m in FORBIDDEN.finditer(rest):
        found.append(repr(rest[max(0, m.start() - 24) : m.start() + 12]))
    for name, payload in PAYLOADS.items():
        if name not in MARKUP and name != "newline-tab" and payload in raw:
            found.append(f"payload {name} verbatim")
    return found[:20]


def hostile(prefix: str, i: int) -> str:
    """Hostile string number i of a place: its marker, then payload i."""
    return f"{prefix}{i:02d}-{PAYLOADS[NAMES[i]]}"


def marker(prefix: str, i: int) -> str:
    """The plain start of hostile string i of a place (visible however it is escaped)."""
    return f"{prefix}{i:02d}-"


N = len(PAYLOADS)
T0 = testing.T0
at = testing.at

# every place a payload is put, with the number of hostile strings there
PLACES: dict[str, int] = {
    "namespace names": N,
    "pod names": N,
    "label values": N,
    "annotation values": N,
    "event messages": N,
    "event reasons": N,
    "pod status messages": N,
    "node condition messages": N,
    "container names": 1,
    "log lines": N,
    "log notes": N,
    "CRD object names": N,
    "CRD printer column values": N,
    "managedFields managers": N,
    "bookmark labels": N,
    "gap reasons": N,
    "watch errors (forbidden types)": N,
    "cluster/context/server names": 3,
}

DATABASE = ResourceType(
    "example.com", "v1", "databases", "Database", True, ("db",), ("list", "watch")
)
CRD = {
    **testing.DATABASE_CRD,
    "spec": {
        **testing.DATABASE_CRD["spec"],
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "additionalPrinterColumns": [
                    {"name": "Note", "type": "string", "jsonPath": ".spec.note"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                ],
            }
        ],
    },
}
VICTIM = ObjectKey("pods", "shop", "victim")
LABELLED = ObjectKey("pods", "shop", "labelled")
ANNOTATED = ObjectKey("configmaps", "shop", "annotated")
MANAGED = ObjectKey("configmaps", "shop", "managed")
NODE = ObjectKey("nodes", "", "node-evil")
TWIN = ObjectKey("configmaps", "", "twin")
EVIL_CONTAINER = f"side-{PAYLOADS['osc52-clipboard']}{PAYLOADS['markup-click']}"
CLUSTER = "cluster-" + "".join(
    PAYLOADS[n] for n in ("osc2-title-st", "markup-click", "c1-csi-8bit")
)
CONTEXT = "ctx-" + "".join(PAYLOADS[n] for n in ("osc52-clipboard", "bidi-override"))
SERVER = "v1.31-" + PAYLOADS["csi-clear-home"]


def forbidden_type(i: int) -> ResourceType:
    """Type i of the types the watch could not list, each with a hostile error."""
    return ResourceType(
        "evil.example.com", "v1", f"things{i:02d}", f"Thing{i:02d}", True, (), ("list", "watch")
    )


@dataclass
class World:
    """Everything the hostile cluster recorded, in time order where it matters."""

    info: SourceInfo
    types: list[ResourceType]
    status: dict[str, TypeStatus]
    changes: list[Change] = field(default_factory=list)
    logs: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    notes: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    metrics: list[tuple[int, ObjectKey, int, int]] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def put(self, t: int, obj: dict[str, Any]) -> None:
        """An object version at t."""
        rt = next(r for r in self.types if r.kind == obj["kind"])
        kind = ChangeKind.MODIFIED
        key = rt.key_of(obj)
        if not any(c.key == key for c in self.changes):
            kind = ChangeKind.ADDED
        self.changes.append(Change(t, key, kind, obj))


def _meta(name: str, ns: str | None, t: int, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    meta["uid"] = f"uid-{ns}-{name}"
    meta["resourceVersion"] = str(t // 1_000_000)
    meta["creationTimestamp"] = format_k8s_time(t)
    meta.update(extra)
    return meta


def _configmap(name: str, ns: str, t: int, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, ns, t, **meta),
        "data": {"config": "plain"},
    }


def build_world() -> World:
    """The hostile cluster's past (every time below T0 + 200 s)."""
    types = [
        *testing.RESOURCE_TYPES,
        *(forbidden_type(i) for i in range(N)),
    ]
    status = {rt.name: TypeStatus(TypeState.LIVE, T0) for rt in types}
    for i in range(N):
        status[forbidden_type(i).name] = TypeStatus(TypeState.FORBIDDEN, T0, hostile("w", i))
    status["roles.rbac.authorization.k8s.io"] = TypeStatus(TypeState.FORBIDDEN, T0, "no access")
    w = World(SourceInfo(CLUSTER, CONTEXT, SERVER), types, status)
    put = w.put

    put(at(0), testing.namespace("shop", at(0)))
    put(at(0), CRD)
    for i in range(N):
        ns = hostile("n", i)
        put(at(0), testing.namespace(ns, at(0)) | {"metadata": _meta(ns, None, at(0))})
        pod = testing.pod(
            hostile("p", i), ns, at(1), node_name="node-evil", phase="Running", state="running"
        )
        put(at(1), pod)
        # the same name in every namespace: naming it alone is ambiguous (an error lists them)
        put(at(2), _configmap(TWIN.name, ns, at(2)))
        put(
            at(2),
            {
                "apiVersion": "example.com/v1",
                "kind": "Database",
                "metadata": _meta(hostile("d", i), "shop", at(2)),
                "spec": {"note": hostile("k", i)},
                "status": {"phase": "Ready"},
            },
        )

    node = testing.node("node-evil", at(0))
    node["status"]["conditions"] = [
        {
            "type": f"Cond{i:02d}",
            "status": "True",
            "reason": "Evil",
            "message": hostile("c", i),
            "lastHeartbeatTime": format_k8s_time(at(0)),
        }
        for i in range(N)
    ]
    put(at(0), node)

    victim = testing.pod(
        "victim", "shop", at(3), node_name="node-evil", phase="Failed", state="running"
    )
    victim["spec"]["containers"].append({"name": EVIL_CONTAINER, "image": "busybox"})
    victim["status"]["reason"] = "Evicted"
    victim["status"]["message"] = "".join(hostile("s", i) for i in range(N))
    put(at(3), victim)

    labelled = testing.pod("labelled", "shop", at(3), node_name="node-evil")
    labelled["metadata"]["labels"] = {f"l{i:02d}": hostile("l", i) for i in range(N)}
    put(at(3), labelled)

    annotations = {f"a{i:02d}": hostile("a", i) for i in range(N)}
    put(at(4), _configmap("annotated", "shop", at(4), annotations=annotations))

    # one version per payload, each by its own field manager, each adding an annotation
    for i in range(N):
        managed = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(
                "managed",
                "shop",
                at(5),
                resourceVersion=str(i + 1),
                annotations={f"g{j:02d}": hostile("h", j) for j in range(i + 1)},
                managedFields=[
                    {
                        "manager": hostile("g", j),
                        "operation": "Update",
                        "apiVersion": "v1",
                        "time": format_k8s_time(at(5 + j)),
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:metadata": {"f:annotations": {f"f:g{j:02d}": {}}}},
                    }
                    for j in range(i + 1)
                ],
            ),
            "data": {"n": str(i)},
        }
        put(at(5 + i), managed)

    for i in range(N):
        ev = testing.event(
            f"victim.{i:02d}",
            "shop",
            at(40 + i),
            "Pod",
            "victim",
            hostile("r", i),
            hostile("m", i),
            warn=True,
        )
        put(at(40 + i), ev)

    for i in range(N):
        w.logs.append((at(70 + i), "shop", "victim", "victim", hostile("o", i)))
        w.notes.append((at(70 + i) + 1, "shop", "victim", "victim", hostile("q", i)))
    w.logs.append((at(95), "shop", "victim", EVIL_CONTAINER, "from the side container"))
    for i in range(0, 200, 20):
        w.metrics.append((at(i + 1), VICTIM, 10_000_000 * (i + 1), 2**20 * (i + 1)))

    for i in range(N):
        key = ObjectKey("pods", hostile("n", i), hostile("p", i)) if i % 2 else None
        w.bookmarks.append(Bookmark(at(100 + i), hostile("b", i), key, i + 1))
        w.gaps.append(Gap(at(130 + i), at(130 + i) + NS // 2, "pods", hostile("x", i)))

    # the last change: what the app opens at
    put(at(180), testing.namespace("zz-last", at(180)))
    return w


END = at(180)
"""The world's last change (where the TUI tests look at it)."""


@dataclass
class HostileSource(testing.MemorySource):
    """The world in memory, with its logs and metrics; `live` also captures logs (marks)."""

    logs: LogStore = field(default_factory=LogStore)
    metrics: MetricStore = field(default_factory=MetricStore)
    log_marks: LogMarks = field(default_factory=LogMarks)

    def __post_init__(self) -> None:
        if self.live:
            self.capabilities |= SourceCapability.CAPTURES_LOGS  # what a cluster session declares

    def mark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Start capturing (as a session would: only a mark)."""
        self.log_marks.mark(key, container)

    def unmark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Stop capturing."""
        self.log_marks.unmark(key, container)

    def log_status(self, key: ObjectKey) -> dict[str, Any]:
        """No capture runs here."""
        return {}


def hostile_source(live: bool = False) -> HostileSource:
    """The hostile world as an in-memory source."""
    w = build_world()
    src = HostileSource(
        TemporalMap(row_fn=row_for),
        w.info,
        {rt.name: rt for rt in w.types},
        dict(w.status),
        live,
        list(w.gaps),
        [Bookmark(b.t, b.label, b.key, b.id) for b in w.bookmarks],
    )
    for c in w.changes:
        src.tmap.put(c.key, c.t, c.obj)
    for t, ns, pod, container, text in w.logs:
        src.logs.append(ns, pod, container, t, text)
    for t, ns, pod, container, text in w.notes:
        src.logs.note(ns, pod, container, t, text)
    for t, key, cpu, mem in w.metrics:
        src.metrics.add(t, key, cpu, mem)
    return src


def write_recording(path: Path) -> Path:
    """The hostile world as a recording file (what `khronoscope record` would have written)."""
    w = build_world()
    opts = WriterOptions(block_size=16 * 1024, keyframe_ratio=0.0, autoflush=False)
    writer = RecordingWriter.create(
        path,
        w.info,
        start=T0,
        options={"namespaces": "all"},
        writer_options=opts,
    )
    writer.set_types(T0, w.types)
    for name, st in w.status.items():
        writer.append_status(T0, name, st)
    events: list[tuple[int, int, Any]] = []
    events += [(c.t, 0, c) for c in w.changes]
    events += [(t, 1, ("log", t, ns, pod, c, text)) for t, ns, pod, c, text in w.logs]
    events += [(t, 1, ("note", t, ns, pod, c, text)) for t, ns, pod, c, text in w.notes]
    events += [(t, 1, ("metric", t, key, cpu, mem)) for t, key, cpu, mem in w.metrics]
    events += [(b.t, 2, b) for b in w.bookmarks]
    events += [(g.end, 3, g) for g in w.gaps]
    for _t, order, item in sorted(events, key=lambda e: (e[0], e[1])):
        if order == 0:
            writer.append_change(item)
        elif order == 2:
            writer.add_bookmark(item, created=item.t)
        elif order == 3:
            writer.append_gap(item)
        elif item[0] == "log":
            writer.append_log(*item[1:])
        elif item[0] == "note":
            writer.append_log_note(*item[1:])
        else:
            _, t, key, cpu, mem = item
            writer.append_metric(t, key, {"cpu": cpu / 1e9, "memory": mem})
    writer.close()
    return path

"""The resource types the simulated API server serves, built-in and from CustomResourceDefinitions.

A `ServedType` is a core `ResourceType` plus what serving it needs: the storage it reads from
(events.k8s.io/v1 events are a view of the core events), its subresources, its list kind.
Creating a CRD object adds its types here; deleting it removes them (discovery follows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.types import ResourceType

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")
METRICS_GROUP = "metrics.k8s.io"


@dataclass(slots=True)
class ServedType:
    """One served group/version/resource and how to serve it."""

    rt: ResourceType
    storage: str  # name of the store type that holds its objects
    subresources: tuple[str, ...] = ()
    # turns a stored object into this version's shape (None: as stored, apiVersion rewritten)
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    has_status: bool = False
    printer_columns: tuple[dict[str, Any], ...] = ()
    crd: str = ""  # name of the CRD that defines it, "" for built-ins
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Version-free type name (`pods`, `deployments.apps`)."""
        return self.rt.name

    @property
    def list_kind(self) -> str:
        """The kind of a list of these (`PodList`)."""
        return self.extra.get("listKind") or f"{self.rt.kind}List"


def _t(
    group: str,
    plural: str,
    kind: str,
    namespaced: bool,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    sub: tuple[str, ...] = ("status",),
    version: str = "v1",
    storage: str | None = None,
) -> ServedType:
    rt = ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        verbs=ALL_VERBS,
        singular=kind.lower(),
        categories=categories,
    )
    return ServedType(rt, storage or rt.name, sub, has_status="status" in sub)


def event_v1_view(obj: dict[str, Any]) -> dict[str, Any]:
    """A core/v1 Event in the events.k8s.io/v1 shape (as the apiserver converts it)."""
    out: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
        "eventTime": obj.get("eventTime"),
        "reportingController": obj.get("reportingComponent") or "",
        "reportingInstance": obj.get("reportingInstance") or "",
        "action": obj.get("action") or "",
        "reason": obj.get("reason") or "",
        "regarding": obj.get("involvedObject") or {},
        "note": obj.get("message") or "",
        "type": obj.get("type") or "",
    }
    if obj.get("series"):
        out["series"] = obj["series"]
    if obj.get("related"):
        out["related"] = obj["related"]
    if obj.get("source"):
        out["deprecatedSource"] = obj["source"]
    if obj.get("firstTimestamp"):
        out["deprecatedFirstTimestamp"] = obj["firstTimestamp"]
    if obj.get("lastTimestamp"):
        out["deprecatedLastTimestamp"] = obj["lastTimestamp"]
    if obj.get("count"):
        out["deprecatedCount"] = obj["count"]
    return out


def builtin_types() -> list[ServedType]:
    """The built-in types, in discovery order."""
    core = [
        _t("", "namespaces", "Namespace", False, ("ns",)),
        _t("", "nodes", "Node", False, ("no",)),
        _t("", "pods", "Pod", True, ("po",), ("all",), ("status", "log")),
        _t("", "services", "Service", True, ("svc",), ("all",)),
        _t("", "endpoints", "Endpoints", True, ("ep",), sub=()),
        _t("", "configmaps", "ConfigMap", True, ("cm",), sub=()),
        _t("", "secrets", "Secret", True, sub=()),
        _t("", "events", "Event", True, ("ev",), sub=()),
        _t("", "serviceaccounts", "ServiceAccount", True, ("sa",), sub=()),
        _t("", "persistentvolumes", "PersistentVolume", False, ("pv",)),
        _t("", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    ]
    apps = [
        _t("apps", "deployments", "Deployment", True, ("deploy",), ("all",), ("status", "scale")),
        _t("apps", "replicasets", "ReplicaSet", True, ("rs",), ("all",), ("status", "scale")),
        _t("apps", "statefulsets", "StatefulSet", True, ("sts",), ("all",), ("status", "scale")),
        _t("apps", "daemonsets", "DaemonSet", True, ("ds",), ("all",)),
    ]
    rbac = "rbac.authorization.k8s.io"
    others = [
        _t("batch", "jobs", "Job", True, (), ("all",)),
        _t("batch", "cronjobs", "CronJob", True, ("cj",), ("all",)),
        _t("networking.k8s.io", "ingresses", "Ingress", True, ("ing",)),
        _t(rbac, "clusterrolebindings", "ClusterRoleBinding", False, sub=()),
        _t(rbac, "clusterroles", "ClusterRole", False, sub=()),
        _t(rbac, "rolebindings", "RoleBinding", True, sub=()),
        _t(rbac, "roles", "Role", True, sub=()),
        _t(
            "autoscaling",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            True,
            ("hpa",),
            ("all",),
            version="v2",
        ),
        _t(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            ("crd", "crds"),
            ("api-extensions",),
        ),
        _t("coordination.k8s.io", "leases", "Lease", True, sub=()),
    ]
    ev = _t("events.k8s.io", "events", "Event", True, ("ev",), sub=(), storage="events")
    ev.view = event_v1_view
    return core + apps + others + [ev]


def metrics_types() -> list[ServedType]:
    """metrics.k8s.io/v1beta1 nodes and pods: get and list only, as metrics-server serves them."""
    out = []
    for plural, kind, namespaced in (("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True)):
        rt = ResourceType(
            group=METRICS_GROUP,
            version="v1beta1",
            plural=plural,
            kind=kind,
            namespaced=namespaced,
            verbs=("get", "list"),
        )
        out.append(ServedType(rt, storage=f"{plural}.{METRICS_GROUP}", extra={"metrics": True}))
    return out


def review_types() -> list[ServedType]:
    """authorization.k8s.io/v1 selfsubjectaccessreviews: "may I?" (`kubectl auth can-i`)."""
    rt = ResourceType(
        group="authorization.k8s.io",
        version="v1",
        plural="selfsubjectaccessreviews",
        kind="SelfSubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    )
    return [ServedType(rt, storage="", extra={"review": True})]


def types_from_crd(crd: dict[str, Any]) -> list[ServedType]:
    """The types a CustomResourceDefinition makes the server serve (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    plural = names.get("plural", "")
    kind = names.get("kind", "")
    if not (group and plural and kind):
        return []
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    out = []
    for ver in spec.get("versions") or []:
        if not ver.get("served", True):
            continue
        subs = ver.get("subresources") or {}
        sub = tuple(s for s in ("status", "scale") if s in subs)
        rt = ResourceType(
            group=group,
            version=ver.get("name", "v1"),
            plural=plural,
            kind=kind,
            namespaced=namespaced,
            short_names=tuple(names.get("shortNames") or ()),
            verbs=ALL_VERBS,
            singular=names.get("singular") or kind.lower(),
            categories=tuple(names.get("categories") or ()),
        )
        st = ServedType(
            rt,
            storage=rt.name,
            subresources=sub,
            has_status="status" in sub,
            printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
            crd=(crd.get("metadata") or {}).get("name", ""),
            extra={"listKind": names.get("listKind") or f"{kind}List"},
        )
        out.append(st)
    return out


class Registry:
    """Every served type, by (group, version, plural); CRD types come and go at runtime."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ServedType] = {}
        self._order: list[tuple[str, str, str]] = []
        self._by_name: dict[str, ServedType] = {}
        # bumped on every change so that caches of discovery documents know when to rebuild
        self.generation = 0
        for st in builtin_types() + review_types() + metrics_types():
            self.add(st)

    def add(self, st: ServedType) -> None:
        """Serve `st` (replacing a previous definition of the same group/version/plural)."""
        key = (st.rt.group, st.rt.version, st.rt.plural)
        if key not in self._types:
            self._order.append(key)
        self._types[key] = st
        self._reindex()

    def _reindex(self) -> None:
        self._by_name = {}
        for k in self._order:
            st = self._types[k]
            self._by_name.setdefault(st.name, st)
        self.generation += 1

    def remove_crd(self, crd_name: str) -> list[ServedType]:
        """Stop serving the types a CRD defined; returns them."""
        gone = [st for st in self._types.values() if st.crd == crd_name]
        for st in gone:
            key = (st.rt.group, st.rt.version, st.rt.plural)
            del self._types[key]
            self._order.remove(key)
        if gone:
            self._reindex()
        return gone

    def apply_crd(self, crd: dict[str, Any]) -> None:
        """Serve what a (new or changed) CRD defines."""
        name = (crd.get("metadata") or {}).get("name", "")
        self.remove_crd(name)
        for st in types_from_crd(crd):
            self.add(st)

    def remove_group(self, group: str) -> None:
        """Stop serving every type of a group (e.g. metrics.k8s.io: no metrics-server)."""
        for key in [k for k in self._order if k[0] == group]:
            del self._types[key]
            self._order.remove(key)
        self._reindex()

    def get(self, group: str, version: str, plural: str) -> ServedType | None:
        """The type served at /apis/group/version/plural (group "" for the core API)."""
        return self._types.get((group, version, plural))

    def __iter__(self) -> Iterator[ServedType]:
        return (self._types[k] for k in self._order)

    def by_name(self, name: str) -> ServedType | None:
        """The preferred served type for a version-free name (`deployments.apps`)."""
        return self._by_name.get(name)

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions (newest first as listed), core group excluded."""
        out: dict[str, list[str]] = {}
        for st in self:
            if st.rt.group:
                versions = out.setdefault(st.rt.group, [])
                if st.rt.version not in versions:
                    versions.append(st.rt.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ServedType]:
        """The types served in one group/version, in registration order."""
        return [st for st in self if st.rt.group == group and st.rt.version == version]


def event_core_from_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """An events.k8s.io/v1 Event written by a client, in the core/v1 shape it is stored in."""
    out: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": obj.get("metadata") or {},
        "involvedObject": obj.get("regarding") or {},
        "reason": obj.get("reason") or "",
        "message": obj.get("note") or "",
        "type": obj.get("type") or "",
        "eventTime": obj.get("eventTime"),
        "reportingComponent": obj.get("reportingController") or "",
        "reportingInstance": obj.get("reportingInstance") or "",
        "action": obj.get("action") or "",
        "source": obj.get("deprecatedSource") or {},
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
    }
    for k in ("series", "related"):
        if obj.get(k):
            out[k] = obj[k]
    return out

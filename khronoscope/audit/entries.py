"""What one audit Event tells about the objects it names.

A RequestResponse entry of a successful write gives the object as the server stored it
(`responseObject`) at `stageTimestamp`; a Metadata entry gives only who, what and when. How each
verb and subresource reads (decided here, tested in tests/audit/test_entries.py):

- create, update, patch: `responseObject` is the object -> a version (PUT).
- subresource `status` (and others answering with the object itself, e.g. `finalize`,
  `approval`, `ephemeralcontainers`) -> a version.
- subresource `scale`: `responseObject` is a Scale, not the object -> SCALE: the previous
  version with the new `spec.replicas` and resourceVersion (a scale write changes nothing else),
  or an unknown state when no previous version is known.
- delete: a Status, or the object. An object with finalizers or a grace period left is still
  there (being deleted) -> a version; otherwise (and for a Status) -> DELETE.
- deletecollection: a List of what was deleted -> each item as a delete above. At Metadata
  level the objects are not named -> UNKNOWN_COLLECTION (every known object of the type in the
  namespace is then in an unknown state).
- other subresources answering with a Status or something else (`binding`, `eviction`) -> the
  object changed but how is not logged -> UNKNOWN.
- connections and side requests (`exec`, `attach`, `portforward`, `proxy`, `log`, `token`),
  reviews (TokenReview, SubjectAccessReview...), reads, failed requests (code >= 400),
  dry runs and stages other than ResponseComplete -> nothing.
- Metadata (or Request) level, or a body dropped by truncation -> UNKNOWN (DELETE for a delete).

Secrets are redacted here, with the same `SecretRedactor` as the live session uses.
"""

from __future__ import annotations

import calendar
import enum
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from khronoscope.cluster.redact import SECRETS_TYPE, SecretRedactor
from khronoscope.core.provenance import AUDIT, Actor, Provenance
from khronoscope.core.safetext import safe_line
from khronoscope.core.types import ObjectKey

WRITE_VERBS = frozenset(("create", "update", "patch", "delete", "deletecollection"))
# subresources that open a connection or hand out something: the object itself is unchanged
NOT_A_CHANGE = frozenset(("exec", "attach", "portforward", "proxy", "log", "token"))
# kinds a subresource may answer with that are not the object
NOT_THE_OBJECT = frozenset(("Status", "Scale", "Eviction", "Binding", "TokenRequest"))
# resources that are requests, not stored objects
VIRTUAL = frozenset(
    (
        "tokenreviews",
        "subjectaccessreviews",
        "selfsubjectaccessreviews",
        "localsubjectaccessreviews",
        "selfsubjectrulesreviews",
        "selfsubjectreviews",
        "bindings",
    )
)
# kinds of the built-in types most often logged at Metadata level (otherwise learnt from the
# versions seen, or guessed from the resource name)
KNOWN_KINDS = {
    "secrets": "Secret",
    "configmaps": "ConfigMap",
    "serviceaccounts": "ServiceAccount",
    "pods": "Pod",
    "services": "Service",
    "endpoints": "Endpoints",
    "namespaces": "Namespace",
    "nodes": "Node",
    "events": "Event",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "persistentvolumes": "PersistentVolume",
    "deployments.apps": "Deployment",
    "replicasets.apps": "ReplicaSet",
    "statefulsets.apps": "StatefulSet",
    "daemonsets.apps": "DaemonSet",
    "leases.coordination.k8s.io": "Lease",
}
RESPONSE_COMPLETE = "ResponseComplete"
DEDUP_WINDOW = 15 * 60 * 1_000_000_000  # an entry seen again within this is a duplicate


class Effect(enum.IntEnum):
    """What a fact does to the object it names."""

    PUT = 0  # `obj` is the object after the write
    DELETE = 1  # the object is gone
    UNKNOWN = 2  # the object changed (or was created); its content is not logged
    SCALE = 3  # spec.replicas became `replicas` (a Scale answered, not the object)
    UNKNOWN_COLLECTION = 4  # some objects of key.type in key.namespace were deleted


@dataclass(slots=True)
class Fact:
    """One thing an audit entry says about one object (or a collection of them)."""

    effect: Effect
    t: int
    key: ObjectKey
    prov: Provenance
    obj: dict[str, Any] | None = None
    api_version: str = ""
    kind: str = ""
    replicas: int | None = None
    resource_version: str = ""
    # False when the entry had no body (Metadata level, or the body was dropped)
    logged_body: bool = True
    # `obj` packed with recording.records.pack (a worker process sends this, not `obj`)
    raw: bytes | None = None
    # requestReceivedTimestamp (0: not logged): the write is stored after it, and a watch can
    # see it before `t`, the response's time
    received: int = 0


class BadEntry(ValueError):
    """A JSON value that is not an audit Event (the reader reports it and goes on)."""


_second_cache: dict[str, int] = {}


def parse_stamp(value: Any) -> int:
    """`2024-05-01T12:00:00.123456Z` (RFC 3339, as audit Events write it) as ns since the
    epoch; BadEntry when it is not one. Seconds are cached: entries come in bursts."""
    if not isinstance(value, str) or len(value) < 20 or value[10] not in "Tt":
        raise BadEntry(f"not a timestamp: {value!r}")
    head = value[:19]
    secs = _second_cache.get(head)
    if secs is None:
        try:
            secs = calendar.timegm(
                (
                    int(head[0:4]),
                    int(head[5:7]),
                    int(head[8:10]),
                    int(head[11:13]),
                    int(head[14:16]),
                    int(head[17:19]),
                )
            )
        except ValueError:
            raise BadEntry(f"not a timestamp: {value!r}") from None
        if len(_second_cache) > 4096:
            _second_cache.clear()
        _second_cache[head] = secs
    if value[-1] == "Z" and value[19] == "." and value[20:-1].isdigit():
        # the layout the API server writes: microseconds and Z
        return secs * 1_000_000_000 + int(value[20:-1][:9].ljust(9, "0"))
    rest = value[19:]
    frac = 0
    if rest.startswith("."):
        digits = rest[1:].rstrip("Zz")
        i = 0
        while i < len(digits) and digits[i].isdigit():
            i += 1
        zone = digits[i:]
        digits = digits[:i]
        frac = int(digits[:9].ljust(9, "0")) if digits else 0
        rest = zone or ("Z" if value[-1] in "Zz" else "")
    if rest in ("Z", "z", "", "+00:00"):
        return secs * 1_000_000_000 + frac
    sign = -1 if rest[0] == "+" else 1  # +02:00 is two hours ahead of UTC: subtract
    try:
        hh, mm = int(rest[1:3]), int(rest[4:6])
    except ValueError:
        raise BadEntry(f"not a timestamp: {value!r}") from None
    return (secs + sign * (hh * 3600 + mm * 60)) * 1_000_000_000 + frac


def type_name(resource: str, group: str) -> str:
    """The version-free type name khronoscope keys objects by (`deployments.apps`, `pods`)."""
    return f"{resource}.{group}" if group else resource


def guess_kind(type_: str) -> str:
    """A kind for a type never seen with a body (`widgets.example.com` -> `Widget`)."""
    known = KNOWN_KINDS.get(type_)
    if known:
        return known
    plural = type_.partition(".")[0]
    if plural.endswith("ies"):
        singular = plural[:-3] + "y"
    elif plural.endswith(("sses", "ches", "shes", "xes")):
        singular = plural[:-2]
    elif plural.endswith("s"):
        singular = plural[:-1]
    else:
        singular = plural
    return singular[:1].upper() + singular[1:]


class Translator:
    """Turns audit Events into Facts; counts what it skips and why (`skipped`)."""

    def __init__(self, redactor: SecretRedactor | None = None) -> None:
        self.redact = redactor if redactor is not None else SecretRedactor()
        self.skipped: Counter[str] = Counter()
        self._seen: set[str] = set()
        self._seen_order: deque[tuple[int, str]] = deque()
        self._actors: dict[tuple[Any, ...], Actor] = {}
        # kinds learnt from the bodies seen, for the placeholders of types seen without one
        self.kinds: dict[str, tuple[str, str]] = {}

    def facts(self, ev: dict[str, Any], t: int | None = None) -> list[Fact]:
        """The facts of one Event ([] when it tells nothing about stored objects); `t`: its
        stageTimestamp when the caller read it already."""
        found = self._facts(ev, t)
        if found:
            try:
                received = parse_stamp(ev.get("requestReceivedTimestamp"))
            except BadEntry:
                received = 0
            for fact in found:
                fact.received = received
        return found

    def _facts(self, ev: dict[str, Any], t: int | None) -> list[Fact]:
        if not isinstance(ev, dict) or "auditID" not in ev or "verb" not in ev:
            raise BadEntry("not an audit Event")
        verb = ev.get("verb")
        if verb not in WRITE_VERBS:
            self.skipped["read"] += 1
            return []
        if ev.get("stage") != RESPONSE_COMPLETE:
            self.skipped["other stage"] += 1
            return []
        status = ev.get("responseStatus") or {}
        code = status.get("code", 0) if isinstance(status, dict) else 0
        if not isinstance(code, int) or code >= 400 or code == 0:
            self.skipped["failed"] += 1
            return []
        ref = ev.get("objectRef")
        if not isinstance(ref, dict) or not ref.get("resource"):
            self.skipped["not an object"] += 1
            return []
        resource = ref["resource"]
        group = ref.get("apiGroup") or ""
        sub = ref.get("subresource") or ""
        if sub in NOT_A_CHANGE or resource in VIRTUAL:
            self.skipped["not a change"] += 1
            return []
        if "dryRun=" in (ev.get("requestURI") or ""):
            self.skipped["dry run"] += 1
            return []
        audit_id = ev["auditID"]
        if t is None:
            t = parse_stamp(ev.get("stageTimestamp") or ev.get("timestamp"))
        if audit_id in self._seen:
            self.skipped["duplicate"] += 1
            return []
        self._remember_id(audit_id, t)
        type_ = type_name(resource, group)
        version = ref.get("apiVersion") or "v1"
        api_version = f"{group}/{version}" if group else version
        namespace = "" if (type_ == "namespaces") else (ref.get("namespace") or "")
        name = ref.get("name") or ""
        prov = Provenance(
            t=t,
            key=ObjectKey(type_, namespace, name),
            origin=AUDIT,
            actor=self._actor(ev),
            verb=verb,
            subresource=sub,
            audit_id=audit_id,
        )
        body = ev.get("responseObject")
        if not isinstance(body, dict) or ev.get("level") != "RequestResponse":
            return self._without_body(verb, t, prov, type_, api_version)
        kind = body.get("kind") or ""
        if verb == "deletecollection":
            return self._collection(body, t, prov, type_, api_version)
        if verb == "delete" and kind == "Status":
            return [self._fact(Effect.DELETE, t, prov, name, namespace)]
        if sub == "scale" or kind == "Scale":
            spec = body.get("spec") or {}
            replicas = spec.get("replicas") if isinstance(spec, dict) else None
            meta = body.get("metadata") or {}
            fact = self._fact(Effect.SCALE, t, prov, name, namespace)
            fact.replicas = replicas if isinstance(replicas, int) else 0
            fact.resource_version = str(meta.get("resourceVersion") or "")
            fact.api_version, fact.kind = self.kinds.get(type_, (api_version, guess_kind(type_)))
            return [fact]
        learnt = self.kinds.get(type_)
        if sub and (kind in NOT_THE_OBJECT or (learnt is not None and kind != learnt[1])):
            return [self._unknown(t, prov, type_, api_version, name, namespace)]
        if not isinstance(body.get("metadata"), dict):
            self.skipped["not an object"] += 1
            return []
        return [self._object(verb, t, prov, type_, body)]

    def _remember_id(self, audit_id: str, t: int) -> None:
        """Keep the IDs of the last DEDUP_WINDOW of entries (duplicates come from overlapping
        copies and retried exports, close in time; all IDs would grow without bound)."""
        self._seen.add(audit_id)
        self._seen_order.append((t, audit_id))
        horizon = t - DEDUP_WINDOW
        order = self._seen_order
        while order and order[0][0] < horizon:
            self._seen.discard(order.popleft()[1])

    def _actor(self, ev: dict[str, Any]) -> Actor:
        user = ev.get("impersonatedUser") or ev.get("user") or {}
        if not isinstance(user, dict):
            user = {}
        groups = user.get("groups") or ()
        ips = ev.get("sourceIPs") or ()
        ident = (
            user.get("username"),
            tuple(groups) if isinstance(groups, list) else (),
            ev.get("userAgent"),
            tuple(ips) if isinstance(ips, list) else (),
        )
        actor = self._actors.get(ident)
        if actor is None:
            username = str(user.get("username") or "")
            if ev.get("impersonatedUser"):
                real = (ev.get("user") or {}).get("username") or ""
                username = f"{username} (as impersonated by {real})" if real else username
            actor = Actor(
                safe_line(username),
                tuple(safe_line(str(g)) for g in ident[1]),
                safe_line(str(ident[2] or "")),
                tuple(safe_line(str(ip)) for ip in ident[3]),
            )
            if len(self._actors) < 10_000:
                self._actors[ident] = actor
        return actor

    def _fact(self, effect: Effect, t: int, prov: Provenance, name: str, ns: str) -> Fact:
        key = ObjectKey(prov.key.type, ns, name)
        if key != prov.key:
            prov = _with_key(prov, key)
        return Fact(effect, t, key, prov)

    def _without_body(
        self, verb: str, t: int, prov: Provenance, type_: str, api_version: str
    ) -> list[Fact]:
        key = prov.key
        if verb == "deletecollection":
            fact = self._fact(Effect.UNKNOWN_COLLECTION, t, prov, "", key.namespace)
        elif not key.name:
            self.skipped["unnamed object without a body"] += 1
            return []
        elif verb == "delete":
            fact = self._fact(Effect.DELETE, t, prov, key.name, key.namespace)
        else:
            fact = self._unknown(t, prov, type_, api_version, key.name, key.namespace)
        fact.logged_body = False
        fact.api_version, fact.kind = self.kinds.get(type_, (api_version, guess_kind(type_)))
        return [fact]

    def _unknown(
        self, t: int, prov: Provenance, type_: str, api_version: str, name: str, ns: str
    ) -> Fact:
        fact = self._fact(Effect.UNKNOWN, t, prov, name, ns)
        learnt = self.kinds.get(type_)
        fact.api_version, fact.kind = learnt if learnt else (api_version, guess_kind(type_))
        return fact

    def _object(self, verb: str, t: int, prov: Provenance, type_: str, body: dict) -> Fact:
        meta = body["metadata"]
        name = meta.get("name") or prov.key.name
        ns = "" if type_ == "namespaces" else (meta.get("namespace") or prov.key.namespace)
        kind = body.get("kind") or ""
        if kind and type_ not in self.kinds:
            self.kinds[type_] = (str(body.get("apiVersion") or ""), kind)
        if type_ == SECRETS_TYPE:
            body = self.redact(body)
        rv = str(meta.get("resourceVersion") or "")
        key = prov.key
        if key.name != name or key.namespace != ns:
            key = ObjectKey(key.type, ns, name)
        # one Provenance made here rather than a copy per change (most entries are versions)
        p = prov
        prov = Provenance(t, key, p.origin, p.actor, p.verb, p.subresource, rv, p.audit_id)
        fact = Fact(Effect.PUT, t, key, prov, resource_version=rv)
        if verb == "delete" and _deleted_now(meta):
            fact.effect = Effect.DELETE
        else:
            fact.obj = body
        return fact

    def _collection(
        self, body: dict, t: int, prov: Provenance, type_: str, api_version: str
    ) -> list[Fact]:
        items = body.get("items")
        if not isinstance(items, list):
            return self._without_body("deletecollection", t, prov, type_, api_version)
        list_kind = str(body.get("kind") or "")
        kind = list_kind[:-4] if list_kind.endswith("List") else guess_kind(type_)
        item_api = str(body.get("apiVersion") or api_version)
        out = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
                continue
            obj = {"kind": kind, "apiVersion": item_api, **item}
            out.append(self._object("delete", t, prov, type_, obj))
        return out


def _deleted_now(meta: dict[str, Any]) -> bool:
    """A delete's answer is the object: is it gone, or only marked (finalizers, grace)?"""
    if meta.get("finalizers"):
        return False
    grace = meta.get("deletionGracePeriodSeconds")
    return not (isinstance(grace, int) and grace > 0)


def _with_key(p: Provenance, key: ObjectKey) -> Provenance:
    return Provenance(
        p.t, key, p.origin, p.actor, p.verb, p.subresource, p.resource_version, p.audit_id
    )

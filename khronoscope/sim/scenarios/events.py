"""The Events the simulated components write: new ones, repeats counted on the first, and their
expiry an hour after they were last seen (the apiserver's `--event-ttl`)."""

from __future__ import annotations

from typing import Any

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import NOW, Create, Delete, Patch, Script
from khronoscope.sim.scenarios.models import KUBELET


class EventRecorder:
    """Writes Events about objects as Kubernetes components do, and expires them."""

    def __init__(self, script: Script) -> None:
        self.s = script
        self.rng = script.rng
        # (ns, kind/name, reason + field path) -> (event name, count, first seen), for `dedupe`
        self.counted: dict[tuple[str, str, str], tuple[str, int, float]] = {}
        self.seen: dict[tuple[str, str], float] = {}  # (ns, event name) -> last time
        self.ttl = 3600.0  # the apiserver's --event-ttl: events go an hour after last seen

    def record(
        self,
        ns: str,
        kind: str,
        name: str,
        reason: str,
        message: str,
        etype: str = "Normal",
        component: str = KUBELET,
        host: str = "",
        api_version: str = "v1",
        field_path: str = "",
        dedupe: bool = False,
    ) -> None:
        """Record an Event about an object (counted and patched when `dedupe` and seen before)."""
        key = (ns, f"{kind}/{name}", reason + (field_path if dedupe else message))
        if dedupe and key in self.counted:
            ev_name, count, first = self.counted[key]
            count += 1
            self.counted[key] = (ev_name, count, first)
            self.seen[(ns or "default", ev_name)] = self.s.now
            self.s.emit(
                Patch(
                    "events",
                    ns or "default",
                    ev_name,
                    {"count": count, "lastTimestamp": NOW, "message": message},
                    manager=component,
                )
            )
            return
        ev_name = f"{name}.{self.rng.getrandbits(64):016x}"
        involved: dict[str, Any] = {
            "kind": kind,
            "namespace": ns,
            "name": name,
            "uid": o.kind_uid(ns, kind, name),
            "apiVersion": api_version,
        }
        if not ns:
            del involved["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        self.s.emit(
            Create(
                "events",
                o.event(ns, ev_name, involved, reason, message, etype, component, host),
                manager=component,
            )
        )
        self.seen[(ns or "default", ev_name)] = self.s.now
        if dedupe:
            self.counted[key] = (ev_name, 1, self.s.now)

    def expire(self) -> None:
        """Delete the events not seen for `ttl` seconds (the apiserver's event TTL)."""
        horizon = self.s.now - self.ttl
        for (ns, name), seen in list(self.seen.items()):
            if seen < horizon:
                del self.seen[(ns, name)]
                self.s.emit(Delete("events", ns, name, manager="kube-apiserver"))
        for key, (name, _, _) in list(self.counted.items()):
            if (key[0] or "default", name) not in self.seen:
                del self.counted[key]

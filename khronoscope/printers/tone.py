"""How alarming a row looks (k9s colours rows by health): ok, pending, error, done, deleting."""

from __future__ import annotations

from typing import Any

OK = "ok"
PENDING = "pending"
ERROR = "error"
DONE = "done"
DELETING = "deleting"
NEUTRAL = ""

_POD_OK = {"Running"}
_POD_DONE = {"Completed", "Succeeded"}
_POD_PENDING = {"Pending", "ContainerCreating", "PodInitializing", "SchedulingGated", "NotReady"}


def _ratio_ok(text: Any) -> bool:
    a, _, b = str(text).partition("/")
    return a == b.split(" ", 1)[0]


def row_tone(fmt: str, cells: tuple[Any, ...]) -> str:
    """The tone of a row in layout `fmt` (a type name for built-in types)."""
    if fmt == "pods":
        ready, status = cells[0], cells[1]
        if status == "Terminating":
            return DELETING
        if status in _POD_DONE:
            return DONE
        if status in _POD_OK:
            return OK if _ratio_ok(ready) else PENDING
        if status in _POD_PENDING or (status.startswith("Init:") and status[5:6].isdigit()):
            return PENDING
        return ERROR
    if fmt == "nodes":
        status = cells[0]
        if "NotReady" in status or "Unknown" in status:
            return ERROR
        return PENDING if "SchedulingDisabled" in status else OK
    if fmt in ("deployments.apps", "statefulsets.apps"):
        return OK if _ratio_ok(cells[0]) else PENDING
    if fmt == "replicasets.apps":
        return OK if cells[0] == cells[2] else PENDING
    if fmt == "daemonsets.apps":
        return OK if cells[0] == cells[2] else PENDING
    if fmt == "jobs.batch":
        return {"Complete": DONE, "Failed": ERROR, "Terminating": DELETING}.get(cells[0], OK)
    if fmt in ("events", "events.events.k8s.io"):
        return PENDING if cells[1] == "Warning" else NEUTRAL
    if fmt in ("persistentvolumes", "persistentvolumeclaims"):
        phase = cells[3] if fmt == "persistentvolumes" else cells[0]
        if phase == "Terminating":
            return DELETING
        return {"Bound": OK, "Available": OK, "Pending": PENDING}.get(phase, ERROR)
    if fmt == "namespaces":
        return DELETING if cells[0] == "Terminating" else OK
    return NEUTRAL

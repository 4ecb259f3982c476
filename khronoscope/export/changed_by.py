"""Who changed the exported objects, for the commits' `Khronoscope-Changed-By` trailers: the
audit user where an audit log said, and the field manager (see core/writers.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from khronoscope.core.provenance import ProvenanceStore, provenance_of
from khronoscope.core.source import HistorySource
from khronoscope.core.types import ObjectKey
from khronoscope.core.writers import latest, managed, manager_name, who_wrote


def changed_at(
    source: HistorySource, versions: Iterable[tuple[ObjectKey, dict[str, Any] | None]], t: int
) -> list[tuple[str, str]]:
    """(who, object) for the objects whose version began at t (a range export's commit), given
    as (key, its version at t)."""
    store = provenance_of(source)
    tmap = source.tmap
    out = []
    for key, cur in versions:
        label = who_wrote(store, key, t, tmap.get(key, t - 1), cur).label()
        if label != "-":
            out.append((label, str(key)))
    return out


def in_force_at(
    source: HistorySource, objects: dict[ObjectKey, dict[str, Any]], t: int
) -> dict[ObjectKey, str]:
    """Who wrote the version in force at t of each object (a snapshot's changed files): the
    audit user where known, and the last writers its managedFields name."""
    store: ProvenanceStore | None = provenance_of(source)
    tmap = source.tmap
    out: dict[ObjectKey, str] = {}
    for key, obj in objects.items():
        entries = managed(obj)
        managers = ", ".join(manager_name(e) for e in latest(entries)) if entries else ""
        user = ""
        if store is not None and store.has(key):
            vt = tmap.previous_change(t + 1, key=key)
            prov = store.version(key, vt) if vt is not None else None
            user = prov.user if prov is not None else ""
        if user and managers:
            out[key] = f"{user} ({managers})"
        elif user or managers:
            out[key] = user or managers
    return out

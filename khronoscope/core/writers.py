"""Who wrote a version: the field managers its managedFields name, and the audit user when an
audit log said (see core/provenance.py). Shared by the history view, `khronoscope history`,
the diff header and the Git export's trailers.

Field managers: between two consecutive versions, the managedFields entries that are new or
whose `time` moved name the writers (`kubectl-edit`, `kube-controller-manager`, `helm`...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from khronoscope.core.provenance import (
    OBSERVED,
    RECONSTRUCTED,
    Provenance,
    ProvenanceStore,
    is_unknown,
    reconstructed_note,
    unknown_reason,
)
from khronoscope.core.types import ObjectKey

_MISSING = object()
FIRST_OBSERVED = "first observed (the versions before it were rebuilt from what was remembered)"


def _entry_id(e: dict[str, Any]) -> tuple[str, str, str]:
    return (str(e.get("manager", "")), str(e.get("operation", "")), str(e.get("subresource", "")))


def managed(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The managedFields entries of an object."""
    if not obj:
        return []
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return [e for e in entries if isinstance(e, dict)]


def writers(prev: dict[str, Any] | None, cur: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The managedFields entries of `cur` that wrote it: new since `prev`, or with a new time.

    For a first version (no `prev`) the entries with the latest time (its creator, usually).
    """
    now = managed(cur)
    if not now:
        return []
    if prev is None:
        return latest(now)
    before = {_entry_id(e): e.get("time") for e in managed(prev)}
    return [e for e in now if before.get(_entry_id(e), _MISSING) != e.get("time")]


def latest(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest = max(str(e.get("time", "")) for e in entries)
    return [e for e in entries if str(e.get("time", "")) == latest]


def likely_writers(prev: dict[str, Any] | None, cur: dict[str, Any] | None) -> list[str]:
    """Names of the writers of `cur`; when no entry moved (managedFields times have a
    resolution of one second, so a second write within it leaves them as they were), the
    latest writers marked `?`."""
    found = writers(prev, cur)
    if found or prev is None:
        return [manager_name(e) for e in found]
    entries = managed(cur)
    return [manager_name(e) + "?" for e in latest(entries)] if entries else []


def manager_name(entry: dict[str, Any]) -> str:
    """`kubectl-edit`, or `kubelet (status)` for a subresource write."""
    name = str(entry.get("manager") or "?")
    sub = entry.get("subresource")
    return f"{name} ({sub})" if sub else name


def _narrowed(
    guesses: tuple[str, ...], user_agent: str, cur: dict[str, Any] | None
) -> tuple[str, ...]:
    """Of the guessed writers (same-second writes), the one the audit's user agent names: a
    client's default field manager is its user agent's product (`kube-controller-manager`)."""
    product = user_agent.split("/", 1)[0]
    found = tuple(g for g in guesses if g.rstrip("?").split(" (", 1)[0] == product)
    if not found:
        named = {manager_name(e) for e in managed(cur) if e.get("manager") == product}
        found = tuple(sorted(f"{m}?" for m in named))
    return found or guesses


@dataclass(frozen=True, slots=True)
class WhoWrote:
    """Everything known of who made one version."""

    managers: tuple[str, ...]
    provenance: Provenance | None
    origin: str = OBSERVED
    unknown: bool = False
    note: str = ""
    # the version before it was rebuilt: what "changed" between them is not a change
    after_rebuilt: bool = False

    @property
    def user(self) -> str:
        """The audit user ("" when no audit log said)."""
        return self.provenance.user if self.provenance is not None else ""

    def label(self) -> str:
        """`alice (kubectl-edit)`, `kubectl-edit`, `alice`, or `-`."""
        managers = ", ".join(self.managers)
        if self.user and managers:
            return f"{self.user} ({managers})"
        return self.user or managers or "-"


def who_wrote(
    store: ProvenanceStore | None,
    key: ObjectKey,
    t: int,
    prev: dict[str, Any] | None,
    cur: dict[str, Any] | None,
) -> WhoWrote:
    """Who made the version of `key` that began at t (`prev`: the version before it)."""
    prov = store.version(key, t) if store is not None else None
    unknown = is_unknown(cur) or (prov is not None and prov.unknown)
    # a placeholder has no managedFields, and a version derived from a Scale has its previous
    # one's: what wrote either is only the audit user
    derived = prov is not None and prov.subresource == "scale"
    # after a rebuilt version (only what was remembered), the first observed one is judged alone
    after_rebuilt = bool(reconstructed_note(prev)) and not reconstructed_note(cur)
    managers: tuple[str, ...] = ()
    if not (unknown or derived or is_unknown(prev)):
        managers = tuple(likely_writers(None if after_rebuilt else prev, cur))
        if prov is not None and prov.actor is not None and any(m.endswith("?") for m in managers):
            managers = _narrowed(managers, prov.actor.user_agent, cur)
    origin = prov.origin if prov is not None else OBSERVED
    note = unknown_reason(cur) or reconstructed_note(cur) or (prov.note if prov else "")
    if reconstructed_note(cur):
        origin = RECONSTRUCTED
    if after_rebuilt and not note:
        note = FIRST_OBSERVED
    return WhoWrote(managers, prov, origin, unknown, note, after_rebuilt)

"""`import audit FILE... -o RECORDING`: audit logs streamed into a new recording.

Entries are read in time order (files.read_all), each turned into facts (entries.Translator),
and each fact into a change of the recording with a PROVENANCE record naming who made it. Stamps
are the entries' stageTimestamps, made strictly increasing (as the live session's are), so that
no two changes share one. An entry older than a version already written of its object (its
resourceVersion is lower) is counted as stale and skipped rather than put on top of newer state.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from khronoscope.audit.entries import Effect, Fact
from khronoscope.audit.files import ReadStats
from khronoscope.audit.pipeline import check_files
from khronoscope.audit.pipeline import facts as pipeline_facts
from khronoscope.core.provenance import Provenance, is_unknown, unknown_placeholder
from khronoscope.core.source import SourceInfo
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.writer import RecordingWriter, WriterOptions

# progress(stats): called about every PROGRESS_EVERY entries and at the end
Progress = Callable[["ImportStats"], None]
PROGRESS_EVERY = 5000


@dataclass(slots=True)
class ImportStats:
    """What an import read, wrote and skipped."""

    read: ReadStats = field(default_factory=ReadStats)
    versions: int = 0
    deletes: int = 0
    unknown: int = 0
    attributed: int = 0
    marks: int = 0
    stale: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    gaps: int = 0
    first_t: int | None = None
    last_t: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def changes(self) -> int:
        """Changes written: versions, deletes and unknown states."""
        return self.versions + self.deletes + self.unknown

    @property
    def rate(self) -> float:
        """Entries read per second so far."""
        took = time.monotonic() - self.started
        return self.read.entries / took if took > 0 else 0.0


class HistoryBuilder:
    """Writes facts as changes (and their provenance) into a RecordingWriter."""

    def __init__(self, writer: RecordingWriter, stats: ImportStats) -> None:
        self.writer = writer
        self.stats = stats
        self._last_t = 0
        self._rv: dict[ObjectKey, int] = {}
        # names of the objects that exist, per (type, namespace): a deletecollection logged
        # without a body leaves each of them unknown
        self._live: dict[tuple[str, str], set[str]] = {}

    # --- facts -----------------------------------------------------------------------------

    def stamp(self, t: int) -> int:
        """`t`, made strictly greater than every stamp before."""
        if t <= self._last_t:
            t = self._last_t + 1
        self._last_t = t
        return t

    def handle(self, fact: Fact) -> None:
        """Apply one fact."""
        if fact.effect is Effect.UNKNOWN_COLLECTION:
            self._unknown_collection(fact)
            return
        rv = _rv_int(fact.resource_version)
        if rv:
            last = self._rv.get(fact.key)
            if last is not None and rv < last:
                self.stats.stale += 1
                return
            self._rv[fact.key] = rv
        t = self.stamp(fact.t)
        prov = fact.prov if fact.prov.t == t else replace(fact.prov, t=t)
        if fact.effect is Effect.PUT:
            raw = fact.raw if fact.raw is not None else rec.pack(fact.obj)
            self.put(t, fact.key, raw, prov)
        elif fact.effect is Effect.DELETE:
            if not fact.logged_body and _has_finalizers(self.current(fact.key)):
                self._unknown(
                    t,
                    fact,
                    f"delete by {fact.prov.user or 'an unknown user'} of an "
                    "object with finalizers (it may still exist)",
                )
                return
            self.delete(t, fact.key, prov)
        elif fact.effect is Effect.SCALE:
            self._scale(t, fact)
        else:
            self._unknown(t, fact, "")

    def _unknown(self, t: int, fact: Fact, why: str) -> None:
        who = fact.prov.user or "an unknown user"
        why = why or f"{fact.prov.verb} by {who} at {format_iso(fact.t)}"
        obj = unknown_placeholder(
            fact.api_version, fact.kind, fact.key, f"{why}; the audit log has no body for it"
        )
        self.put(t, fact.key, rec.pack(obj), replace(fact.prov, t=t, unknown=True), unknown=True)

    def _scale(self, t: int, fact: Fact) -> None:
        prev_raw = self.current(fact.key)
        prev = rec.unpack(prev_raw) if prev_raw is not None else None
        if prev is None or is_unknown(prev) or not isinstance(prev.get("spec"), dict):
            self._unknown(t, fact, "")
            return
        obj = dict(prev)
        spec = dict(prev["spec"])
        meta = dict(prev.get("metadata") or {})
        # the API server counts a spec change as a new generation
        if spec.get("replicas") != fact.replicas and isinstance(meta.get("generation"), int):
            meta["generation"] += 1
        spec["replicas"] = fact.replicas
        if fact.resource_version:
            meta["resourceVersion"] = fact.resource_version
        obj["spec"], obj["metadata"] = spec, meta
        note = "spec.replicas from the Scale answered (the object itself is not in the entry)"
        prov = replace(fact.prov, t=t, resource_version=fact.resource_version, note=note)
        self.put(t, fact.key, rec.pack(obj), prov)

    def _unknown_collection(self, fact: Fact) -> None:
        scope = (fact.key.type, fact.key.namespace)
        names = sorted(self._live.get(scope, ()))
        who = fact.prov.user or "an unknown user"
        where = f" in {fact.key.namespace}" if fact.key.namespace else ""
        why = f"deletecollection of {fact.key.type}{where} by {who} at {format_iso(fact.t)}"
        for name in names:
            key = ObjectKey(fact.key.type, fact.key.namespace, name)
            one = replace(fact, key=key, prov=replace(fact.prov, key=key))
            raw = self.current(key)
            obj = rec.unpack(raw) if raw is not None else {}
            one.api_version = str(obj.get("apiVersion") or fact.api_version)
            one.kind = str(obj.get("kind") or fact.kind)
            self._unknown(self.stamp(fact.t), one, why + " (deleted or not)")
        if not names:
            self.stats.skipped["deletecollection of nothing known"] += 1

    # --- writing ---------------------------------------------------------------------------

    def current(self, key: ObjectKey) -> bytes | None:
        """The version of `key` in force, as written so far."""
        return self.writer.in_force(key)

    def put(
        self, t: int, key: ObjectKey, raw: bytes, prov: Provenance, unknown: bool = False
    ) -> None:
        """Write a version and its provenance (nothing when it equals the one in force)."""
        if not self.writer.append_packed(t, key, raw):
            self.stats.unchanged += 1
            return
        self._live.setdefault((key.type, key.namespace), set()).add(key.name)
        self.writer.append_provenance(prov)
        self._count(t, unknown)

    def delete(self, t: int, key: ObjectKey, prov: Provenance) -> None:
        """Write a delete and its provenance; for an object never seen, a mark says who."""
        if self.writer.append_packed(t, key, None):
            self._live.get((key.type, key.namespace), set()).discard(key.name)
            self.writer.append_provenance(prov)
            self.stats.deletes += 1
            self._times(t)
            return
        self.writer.append_provenance(replace(prov, mark=True, note=prov.describe()))
        self.stats.marks += 1

    def _count(self, t: int, unknown: bool) -> None:
        if unknown:
            self.stats.unknown += 1
        else:
            self.stats.versions += 1
        self._times(t)

    def _times(self, t: int) -> None:
        s = self.stats
        if s.first_t is None or t < s.first_t:
            s.first_t = t
        if s.last_t is None or t > s.last_t:
            s.last_t = t

    def finish(self) -> None:
        """Called once every fact was handled."""


def _has_finalizers(raw: bytes | None) -> bool:
    if raw is None:
        return False
    meta = rec.unpack(raw).get("metadata")
    return isinstance(meta, dict) and bool(meta.get("finalizers"))


def _rv_int(rv: str) -> int:
    return int(rv) if rv.isdigit() else 0


def run_import(
    found: Iterable[Fact],
    builder: HistoryBuilder,
    progress: Progress | None = None,
) -> ImportStats:
    """Hand every fact to the builder; its stats say what happened."""
    stats = builder.stats
    n = 0
    # parsed entries are acyclic trees: the cyclic collector would only rescan them, over and
    # over, as the writer's state grows (measured: several times slower with it on)
    paused = gc.isenabled()
    gc.disable()
    try:
        for fact in found:
            builder.handle(fact)
            n += 1
            if progress is not None and n % PROGRESS_EVERY == 0:
                progress(stats)
        builder.finish()
    finally:
        if paused:
            gc.enable()
    if progress is not None:
        progress(stats)
    return stats


def import_new(
    paths: list[Path],
    out: Path,
    cluster: str = "",
    progress: Progress | None = None,
    writer_options: WriterOptions | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """`import audit FILE... -o OUT`: a new recording holding what the audit logs tell."""
    check_files(paths)
    stats = ImportStats()
    found = pipeline_facts(paths, stats.read, stats.skipped, worker)
    first = next(found, None)  # the recording starts at the first change
    info = SourceInfo(
        cluster=cluster,
        context="",
        server_version="",
        extra={"source": "audit log", "audit_files": ", ".join(p.name for p in paths)},
    )
    options: dict[str, Any] = {"command": "import audit", "files": [str(p) for p in paths]}
    writer = RecordingWriter.create(
        out,
        info,
        start=first.t if first is not None else now_ns(),
        secrets=fmt.SECRETS_REDACTED,
        options=options,
        writer_options=writer_options or WriterOptions(autoflush=False),
    )
    ok = False
    try:
        stream = itertools.chain([first], found) if first is not None else found
        stats = run_import(stream, HistoryBuilder(writer, stats), progress)
        ok = True
        return stats
    finally:
        # imported history ends at its last change, not at the moment it was imported
        writer.close(stop_t=writer.stats.last_t)
        if not ok:
            out.unlink(missing_ok=True)  # half an import would be taken for a whole one

"""`import audit FILE... --into RECORDING` for a segmented (format-2) recording.

The join is the one of audit/join.py; only where the recording is read and where the companion
goes differ. The recording is read segment by segment, type by type (each block decompressed
once, never the whole recording in memory), for what joining needs: each object's first
version, its versions' resourceVersions and times, the watch statuses and types. The companion
is written as a format-1 recording into a temporary file, then stored whole, once, as the
object `companion/audit.khr` of the recording's store (a conditional create: a second import
is refused, even by a racing one). Nothing else of the recording is touched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from khronoscope.audit.importer import ImportStats, Progress
from khronoscope.audit.join import RecordedIndex, write_companion
from khronoscope.audit.pipeline import check_files
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.segments import layout
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.source import SegmentedSource
from khronoscope.storage import BlobStore, open_store
from khronoscope.storage.local import LocalStore

# records decoded at a time while scanning (bounds the scan's memory whatever a segment holds)
_BATCH = 4096
# an unreadable version (a damaged block): it exists, its resourceVersion is not known
_EMPTY = b"\x80"


def scan_segmented(store: BlobStore, wal_dir: Path | None, display: str) -> RecordedIndex:
    """What joining needs of a format-2 recording, read in one pass over its segments (and
    the spools of one still written, when local)."""
    src = SegmentedSource(store, wal_dir, cache_mb=64, display=display)
    try:
        header = src.header
        start = header.get("start")
        if not isinstance(start, int):
            raise KhronoscopeError(f"{display}: the recording's header has no start time")
        index = RecordedIndex(header, start)
        _scan(src, index)
        return index
    finally:
        src.close()


def _scan(src: SegmentedSource, index: RecordedIndex) -> None:
    segs = src.tmap.segments
    if segs:
        # after retention: objects alive before the first segment shown, as it starts
        first = segs[0]
        for type_ in src.tmap.types():
            for (ns, name), (vt, seq, rid) in sorted(src.tmap.starts.at(first.seq, type_).items()):
                raw = src.rec.records(seq, type_, [rid])[0]
                index._put(ObjectKey(type_, ns, name), vt, raw or _EMPTY)
    for seg in segs:
        for r in seg.footer.get("extras") or ():
            if not isinstance(r, list) or not r:
                continue
            if r[0] == fmt.STATUS:
                index._status(r)
            elif r[0] == fmt.TYPES:
                index.watched.update(rec.type_from_list(v).name for v in r[2])
        for type_, doc in sorted(seg.types.items()):
            if not doc.get("changes") or "index" not in doc:
                continue
            ix = src.rec.type_index(seg.seq, type_)
            if ix is not None:
                _scan_type(src, index, seg.seq, type_, ix)


def _scan_type(
    src: SegmentedSource, index: RecordedIndex, seq: int, type_: str, ix: sf.TypeIndex
) -> None:
    """Every version of a type in a segment, object by object (records read in batches, in
    pack order: each block is decompressed once)."""
    pending: list[tuple[ObjectKey, list[tuple[int, int, int]]]] = []
    wanted = 0
    for j, (ns, name) in enumerate(ix.keys):
        versions = ix.versions_of(j)
        pending.append((ObjectKey(type_, ns, name), versions))
        wanted += len(versions)
        if wanted >= _BATCH:
            _apply(src, index, seq, type_, pending)
            pending, wanted = [], 0
    _apply(src, index, seq, type_, pending)


def _apply(
    src: SegmentedSource,
    index: RecordedIndex,
    seq: int,
    type_: str,
    pending: list[tuple[ObjectKey, list[tuple[int, int, int]]]],
) -> None:
    rids = [rid for _, versions in pending for _, kind, rid in versions if kind != sf.DELETED]
    raws = iter(src.rec.records(seq, type_, rids))
    for key, versions in pending:
        for t, kind, _ in versions:
            if kind == sf.DELETED:
                index._delete(key, t)
            else:
                index._put(key, t, next(raws) or _EMPTY)


def import_into_segmented(
    paths: list[Path],
    recording: Path,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """Write the companion object of the format-2 recording directory `recording`."""
    store = LocalStore(recording)
    return import_into_store(paths, store, recording / layout.WAL_DIR, recording, progress, worker)


def import_into_url(
    paths: list[Path],
    url: str,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """Write the companion object of the format-2 recording at an s3:// URL (one more object
    under its prefix; nothing of the recording is rewritten)."""
    check_files(paths)
    store = open_store(url)
    if store.stat(layout.HEADER) is None:
        raise KhronoscopeError(f"--into {url}: no khronoscope recording there")
    return import_into_store(paths, store, None, Path(url), progress, worker)


def import_into_store(
    paths: list[Path],
    store: BlobStore,
    wal_dir: Path | None,
    recording: Path,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """Write the companion object of the format-2 recording in `store` (a directory or an
    object-store prefix: the same objects, the same calls); `recording` names it."""
    name = layout.AUDIT_COMPANION
    if store.stat(name) is not None:
        raise KhronoscopeError(_already(recording))
    index = scan_segmented(store, wal_dir, str(recording))
    with tempfile.TemporaryDirectory(prefix="khronoscope-audit-") as tmp:
        target = Path(tmp) / "audit.khr"
        stats = write_companion(paths, recording, index, target, progress, worker)
        try:
            created = store.put_if_absent(name, target.read_bytes())
        except OSError as err:
            raise KhronoscopeError(
                f"cannot store the imported history in {recording}: {err.strerror or err}; "
                "the recording is unchanged"
            ) from None
    if not created:
        raise KhronoscopeError(_already(recording))
    return stats


def _already(recording: Path) -> str:
    return (
        f"{recording} already has imported history ({layout.AUDIT_COMPANION}); move it away "
        "to import again (imported history is never overwritten)"
    )

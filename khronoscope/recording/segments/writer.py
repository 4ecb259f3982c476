"""SegmentedWriter: records into a format-2 recording (a directory, or any BlobStore).

Records go to the open segment's spool (wal.py: at most ~1 s lost on kill -9). When the spool
holds `seal_raw` bytes of records or is `seal_after` seconds old, a new spool is started and the
full one is sealed by a background thread into an immutable segment object (sealer.py), then
removed. Retention deletes whole sealed segments (retention.py); nothing is ever rewritten.

Only what writing needs is kept in memory: per live object the hash of its newest version (a
put equal to it is not a change) and where its version is stored (for the next base); never
the versions themselves.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khronoscope.core.source import SourceInfo
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.core.types import Change, ChangeKind, ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.appender import RecordAppender
from khronoscope.recording.segments import layout, retention
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.catalog import SegmentedRecording, pack_header
from khronoscope.recording.segments.resume import Resumed
from khronoscope.recording.segments.retention import RetentionResult, SegmentMeta
from khronoscope.recording.segments.sealer import Sealed, SealState, seal_spool
from khronoscope.recording.segments.spoolread import SpoolFile
from khronoscope.recording.segments.wal import WalError, WalFile
from khronoscope.recording.writer import RecordingStopped, WriterStats, make_header
from khronoscope.storage import BlobStore
from khronoscope.storage.local import LocalStore

MiB = 1024 * 1024


@dataclass(slots=True)
class SegmentOptions:
    """When to seal, when to write a base, durability (defaults measured in
    bench/longhistory.py)."""

    seal_raw: int = 128 * MiB  # raw record bytes in the spool
    seal_after: float = 300.0  # seconds since the spool was started
    base_every: int = 8  # a base (the state at its start) every this many segments
    refs_reach: int = 48  # a base refers back at most this many segments; older is carried
    rollup_every: int = 64  # a roll-up index object per this many segments
    block_size: int = 256 * 1024  # spool blocks
    level: int = 3
    flush_interval: float = 1.0
    fsync_interval: float = 1.0
    autoflush: bool = True  # a timer thread flushes the spool and seals on time
    background: bool = True  # seal in a thread (False: in the caller, for tests)

    @classmethod
    def for_retention(cls, max_age: int | None) -> SegmentOptions:
        """Options for a recording kept `max_age` ns: segments sealed at least every
        max_age/16, and bases referring back at most about max_age/2, so retention (which
        deletes whole segments) keeps close to max_age, not hours more."""
        opts = cls()
        if max_age is not None:
            opts.seal_after = min(opts.seal_after, max(1.0, max_age / 1e9 / 16))
            reach = int(max_age / 1e9 / 2 / opts.seal_after)
            opts.refs_reach = max(8, min(opts.refs_reach, reach))
            opts.base_every = min(opts.base_every, opts.refs_reach // 2)
        return opts


@dataclass(slots=True)
class _Pending:
    seq: int
    path: Path
    closed: int | None = None


@dataclass(slots=True)
class SegmentedStats(WriterStats):
    """WriterStats plus segments sealed."""

    segments: int = 0
    sealing: int = 0
    segment_bytes: int = 0


class SegmentedWriter(RecordAppender):
    """Appends to a new format-2 recording; thread-safe (a session's sink and the timers)."""

    def __init__(
        self,
        store: BlobStore,
        wal_dir: Path,
        header: dict[str, Any],
        options: SegmentOptions | None = None,
        display: str | None = None,
        publish: Callable[[str, bytes], None] | None = None,
        resume: Resumed | None = None,
    ) -> None:
        self.store = store
        self.wal_dir = wal_dir
        self.header = header
        self.options = options or SegmentOptions()
        self.path = Path(display or store.url)
        self.stats = SegmentedStats()
        self.failed: RecordingStopped | None = None
        self.closed = False
        self._publish = publish or store.put
        self._lock = threading.RLock()
        self._state = SealState()
        self._current: dict[ObjectKey, tuple[int, int]] = {}  # newest version: (t, hash)
        self._floor: int | None = None  # changes at or before this go after it
        self._seq = 0
        self._seal_due = False
        self._handed_off = 0  # changes in spools closed whole (sealed or being sealed)
        self._handed_off_last: int | None = None
        self._metas: list[SegmentMeta] = []
        if resume is not None:  # going on with a recording a previous run wrote (resume.py)
            self._state = resume.state
            self._seq = resume.next_seq
            self._current = dict(resume.current)
            self._floor = resume.last_t
            self._metas = list(resume.metas)
            self.stats.segment_bytes = sum(m.size for m in self._metas)
            self.stats.bytes = self.stats.segment_bytes
        self._wal = self._new_wal()
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._moved_to: Path | None = None  # where the recording was moved while written
        self._tails: list[tuple[int, bytes, int]] = []
        self._reader: SegmentedRecording | None = None
        self._seal_error: BaseException | None = None
        self._stop = threading.Event()
        self._sealer: threading.Thread | None = None
        if self.options.background:
            self._sealer = threading.Thread(target=self._seal_loop, name="segment-sealer")
            self._sealer.daemon = True
            self._sealer.start()
        self._timer: threading.Thread | None = None
        if self.options.autoflush:
            self._timer = threading.Thread(target=self._timer_loop, name="segment-flush")
            self._timer.daemon = True
            self._timer.start()

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        store: BlobStore,
        wal_dir: Path,
        info: SourceInfo,
        start: int | None = None,
        secrets: str = fmt.SECRETS_REDACTED,
        options: dict[str, Any] | None = None,
        writer_options: SegmentOptions | None = None,
        display: str | None = None,
        publish: Callable[[str, bytes], None] | None = None,
    ) -> SegmentedWriter:
        """A new recording in `store` (refused when one is already there); sealed segments go
        through `publish` (default: `store.put`)."""
        header = make_header(info, now_ns() if start is None else start, secrets, options)
        header["format"] = sf.FORMAT
        try:
            created = store.put_if_absent(layout.HEADER, pack_header(header))
        except OSError as err:
            why = "disk full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else err.strerror
            raise KhronoscopeError(
                f"{why or err} creating {display or store.url}: nothing was recorded"
            ) from None
        if not created:
            raise KhronoscopeError(
                f"{display or store.url} already holds a recording: choose a new name "
                "(recordings are never overwritten)"
            )
        return cls(store, wal_dir, header, writer_options, display, publish)

    @classmethod
    def create_local(
        cls,
        path: str | os.PathLike[str],
        info: SourceInfo,
        start: int | None = None,
        secrets: str = fmt.SECRETS_REDACTED,
        options: dict[str, Any] | None = None,
        writer_options: SegmentOptions | None = None,
    ) -> SegmentedWriter:
        """A new recording in directory `path` (which must not exist yet)."""
        path = Path(path)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            raise KhronoscopeError(
                f"{path} already exists: choose a new name (recordings are never overwritten)"
            ) from None
        except OSError as err:
            raise KhronoscopeError(f"cannot create {path}: {err.strerror}") from None
        store = LocalStore(path)
        try:
            return cls.create(
                store,
                path / layout.WAL_DIR,
                info,
                start,
                secrets,
                options,
                writer_options,
                display=str(path),
            )
        except KhronoscopeError as err:
            # nothing recorded yet (a full disk at start): leave no half-made recording
            shutil.rmtree(path, ignore_errors=True)
            if "nothing was recorded" in str(err):
                raise KhronoscopeError(f"{err} (the empty recording was removed)") from None
            raise
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise

    # --- appends ------------------------------------------------------------------------------

    def append_change(self, change: Change) -> None:
        """Record one change (the object as the session stored it)."""
        deleted = change.kind == ChangeKind.DELETED or change.obj is None
        self.append_raw(change.key, change.t, None if deleted else rec.pack(change.obj))

    def append_raw(self, key: ObjectKey, t: int, raw: bytes | None) -> None:
        """Record a version already packed with msgpack (None: a delete), as `append_change`
        does (converting a recording: no decode and re-encode)."""
        with self._lock:
            self._check()
            last = self._wal.last_change_t
            if self._seal_due and (last is None or t > last):
                self._rotate()
            if self._floor is not None and t <= self._floor:
                t = self._floor + 1
            cur = self._current.get(key)
            if raw is None:
                if cur is None:
                    return
                del self._current[key]
                record = [fmt.DELETE, t, key.type, key.namespace, key.name]
            else:
                h = hash(raw)
                if cur is not None and cur[1] == h and t > cur[0]:
                    return
                if cur is None or t >= cur[0]:
                    self._current[key] = (t, h)
                record = [fmt.PUT_FULL, t, key.type, key.namespace, key.name, raw]
            self.stats.types.add(key.type)
            self._add(record, t, change=True)

    def append_record(self, record: list[Any]) -> None:
        """Record a format-1 record that is not an object version (a log line, a metrics
        sample, a bookmark, a gap, a status, types, identity), as read from another recording."""
        if not record or record[0] in fmt.CHANGE_KINDS or record[0] >= fmt.KF_BEGIN:
            raise ValueError(f"not a record to copy: kind {record[0] if record else None}")
        with self._lock:
            self._check()
            self._add(record, record[1])

    # --- the spool ----------------------------------------------------------------------------

    def _new_wal(self) -> WalFile:
        header = {"format": 1, "spool": self._seq, "recording": self.header.get("start")}
        path = self.wal_dir / layout.wal_file(self._seq)
        try:
            return WalFile(
                path, header, self.options.block_size, self.options.level,
                self.options.fsync_interval,
            )  # fmt: skip
        except FileExistsError:
            raise KhronoscopeError(
                f"{path} already exists: another recorder writes {self.path}?"
            ) from None
        except OSError as err:
            raise KhronoscopeError(f"cannot create {path}: {err.strerror or err}") from None

    def _add(self, record: list[Any], t: int, change: bool = False) -> None:
        try:
            self._wal.add(record, t, change)
        except WalError as err:
            self._fail(err)
        self.stats.records += 1
        self.stats.bytes = self.stats.segment_bytes + self._wal.size
        if change:
            self.stats.changes += 1
            if self.stats.last_t is None or t > self.stats.last_t:
                self.stats.last_t = t
        if self._wal.raw_bytes >= self.options.seal_raw:
            self._seal_due = True

    def _rotate(self, closed: int | None = None) -> None:
        """Close the spool and hand it to the sealer; start the next one (not after close)."""
        wal = self._wal
        if not wal.records and closed is None:
            return
        try:
            wal.close()
        except WalError as err:
            self._fail(err)
        if wal.last_change_t is not None:
            self._floor = max(self._floor or wal.last_change_t, wal.last_change_t)
        pending = _Pending(self._seq, wal.path, closed)
        self._handed_off += wal.changes
        if wal.changes:
            self._handed_off_last = wal.written_last_t
        self._seal_due = False
        self._seq += 1
        if closed is None:
            self._wal = self._new_wal()
        self.stats.sealing += 1
        if self._sealer is not None:
            self._queue.put(pending)
        else:
            self._seal_one(pending)

    def _fail(self, err: OSError) -> None:
        self._stopped_by(err)
        self._wal.abandon()
        assert self.failed is not None
        raise self.failed from None

    def _stopped_by(self, err: BaseException) -> None:
        """Stop recording for good: `failed` says why and what the recording keeps (what was
        written, sealed or still in its spool, stays readable)."""
        if self.failed is not None:
            return
        if isinstance(err, OSError):
            why = "disk full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else err.strerror
            why = why or str(err)
        else:
            why = f"sealing failed ({err})"
        # what is on disk: sealed and handed-off spools whole, the open spool's written blocks
        kept = self._handed_off + self._wal.changes
        last = self._wal.written_last_t if self._wal.changes else self._handed_off_last
        upto = f"up to {format_iso(last)} " if last is not None else ""
        self.failed = RecordingStopped(
            f"{why} writing {self.path}: recording stopped; the recording keeps everything "
            f"{upto}({kept} changes)"
        )

    def _check(self) -> None:
        if self.failed is not None:
            raise self.failed
        if self._seal_error is not None:
            self._stopped_by(self._seal_error)
            assert self.failed is not None
            raise self.failed
        if self.closed:
            raise KhronoscopeError(f"recording {self.path} is closed")

    def flush(self) -> None:
        """Write the buffered records now and fsync."""
        with self._lock:
            self._check()
            try:
                self._wal.flush_block()
                self._wal.sync(force=True)
            except WalError as err:
                self._fail(err)

    def seal_now(self) -> None:
        """Seal the open segment now (tests, and before retention cuts at the end)."""
        with self._lock:
            self._check()
            self._rotate()
        self.wait_sealed()

    @property
    def sealed_until(self) -> int | None:
        """The newest change time in a sealed segment (what readers of the store can see)."""
        with self._lock:
            ends = [m.last_t for m in self._metas if m.changes]
        return max(ends) if ends else None

    def wait_sealed(self) -> None:
        """Block until every handed-off spool is sealed."""
        if self._sealer is not None:
            self._queue.join()

    def _timer_loop(self) -> None:
        interval = self.options.flush_interval
        while not self._stop.wait(min(interval / 4, 0.25)):
            with self._lock:
                if self.closed or self.failed is not None:
                    continue
                try:
                    self._wal.flush_if_due(interval)
                    if (
                        self._wal.records
                        and time.monotonic() - self._wal.opened >= self.options.seal_after
                    ):
                        self._rotate()
                except WalError as err:
                    self._stopped_by(err)  # `failed` says it to whoever watches
                    self._wal.abandon()
                except (RecordingStopped, KhronoscopeError):
                    continue

    # --- sealing ------------------------------------------------------------------------------

    def _seal_loop(self) -> None:
        while True:
            pending = self._queue.get()
            try:
                if pending is None:
                    return
                if self._seal_error is None:
                    try:
                        self._seal_one(pending)
                    except Exception as err:  # reported through `failed` to the writer's user
                        self._seal_error = err
                        self._stopped_by(err)
            finally:
                self._queue.task_done()

    def _is_base(self) -> bool:
        st = self._state
        return st.last_base is None or st.segments_since_base + 1 >= self.options.base_every

    def _seal_one(self, pending: _Pending) -> None:
        assert self._state.next_seq == pending.seq, "spools are sealed in order"
        # read as it is sealed, never whole: a spool holds up to seal_raw of records
        with SpoolFile(pending.path) as spool:
            sealed = seal_spool(
                spool,
                self._state,
                self._is_base(),
                self._fetch,
                self._put_dict,
                closed=pending.closed,
                reach=self.options.refs_reach,
            )
        self._publish(sealed.name, sealed.data)
        self._after_seal(sealed)
        with contextlib.suppress(FileNotFoundError):
            pending.path.unlink()

    def _after_seal(self, sealed: Sealed) -> None:
        f = sealed.footer
        meta = SegmentMeta(
            int(f["seq"]),
            sealed.name,
            len(sealed.data),
            int(f["first_t"]),
            int(f["last_t"]),
            int(f["changes"]),
            bool(f["base"]),
            int(f["refs_from"]) if f.get("refs_from") is not None else int(f["seq"]),
        )
        with self._lock:
            self._metas.append(meta)
            self.stats.segments += 1
            self.stats.sealing -= 1
            self.stats.segment_bytes += len(sealed.data)
        flen = int.from_bytes(sealed.data[-sf.TRAILER_SIZE : -sf.TRAILER_SIZE + 4], "little")
        tail = sealed.data[-(flen + sf.TRAILER_SIZE) :]
        seq = int(sealed.footer["seq"])
        if self._reader is not None:
            self._reader.add_sealed(sealed.name, sealed.data)
        self._tails.append((seq, tail, len(sealed.data)))
        every = self.options.rollup_every
        if (seq + 1) % every == 0:
            group = [t for t in self._tails if t[0] > seq - every]
            if len(group) == every:
                name = layout.rollup_name(seq - every + 1, seq)
                self._publish(name, sf.compress(sf.pack_obj([list(t) for t in group])))
            self._tails = []

    def _fetch(self, seq: int, type_: str, rids: list[int]) -> list[bytes]:
        """Old versions to carry into a base, read back from their segments."""
        if self._reader is None:
            # listed once (also after a restart); then every seal and retention pass keeps
            # its catalog current: a LIST per seal costs seconds on a big bucket
            self._reader = SegmentedRecording(self.store, None, cache_bytes=16 * MiB)
        raws = self._reader.records(seq, type_, rids)
        missing = sum(1 for r in raws if r is None)
        if missing:
            raise KhronoscopeError(
                f"{missing} versions of {type_} in segment {seq} cannot be read back"
            )
        return [r for r in raws if r is not None]

    def _put_dict(self, name: str, data: bytes) -> None:
        self.store.put_if_absent(name, data)

    def check_path(self) -> RecordingStopped | None:
        """Stop recording (and say so) when the recording's directory was deleted or moved
        while written: never claim it holds what it does not. A moved recording is closed
        properly where it is now."""
        with self._lock:
            if self.closed or self.failed is not None:
                return self.failed
            if self.store.stat(layout.HEADER) is not None and self._wal.path.exists():
                return None
            now = self._wal.current_path()
            n = self.stats.changes
            if now is None or not (now.parent.parent / layout.HEADER).exists():
                self.failed = RecordingStopped(
                    f"{self.path} was deleted while recording: recording stopped; the "
                    f"{n:,} changes recorded in it are gone with it"
                )
                self._wal.abandon()
                return self.failed
            # moved: go on writing where it is now, just long enough to close it there
            moved = now.parent.parent
            self.store = LocalStore(moved)
            self._publish = self.store.put
            self.wal_dir = moved / layout.WAL_DIR
            self._wal.path = now
            self._moved_to = moved
            self._reader = None  # it read the old place
            last = self.stats.last_t
            upto = f"up to {format_iso(last)} " if last is not None else ""
            self.failed = RecordingStopped(
                f"{self.path} was moved to {moved} while recording: recording stopped; "
                f"{moved} keeps everything {upto}({n:,} changes)"
            )
            return self.failed

    # --- retention ----------------------------------------------------------------------------

    def compact(
        self, max_age: int | None = None, max_size: int | None = None, slack: float = 0.0
    ) -> RetentionResult:
        """Delete whole old segments beyond `max_age` ns or `max_size` bytes (nothing is
        rewritten, so `slack` is not needed: any pass is cheap)."""
        with self._lock:
            self._check()
            metas = list(self._metas)
        try:
            result = retention.apply(self.store, metas, max_age, max_size)
        except OSError as err:
            raise KhronoscopeError(
                f"retention of {self.path} failed ({err.strerror or err}): nothing was lost"
            ) from None
        if result.compacted:
            gone = set(result.deleted)
            with self._lock:
                self._metas = [m for m in self._metas if m.name not in gone]
                if self._reader is not None:
                    self._reader.forget(gone)
                self.stats.segment_bytes = sum(m.size for m in self._metas)
                self.stats.bytes = self.stats.segment_bytes + self._wal.size
        return result

    # --- close --------------------------------------------------------------------------------

    @property
    def bytes(self) -> int:
        """Bytes of the recording: sealed segments and the open spool."""
        return self.stats.segment_bytes + self._wal.size

    def close(self, stop_t: int | None = None) -> None:
        """Seal what is open (its footer carries the stop time: now, or `stop_t`: the
        session's stop, or a simulated clock's), wait for sealing, stop."""
        self._stop.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join()
        with self._lock:
            if self.closed:
                return
            self.closed = True
            if self.failed is None or self._moved_to is not None:
                stop = max(now_ns() if stop_t is None else stop_t, self.stats.last_t or 0)
                with contextlib.suppress(RecordingStopped, OSError):
                    self._rotate(closed=stop)
            else:
                self._wal.abandon()
        if self._sealer is not None:
            self._queue.put(None)
            self._sealer.join()
        if self._seal_error is not None:
            self._stopped_by(self._seal_error)
        self.stats.bytes = self.stats.segment_bytes

    def __enter__(self) -> SegmentedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

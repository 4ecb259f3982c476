"""RecordingWriter: appends changes and the records around them to a recording file.

Durability policy (see docs/recording-format.md): records are buffered in memory and written as
one block (a single write of header + payload) when the buffer reaches `block_size`, when the
oldest buffered record is `flush_interval` old (a background thread checks), and on close. After a
write the file is fsync'ed at most once per `fsync_interval`. A crash of the process (kill -9)
therefore loses at most the last `flush_interval` of records; a power loss at most the last
`fsync_interval` more. Every write is of whole blocks, so a torn write leaves at most one truncated
block at the end, which readers report and skip.

While it writes, the writer holds an exclusive flock on the file (a follower tells a live writer
from a dead one), starts every data block with a ledger of the previous one (a reader can count
what a damaged block held, per type and object), and on a clean close records the moment it
stopped (the recording's range ends there, not at its last change). `check_path` notices the
file being deleted or moved away while it is written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import zstandard as zstd

from khronoscope import __version__
from khronoscope.core.files import create_new, open_append
from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeStatus
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.appender import RecordAppender, RecordBuffer, status_record, types_record

if TYPE_CHECKING:
    from khronoscope.recording.retention import CompactResult


class RecordingStopped(KhronoscopeError):
    """Writing failed (disk full, I/O error): the file keeps every block written before."""


class Output(Protocol):
    """Where blocks go: a file descriptor in production, a wrapper in tests (ENOSPC)."""

    def write_all(self, data: bytes) -> None:
        """Write every byte or raise OSError."""

    def sync(self) -> None:
        """Make written data durable."""

    def truncate(self, size: int) -> None:
        """Cut the file at `size` (to drop a partly written block)."""

    def close(self) -> None:
        """Release the file."""

    @property
    def locked(self) -> bool:
        """True when this output holds an exclusive flock on the file (followers look)."""

    def file_id(self) -> tuple[int, int] | None:
        """(st_dev, st_ino) of the open file, or None when it is not a file."""

    def current_name(self) -> str | None:
        """Where the open file is now (it may have been moved), when the system says."""


class FileOutput:
    """An unbuffered file descriptor: each write_all is os.write calls of whole blocks."""

    def __init__(self, path: Path, exclusive: bool = True) -> None:
        # recordings hold cluster state: owner only, and never through a symlink
        self.fd = create_new(path) if exclusive else open_append(path)
        self.dir_fd_path = path.parent
        self._locked = False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._locked = True
        except OSError:
            pass  # a filesystem without flock: followers then go by growth alone

    @property
    def locked(self) -> bool:
        """True when the exclusive flock was taken."""
        return self._locked

    def file_id(self) -> tuple[int, int] | None:
        """(st_dev, st_ino) of the descriptor."""
        st = os.fstat(self.fd)
        return st.st_dev, st.st_ino

    def current_name(self) -> str | None:
        """The descriptor's path as Linux's /proc shows it (None elsewhere)."""
        try:
            return os.readlink(f"/proc/self/fd/{self.fd}")
        except OSError:
            return None

    def write_all(self, data: bytes) -> None:
        """Write all of `data` (os.write may write less than asked)."""
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def sync(self) -> None:
        """fdatasync: the data and the size, not the timestamps."""
        os.fdatasync(self.fd)

    def truncate(self, size: int) -> None:
        """ftruncate the file."""
        os.ftruncate(self.fd, size)

    def close(self) -> None:
        """Close the descriptor (which releases the lock)."""
        os.close(self.fd)


@dataclass(slots=True)
class WriterOptions:
    """Tuning of block sizes, keyframes and durability (defaults measured in bench/recording.py)."""

    block_size: int = 256 * 1024
    keyframe_block_size: int = 1024 * 1024
    level: int = 3
    keyframe_level: int = 6
    # a keyframe (full state) when this many changes were written since the last one and their
    # bytes reach keyframe_ratio x the last keyframe's: opening reads at most that tail
    keyframe_changes: int = 50_000
    keyframe_ratio: float = 0.5
    flush_interval: float = 1.0
    fsync_interval: float = 1.0
    autoflush: bool = True


@dataclass(slots=True)
class WriterStats:
    """What has been written, for the status line."""

    changes: int = 0
    records: int = 0
    blocks: int = 0
    keyframes: int = 0
    bytes: int = 0
    raw_bytes: int = 0
    last_t: int | None = None
    types: set[str] = field(default_factory=set)


def make_header(
    info: SourceInfo,
    start: int,
    secrets: str = fmt.SECRETS_REDACTED,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The file header map for a new recording."""
    if secrets not in (fmt.SECRETS_REDACTED, fmt.SECRETS_KEPT):
        raise ValueError(f"secrets must be {fmt.SECRETS_REDACTED!r} or {fmt.SECRETS_KEPT!r}")
    return {
        "format": fmt.FORMAT_VERSION,
        "writer": f"khronoscope {__version__}",
        "cluster": info.cluster,
        "context": info.context,
        "server_version": info.server_version,
        "extra": dict(info.extra),
        "start": start,
        "secrets": secrets,
        "options": dict(options or {}),
    }


class RecordingWriter(RecordAppender):
    """Appends to a new recording file; thread-safe (a session's sink and a flush timer)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: dict[str, Any],
        options: WriterOptions | None = None,
        output: Output | None = None,
    ) -> None:
        self.path = Path(path)
        self.options = options or WriterOptions()
        self.stats = WriterStats()
        try:
            self._out: Output = output if output is not None else FileOutput(self.path)
        except FileExistsError:
            raise KhronoscopeError(
                f"{self.path} already exists: choose a new file (recordings are never overwritten)"
            ) from None
        except OSError as err:
            raise KhronoscopeError(f"cannot create {self.path}: {err.strerror}") from None
        features = ["ledger", "close"] + (["lock"] if self._out.locked else [])
        self.header = {**header, "features": features}
        self._lock = threading.RLock()
        self._compressor = zstd.ZstdCompressor(level=self.options.level)
        self._kf_compressor = zstd.ZstdCompressor(level=self.options.keyframe_level)
        self._buf = RecordBuffer()
        # per object: (time of the version in force, its msgpack bytes): delta bases and keyframes
        self._state: dict[ObjectKey, tuple[int, bytes]] = {}
        self._bookmarks: dict[int, tuple[Bookmark, int]] = {}
        self._max_bookmark_id = 0
        self._gaps: list[Gap] = []
        self._status: dict[str, tuple[int, TypeStatus]] = {}
        self._types: dict[str, ResourceType] = {}
        self._types_t = 0
        self._info_extra: dict[str, Any] = {}
        self._kf_bytes = 0
        self._since_kf_changes = 0
        self._since_kf_bytes = 0
        self._committed = 0  # changes in blocks fully written
        self._good_end = 0  # end of the last block fully written: what a failure truncates to
        self._last_sync = time.monotonic()
        self._index: list[list[int]] = []
        # ledgers: changes per type written so far, the buffer's share, the objects it changed,
        # and the last block with changes (its number and objects) for the next block's ledger
        self._type_changes: dict[str, int] = {}
        self._buf_types: dict[str, int] = {}
        self._buf_keys: dict[ObjectKey, int] = {}
        self._prev_changes_before: int | None = None
        self._prev_keys: dict[ObjectKey, int] = {}
        # change numbers taken out by retention: blocks written after a compaction go on from
        # the kept ones' (renumbered) numbers
        self._renumbered = 0
        self.failed: RecordingStopped | None = None
        self.detached = False  # the path no longer names the file (deleted or moved)
        self.closed = False
        self._start_file()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if self.options.autoflush:
            self._flusher = threading.Thread(
                target=self._flush_loop, name="recording-flush", daemon=True
            )
            self._flusher.start()

    def _start_file(self) -> None:
        """Write the file header; if even that fails, remove the empty file and say so: a
        0-byte file would only be "not a recording" later."""
        try:
            self._out.write_all(fmt.pack_file_header(self.header))
            self._out.sync()
        except OSError as err:
            ident = self._out.file_id()
            with contextlib.suppress(OSError):
                self._out.close()
            removed = ""
            with contextlib.suppress(OSError):
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == ident:
                    self.path.unlink()
                    removed = " (the empty file was removed)"
            why = "disk full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else err.strerror
            raise KhronoscopeError(
                f"{why} creating {self.path}: nothing was recorded{removed}"
            ) from None
        self._good_end = self.stats.bytes = len(fmt.pack_file_header(self.header))
        self._last_sync = time.monotonic()

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        info: SourceInfo,
        start: int | None = None,
        secrets: str = fmt.SECRETS_REDACTED,
        options: dict[str, Any] | None = None,
        writer_options: WriterOptions | None = None,
    ) -> RecordingWriter:
        """Create a new recording at `path` (never overwrites an existing file)."""
        header = make_header(info, now_ns() if start is None else start, secrets, options)
        return cls(path, header, writer_options)

    # --- appends ----------------------------------------------------------------------------

    def append_change(self, change: Change) -> None:
        """Record one change (the object as the session stored it)."""
        key = change.key
        with self._lock:
            self._check()
            if change.kind == ChangeKind.DELETED or change.obj is None:
                if self._state.pop(key, None) is None:
                    return  # a delete of something never seen carries no information
                record = [fmt.DELETE, change.t, key.type, key.namespace, key.name]
            else:
                # the session's own bytes when it passes them: one copy of the newest version
                raw = change.raw if change.raw is not None else rec.pack(change.obj)
                prev = self._state.get(key)
                if prev is not None and prev[1] == raw:
                    return  # same content as the version in force: not a change
                record = self._put_record(change.t, key, raw, prev)
                self._state[key] = (change.t, raw)
            self._count_change(key)
            self._add(record, change.t, change=True)
            if self._since_kf_changes >= self.options.keyframe_changes and (
                self._since_kf_bytes >= self.options.keyframe_ratio * self._kf_bytes
            ):
                self._write_keyframe(change.t)

    def _count_change(self, key: ObjectKey) -> None:
        """A change of `key` goes into the buffer: what the next blocks' ledgers say."""
        self.stats.types.add(key.type)
        self._type_changes[key.type] = self._type_changes.get(key.type, 0) + 1
        self._buf_types[key.type] = self._buf_types.get(key.type, 0) + 1
        self._buf_keys[key] = self._buf_keys.get(key, 0) + 1

    def _put_record(
        self, t: int, key: ObjectKey, raw: bytes, prev: tuple[int, bytes] | None
    ) -> list[Any]:
        if prev is not None:
            delta = rec.delta_encode(prev[1], raw)
            if len(delta) < len(raw):
                return [fmt.PUT_DELTA, t, key.type, key.namespace, key.name, delta]
        return [fmt.PUT_FULL, t, key.type, key.namespace, key.name, raw]

    def append_packed(self, t: int, key: ObjectKey, raw: bytes | None) -> bool:
        """`append_change` for an object already packed with `records.pack` (None: a delete),
        so that a bulk import can pack elsewhere; False when it changed nothing."""
        with self._lock:
            self._check()
            if raw is None:
                if self._state.pop(key, None) is None:
                    return False
                record = [fmt.DELETE, t, key.type, key.namespace, key.name]
            else:
                prev = self._state.get(key)
                if prev is not None and prev[1] == raw:
                    return False
                record = self._put_record(t, key, raw, prev)
                self._state[key] = (t, raw)
            self._count_change(key)
            self._add(record, t, change=True)
            if self._since_kf_changes >= self.options.keyframe_changes and (
                self._since_kf_bytes >= self.options.keyframe_ratio * self._kf_bytes
            ):
                self._write_keyframe(t)
            return True

    def in_force(self, key: ObjectKey) -> bytes | None:
        """The msgpack bytes of the version of `key` in force (None: absent or deleted)."""
        with self._lock:
            found = self._state.get(key)
            return found[1] if found is not None else None

    # what keyframes repeat, kept as the records are appended (RecordAppender's hooks)
    def _kept_bookmark(self, bookmark: Bookmark, created: int) -> None:
        self._bookmarks[bookmark.id] = (bookmark, created)
        self._max_bookmark_id = max(self._max_bookmark_id, bookmark.id)

    def _kept_bookmark_removed(self, bookmark_id: int) -> None:
        self._bookmarks.pop(bookmark_id, None)

    def _kept_gap(self, gap: Gap) -> None:
        self._gaps.append(gap)

    def _kept_status(self, t: int, type_name: str, status: TypeStatus) -> None:
        self._status[type_name] = (t, status)

    def _kept_types(self, t: int, types: list[ResourceType]) -> None:
        self._types = {rt.name: rt for rt in types}
        self._types_t = t

    def _kept_info(self, values: dict[str, Any]) -> None:
        self._info_extra.update(values)

    # --- blocks -----------------------------------------------------------------------------

    def _add(self, record: list[Any], t: int, change: bool = False) -> None:
        self._buf.add(rec.pack(record), t, change)
        self.stats.records += 1
        if change:
            self.stats.changes += 1
            self._since_kf_changes += 1
            if self.stats.last_t is None or t > self.stats.last_t:
                self.stats.last_t = t
        if self._buf.raw_bytes >= self.options.block_size:
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        if not self._buf:
            return
        before = self.stats.changes - self._buf.changes - self._renumbered
        in_block = self._buf.changes
        totals = {
            name: n - self._buf_types.get(name, 0)
            for name, n in self._type_changes.items()
            if n - self._buf_types.get(name, 0)
        }
        back = None if self._prev_changes_before is None else before - self._prev_changes_before
        ledger = rec.pack(rec.ledger_record(self._buf.first, back, totals, self._prev_keys))
        raw = ledger + b"".join(self._buf.parts)
        payload = self._compressor.compress(raw)
        records = self._buf.records + 1
        block = fmt.pack_block(
            fmt.DATA,
            fmt.F_ZSTD,
            payload,
            len(raw),
            records,
            in_block,
            self._buf.first,
            self._buf.last,
            before,
        )
        entry = [
            self._good_end,
            fmt.DATA,
            fmt.F_ZSTD,
            len(payload),
            records,
            in_block,
            self._buf.first,
            self._buf.last,
            before,
        ]
        keys = self._buf_keys
        self._buf.clear()
        self._buf_types = {}
        self._buf_keys = {}
        self._write(block)
        if in_block:
            # the next block's ledger describes the last block that held changes
            self._prev_changes_before = before
            self._prev_keys = keys
        self._committed = before + in_block
        self._index.append(entry)
        self.stats.blocks += 1
        self.stats.raw_bytes += len(raw)
        self._since_kf_bytes += len(block)
        self._sync()

    def _write_keyframe(self, t: int) -> None:
        """Write the full state at t as one or more keyframe blocks (data flushed first)."""
        self._flush_buffer()
        before = self.stats.changes - self._renumbered
        parts: list[bytes] = [
            rec.pack([fmt.KF_BEGIN, t, len(self._state), before, self._max_bookmark_id])
        ]
        if self._types:
            parts.append(rec.pack(types_record(self._types_t, self._types.values())))
        for name, (st, status) in sorted(self._status.items()):
            parts.append(rec.pack(status_record(st, name, status)))
        for b, created in self._bookmarks.values():
            parts.append(rec.pack(rec.bookmark_record(fmt.BOOKMARK, b, created)))
        for g in self._gaps:
            parts.append(rec.pack([fmt.GAP, g.start, g.end, g.type, g.reason]))
        if self._info_extra:
            parts.append(rec.pack([fmt.INFO, t, self._info_extra]))
        # sorted by key so that similar objects sit side by side and compress together
        for key in sorted(self._state):
            vt, raw = self._state[key]
            parts.append(rec.pack([fmt.KF_OBJECT, vt, key.type, key.namespace, key.name, raw]))
        size = 0
        chunk: list[bytes] = []
        blocks: list[list[bytes]] = []
        for p in parts:
            chunk.append(p)
            size += len(p)
            if size >= self.options.keyframe_block_size:
                blocks.append(chunk)
                chunk, size = [], 0
        if chunk or not blocks:
            blocks.append(chunk)
        written = 0
        for i, chunk in enumerate(blocks):
            raw = b"".join(chunk)
            payload = self._kf_compressor.compress(raw)
            flags = fmt.F_ZSTD | (fmt.F_KEYFRAME_END if i == len(blocks) - 1 else 0)
            block = fmt.pack_block(
                fmt.KEYFRAME, flags, payload, len(raw), len(chunk), 0, t, t, before
            )
            entry = [self._good_end, fmt.KEYFRAME, flags, len(payload), len(chunk), 0, t, t, before]
            self._write(block)
            self._index.append(entry)
            written += len(block)
            self.stats.raw_bytes += len(raw)
        self.stats.blocks += len(blocks)
        self.stats.keyframes += 1
        self._kf_bytes = written
        self._since_kf_bytes = 0
        self._since_kf_changes = 0
        self._sync()

    def _write(self, data: bytes) -> None:
        try:
            self._out.write_all(data)
        except OSError as err:
            self._fail(err)
        self._good_end += len(data)
        self.stats.bytes = self._good_end

    def _fail(self, err: OSError) -> None:
        # drop the partial block so the file ends on a whole one; ENOSPC leaves room for this
        # if even that fails, readers report a truncated last block: nothing more to do here
        with contextlib.suppress(OSError):
            self._out.truncate(self._good_end)
        why = "disk full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else err.strerror
        last = max((e[7] for e in self._index), default=None)
        upto = f"up to {format_iso(last)} " if last is not None else ""
        self.failed = RecordingStopped(
            f"{why} writing {self.path}: recording stopped; the file keeps everything "
            f"{upto}({self._committed} changes)"
        )
        self._buf.clear()
        self._buf_types = {}
        self._buf_keys = {}
        raise self.failed from None

    def _sync(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_sync >= self.options.fsync_interval:
            try:
                self._out.sync()
            except OSError as err:
                self._fail(err)
            self._last_sync = now

    def _check(self) -> None:
        if self.failed is not None:
            raise self.failed
        if self.closed:
            raise KhronoscopeError(f"recording {self.path} is closed")

    def flush(self) -> None:
        """Write the buffered records as a block now and fsync."""
        with self._lock:
            self._check()
            self._flush_buffer()
            self._sync(force=True)

    def _flush_loop(self) -> None:
        interval = self.options.flush_interval
        while not self._stop.wait(min(interval / 4, 0.25)):
            with self._lock:
                if self.closed or self.failed is not None or not self._buf:
                    continue
                if self._buf.due(interval):
                    try:
                        self._flush_buffer()
                    except RecordingStopped:
                        return  # `failed` is set: the next append reports it

    # --- close ------------------------------------------------------------------------------

    def close(self, final_keyframe: bool = True, stop_t: int | None = None) -> None:
        """Record the stop (`stop_t`, default now), flush, write the final keyframe (instant
        opening) and the index, fsync, close. A file moved away while it was written is still
        closed properly where it is now."""
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                if self.failed is None or self.detached:
                    t = now_ns() if stop_t is None else stop_t
                    self._flush_buffer()
                    if final_keyframe and self._since_kf_changes:
                        self._write_keyframe(self.stats.last_t or t)
                    # after the final keyframe: a reader opening at it reads the stop too
                    self._add([fmt.CLOSE, t], t)
                    self._flush_buffer()
                    self._write_index()
                    self._sync(force=True)
            except RecordingStopped:
                pass  # `failed` says what the file keeps
            finally:
                self._out.close()

    def check_path(self) -> RecordingStopped | None:
        """Stop recording (and say so) when the path no longer names the file being written:
        deleted, moved, or replaced by another file. Call it now and then (the status tick)."""
        with self._lock:
            if self.closed or self.failed is not None:
                return self.failed
            ident = self._out.file_id()
            if ident is None:
                return None
            try:
                st = os.stat(self.path)
                here = (st.st_dev, st.st_ino) == ident
            except OSError:
                here = False
            if here:
                return None
            self.detached = True
            name = self._out.current_name()
            n = self.stats.changes - self._renumbered
            if name is None or name.endswith(" (deleted)"):
                what = (
                    f"{self.path} was deleted while recording: recording stopped; the "
                    f"{n:,} changes recorded in it are gone with it"
                )
            else:
                upto = ""
                if self.stats.last_t is not None:
                    upto = f"up to {format_iso(self.stats.last_t)} "
                what = (
                    f"{self.path} was moved to {name} while recording: recording stopped; "
                    f"{name} keeps everything {upto}({n:,} changes)"
                )
            self.failed = RecordingStopped(what)
            return self.failed

    def _write_index(self) -> None:
        raw = rec.pack([fmt.INDEX, self._index])
        payload = self._compressor.compress(raw)
        first = min((e[6] for e in self._index), default=0)
        last = max((e[7] for e in self._index), default=0)
        offset = self._good_end
        block = fmt.pack_block(
            fmt.INDEX,
            fmt.F_ZSTD,
            payload,
            len(raw),
            len(self._index),
            0,
            first,
            last,
            self.stats.changes - self._renumbered,
        )
        self._write(block + fmt.pack_trailer(offset))

    def compact(
        self, max_age: int | None = None, max_size: int | None = None, slack: float = 0.0
    ) -> CompactResult:
        """Apply retention to the file being written (see retention.compact), then go on.

        The in-memory state (delta bases) is unchanged by a compaction, so appending continues
        as if nothing happened. A failure (e.g. no room for the new file) leaves the file as it
        was and is raised after writing resumes.
        """
        from khronoscope.recording.retention import compact

        with self._lock:
            self._check()
            self._flush_buffer()
            self._sync(force=True)
            self._out.close()
            try:
                result = compact(
                    self.path,
                    max_age,
                    max_size,
                    final_index=False,
                    slack=slack,
                    known_blocks=self._index,
                )
            except OSError as err:
                self._out = FileOutput(self.path, exclusive=False)
                raise KhronoscopeError(
                    f"retention of {self.path} failed ({err.strerror}): the file is unchanged"
                ) from None
            self._out = FileOutput(self.path, exclusive=False)
            if result.compacted:
                self._good_end = result.new_size
                self._index = result.index
                self.stats.bytes = result.new_size
                self._renumbered += result.dropped_changes
                if self._prev_changes_before is not None:
                    prev = self._prev_changes_before - result.dropped_changes
                    # the block the next ledger describes may be among those dropped
                    self._prev_changes_before = prev if prev >= 0 else None
                    if prev < 0:
                        self._prev_keys = {}
            return result

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

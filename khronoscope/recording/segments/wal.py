"""The open segment's spool: a local file of checksummed blocks, as in format 1.

A spool file is a format-1 file header followed by format-1 data blocks (docs/recording-format.md,
"Blocks"), so the format-1 reader reads it, torn tail and damage included. Records are buffered
and written as whole blocks (one write each) when `block_size` bytes are buffered or the oldest
buffered record is `flush_interval` old (the writer's timer calls `flush_if_due`); the file is
fdatasync'ed at most once per `fsync_interval`. A kill -9 loses at most the last second. Object
versions are always full (PUT_FULL): a spool is read on its own, without earlier segments.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from typing import Any

import zstandard as zstd

from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.appender import RecordBuffer


class WalError(OSError):
    """Writing the spool failed (disk full, I/O error); the file ends on its last whole block."""


class WalFile:
    """One spool file being written (not thread-safe: the segmented writer holds a lock)."""

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        block_size: int = 256 * 1024,
        level: int = 3,
        fsync_interval: float = 1.0,
    ) -> None:
        self.path = path
        self.block_size = block_size
        self.fsync_interval = fsync_interval
        self._compressor = zstd.ZstdCompressor(level=level)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL|O_NOFOLLOW: never written through a planted file or symlink; owner only
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        # held while writing: a follower tells a live writer from one that died (see
        # `writer_holds`); a filesystem without flock leaves followers to go by growth alone
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.opened = time.monotonic()
        self._buf = RecordBuffer()
        self._good_end = 0
        self._last_sync = 0.0
        self.raw_bytes = 0  # raw record bytes written and buffered: when to seal
        self.changes = 0
        self.records = 0
        self.first_change_t: int | None = None
        self.last_change_t: int | None = None
        self.written_last_t: int | None = None  # newest change in the blocks written
        self.closed = False
        self._write(fmt.pack_file_header(header))
        self.sync(force=True)
        _sync_dir(path.parent)

    @property
    def size(self) -> int:
        """Bytes written to the file so far."""
        return self._good_end

    def add(self, record: list[Any], t: int, change: bool = False) -> None:
        """Buffer one record (writes a block when the buffer is full)."""
        data = rec.pack(record)
        self._buf.add(data, t, change)
        self.raw_bytes += len(data)
        self.records += 1
        if change:
            if self.first_change_t is None:
                self.first_change_t = t
            if self.last_change_t is None or t > self.last_change_t:
                self.last_change_t = t
        if self._buf.raw_bytes >= self.block_size:
            self.flush_block()

    def flush_block(self) -> None:
        """Write the buffered records as one block."""
        if not self._buf:
            return
        buf = self._buf
        raw = b"".join(buf.parts)
        before = self.changes
        block = fmt.pack_block(
            fmt.DATA,
            fmt.F_ZSTD,
            self._compressor.compress(raw),
            len(raw),
            buf.records,
            buf.changes,
            buf.first,
            buf.last,
            before,
        )
        changes, last = buf.changes, buf.last_change
        buf.clear()
        self._write(block)
        # counted once written: a failed write keeps nothing of the block
        self.changes += changes
        if last is not None and (self.written_last_t is None or last > self.written_last_t):
            self.written_last_t = last
        self.sync()

    def flush_if_due(self, interval: float) -> None:
        """Write the buffer when its oldest record is `interval` seconds old."""
        if self._buf.due(interval):
            self.flush_block()

    @property
    def buffered(self) -> bool:
        """True when records wait in memory."""
        return bool(self._buf)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as err:
            # the file must end on a whole block; ENOSPC leaves room for a truncate
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._good_end)
            self._buf.clear()
            raise WalError(err.errno, _why(err)) from None
        self._good_end += len(data)

    def sync(self, force: bool = False) -> None:
        """fdatasync at most once per `fsync_interval` (always with `force`)."""
        now = time.monotonic()
        if force or now - self._last_sync >= self.fsync_interval:
            try:
                os.fdatasync(self._fd)
            except OSError as err:
                raise WalError(err.errno, _why(err)) from None
            self._last_sync = now

    def close(self) -> None:
        """Write what is buffered, fsync, close (the file stays: sealing removes it)."""
        if self.closed:
            return
        try:
            self.flush_block()
            self.sync(force=True)
        finally:
            self.closed = True
            os.close(self._fd)

    def current_path(self) -> Path | None:
        """Where the open file is now (it may have been moved with its directory); None
        when it was deleted or the system does not say."""
        try:
            name = os.readlink(f"/proc/self/fd/{self._fd}")
        except OSError:
            return None
        return None if name.endswith(" (deleted)") else Path(name)

    def abandon(self) -> None:
        """Close without writing the buffer (after a failure)."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)


def _why(err: OSError) -> str:
    return "disk full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else (err.strerror or str(err))


def _sync_dir(path: Path) -> None:
    """Make a new directory entry durable (the spool file must survive a power loss)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def writer_holds(path: Path) -> bool | None:
    """True when a writer holds the spool file `path` open for writing, False when none does,
    None when it cannot be told (gone, or no flock here)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False

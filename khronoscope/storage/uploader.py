"""Sealed files to the store, through a bounded local spool, so a store outage loses nothing.

The segment writer hands each sealed segment file (and index) to `Uploader.submit`: the file is
moved into the spool directory under a name that keeps its order and its object name, and a
worker thread PUTs spooled files oldest first, retrying with exponential backoff and jitter
until the store takes them. The spool is on disk, so a recorder restarted after a crash picks up
what was not uploaded yet. The backlog (bytes and objects waiting) is what the status line and
`/metrics` show.

The spool is bounded: when an outage outlasts it, the oldest spooled files are dropped (the
recording keeps its newest history, as retention would) and `on_drop` is told which, so the loss
is marked rather than silent.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, unquote

from khronoscope.storage import BlobStore, StoreError, check_name

_DIR_MODE = 0o700
_SEP = "~"
_TMP = ".incoming-"


@dataclass(frozen=True)
class Backoff:
    """Delays between retries: base * 2^n, capped, with jitter (a share taken off at random)
    so recorders that lost the store together do not all come back in the same instant."""

    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry `attempt` (0 for the first retry)."""
        d = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return d * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True)
class UploadStats:
    """A snapshot for the status line and /metrics."""

    backlog_bytes: int = 0
    backlog_objects: int = 0
    uploaded_objects: int = 0
    uploaded_bytes: int = 0
    failures: int = 0  # failed PUT attempts (each retried)
    dropped_objects: int = 0  # spool overflow
    dropped_bytes: int = 0
    last_error: str = ""
    retrying: bool = False

    def describe(self) -> str:
        """For the status line: '' when nothing waits, else the backlog (and why it waits)."""
        if not self.backlog_objects and not self.dropped_objects:
            return ""
        text = f"upload backlog {self.backlog_objects} ({_size(self.backlog_bytes)})"
        if self.retrying and self.last_error:
            text += f", retrying: {self.last_error}"
        if self.dropped_objects:
            text += f", {self.dropped_objects} dropped (spool full)"
        return text


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GiB"


@dataclass(frozen=True)
class _Item:
    seq: int
    name: str
    path: Path
    size: int


class Uploader:
    """One worker thread moving spooled files to a BlobStore, oldest first."""

    def __init__(
        self,
        store: BlobStore,
        spool_dir: Path,
        max_spool_bytes: int,
        *,
        may_write: Callable[[], bool] = lambda: True,
        on_drop: Callable[[str, int], None] | None = None,
        on_uploaded: Callable[[str, int], None] | None = None,
        backoff: Backoff = Backoff(),
        seed: int | None = None,
    ) -> None:
        if max_spool_bytes <= 0:
            raise ValueError("the spool needs room")
        self.store = store
        self.spool_dir = Path(spool_dir)
        self.max_spool_bytes = max_spool_bytes
        self.may_write = may_write
        self.on_drop = on_drop
        self.on_uploaded = on_uploaded
        self.backoff = backoff
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._stats = UploadStats()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._busy: _Item | None = None
        self.spool_dir.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        os.chmod(self.spool_dir, _DIR_MODE)
        self._seq = 0
        self._recover()

    # --- spool -----------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Re-queue what a previous run spooled and did not upload (its order kept)."""
        for entry in sorted(os.scandir(self.spool_dir), key=lambda e: e.name):
            if entry.name.startswith(_TMP):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)  # a copy that never completed: its source was kept
                continue
            seq_text, sep, quoted = entry.name.partition(_SEP)
            if not sep or not seq_text.isdigit():
                continue
            name = unquote(quoted)
            try:
                check_name(name)
                size = entry.stat().st_size
            except (ValueError, OSError):
                continue
            self._queue.append(_Item(int(seq_text), name, Path(entry.path), size))
            self._seq = max(self._seq, int(seq_text) + 1)
        self._set_backlog()

    def _set_backlog(self) -> None:
        self._stats = replace(
            self._stats,
            backlog_bytes=sum(i.size for i in self._queue),
            backlog_objects=len(self._queue),
        )

    def submit(self, path: Path, name: str) -> None:
        """Take a sealed file to upload as object `name`; the file is moved into the spool (or
        copied, from another filesystem) and is the uploader's from now on."""
        check_name(name)
        path = Path(path)
        size = path.stat().st_size
        with self._cond:
            if self._closing:
                raise StoreError("the uploader is closed")
            seq = self._seq
            self._seq += 1
        final = self.spool_dir / f"{seq:012d}{_SEP}{quote(name, safe='')}"
        try:
            os.rename(path, final)
        except OSError:
            tmp = self.spool_dir / f"{_TMP}{seq}"
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o600)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.rename(tmp, final)
            path.unlink()
        with self._cond:
            self._queue.append(_Item(seq, name, final, size))
            self._queue.sort(key=lambda i: i.seq)
            self._trim()
            self._set_backlog()
            self._cond.notify_all()

    def _trim(self) -> None:
        """Drop the oldest spooled files beyond the cap (never the one being uploaded)."""
        total = sum(i.size for i in self._queue)
        while total > self.max_spool_bytes and len(self._queue) > 1:
            victim = next((i for i in self._queue if i is not self._busy), None)
            if victim is None or victim is self._queue[-1]:
                break
            self._queue.remove(victim)
            total -= victim.size
            with contextlib.suppress(OSError):
                victim.path.unlink()
            self._stats = replace(
                self._stats,
                dropped_objects=self._stats.dropped_objects + 1,
                dropped_bytes=self._stats.dropped_bytes + victim.size,
            )
            if self.on_drop is not None:
                self.on_drop(victim.name, victim.size)

    # --- worker ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="khronoscope upload", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        attempt = 0
        while True:
            with self._cond:
                while not self._closing and (not self._queue or not self.may_write()):
                    # may_write (the lease) is checked again every second while it is false
                    self._cond.wait(timeout=1.0)
                if self._closing:
                    return
                item = self._busy = self._queue[0]
            try:
                data = item.path.read_bytes()
                self.store.put(item.name, data)
            except (StoreError, OSError) as err:
                with self._cond:
                    self._busy = None
                    self._stats = replace(
                        self._stats,
                        failures=self._stats.failures + 1,
                        last_error=" ".join(str(err).split())[:300],
                        retrying=True,
                    )
                    delay = self.backoff.delay(attempt, self._rng)
                    attempt += 1
                    self._cond.wait(timeout=delay)  # close() cuts the wait short
                continue
            attempt = 0
            with self._cond:
                self._busy = None
                if item in self._queue:
                    self._queue.remove(item)
                with contextlib.suppress(OSError):
                    item.path.unlink()
                self._stats = replace(
                    self._stats,
                    uploaded_objects=self._stats.uploaded_objects + 1,
                    uploaded_bytes=self._stats.uploaded_bytes + item.size,
                    retrying=False,
                    last_error="",
                )
                self._set_backlog()
                self._cond.notify_all()
            if self.on_uploaded is not None:
                self.on_uploaded(item.name, item.size)

    def pending_path(self, name: str) -> Path | None:
        """The spooled file of object `name` while it waits for the store (None once uploaded:
        the file may vanish right after, so a reader falls back to the store on any error)."""
        with self._cond:
            for item in self._queue:
                if item.name == name:
                    return item.path
        return None

    def pending_names(self) -> list[tuple[str, int]]:
        """(name, size) of every object waiting, oldest first."""
        with self._cond:
            return [(i.name, i.size) for i in self._queue]

    def cancel(self, name: str) -> bool:
        """Drop object `name` from the spool before it is uploaded (retention deleted it);
        False when it is not waiting (uploaded already, or being uploaded now)."""
        with self._cond:
            item = next((i for i in self._queue if i.name == name and i is not self._busy), None)
            if item is None:
                return False
            self._queue.remove(item)
            with contextlib.suppress(OSError):
                item.path.unlink()
            self._set_backlog()
            self._cond.notify_all()
        return True

    def stats(self) -> UploadStats:
        """The current figures."""
        with self._cond:
            return self._stats

    def wake(self) -> None:
        """Look at `may_write` again now (the lease was renewed)."""
        with self._cond:
            self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until everything spooled is uploaded; False if some is left after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.5))
        return True

    def close(self, drain_timeout: float = 0.0) -> UploadStats:
        """Stop the worker (after draining for up to `drain_timeout` seconds); whatever is left
        stays in the spool for the next run."""
        if drain_timeout > 0 and self._thread is not None:
            self.drain(drain_timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30.0)
        return self.stats()

"""The recorder's view of its own prefix in object storage: writes go through the upload spool,
reads never wait for the store when they can be answered locally.

A recorder holds the prefix's lease, so it is the only writer there and its own record of what
it wrote is the truth: the listing of the prefix is taken once at start, then kept in step with
every write and delete. So listing, `stat` and reading back what was just sealed (a base carries
old versions forward) keep working through an object-storage outage, while the Uploader retries:
an object waiting in the spool is read from its spooled file, one already uploaded from the
on-disk block cache (each write is put there too), and only what the cache evicted from the
store itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from khronoscope.storage import (
    BlobInfo,
    BlobStore,
    Capability,
    StoreError,
    check_name,
)
from khronoscope.storage.cache import BlockCache, CachedStore
from khronoscope.storage.uploader import Uploader

_TMP = ".staged-"


class SpooledStore:
    """A BlobStore over `remote` for its one writer: puts are spooled for `uploader`."""

    def __init__(
        self,
        remote: BlobStore,
        cache: BlockCache,
        immutable: Callable[[str], bool],
        namespace: str,
        staging_dir: Path,
        skip: Callable[[str], bool] = lambda name: False,
    ) -> None:
        self.remote = remote
        self.url = remote.url
        # a conditional create is answered from the catalog: one writer (the lease holder)
        self.capabilities = remote.capabilities & ~Capability.LOCAL
        self.cached = CachedStore(remote, cache, immutable, namespace=namespace)
        self.cache = cache
        self.immutable = immutable
        self.namespace = namespace
        self.staging_dir = Path(staging_dir)
        self.staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.uploader: Uploader | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._deletes: list[str] = []
        self._deletes_cond = threading.Condition()
        self._deleter: threading.Thread | None = None
        self._closing = False
        # names `skip` accepts (the lease's objects) are not this store's to know
        self._catalog: dict[str, BlobInfo] = {
            b.name: b for b in remote.list("") if not skip(b.name)
        }

    def attach(self, uploader: Uploader) -> None:
        """Upload through `uploader`; what it still holds from a previous run is listed too."""
        self.uploader = uploader
        now = time.time_ns()
        with self._lock:
            for name, size in uploader.pending_names():
                self._catalog.setdefault(name, BlobInfo(name, size, now))

    def forget(self, name: str, _size: int = 0) -> None:
        """The uploader dropped `name` (spool full during an outage): it will never exist."""
        with self._lock:
            self._catalog.pop(name, None)

    # --- writes --------------------------------------------------------------------------------

    def put(self, name: str, data: bytes) -> None:
        """Spool `name` for upload (and keep its blocks in the cache for reading back)."""
        check_name(name)
        assert self.uploader is not None, "attach() an uploader first"
        with self._lock:
            self._seq += 1
            tmp = self.staging_dir / f"{_TMP}{os.getpid()}-{self._seq}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.immutable(name):
            self.cache.keep(self.namespace, name, data)
        try:
            self.uploader.submit(tmp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        with self._lock:
            self._catalog[name] = BlobInfo(name, len(data), time.time_ns())

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create `name` unless this writer already did (or found it at start)."""
        with self._lock:
            if name in self._catalog:
                return False
        self.put(name, data)
        return True

    def delete(self, name: str) -> None:
        """Cancel its upload if it still waits, else delete it in the store from a background
        thread (retried through an outage: retention never blocks the recorder)."""
        check_name(name)
        with self._lock:
            self._catalog.pop(name, None)
        if self.uploader is not None and self.uploader.cancel(name):
            return
        with self._deletes_cond:
            self._deletes.append(name)
            if self._deleter is None:
                self._deleter = threading.Thread(
                    target=self._delete_loop, name="khronoscope delete", daemon=True
                )
                self._deleter.start()
            self._deletes_cond.notify_all()

    def _delete_loop(self) -> None:
        attempt = 0
        while True:
            with self._deletes_cond:
                while not self._deletes and not self._closing:
                    self._deletes_cond.wait()
                if not self._deletes:
                    return
                name = self._deletes[0]
            try:
                self.remote.delete(name)
            except (StoreError, OSError):
                attempt += 1
                with self._deletes_cond:
                    if self._closing:
                        return  # left in the store: the next run's retention deletes it
                    self._deletes_cond.wait(timeout=min(30.0, 0.5 * 2 ** min(attempt, 6)))
                continue
            attempt = 0
            with self._deletes_cond:
                self._deletes.pop(0)
                self._deletes_cond.notify_all()

    def pending_deletes(self) -> int:
        """Deletions not done in the store yet."""
        with self._deletes_cond:
            return len(self._deletes)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the deletions that the store takes within `timeout` seconds, then stop."""
        deadline = time.monotonic() + timeout
        with self._deletes_cond:
            while self._deletes and time.monotonic() < deadline:
                self._deletes_cond.wait(timeout=0.2)
            self._closing = True
            self._deletes_cond.notify_all()

    # --- reads ---------------------------------------------------------------------------------

    def _spooled(self, name: str, start: int, length: int | None) -> bytes | None:
        path = self.uploader.pending_path(name) if self.uploader is not None else None
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                f.seek(start)
                return f.read() if length is None else f.read(length)
        except OSError:
            return None  # uploaded (and removed) meanwhile: read it from the store

    def get(self, name: str) -> bytes:
        """From the spool, the cache, or the store."""
        check_name(name)
        data = self._spooled(name, 0, None)
        if data is not None:
            return data
        # not in the catalog (dropped from a full spool): its blocks may still be cached
        return self.cached.get(name)

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """From the spool, the cache, or the store."""
        check_name(name)
        data = self._spooled(name, start, max(0, length))
        if data is not None:
            return data
        info = self.stat(name)
        if info is None:
            # dropped from a full spool during a long outage: a base can still carry its
            # versions forward from the cache (the store never had it)
            return self.cached.get_range(name, start, length)
        if start >= info.size or length <= 0:
            return b""
        return self.cached.get_range(name, start, min(length, info.size - start))

    def stat(self, name: str) -> BlobInfo | None:
        """From the catalog."""
        with self._lock:
            return self._catalog.get(name)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """From the catalog, in name order."""
        with self._lock:
            found = sorted(
                (b for n, b in self._catalog.items() if n.startswith(prefix)),
                key=lambda b: b.name,
            )
        yield from found

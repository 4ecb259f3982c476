"""A bounded on-disk cache of ranged reads from a remote store, under the XDG cache dir.

Only objects the caller declares immutable (sealed segments and their indexes: written once,
never rewritten under the same name) are cached; anything that can change (a lease, a manifest)
always goes to the store. Objects are cached in fixed-size blocks, fetched with one ranged GET
per run of missing blocks, so a reader that needs 200 KiB of a 50 MB segment stores only that.

Several processes may share the cache (two `khronoscope open` on one laptop): a block is written
to a private temporary file and renamed, so a reader sees a whole block or none; eviction holds
an advisory lock so only one process evicts at a time, and a block evicted under a reader is
just a miss. Least recently used blocks go first (file mtime, refreshed on a hit). Files are
0600 in 0700 directories: they hold cluster state.

The files are plain blocks written by this user into this user's cache dir, so nothing in them
is trusted beyond what the store would be: the segment format checksums what it reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from khronoscope.storage import BlobInfo, BlobStore, check_name

DEFAULT_MAX_BYTES = (
    2 << 30
)  # 2 GiB: a few days of a large cluster's segments around the moments read
# 64 KiB: a 192 KiB read fetches ~1.1x what it needs (256 KiB blocks: ~1.8x), for ~0.3 ms more
# per warm open (bench/objectstore.py --block-kib 64|128|256 against RGW)
DEFAULT_BLOCK = 64 << 10
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_TMP = ".tmp-"
_SIZE_FILE = "size"
# a hit refreshes the block's mtime (its LRU clock) at most this often: not one write per read
_TOUCH_EVERY_NS = 60 * 1_000_000_000
# eviction brings the cache down to this share of the cap, so it does not run on every insert
_LOW_WATER = 0.8
# temporary files older than this were left by a killed process
_STALE_TMP_S = 3600.0


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/khronoscope/objects` (platformdirs picks the platform's place)."""
    return Path(platformdirs.user_cache_dir("khronoscope")) / "objects"


@dataclass
class CacheStats:
    """What a reader cost: bytes served from disk and fetched from the store."""

    disk_bytes: int = 0  # block bytes read from the cache
    fetched_bytes: int = 0
    fetches: int = 0


class BlockCache:
    """Blocks of immutable objects on disk, at most about `max_bytes` in all."""

    def __init__(
        self,
        root: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        block_size: int = DEFAULT_BLOCK,
    ) -> None:
        if max_bytes <= 0 or block_size <= 0:
            raise ValueError("cache size and block size must be positive")
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.block_size = block_size
        self.stats = CacheStats()
        # bytes this process wrote since it last measured the cache: other processes write too,
        # so the cache is measured again (a scan) after every tenth of the cap written here
        self._since_scan: int | None = None
        self._lock = threading.Lock()

    # --- paths ---------------------------------------------------------------------------------

    def _object_dir(self, namespace: str, name: str) -> Path:
        digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()
        return self.root / digest[:2] / digest[2:40]

    def _ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        # an existing dir made with another umask: the cache holds cluster state
        if self.root.stat().st_mode & 0o077:
            os.chmod(self.root, _DIR_MODE)

    # --- reads ---------------------------------------------------------------------------------

    def read(
        self,
        namespace: str,
        name: str,
        start: int,
        length: int,
        fetch: Callable[[int, int], bytes],
    ) -> bytes:
        """`length` bytes from `start` of one immutable object: cached blocks from disk, each run
        of missing blocks with one `fetch(start, length)` (fewer bytes at the object's end)."""
        if length <= 0:
            return b""
        bs = self.block_size
        first, last = start // bs, (start + length - 1) // bs
        odir = self._object_dir(namespace, name)
        size = self._known_size(odir)
        if size is not None:
            if start >= size:
                return b""
            last = min(last, (size - 1) // bs)
        blocks: dict[int, bytes] = {}
        missing: list[int] = []
        for b in range(first, last + 1):
            data = self._read_block(odir, b)
            if data is None:
                missing.append(b)
            else:
                blocks[b] = data
                self.stats.disk_bytes += len(data)
        for run_start, run_end in _runs(missing):
            want = (run_end - run_start + 1) * bs
            data = fetch(run_start * bs, want)
            self.stats.fetches += 1
            self.stats.fetched_bytes += len(data)
            for i, b in enumerate(range(run_start, run_end + 1)):
                chunk = data[i * bs : (i + 1) * bs]
                if chunk:
                    blocks[b] = chunk
                    self._write_block(odir, b, chunk)
            if len(data) < want:  # the object ends in this run: remember its size
                end = run_start * bs + len(data)
                self._write_size(odir, end)
                break
        out = bytearray()
        for b in range(first, last + 1):
            chunk = blocks.get(b)
            if chunk is None:
                break  # past the end of the object
            out += chunk
            if len(chunk) < bs:
                break
        lo = start - first * bs
        return bytes(out[lo : lo + length])

    def read_whole(
        self,
        namespace: str,
        name: str,
        get: Callable[[], bytes],
        fetch: Callable[[int, int], bytes],
    ) -> bytes:
        """A whole immutable object: through `read` once its size is known, else one `get()`
        whose blocks and size are kept."""
        odir = self._object_dir(namespace, name)
        size = self._known_size(odir)
        if size is not None:
            return self.read(namespace, name, 0, size, fetch)
        data = get()
        self.stats.fetches += 1
        self.stats.fetched_bytes += len(data)
        bs = self.block_size
        for b in range(0, max(1, -(-len(data) // bs))):
            chunk = data[b * bs : (b + 1) * bs]
            if chunk:
                self._write_block(odir, b, chunk)
        self._write_size(odir, len(data))
        return data

    def keep(self, namespace: str, name: str, data: bytes) -> None:
        """Put a whole object just written into the cache (a writer reads its own objects back
        without asking the store)."""
        odir = self._object_dir(namespace, name)
        bs = self.block_size
        for b in range(0, -(-len(data) // bs)):
            self._write_block(odir, b, data[b * bs : (b + 1) * bs])
        self._write_size(odir, len(data))

    def _known_size(self, odir: Path) -> int | None:
        try:
            return int((odir / _SIZE_FILE).read_bytes())
        except (OSError, ValueError):
            return None

    def _read_block(self, odir: Path, block: int) -> bytes | None:
        path = odir / f"{block:08d}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None  # absent, or evicted under us: a miss
        try:
            st = os.fstat(fd)
            data = os.read(fd, st.st_size) if st.st_size else b""
            if time.time_ns() - st.st_mtime_ns > _TOUCH_EVERY_NS:
                with contextlib.suppress(OSError):
                    os.utime(fd)
        finally:
            os.close(fd)
        return data or None

    # --- writes --------------------------------------------------------------------------------

    def _write_size(self, odir: Path, size: int) -> None:
        self._write_file(odir, _SIZE_FILE, str(size).encode(), count=False)

    def _write_block(self, odir: Path, block: int, data: bytes) -> None:
        self._write_file(odir, f"{block:08d}", data, count=True)

    def _write_file(self, odir: Path, fname: str, data: bytes, count: bool) -> None:
        tmp = odir / f"{_TMP}{os.getpid()}-{threading.get_ident()}-{fname}"
        try:
            self._ensure_root()
            odir.parent.mkdir(exist_ok=True, mode=_DIR_MODE)
            odir.mkdir(exist_ok=True, mode=_DIR_MODE)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, _FILE_MODE)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, odir / fname)
        except OSError:
            # a full or read-only cache disk must not fail a read: the data is in hand
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        if count:
            with self._lock:
                due = self._since_scan is None or self._since_scan > self.max_bytes // 10
                self._since_scan = 0 if due else (self._since_scan or 0) + len(data)
            if due and self._scan_usage() > self.max_bytes:
                self.evict()

    # --- size and eviction ---------------------------------------------------------------------

    def _files(self) -> Iterator[os.DirEntry[str]]:
        # other processes add and drop object dirs meanwhile: a vanished dir is simply skipped
        for top in _scandir(self.root):
            if top.is_dir(follow_symlinks=False):
                for obj in _scandir(Path(top.path)):
                    if obj.is_dir(follow_symlinks=False):
                        yield from _scandir(Path(obj.path))

    def _scan_usage(self) -> int:
        total = 0
        for entry in self._files():
            with contextlib.suppress(OSError):
                if entry.name != _SIZE_FILE:
                    total += entry.stat(follow_symlinks=False).st_size
        return total

    def usage(self) -> int:
        """Bytes of cached blocks on disk now (a scan)."""
        return self._scan_usage()

    def evict(self) -> int:
        """Remove least recently used blocks until under the cap's low-water mark; returns the
        bytes removed (0 when another process is evicting)."""
        self._ensure_root()
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
            lock_fd = os.open(self.root / ".lock", flags, _FILE_MODE)
        except OSError:
            return 0  # a link planted at the lock (never followed), or no room: not this time
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            blocks: list[tuple[int, int, str]] = []
            now = time.time()
            for entry in self._files():
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.name.startswith(_TMP):
                    if now - st.st_mtime > _STALE_TMP_S:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                    continue
                if entry.name != _SIZE_FILE:
                    blocks.append((st.st_mtime_ns, st.st_size, entry.path))
            total = sum(size for _, size, _ in blocks)
            target = int(self.max_bytes * _LOW_WATER)
            removed = 0
            blocks.sort()
            for _, size, path in blocks:
                if total - removed <= target:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    removed += size
                    self._drop_empty(Path(path).parent)
            with self._lock:
                self._since_scan = 0
            return removed
        finally:
            os.close(lock_fd)

    def _drop_empty(self, odir: Path) -> None:
        """An object dir left with only its size file goes too (the size alone is no data)."""
        try:
            names = os.listdir(odir)
        except OSError:
            return
        if all(n == _SIZE_FILE for n in names):
            with contextlib.suppress(OSError):
                for n in names:
                    os.unlink(odir / n)
                os.rmdir(odir)


def _scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _runs(blocks: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs of block numbers: [1, 2, 3, 7] -> (1, 3), (7, 7)."""
    if not blocks:
        return
    lo = hi = blocks[0]
    for b in blocks[1:]:
        if b == hi + 1:
            hi = b
            continue
        yield lo, hi
        lo = hi = b
    yield lo, hi


class CachedStore:
    """A BlobStore that reads immutable objects through a BlockCache; all else goes through."""

    def __init__(
        self,
        inner: BlobStore,
        cache: BlockCache,
        immutable: Callable[[str], bool],
        namespace: str | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.immutable = immutable
        self.namespace = namespace or inner.url
        self.url = inner.url
        self.capabilities = inner.capabilities

    def put(self, name: str, data: bytes) -> None:
        """Straight to the store."""
        self.inner.put(name, data)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Straight to the store."""
        return self.inner.put_if_absent(name, data)

    def get(self, name: str) -> bytes:
        """Whole object, from the cache when immutable."""
        check_name(name)
        if not self.immutable(name):
            return self.inner.get(name)
        return self.cache.read_whole(
            self.namespace,
            name,
            lambda: self.inner.get(name),
            lambda s, n: self.inner.get_range(name, s, n),
        )

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """Ranged read, from the cache when immutable (whole blocks are fetched and kept)."""
        check_name(name)
        if length <= 0 or not self.immutable(name):
            return self.inner.get_range(name, start, length)
        return self.cache.read(
            self.namespace, name, start, length, lambda s, n: self.inner.get_range(name, s, n)
        )

    def stat(self, name: str) -> BlobInfo | None:
        """Straight to the store (an object may have been deleted by retention)."""
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Straight to the store."""
        return self.inner.list(prefix)

    def delete(self, name: str) -> None:
        """Straight to the store (cached blocks of it age out)."""
        self.inner.delete(name)

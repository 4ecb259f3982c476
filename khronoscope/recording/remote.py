"""Recordings named by a URL (`s3://BUCKET/PREFIX`): opened lazily through the on-disk block
cache, with progress while fetching, and found under a prefix that holds several.

Only what a moment needs is fetched: the listing, the footers (roll-ups), then the index
sections and blocks of what is shown, each by a ranged GET, each block kept in the XDG cache
so a second open of the same moment fetches nothing. A follower re-lists the store at most
every `LIST_EVERY` seconds and asks the lease whether the recorder is still alive.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from khronoscope.core.safetext import safe_line
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.segments import layout
from khronoscope.recording.segments.catalog import read_header
from khronoscope.recording.segments.history import RowFn
from khronoscope.recording.segments.source import SegmentedSource
from khronoscope.storage import BlobInfo, BlobStore, StoreError
from khronoscope.storage.cache import BlockCache, CachedStore
from khronoscope.storage.lease import PREFIX as LEASE_PREFIX
from khronoscope.storage.lease import read_state
from khronoscope.storage.prefixed import PrefixedStore
from khronoscope.storage.url import parse_store_url

# a follower lists the store (and reads the lease) at most this often: segments are sealed
# every minute or so, and a LIST is a paid request
LIST_EVERY = 2.0
LEASE_EVERY = 5.0
# the progress line appears once a fetch has taken this long
_SHOW_AFTER = 0.3


class NotOneRecording(KhronoscopeError):
    """A prefix holding no recording, or several (the user names one: `found`)."""

    exit_code = 2

    def __init__(self, message: str, found: list[Found] | None = None) -> None:
        super().__init__(message)
        self.found = found or []


def immutable(name: str) -> bool:
    """Objects written once (cached on disk); the lease is not one."""
    return not name.startswith(LEASE_PREFIX)


def is_remote(text: str) -> bool:
    """True when `text` names object storage (checked without I/O; a bad URL raises)."""
    return parse_store_url(text).remote


class FetchProgress:
    """Counts what is fetched from the store; on a terminal, draws `fetching URL: N requests,
    SIZE` while a fetch takes long, and erases it when the fetch is done."""

    def __init__(self, url: str, stream: TextIO | None = None) -> None:
        self.url = url
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.requests = 0
        self.bytes = 0
        self._active = 0
        self._since = 0.0
        self._drawn = False
        self._lock = threading.Lock()
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        if self.enabled:
            self._timer = threading.Thread(target=self._run, name="fetch-progress", daemon=True)
            self._timer.start()

    def begin(self) -> None:
        """A request starts."""
        with self._lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1

    def end(self, size: int) -> None:
        """A request ended with `size` bytes."""
        with self._lock:
            self._active -= 1
            self.requests += 1
            self.bytes += size
            if self._active == 0 and self._drawn:
                self._erase()

    def _erase(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()
        self._drawn = False

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                if not self.enabled or not self._active:
                    continue
                if time.monotonic() - self._since < _SHOW_AFTER:
                    continue
                mib = self.bytes / (1 << 20)
                line = f"fetching {self.url}: {self.requests} requests, {mib:.1f} MiB…"
                self.stream.write("\r\033[K" + safe_line(line))
                self.stream.flush()
                self._drawn = True

    def quiet(self) -> None:
        """Draw nothing from now on (the app takes the terminal)."""
        with self._lock:
            if self._drawn:
                self._erase()
            self.enabled = False

    def close(self) -> None:
        """Stop drawing."""
        self.quiet()
        self._stop.set()


class CountingStore:
    """A BlobStore that tells a FetchProgress about every request, and answers a LIST from
    the last one for `list_every` seconds (a follower polls often)."""

    def __init__(self, inner: BlobStore, progress: FetchProgress, list_every: float = 0.0):
        self.inner = inner
        self.url = inner.url
        self.capabilities = inner.capabilities
        self.progress = progress
        self.list_every = list_every
        self._lists: dict[str, tuple[float, list[BlobInfo]]] = {}

    def _call(self, fn: Callable[[], bytes]) -> bytes:
        self.progress.begin()
        size = 0
        try:
            data = fn()
            size = len(data)
            return data
        finally:
            self.progress.end(size)

    def put(self, name: str, data: bytes) -> None:
        """Write through."""
        self.inner.put(name, data)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create through."""
        return self.inner.put_if_absent(name, data)

    def get(self, name: str) -> bytes:
        """Read through, counted."""
        return self._call(lambda: self.inner.get(name))

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """Read through, counted."""
        return self._call(lambda: self.inner.get_range(name, start, length))

    def stat(self, name: str) -> BlobInfo | None:
        """Stat through."""
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """A LIST (at most one per `list_every` seconds per prefix)."""
        now = time.monotonic()
        hit = self._lists.get(prefix)
        if hit is not None and now - hit[0] < self.list_every:
            return iter(hit[1])
        self.progress.begin()
        try:
            found = list(self.inner.list(prefix))
        finally:
            self.progress.end(0)
        self._lists[prefix] = (now, found)
        return iter(found)

    def delete(self, name: str) -> None:
        """Delete through."""
        self.inner.delete(name)


@dataclass
class Opened:
    """A recording opened from a URL, and what fetching it cost."""

    source: SegmentedSource
    progress: FetchProgress
    cache: BlockCache


def _writer_alive(store: BlobStore) -> Callable[[], bool | None]:
    """Whether the recorder still holds its lease (asked at most every LEASE_EVERY s)."""
    last: list[float | bool | None] = [0.0, None]

    def alive() -> bool | None:
        now = time.monotonic()
        if last[1] is not None and now - float(last[0] or 0) < LEASE_EVERY:
            return last[1]  # type: ignore[return-value]
        try:
            state = read_state(store)
        except StoreError:
            return None  # unknown: the store is unreachable
        if state is None:
            result: bool | None = None
        else:
            age = time.time_ns() - state.last_alive_ns
            result = not state.released and age <= state.ttl * 1e9 * 1.5
        last[0], last[1] = now, result
        return result

    return alive


def open_url(
    text: str,
    row_fn: RowFn | None = None,
    follow: bool = False,
    cache_mb: int | None = None,
    cache: BlockCache | None = None,
    stream: TextIO | None = None,
) -> Opened:
    """The recording at an s3:// URL, read lazily through the on-disk cache; a prefix holding
    several recordings raises NotOneRecording naming them."""
    from khronoscope.storage.s3 import S3Store

    where = parse_store_url(text)
    remote = S3Store(where.url)
    progress = FetchProgress(where.url, stream)
    counted = CountingStore(remote, progress, LIST_EVERY if follow else 0.0)
    cache = cache or BlockCache()
    store = CachedStore(counted, cache, immutable, namespace=remote.identity)
    try:
        if store.stat(layout.HEADER) is None:
            raise _not_one(store, where.url)
        read_header(store)  # a damaged or newer header: one line
        source = SegmentedSource(
            store,
            None,
            row_fn,
            follow,
            cache_mb,
            display=where.url,
            writer_alive=_writer_alive(remote) if follow else None,
        )
    except BaseException:
        progress.close()
        raise
    return Opened(source, progress, cache)


def _not_one(store: BlobStore, url: str) -> NotOneRecording:
    found = find_recordings(store)
    if not found:
        return NotOneRecording(f"{url}: no khronoscope recording there")
    names = ", ".join(f.prefix.rstrip("/") for f in found[:8])
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    return NotOneRecording(
        f"{url} holds {len(found)} recordings ({names}{more}): open one of them, e.g. "
        f"khronoscope open {url.rstrip('/')}/{found[0].prefix.rstrip('/')} "
        f"(khronoscope ls {url} describes them)",
        found,
    )


# --- finding and describing recordings ---------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A recording under a location: its sub-prefix ('' for the location itself) and what its
    object names say."""

    prefix: str
    segments: int
    size: int
    first_t: int | None
    last_t: int | None
    last_write_ns: int


def find_recordings(store: BlobStore) -> list[Found]:
    """Every recording under the store's root (one LIST of everything below it)."""
    roots: dict[str, list[BlobInfo]] = {}
    headers: set[str] = set()
    blobs = list(store.list(""))
    for b in blobs:
        if b.name == layout.HEADER or b.name.endswith("/" + layout.HEADER):
            headers.add(b.name[: -len(layout.HEADER)])
    for b in blobs:
        root = _root_of(b.name, headers)
        if root is not None:
            roots.setdefault(root, []).append(b)
    out = []
    for root in sorted(headers):
        items = roots.get(root, [])
        segs = [layout.parse_segment(b.name[len(root) :]) for b in items]
        times = [(s.first_t, s.last_t) for s in segs if s is not None]
        out.append(
            Found(
                root,
                len(times),
                sum(b.size for b in items if not b.name[len(root) :].startswith(LEASE_PREFIX)),
                min(t[0] for t in times) if times else None,
                max(t[1] for t in times) if times else None,
                max((b.mtime_ns for b in items), default=0),
            )
        )
    return out


def _root_of(name: str, roots: set[str]) -> str | None:
    """The longest recording root `name` is under."""
    best = None
    for r in roots:
        if name.startswith(r) and (best is None or len(r) > len(best)):
            best = r
    return best


@dataclass(frozen=True)
class Described:
    """One line of `khronoscope ls`."""

    found: Found
    cluster: str
    writer: str  # "alive (host H, renewed Ns ago)", "stopped", "gone (...)", "-"
    alive: bool


def describe(store: BlobStore, found: Found, now_ns: int | None = None) -> Described:
    """The recording's cluster (its header) and whether its writer holds the lease."""
    sub = PrefixedStore(store, found.prefix) if found.prefix else store
    cluster = "?"
    try:
        h = read_header(sub).map
        cluster = str(h.get("cluster") or h.get("context") or "?")
    except KhronoscopeError:
        cluster = "(unreadable header)"
    now = time.time_ns() if now_ns is None else now_ns
    writer, alive = "-", False
    state = read_state(sub)
    if state is not None:
        age = max(0.0, (now - state.last_alive_ns) / 1e9)
        who = f"host {state.holder.host}" if state.holder else "a recorder"
        if state.released:
            writer = "stopped"
        elif age <= state.ttl * 1.5:
            writer, alive = f"alive ({who}, renewed {age:.0f}s ago)", True
        else:
            writer = f"gone ({who}, last renewed {age:.0f}s ago)"
    return Described(found, cluster, writer, alive)

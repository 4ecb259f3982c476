"""Log lines of pods' containers, indexed by the server's timestamps and bounded in size.

Each container's lines are a stream: an open chunk (a time array and a list of texts) that is
sealed, once full, into one zstd frame holding its time deltas and its texts. A query "as of t"
bisects the chunks' last times, then decompresses at most the one chunk that straddles t (a few
recently used chunks stay decoded). Times in a stream never decrease: a line stamped before the
previous one (a skewed kubelet clock) is stored at the previous one's time.

Size is bounded per pod and in total; when a limit is passed the oldest sealed chunks go first
(of that pod, or of the whole store) and the stream remembers how many lines it lost and up to
when, so a view can say so instead of pretending the log began later. Nothing here does I/O.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import zstandard as zstd

log = logging.getLogger(__name__)

StreamKey = tuple[str, str, str]  # (namespace, pod, container)
LineSink = Callable[[str, str, str, int, str], None]  # (namespace, pod, container, t, text)
NoteSink = LineSink  # the same arguments: a note's text instead of a line's

MiB = 2**20
_STR_OVERHEAD = 49  # bytes of a CPython str object besides its characters (ASCII)
_CHUNK_OVERHEAD = 120  # a sealed chunk's record, blob header and list slot
_CACHE_CHUNKS = 8


class LogLine(NamedTuple):
    """One stored line: server time (ns), container, text."""

    t: int
    container: str
    text: str


@dataclass(frozen=True, slots=True)
class LogNote:
    """Something a view should show between the lines at t: a restart, a loss, a reconnect."""

    t: int
    container: str
    text: str


@dataclass(slots=True)
class Dropped:
    """What a size limit removed from one stream: the oldest `lines`, up to time `until`."""

    lines: int = 0
    bytes: int = 0
    until: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LogStoreStats:
    """Totals for benches and the status line."""

    streams: int
    lines: int
    stored_bytes: int
    text_bytes: int
    dropped_lines: int
    chunks: int


@dataclass(slots=True, eq=False)
class _Chunk:
    first_t: int
    last_t: int
    n: int
    tblob: bytes  # zstd of the time deltas (a count at t decodes only these)
    blob: bytes  # zstd of the texts
    text_bytes: int

    @property
    def size(self) -> int:
        return len(self.tblob) + len(self.blob) + _CHUNK_OVERHEAD


@dataclass(slots=True, eq=False)
class _Stream:
    key: StreamKey
    chunks: list[_Chunk] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # last_t of each sealed chunk (bisect)
    before: list[int] = field(default_factory=list)  # lines before each sealed chunk
    times: array = field(default_factory=lambda: array("q"))  # the open chunk
    texts: list[str] = field(default_factory=list)
    open_bytes: int = 0  # characters of the open chunk's texts
    sealed_size: int = 0
    sealed_lines: int = 0
    last_t: int = 0
    dropped: Dropped = field(default_factory=Dropped)
    notes: list[LogNote] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.sealed_lines + len(self.times)

    @property
    def first_t(self) -> int | None:
        if self.chunks:
            return self.chunks[0].first_t
        return self.times[0] if self.times else None

    @property
    def size(self) -> int:
        n = len(self.times)
        return self.sealed_size + self.open_bytes + n * (8 + 8 + _STR_OVERHEAD)

    def reindex(self) -> None:
        self.ends = [c.last_t for c in self.chunks]
        self.before = list(itertools.accumulate((c.n for c in self.chunks), initial=0))[:-1]
        self.sealed_size = sum(c.size for c in self.chunks)
        self.sealed_lines = sum(c.n for c in self.chunks)


class LogStore:
    """Every captured log line, per (namespace, pod, container), queried by server time.

    `pod_limit` and `total_limit` are bytes of storage (compressed chunks plus the open ones);
    `chunk_lines`/`chunk_bytes` say when an open chunk is sealed and compressed.
    """

    def __init__(
        self,
        pod_limit: int = 64 * MiB,
        total_limit: int = 512 * MiB,
        chunk_lines: int = 2048,
        chunk_bytes: int = 256 * 1024,
        level: int = 3,
    ) -> None:
        self.pod_limit = pod_limit
        self.total_limit = total_limit
        self.chunk_lines = chunk_lines
        self.chunk_bytes = chunk_bytes
        self._compressor = zstd.ZstdCompressor(level=level)
        self._decompressor = zstd.ZstdDecompressor()
        self._streams: dict[StreamKey, _Stream] = {}
        self._pods: dict[tuple[str, str], list[_Stream]] = {}
        self._cache: OrderedDict[int, tuple[_Chunk, list[str]]] = OrderedDict()
        self._tcache: OrderedDict[int, tuple[_Chunk, list[int]]] = OrderedDict()
        self._sinks: list[LineSink] = []
        self._note_sinks: list[NoteSink] = []
        self.size = 0  # bytes stored, all streams
        self.dropped_lines = 0
        self.version = 0  # bumped by every change (views poll it)

    # --- writing -----------------------------------------------------------------------------

    def add_sink(self, sink: LineSink) -> None:
        """Call `sink(namespace, pod, container, t, text)` for every line stored from now on,
        with the time it was stored at (a recorder persists them that way)."""
        self._sinks.append(sink)

    def add_note_sink(self, sink: NoteSink) -> None:
        """Call `sink(namespace, pod, container, t, text)` for every note added from now on."""
        self._note_sinks.append(sink)

    def _stream(self, namespace: str, pod: str, container: str) -> _Stream:
        key = (namespace, pod, container)
        s = self._streams.get(key)
        if s is None:
            s = self._streams[key] = _Stream(key)
            self._pods.setdefault((namespace, pod), []).append(s)
        return s

    def append(self, namespace: str, pod: str, container: str, t: int, text: str) -> int:
        """Store one line; returns the time it was stored at (t, or the previous line's time
        when t went backwards)."""
        self.extend(namespace, pod, container, ((t, text),))
        s = self._streams[(namespace, pod, container)]
        return s.last_t

    def extend(
        self, namespace: str, pod: str, container: str, lines: Iterable[tuple[int, str]]
    ) -> int:
        """Store lines of one container as they arrive (a line stamped before the previous one
        is kept at the previous one's time); returns how many were stored."""
        items = lines if isinstance(lines, list | tuple) else list(lines)
        if not items:
            return 0
        s = self._stream(namespace, pod, container)
        size_before = s.size
        times, texts = s.times, s.texts
        last = s.last_t
        sinks = self._sinks
        added_bytes = 0
        for t, text in items:
            if "\n" in text:
                text = text.replace("\n", "\\n")  # a stored line is one line
            if t < last:
                t = last
            last = t
            times.append(t)
            texts.append(text)
            added_bytes += len(text)
            if sinks:
                for sink in sinks:
                    try:
                        sink(namespace, pod, container, t, text)
                    except Exception:
                        log.exception("log sink %r failed", sink)
            if len(times) >= self.chunk_lines:
                s.open_bytes += added_bytes
                added_bytes = 0
                s.last_t = last
                self._seal(s)
                times, texts = s.times, s.texts
        s.open_bytes += added_bytes
        s.last_t = last
        if s.open_bytes >= self.chunk_bytes:
            self._seal(s)
        self._after_write(s, size_before)
        return len(items)

    def load(
        self, namespace: str, pod: str, container: str, lines: Iterable[tuple[int, str]]
    ) -> int:
        """Store lines that may be older than what the stream holds (a recording's history
        loads newest first): put before it when all older, else merged in time order."""
        items = sorted(lines, key=lambda x: x[0])
        if not items:
            return 0
        s = self._stream(namespace, pod, container)
        if not s.lines or items[0][0] >= s.last_t:
            return self.extend(namespace, pod, container, items)
        size_before = s.size
        first = s.first_t
        if first is not None and items[-1][0] <= first:
            self._prepend(s, items)
        else:
            self._merge(s, items)
        self._after_write(s, size_before)
        return len(items)

    def note(self, namespace: str, pod: str, container: str, t: int, text: str) -> None:
        """Remember something to show at t between the lines (a restart, lines lost)."""
        s = self._stream(namespace, pod, container)
        bisect.insort(s.notes, LogNote(t, container, text), key=lambda n: n.t)
        self.version += 1
        for sink in self._note_sinks:
            try:
                sink(namespace, pod, container, t, text)
            except Exception:
                log.exception("log note sink %r failed", sink)

    def _seal(self, s: _Stream) -> None:
        """Compress the open chunk into a sealed one."""
        n = len(s.times)
        if not n:
            return
        times = s.times
        deltas = array("q", [times[0]])
        deltas.extend(b - a for a, b in itertools.pairwise(times))
        raw = "\n".join(s.texts).encode("utf-8", "surrogatepass")
        # copies: the compressor's result keeps a worst-case-sized buffer otherwise
        tblob = bytes(memoryview(self._compressor.compress(deltas.tobytes())))
        blob = bytes(memoryview(self._compressor.compress(raw)))
        chunk = _Chunk(times[0], times[-1], n, tblob, blob, s.open_bytes)
        s.before.append(s.sealed_lines)
        s.chunks.append(chunk)
        s.ends.append(chunk.last_t)
        s.sealed_lines += n
        s.sealed_size += chunk.size
        s.times = array("q")
        s.texts = []
        s.open_bytes = 0

    def _chunks_of(self, items: list[tuple[int, str]]) -> list[_Chunk]:
        """Sealed chunks of sorted lines (through a scratch stream)."""
        scratch = _Stream(("", "", ""))
        for t, text in items:
            scratch.times.append(t)
            scratch.texts.append(text.replace("\n", "\\n") if "\n" in text else text)
            scratch.open_bytes += len(text)
            if len(scratch.times) >= self.chunk_lines or scratch.open_bytes >= self.chunk_bytes:
                self._seal(scratch)
        self._seal(scratch)
        return scratch.chunks

    def _prepend(self, s: _Stream, items: list[tuple[int, str]]) -> None:
        items.sort(key=lambda x: x[0])
        s.chunks[:0] = self._chunks_of(items)
        s.reindex()
        self._notify_sinks(s, items)

    def _merge(self, s: _Stream, items: list[tuple[int, str]]) -> None:
        old = [(ln.t, ln.text) for ln in self._iter_stream(s, None, None)]
        merged = list(heapq.merge(old, sorted(items, key=lambda x: x[0]), key=lambda x: x[0]))
        keep_notes, dropped = s.notes, s.dropped
        for c in s.chunks:
            self._cache.pop(id(c), None)
            self._tcache.pop(id(c), None)
        s.chunks = self._chunks_of(merged)
        s.times, s.texts, s.open_bytes = array("q"), [], 0
        s.reindex()
        s.last_t = merged[-1][0]
        s.notes, s.dropped = keep_notes, dropped
        self._notify_sinks(s, items)

    def _notify_sinks(self, s: _Stream, items: list[tuple[int, str]]) -> None:
        for sink in self._sinks:
            for t, text in items:
                try:
                    sink(*s.key, t, text)
                except Exception:
                    log.exception("log sink %r failed", sink)

    # --- limits ------------------------------------------------------------------------------

    def _after_write(self, s: _Stream, size_before: int) -> None:
        self.version += 1
        self.size += s.size - size_before
        pod = (s.key[0], s.key[1])
        if self._pod_size(pod) > self.pod_limit:
            self._shrink_pod(pod)
        if self.size > self.total_limit:
            self._shrink_total()

    def _pod_size(self, pod: tuple[str, str]) -> int:
        return sum(x.size for x in self._pods.get(pod, ()))

    def _shrink_pod(self, pod: tuple[str, str]) -> None:
        streams = self._pods[pod]
        while self._pod_size(pod) > self.pod_limit:
            victim = self._oldest(streams)
            if victim is None:
                return
            self._drop_oldest(victim, f"per-pod limit of {_size(self.pod_limit)}")

    def _shrink_total(self) -> None:
        while self.size > self.total_limit:
            victim = self._oldest(self._streams.values())
            if victim is None:
                return
            self._drop_oldest(victim, f"total limit of {_size(self.total_limit)}")

    def _oldest(self, streams: Iterable[_Stream]) -> _Stream | None:
        """The stream whose oldest chunk is the oldest (an open chunk is sealed to be dropped
        only when nothing else is left)."""
        best: _Stream | None = None
        for s in streams:
            if s.chunks and (best is None or s.chunks[0].first_t < best.chunks[0].first_t):
                best = s
        if best is None:
            for s in streams:
                if s.times and (best is None or s.times[0] < best.times[0]):
                    best = s
            if best is not None:
                before = best.size
                self._seal(best)
                self.size += best.size - before
        return best

    def _drop_oldest(self, s: _Stream, reason: str) -> None:
        chunk = s.chunks.pop(0)
        self._cache.pop(id(chunk), None)
        self._tcache.pop(id(chunk), None)
        s.reindex()
        d = s.dropped
        d.lines += chunk.n
        d.bytes += chunk.text_bytes
        d.until = max(d.until, chunk.last_t)
        d.reason = reason
        self.dropped_lines += chunk.n
        self.size -= chunk.size

    # --- reading -----------------------------------------------------------------------------

    def pods(self) -> list[tuple[str, str]]:
        """(namespace, pod) of every pod with a stream, sorted."""
        return sorted(self._pods)

    def has_pod(self, namespace: str, pod: str) -> bool:
        """True when lines (or notes) of the pod were ever stored."""
        return (namespace, pod) in self._pods

    def containers(self, namespace: str, pod: str) -> list[str]:
        """The containers of a pod that have a stream, in first-seen order."""
        return [s.key[2] for s in self._pods.get((namespace, pod), ())]

    def count(
        self, namespace: str, pod: str, t: int | None = None, container: str | None = None
    ) -> int:
        """How many stored lines of the pod (one container or all) have a time <= t."""
        total = 0
        for s in self._selected(namespace, pod, container):
            total += self._count_stream(s, t)
        return total

    def _count_stream(self, s: _Stream, t: int | None) -> int:
        if t is None or t >= s.last_t:
            return s.lines
        i = bisect.bisect_right(s.ends, t)  # chunks [0, i) end at or before t
        if i < len(s.chunks):
            chunk = s.chunks[i]
            if chunk.first_t > t:
                return s.before[i]
            return s.before[i] + bisect.bisect_right(self._times(chunk), t)
        return s.sealed_lines + bisect.bisect_right(s.times, t)

    def lines(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        after: int | None = None,
        until: int | None = None,
    ) -> list[LogLine]:
        """Lines of the pod (one container or all, merged by time) with after < t <= until."""
        streams = self._selected(namespace, pod, container)
        iters = [self._iter_stream(s, after, until) for s in streams]
        if len(iters) == 1:
            return list(iters[0])
        return list(heapq.merge(*iters, key=lambda ln: ln.t))

    def tail(
        self,
        namespace: str,
        pod: str,
        until: int | None,
        limit: int,
        container: str | None = None,
    ) -> list[LogLine]:
        """The last `limit` lines with t <= until (what a pane shows first of a long log)."""
        streams = self._selected(namespace, pod, container)
        out: list[LogLine] = []
        for s in streams:
            end = self._count_stream(s, until)
            start = max(0, end - limit)
            out.extend(self._slice(s, start, end))
        out.sort(key=lambda ln: ln.t)
        return out[-limit:] if limit else []

    def _selected(self, namespace: str, pod: str, container: str | None) -> list[_Stream]:
        streams = self._pods.get((namespace, pod), [])
        if container is None:
            return streams
        return [s for s in streams if s.key[2] == container]

    def _slice(self, s: _Stream, start: int, end: int) -> Iterator[LogLine]:
        """Lines with index start..end-1 of one stream."""
        name = s.key[2]
        if start >= end:
            return
        i = max(0, bisect.bisect_right(s.before, start) - 1)
        while i < len(s.chunks) and start < end:
            base = s.before[i]
            chunk = s.chunks[i]
            if base + chunk.n > start:
                times, texts = self._decoded(chunk)
                lo, hi = start - base, min(chunk.n, end - base)
                for j in range(lo, hi):
                    yield LogLine(times[j], name, texts[j])
                start = base + hi
            i += 1
        base = s.sealed_lines
        for j in range(max(0, start - base), end - base):
            yield LogLine(s.times[j], name, s.texts[j])

    def _iter_stream(self, s: _Stream, after: int | None, until: int | None) -> Iterator[LogLine]:
        start = self._count_stream(s, after) if after is not None else 0
        end = self._count_stream(s, until)
        return self._slice(s, start, end)

    def _times(self, chunk: _Chunk) -> list[int]:
        hit = self._tcache.get(id(chunk))
        if hit is not None and hit[0] is chunk:
            self._tcache.move_to_end(id(chunk))
            return hit[1]
        deltas = array("q")
        deltas.frombytes(self._decompressor.decompress(chunk.tblob))
        times = list(itertools.accumulate(deltas))
        self._tcache[id(chunk)] = (chunk, times)
        if len(self._tcache) > 4 * _CACHE_CHUNKS:
            self._tcache.popitem(last=False)
        return times

    def _decoded(self, chunk: _Chunk) -> tuple[list[int], list[str]]:
        hit = self._cache.get(id(chunk))
        if hit is not None and hit[0] is chunk:
            self._cache.move_to_end(id(chunk))
            return self._times(chunk), hit[1]
        raw = self._decompressor.decompress(chunk.blob)
        texts = raw.decode("utf-8", "surrogatepass").split("\n")
        self._cache[id(chunk)] = (chunk, texts)
        if len(self._cache) > _CACHE_CHUNKS:
            self._cache.popitem(last=False)
        return self._times(chunk), texts

    def notes(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        until: int | None = None,
    ) -> list[LogNote]:
        """Notes of the pod (one container or all) with t <= until, by time."""
        out = [
            n
            for s in self._selected(namespace, pod, container)
            for n in s.notes
            if until is None or n.t <= until
        ]
        out.sort(key=lambda n: n.t)
        return out

    def dropped(self, namespace: str, pod: str, container: str | None = None) -> list[Dropped]:
        """What the size limits removed from the pod's streams (empty when nothing was)."""
        return [s.dropped for s in self._selected(namespace, pod, container) if s.dropped.lines]

    def last_time(self, namespace: str, pod: str, container: str) -> int | None:
        """The time of a container's newest stored line (None without lines)."""
        s = self._streams.get((namespace, pod, container))
        return s.last_t if s is not None and s.lines else None

    def pod_size(self, namespace: str, pod: str) -> int:
        """Bytes stored for one pod."""
        return self._pod_size((namespace, pod))

    def stats(self) -> LogStoreStats:
        """Totals over every stream."""
        streams = self._streams.values()
        return LogStoreStats(
            streams=len(self._streams),
            lines=sum(s.lines for s in streams),
            stored_bytes=self.size,
            text_bytes=sum(sum(c.text_bytes for c in s.chunks) + s.open_bytes for s in streams),
            dropped_lines=self.dropped_lines,
            chunks=sum(len(s.chunks) for s in streams),
        )


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}"
        n //= 1024
    return f"{n} B"

"""Reading audit logs: JSON lines of `audit.k8s.io` Events, plain or gzipped, rotated or not.

Accepted per line: an Event (what `--audit-log-path` writes), an `EventList` (what an audit
webhook receives), or an export that wraps either as a JSON string under `message` or `log`
(CloudWatch, Fluent Bit) or `properties.log` (Azure diagnostic settings). A line that is none of
these is garbage: reported (file and line), skipped and counted; a last line cut short (a file
still being written, a copy interrupted) is counted as truncated. Gzip is recognised by its
magic bytes, not the file name.

Files are read together and merged by `stageTimestamp`, so rotated files (`audit.log`,
`audit-2024-05-01T10-00-00.000.log.gz`) and the logs of several API servers can be given in
any order. Within a file entries are nearly in time order (written as requests complete); a
small window puts them in order.
"""

from __future__ import annotations

import gzip
import heapq
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from khronoscope.audit.entries import BadEntry, parse_stamp
from khronoscope.errors import KhronoscopeError

# entries up to this much older than the newest read so far are still put in order
REORDER_WINDOW = 10 * 1_000_000_000
MAX_EXAMPLES = 10
_GZIP_MAGIC = b"\x1f\x8b"

# (stageTimestamp ns, file number, entry number, Event)
Entry = tuple[int, int, int, dict[str, Any]]


@dataclass(slots=True)
class ReadStats:
    """What reading found: entries, garbage and truncated lines, and where."""

    lines: int = 0
    entries: int = 0
    garbage: int = 0
    truncated: int = 0
    bytes_total: int = 0
    bytes_read: int = 0
    examples: list[str] = field(default_factory=list)

    def report(self, where: str) -> None:
        """Keep a few examples of what was skipped (the first ones)."""
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(where)


class _Counting:
    """A raw file that counts the bytes read from it (the compressed ones, for gzip)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.read_bytes += len(data)
        return data

    def readline(self, n: int = -1) -> bytes:
        data = self.f.readline(n)
        self.read_bytes += len(data)
        return data

    def close(self) -> None:
        self.f.close()


def unwrap(doc: Any) -> list[dict[str, Any]]:
    """The Events in one JSON document (see the module docstring); BadEntry if none."""
    if isinstance(doc, dict):
        if "auditID" in doc:
            return [doc]
        if doc.get("kind") == "EventList" and isinstance(doc.get("items"), list):
            return [e for e in doc["items"] if isinstance(e, dict)]
        inner = doc.get("message") if isinstance(doc.get("message"), str) else doc.get("log")
        props = doc.get("properties")
        if not isinstance(inner, str) and isinstance(props, dict):
            inner = props.get("log")
        if isinstance(inner, str):
            try:
                return unwrap(orjson.loads(inner))
            except orjson.JSONDecodeError:
                raise BadEntry("a wrapped entry that is not JSON") from None
    raise BadEntry("not an audit Event")


class AuditFile:
    """One audit log file, read entry by entry in (nearly exact) time order."""

    def __init__(self, path: Path, number: int, stats: ReadStats) -> None:
        self.path = path
        self.number = number
        self.stats = stats
        try:
            raw = open(path, "rb")  # noqa: SIM115 (closed at the end of `entries`)
        except FileNotFoundError:
            raise KhronoscopeError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise KhronoscopeError(f"{path} is a directory, not an audit log") from None
        except OSError as err:
            raise KhronoscopeError(f"cannot open {path}: {err.strerror}") from None
        self.size = path.stat().st_size
        stats.bytes_total += self.size
        self._raw = _Counting(raw)
        self.gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)

    def _lines(self) -> Iterator[bytes]:
        stream: Any = gzip.GzipFile(fileobj=self._raw) if self.gzipped else self._raw
        try:
            while True:
                before = self._raw.read_bytes
                try:
                    line = stream.readline()
                except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as err:
                    self.stats.truncated += 1
                    what = "ends early" if isinstance(err, EOFError) else "is damaged"
                    self.stats.report(f"{self.path}: compressed data {what}; read up to there")
                    return
                self.stats.bytes_read += self._raw.read_bytes - before
                if not line:
                    return
                yield line
        finally:
            self._raw.close()

    def entries(self) -> Iterator[Entry]:
        """Events with their stageTimestamp, put in order within a small window."""
        stats = self.stats
        heap: list[Entry] = []
        newest = 0
        seq = 0
        lineno = 0
        for line in self._lines():
            lineno += 1
            stats.lines += 1
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
                events = unwrap(doc)
            except (orjson.JSONDecodeError, BadEntry) as err:
                if not line.endswith(b"\n"):
                    stats.truncated += 1
                    stats.report(f"{self.path}:{lineno}: last line cut short (skipped)")
                else:
                    stats.garbage += 1
                    why = "not JSON" if isinstance(err, orjson.JSONDecodeError) else str(err)
                    stats.report(f"{self.path}:{lineno}: {why} (skipped)")
                continue
            for ev in events:
                try:
                    t = parse_stamp(ev.get("stageTimestamp") or ev.get("timestamp"))
                except BadEntry as err:
                    stats.garbage += 1
                    stats.report(f"{self.path}:{lineno}: {err} (skipped)")
                    continue
                stats.entries += 1
                seq += 1
                heapq.heappush(heap, (t, self.number, seq, ev))
                if t > newest:
                    newest = t
                    while heap and heap[0][0] < newest - REORDER_WINDOW:
                        yield heapq.heappop(heap)
        while heap:
            yield heapq.heappop(heap)


def read_all(paths: list[Path], stats: ReadStats) -> Iterator[Entry]:
    """Every entry of every file, merged into one stream in time order."""
    files = [AuditFile(p, i, stats) for i, p in enumerate(paths)]
    if len(files) == 1:
        return files[0].entries()
    return heapq.merge(*(f.entries() for f in files))

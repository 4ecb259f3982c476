"""Reading audit logs: JSON lines of `audit.k8s.io` Events, plain or gzipped, rotated or not.

Accepted per line: an Event (what `--audit-log-path` writes), an `EventList` (what an audit
webhook receives), or an export that wraps either as a JSON string under `message` or `log`
(CloudWatch, Fluent Bit) or `properties.log` (Azure diagnostic settings). A line that is none of
these is garbage: reported (file and line), skipped and counted; a last line cut short (a file
still being written, a copy interrupted) is counted as truncated. Gzip is recognised by its
magic bytes, not the file name. A long line that is a read (a list answered, when the policy
logs reads with their bodies) is told from its head and not parsed (`head_only`).

Files are read together and merged by `stageTimestamp`, so rotated files (`audit.log`,
`audit-2024-05-01T10-00-00.000.log.gz`) and the logs of several API servers can be given in
any order. Within a file entries are nearly in time order (written as requests complete); a
small window puts them in order.
"""

from __future__ import annotations

import heapq
import queue
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from khronoscope.audit.entries import RESPONSE_COMPLETE, WRITE_VERBS, BadEntry, parse_stamp
from khronoscope.errors import KhronoscopeError

# entries up to this much older than the newest read so far are still put in order
REORDER_WINDOW = 10 * 1_000_000_000
REORDER_MAX = 20_000  # lines held at most (bounds memory whatever the entry rate)
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
        self._cut_line = 0  # the number of a last line without its newline

    def close(self) -> None:
        """Close the file (`entries` closes it when it ends)."""
        self._raw.close()

    def _lines(self) -> Iterator[bytes]:
        """The file's lines without their newline; a last line without one (cut short) is
        remembered in `_cut_line`. Read in large pieces: a call per line costs more than the
        splitting."""
        pending: list[bytes] = []  # the start of a line that goes on in the next piece
        lineno = counted = 0
        ahead = _read_ahead(_gunzip(self._raw) if self.gzipped else _pieces(self._raw))
        try:
            for piece in ahead:
                self.stats.bytes_read += self._raw.read_bytes - counted
                counted = self._raw.read_bytes
                # find (memchr) rather than split, which looks at the bytes one by one
                end = piece.find(b"\n")
                if end < 0:
                    pending.append(piece)
                    continue
                if pending:
                    pending.append(piece[:end])
                    lineno += 1
                    yield b"".join(pending)
                    pending = []
                else:
                    lineno += 1
                    yield piece[:end]
                start = end + 1
                while (end := piece.find(b"\n", start)) >= 0:
                    lineno += 1
                    yield piece[start:end]
                    start = end + 1
                if start < len(piece):
                    pending.append(piece[start:])
        except (EOFError, zlib.error, OSError) as err:
            self.stats.truncated += 1
            if isinstance(err, EOFError):
                what = "compressed data ends early"
            elif isinstance(err, zlib.error):
                what = "compressed data is damaged"
            else:
                what = f"cannot be read further ({err.strerror or err})"
            self.stats.report(f"{self.path}: {what}; read up to there")
            return  # what was read of the line it stopped in is not a line
        finally:
            ahead.close()  # its thread stops before the file is closed under it
            self._raw.close()
        if pending:
            self._cut_line = lineno + 1
            yield b"".join(pending)

    def entries(self) -> Iterator[Entry]:
        """Events with their stageTimestamp, put in order within a small window.

        Lines wait in the window as bytes (their time read off the raw line where the API
        server's layout allows) and are parsed when they leave it: parsed Events are large."""
        stats = self.stats
        number = self.number
        heap: list[tuple[int, int, int, bytes | dict[str, Any]]] = []
        push, pop = heapq.heappush, heapq.heappop
        newest = 0
        lineno = 0
        for line in self._lines():
            lineno += 1
            stats.lines += 1
            t = _raw_stamp(line)
            if t is not None:
                push(heap, (t, number, lineno << 16, line))
            else:
                for i, (t, ev) in enumerate(self._parse(line, lineno)):
                    push(heap, (t, number, (lineno << 16) | (i & 0xFFFF), ev))
                if t is None:
                    continue
            if t > newest:
                newest = t
            horizon = newest - REORDER_WINDOW
            while heap and (heap[0][0] < horizon or len(heap) > REORDER_MAX):
                item = pop(heap)
                if type(item[3]) is dict:
                    stats.entries += 1
                    yield item  # type: ignore[misc]
                else:
                    yield from self._ready(item)
        while heap:
            yield from self._ready(pop(heap))

    def _ready(self, item: tuple[int, int, int, bytes | dict[str, Any]]) -> list[Entry]:
        t, number, seq, value = item
        if isinstance(value, dict):
            self.stats.entries += 1
            return [(t, number, seq, value)]
        lineno = seq >> 16
        head = (
            head_only(value) if len(value) >= HEAD_ONLY_MIN and lineno != self._cut_line else None
        )
        if head is not None:
            self.stats.entries += 1
            return [(t, number, seq, head)]
        out = [(t, number, seq, ev) for _t, ev in self._parse(value, lineno, t)]
        self.stats.entries += len(out)
        return out

    def _parse(
        self, line: bytes, lineno: int, known: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """The Events of one line with their times (`known`: read off the raw line already);
        [] (reported) for garbage."""
        stats = self.stats
        if not line[:1].strip() and not line.strip():  # (most lines: one byte looked at)
            return []
        try:
            events = unwrap(orjson.loads(line))
        except (orjson.JSONDecodeError, BadEntry) as err:
            where = f"{self.path}:{lineno}"
            if lineno == self._cut_line:
                stats.truncated += 1
                stats.report(f"{where}: last line cut short (skipped)")
            else:
                stats.garbage += 1
                why = "not JSON" if isinstance(err, orjson.JSONDecodeError) else str(err)
                stats.report(f"{where}: {why} (skipped)")
            return []
        if known is not None and len(events) == 1:
            return [(known, events[0])]
        out = []
        where = f"{self.path}:{lineno}"
        for ev in events:
            try:
                out.append((parse_stamp(ev.get("stageTimestamp") or ev.get("timestamp")), ev))
            except BadEntry as err:
                stats.garbage += 1
                stats.report(f"{where}: {err} (skipped)")
        return out


_PIECE = 1 << 20  # bytes read at a time from a plain file
_GZ_PIECE = 1 << 16  # compressed bytes decompressed at a time (tens of times more text)


def _pieces(raw: _Counting) -> Iterator[bytes]:
    while piece := raw.read(_PIECE):
        yield piece


_AHEAD = 2  # pieces read ahead of the parser (per file)
_END = object()


def _read_ahead(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The same pieces, produced by a thread of their own: reading and decompressing (zlib and
    the file system let go of the GIL) go on while the pieces before are parsed. An error is
    raised here when its turn comes; stopping early stops the thread before the file closes."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()

    def give(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for piece in pieces:
                if not give(piece):
                    return
            give(_END)
        except BaseException as err:  # handed to the reader, in its turn
            give(err)

    thread = threading.Thread(target=run, name="audit-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _gunzip(raw: _Counting) -> Iterator[bytes]:
    """The text of a gzip file in pieces: its members one after the other, zero padding
    between them skipped (as gzip(1) and Python's gzip read them). Everything that
    decompresses is given before EOFError (the file ends early) or zlib.error (damaged)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = False  # has the current member been given any data
    while data := raw.read(_GZ_PIECE):
        while data:
            if not fed:
                data = data.lstrip(b"\0")
                if not data:
                    break
                fed = True
            yield d.decompress(data)
            if not d.eof:
                break
            data = d.unused_data
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            fed = False
    if fed:
        yield d.flush()
        if not d.eof:
            raise EOFError


# lines at least this long are looked at before they are parsed (below it parsing is about as
# cheap as looking): reads logged with their bodies (a list answered) are the longest lines of
# many audit logs, and are skipped
HEAD_ONLY_MIN = 16 * 1024
# the head of an Event as the API server writes it: strings without escapes but the URI, whose
# characters are those JSON allows
_HEAD = re.compile(
    rb'\{"kind":"Event","apiVersion":"audit\.k8s\.io/v1(?:beta1)?","level":"[A-Za-z]+",'
    rb'"auditID":"([\x20\x21\x23-\x5b\x5d-\x7e]*)","stage":"([A-Za-z]+)",'
    rb'"requestURI":"(?:[^"\\\x00-\x1f]|\\["\\/bfnrtu])*",'
    rb'"verb":"([A-Za-z]+)",'
)


def head_only(line: bytes) -> dict[str, Any] | None:
    """For a line the Translator skips whatever its bodies hold (a read, a write at a stage
    other than ResponseComplete), the fields it decides by; None: the line is to be parsed.

    Only a whole line laid out as the API server writes it (read off its head) qualifies, and
    only when nothing later in it can say otherwise: "verb" appears once (JSON's last duplicate
    key wins; a line run into by the next entry has two), "stage" too where it decides, and no
    letter is written as a \\u escape (a key spelt so could be one of them). Not parsed, a
    skipped line whose body is damaged is counted as skipped, not as garbage."""
    m = _HEAD.match(line)
    if m is None or not (line.endswith(b"}") or line.endswith(b"}\r")):
        return None
    audit_id, stage, verb = (g.decode("ascii") for g in m.groups())
    if verb in WRITE_VERBS and stage == RESPONSE_COMPLETE:
        return None  # a change: its body is what it is about
    # each check is a pass over the line: as few as can be (together, half the cost of parsing)
    if line.count(b'"verb"') != 1:  # also the next entry, run into by one cut short
        return None
    if verb in WRITE_VERBS and line.count(b'"stage"') != 1:
        return None
    if _escaped_letter(line):
        return None
    return {"auditID": audit_id, "stage": stage, "verb": verb}


def _escaped_letter(line: bytes) -> bool:
    """Does the line write a letter as `\\u0061`..`\\u007a` (its bytes 0x60-0x7f, to be sure)?"""
    first = line.find(b"\\")  # one byte looked for: many lines have no escape at all
    i = line.find(b"\\u00", first) if first >= 0 else -1
    while i >= 0:
        if line[i + 4 : i + 5] in (b"6", b"7"):
            return True
        i = line.find(b"\\u00", i + 4)
    return False


_STAMP_KEY = b'"stageTimestamp":"'
_EVENT_START = b'{"kind":"Event"'


def _raw_stamp(line: bytes) -> int | None:
    """The stageTimestamp of a line laid out as the API server writes it, without parsing the
    line (None when it is not found: the line is then parsed at once)."""
    if not line.startswith(_EVENT_START):
        return None  # wrapped, a list, or laid out otherwise: parsed to find its time(s)
    i = line.rfind(_STAMP_KEY)
    if i < 0:
        return None
    start = i + len(_STAMP_KEY)
    end = line.find(b'"', start)
    if end < 0 or end - start > 40:
        return None
    try:
        return parse_stamp(line[start:end].decode("ascii"))
    except (BadEntry, UnicodeDecodeError):
        return None


def read_all(paths: list[Path], stats: ReadStats) -> Iterator[Entry]:
    """Every entry of every file, merged into one stream in time order."""
    files = [AuditFile(p, i, stats) for i, p in enumerate(paths)]
    if len(files) == 1:
        return files[0].entries()
    return heapq.merge(*(f.entries() for f in files))

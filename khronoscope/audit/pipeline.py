"""The facts of audit logs, read in this process or in a second one.

Parsing JSON is most of an import's work and writing the recording the rest; on a machine with
two cores a worker process (`python -m khronoscope.audit.pipeline FILE...`) reads, parses,
translates and packs while this process writes. Facts cross as msgpack arrays on the worker's
stdout, objects already packed (msgpack bytes, as the recording stores them). Small inputs are
read in-process (a worker costs a fraction of a second to start).
"""

from __future__ import annotations

import gc
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any, BinaryIO

import msgpack

from khronoscope.audit.entries import BadEntry, Effect, Fact, Translator
from khronoscope.audit.files import AuditFile, ReadStats, read_all
from khronoscope.core.provenance import AUDIT, Actor, Provenance
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import records as rec

# inputs at least this large (bytes on disk) are read by a worker process
WORKER_THRESHOLD = 8 * 1024 * 1024
_BATCH = 500
# batches the worker may have parsed ahead of the main process (bounds its memory)
_AHEAD = 16
_READ_FIELDS = [f.name for f in fields(ReadStats)]


def check_files(paths: list[Path]) -> None:
    """Open every file once, so that a missing or unreadable one is a clear error up front."""
    stats = ReadStats()
    for i, p in enumerate(paths):
        AuditFile(p, i, stats).close()


def facts(
    paths: list[Path], stats: ReadStats, skipped: dict[str, int], worker: bool | None = None
) -> Iterator[Fact]:
    """Every fact of the files in time order; `stats` and `skipped` are filled as it goes
    (`worker`: None decides by the input's size)."""
    if worker is None:
        worker = sum(_text_size(p) for p in paths) >= WORKER_THRESHOLD
    if worker:
        return _from_worker(paths, stats, skipped)
    return _in_process(paths, stats, skipped)


def _text_size(path: Path) -> int:
    """About how many bytes of text a file holds (gzip: its trailer's size, modulo 4 GiB)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b" or size < 18:
            return size
        f.seek(-4, 2)
        return max(int.from_bytes(f.read(4), "little"), size)


def _in_process(paths: list[Path], stats: ReadStats, skipped: dict[str, int]) -> Iterator[Fact]:
    translate = Translator()
    try:
        for t, _f, _s, ev in read_all(paths, stats):
            try:
                yield from translate.facts(ev, t)
            except BadEntry as err:
                stats.garbage += 1
                stats.report(f"an entry: {err} (skipped)")
    finally:
        for reason, n in translate.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n


def _from_worker(paths: list[Path], stats: ReadStats, skipped: dict[str, int]) -> Iterator[Fact]:
    cmd = [sys.executable, "-m", "khronoscope.audit.pipeline", *map(str, paths)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0)
    done = False
    actors: dict[int, Actor] = {}
    try:
        while not done:
            chunk = proc.stdout.read1(1 << 20)
            if not chunk:
                break
            unpacker.feed(chunk)
            for msg in unpacker:
                kind = msg[0]
                if kind == _FACT:
                    yield _fact_from(msg, actors)
                elif kind == _ACTOR:
                    actors[msg[1]] = Actor(msg[2], tuple(msg[3]), msg[4], tuple(msg[5]))
                elif kind == _STATS:
                    _copy_stats(msg[1], stats)
                elif kind == _DONE:
                    for reason, n in msg[1].items():
                        skipped[reason] = skipped.get(reason, 0) + n
                    done = True
                elif kind == _ERROR:
                    raise KhronoscopeError(msg[1])
        if not done:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            last = err.splitlines()[-1] if err else f"exit {proc.wait()}"
            raise KhronoscopeError(f"the audit reader process ended unexpectedly: {last}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def _copy_stats(values: list[Any], stats: ReadStats) -> None:
    for name, value in zip(_READ_FIELDS, values, strict=True):
        setattr(stats, name, value)


def _snapshot(stats: ReadStats) -> list[Any]:
    return [getattr(stats, name) for name in _READ_FIELDS]


# messages from the worker (msgpack arrays on its stdout); an actor is sent once, then named
# by its number in the facts
_FACT, _STATS, _DONE, _ERROR, _ACTOR = 0, 1, 2, 3, 4


class _Encoder:
    """Facts as messages, each actor (user, groups, agent, IPs) sent once."""

    def __init__(self) -> None:
        self.packer = msgpack.Packer(use_bin_type=True)
        # objects as orjson makes them hold only exact dicts, lists, strings and numbers: a
        # packer that checks exact types is a third faster and writes the same bytes
        self.objects = msgpack.Packer(use_bin_type=True, strict_types=True)
        self.actors: dict[Actor, int] = {}

    def fact(self, f: Fact, out: list[bytes]) -> None:
        p = f.prov
        actor = -1
        if p.actor is not None:
            found = self.actors.get(p.actor)
            if found is None:
                found = self.actors[p.actor] = len(self.actors)
                a = p.actor
                message = [_ACTOR, found, a.user, list(a.groups), a.user_agent, list(a.source_ips)]
                out.append(self.packer.pack(message))
            actor = found
        raw = f.raw if f.raw is not None else (self._pack(f.obj) if f.obj is not None else None)
        out.append(
            self.packer.pack(
                [
                    _FACT,
                    int(f.effect),
                    f.t,
                    f.key.type,
                    f.key.namespace,
                    f.key.name,
                    raw,
                    f.api_version,
                    f.kind,
                    f.replicas,
                    f.resource_version,
                    f.logged_body,
                    actor,
                    p.verb,
                    p.subresource,
                    p.resource_version,
                    p.audit_id,
                    f.received,
                ]
            )
        )

    def _pack(self, obj: dict[str, Any]) -> bytes:
        try:
            return self.objects.pack(obj)
        except TypeError:  # something orjson does not make (a tuple, a subclass): as always
            return rec.pack(obj)


def _fact_from(m: list[Any], actors: dict[int, Actor]) -> Fact:
    key = ObjectKey(m[3], m[4], m[5])
    prov = Provenance(m[2], key, AUDIT, actors.get(m[12]), m[13], m[14], m[15], m[16])
    return Fact(
        effect=Effect(m[1]),
        t=m[2],
        key=key,
        prov=prov,
        raw=m[6],
        api_version=m[7],
        kind=m[8],
        replicas=m[9],
        resource_version=m[10],
        logged_body=m[11],
        received=m[17],
    )


class _Sender:
    """Writes the worker's batches from a thread of their own.

    A write blocks while the main process is still busy with the batch before; a blocked
    parser would make the two processes take turns instead of working at the same time."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.batches: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="audit-sender", daemon=True)
        self.thread.start()

    def send(self, batch: bytes) -> None:
        """Queue one batch (waits while _AHEAD batches are queued already)."""
        if self.failed is not None:
            raise self.failed
        self.batches.put(batch)

    def close(self) -> None:
        """Send what is queued, then flush."""
        self.batches.put(None)
        self.thread.join()
        if self.failed is not None:
            raise self.failed

    def _run(self) -> None:
        try:
            while (batch := self.batches.get()) is not None:
                self.out.write(batch)
            self.out.flush()
        except BaseException as err:  # the main process went away: the parser stops
            self.failed = err
            while self.batches.get() is not None:  # unblock a parser waiting to put
                pass


def _work(paths: list[str], out: BinaryIO) -> None:
    """The worker: every fact as a message, objects packed; read stats now and then."""
    gc.disable()  # parsed entries are acyclic: the collector would only rescan them
    stats = ReadStats()
    translate = Translator()
    encoder = _Encoder()
    packer = encoder.packer
    sender = _Sender(out)
    buf: list[bytes] = []
    try:
        for n, (t, _f, _s, ev) in enumerate(read_all([Path(p) for p in paths], stats)):
            try:
                found = translate.facts(ev, t)
            except BadEntry as err:
                stats.garbage += 1
                stats.report(f"an entry: {err} (skipped)")
                continue
            for fact in found:
                encoder.fact(fact, buf)
            if n % _BATCH == _BATCH - 1:
                buf.append(packer.pack([_STATS, _snapshot(stats)]))
                sender.send(b"".join(buf))
                buf = []
        buf.append(packer.pack([_STATS, _snapshot(stats)]))
        buf.append(packer.pack([_DONE, dict(translate.skipped)]))
    except KhronoscopeError as err:
        buf.append(packer.pack([_ERROR, str(err)]))
    except Exception as err:  # the main process reports it as one line
        why = f"reading the audit logs failed: {type(err).__name__}: {err}"
        buf.append(packer.pack([_ERROR, why]))
    try:
        sender.send(b"".join(buf))
        sender.close()
    except Exception:  # the main process is gone: there is no one to tell
        pass


if __name__ == "__main__":
    _work(sys.argv[1:], sys.stdout.buffer)

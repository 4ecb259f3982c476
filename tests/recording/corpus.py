"""A corpus of damaged recordings, and the oracle they are judged against.

`make_recording` writes a seeded scenario (small blocks, frequent and multi-part keyframes, logs,
metrics, bookmarks, gaps) closed cleanly or as a crash leaves it. `damages` yields named ways of
damaging its bytes: bit flips in every kind of structure, truncations at every kind of boundary,
zeroed ranges, duplicated, reordered and swapped blocks. `judge` loads a damaged copy (both ways
a recording is read: forward, and newest first as `open` does) and compares what it returns with
the undamaged recording's versions:

(a) every version returned is exactly the undamaged file's (time, content, and change kind
    unless the report marks it restored); nothing else is returned but what the report marks
    as corrected, and a correction puts the object as it truly was at that time;
(b) the versions and objects reported lost per type are the true numbers (the versions the
    undamaged file holds in the bytes that are still there, or in blocks that are gone, and the
    damaged one does not return); where the file can no longer say a type, the report says so
    and its per-type figures are lower bounds that add up;
(c) nothing is invented: no ADDED/DELETED/MODIFIED that the undamaged file does not have.

The segmented format's reader is to be held to the same oracle.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeState, TypeStatus
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording.loader import load_into
from khronoscope.recording.loss import LossReport
from khronoscope.recording.reader import BlockInfo, NotARecording, RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import DEPLOY_TYPE, POD_TYPE
from tests.recording.scenario import NS, T0, changes

Version = tuple[ChangeKind, bytes | None]  # kind, and a digest of the content (None: deleted)


@dataclass
class Original:
    """An undamaged recording: its bytes, blocks, and every version with the block holding it."""

    path: Path
    data: bytes
    blocks: list[BlockInfo]
    versions: dict[tuple[ObjectKey, int], Version]
    block_of: dict[tuple[ObjectKey, int], int]  # version -> offset of the data block with it
    closed: bool


def make_recording(
    path: Path, seed: int, count: int, closed: bool, compacted: bool = False
) -> Original:
    """Write a scenario: 4 KiB data blocks, a keyframe every 250 changes cut into 6 KiB parts;
    `compacted`: retention drops the oldest third half way (the blocks after are renumbered)."""
    opts = WriterOptions(
        block_size=4096,
        keyframe_block_size=6 * 1024,
        keyframe_changes=250,
        keyframe_ratio=0.0,
        autoflush=False,
    )
    w = RecordingWriter.create(
        path, SourceInfo("corpus", "corpus", "v1.31.0"), start=T0, writer_options=opts
    )
    w.set_types(T0, [POD_TYPE, DEPLOY_TYPE])
    w.append_status(T0, "pods", TypeStatus(TypeState.LIVE, T0, "", 0, 0))
    stream = list(changes(seed, count, objects=70))
    for n, c in enumerate(stream):
        w.append_change(c)
        if n % 41 == 0 and c.obj is not None:
            w.append_log(c.t, c.key.namespace, c.key.name, "web", f"line {n}")
            w.append_metric(c.t, c.key, {"cpu": n / 1000, "memory": 1000 + n})
        if n == count // 3:
            w.add_bookmark(Bookmark(c.t, "incident", c.key, 1), created=c.t)
            w.append_gap(Gap(c.t - NS, c.t, "pods", "watch expired (410)"))
        if compacted and n == count // 2:
            assert w.compact(max_age=(c.t - stream[0].t) * 2 // 3).compacted
    if closed:
        w.close(stop_t=stream[-1].t + NS)
    else:  # as kill -9 leaves it after its last flush: no final keyframe, no index
        w._flush_buffer()
        w._out.close()
        w.closed = True
    data = path.read_bytes()
    with RecordingReader(path) as reader:
        blocks = list(reader.blocks)
        block_of: dict[tuple[ObjectKey, int], int] = {}
        for b in reader.data_blocks():
            for r in reader.records(b):
                if r[0] in fmt.CHANGE_KINDS:
                    block_of[(ObjectKey(r[2], r[3], r[4]), r[1])] = b.offset
        tmap = TemporalMap()
        result = load_into(reader, tmap)
        assert not result.loss.damaged and result.problems == []
    return Original(path, data, blocks, versions_of(tmap), block_of, closed)


def versions_of(tmap: TemporalMap) -> dict[tuple[ObjectKey, int], Version]:
    """Every version in a map: (key, t) -> (kind, digest of its content or None)."""
    out: dict[tuple[ObjectKey, int], Version] = {}
    for chain in tmap.chains():
        for i, t in enumerate(chain.times):
            kind = chain.kind_of(i)
            digest = None if kind is ChangeKind.DELETED else _digest(chain.raw_of(i))
            out[(chain.key, t)] = (kind, digest)
    return out


def _digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=12).digest()


# --- damage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Damage:
    """A named way of damaging a recording: the damaged bytes, and which original bytes still
    attest changes (a truncation leaves only a prefix to judge by)."""

    name: str
    data: bytes
    attested_until: int | None = None  # offset: changes in blocks starting before it count


def damages(orig: Original, rng: random.Random, sample: int = 6) -> Iterator[Damage]:
    """The corpus of damage for one recording (`sample` blocks of each kind are picked)."""
    data = orig.data
    blocks = orig.blocks
    data_blocks = [b for b in blocks if b.type == fmt.DATA]
    kf_blocks = [b for b in blocks if b.type == fmt.KEYFRAME]
    index = [b for b in blocks if b.type == fmt.INDEX]
    with RecordingReader(orig.path) as reader:
        header_end = reader.data_start
    multipart = [b for b in kf_blocks if not b.is_keyframe_end]

    def pick(pool: list[BlockInfo], n: int = sample) -> list[BlockInfo]:
        return rng.sample(pool, min(n, len(pool)))

    def flip(at: int, bit: int) -> bytes:
        d = bytearray(data)
        d[at] ^= 1 << bit
        return bytes(d)

    # bit flips: block headers (every field), payloads, keyframes, the index and the trailer
    for b in pick(data_blocks, sample * 2):
        yield Damage(f"flip data header @{b.offset}", flip(b.offset + rng.randrange(56), 3))
        yield Damage(
            f"flip data payload @{b.offset}",
            flip(b.offset + 56 + rng.randrange(b.payload_len), rng.randrange(8)),
        )
    for b in pick(kf_blocks):
        yield Damage(f"flip keyframe header @{b.offset}", flip(b.offset + rng.randrange(56), 5))
        yield Damage(
            f"flip keyframe payload @{b.offset}",
            flip(b.offset + 56 + rng.randrange(b.payload_len), rng.randrange(8)),
        )
    for b in index:
        yield Damage("flip index header", flip(b.offset + 20, 0))
        yield Damage("flip index payload", flip(b.offset + 56 + b.payload_len // 2, 6))
    if index:
        yield Damage("flip trailer offset", flip(len(data) - 10, 1))
        yield Damage("flip trailer checksum", flip(len(data) - 2, 7))
    # two damaged data blocks in a row, and damage on both sides of a keyframe
    for b in pick(data_blocks[:-1], 2):
        i = data_blocks.index(b)
        d = bytearray(data)
        for v in (b, data_blocks[i + 1]):
            d[v.offset + 60] ^= 0x10
        yield Damage(f"flip two data payloads @{b.offset}", bytes(d))
    # truncations: at block boundaries, inside headers, inside payloads, in the index/trailer
    for b in pick(data_blocks) + pick(kf_blocks, 3):
        for cut, what in (
            (b.offset, "at a block start"),
            (b.offset + 30, "inside a header"),
            (b.offset + 56 + b.payload_len // 2, "inside a payload"),
        ):
            yield Damage(f"truncate {what} @{cut}", data[:cut], attested_until=cut)
    for b in index:
        cut = b.offset + 56 + b.payload_len // 3
        yield Damage("truncate inside the index", data[:cut], attested_until=cut)
        yield Damage("truncate the trailer", data[:-5], attested_until=len(data) - 5)
    yield Damage("truncate right after the file header", data[:header_end], header_end)
    # zeroed ranges: a sector somewhere, one block's payload, across a keyframe, the tail
    for _ in range(sample):
        at = rng.randrange(header_end, len(data) - 512)
        d = bytearray(data)
        d[at : at + 512] = bytes(min(512, len(data) - at))
        yield Damage(f"zero 512 bytes @{at}", bytes(d))
    for b in pick(data_blocks, 3):
        d = bytearray(data)
        d[b.offset + 56 : b.end] = bytes(b.payload_len)
        yield Damage(f"zero a data payload @{b.offset}", bytes(d))
    for b in pick([k for k in kf_blocks if k.offset > 8192], 2):
        lo, hi = b.offset - 3000, b.end + 3000
        d = bytearray(data)
        d[lo:hi] = bytes(hi - lo)
        yield Damage(f"zero across a keyframe @{lo}-{hi}", bytes(d))
    tail = len(data) - 5000
    yield Damage(
        f"zero the last 5000 bytes @{tail}",
        data[:tail] + bytes(5000),
        attested_until=None,
    )
    # duplicated blocks: a copy right after itself, a copy at the end, a keyframe twice
    for b in pick(data_blocks, 3):
        chunk = data[b.offset : b.end]
        yield Damage(f"duplicate data block @{b.offset}", data[: b.end] + chunk + data[b.end :])
    b = data_blocks[len(data_blocks) // 2]
    yield Damage(f"copy data block @{b.offset} to the end", data + data[b.offset : b.end])
    for b in pick(kf_blocks, 2):
        chunk = data[b.offset : b.end]
        yield Damage(f"duplicate keyframe block @{b.offset}", data[: b.end] + chunk + data[b.end :])
    # reordered blocks: two neighbours swapped, a block moved further on
    for b in pick(data_blocks[:-1], 3):
        nxt = blocks[blocks.index(b) + 1]
        yield Damage(f"swap blocks @{b.offset},{nxt.offset}", _swap(data, b, nxt))
    b = data_blocks[len(data_blocks) // 3]
    later = data_blocks[len(data_blocks) // 3 + 4]
    moved = data[: b.offset] + data[b.end : later.end] + data[b.offset : b.end] + data[later.end :]
    yield Damage(f"move block @{b.offset} after @{later.offset}", moved)
    # swapped keyframe blocks: with the data block before, parts of one keyframe swapped
    for k in pick(kf_blocks, 3):
        i = blocks.index(k)
        prev = blocks[i - 1]
        if prev.type == fmt.DATA:
            yield Damage(f"swap keyframe @{k.offset} with the data before", _swap(data, prev, k))
    for k in pick(multipart, 2):
        nxt = blocks[blocks.index(k) + 1]
        yield Damage(f"swap keyframe parts @{k.offset}", _swap(data, k, nxt))


def _swap(data: bytes, a: BlockInfo, b: BlockInfo) -> bytes:
    """Bytes with neighbouring blocks a and b (a first) in the other order."""
    assert a.end == b.offset
    return data[: a.offset] + data[b.offset : b.end] + data[a.offset : a.end] + data[b.end :]


# --- judging ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What judging one damaged copy found (`failures` empty: it passed)."""

    name: str
    exact: bool = True  # the report could name every type and object (no lower bounds)
    refused: str = ""  # the file could not be opened at all (one line)
    lost: int = 0
    failures: list[str] = field(default_factory=list)


def judge(orig: Original, damage: Damage, path: Path) -> Verdict:
    """Load the damaged copy both ways and hold the results and the report to the oracle."""
    path.write_bytes(damage.data)
    verdict = Verdict(damage.name)
    try:
        with RecordingReader(path) as reader:
            tmap = TemporalMap()
            result = load_into(reader, tmap)
    except NotARecording as err:
        verdict.refused = str(err)
        if "\n" in str(err):
            verdict.failures.append("a refusal of more than one line")
        return verdict
    forward = versions_of(tmap)
    _check(orig, damage, forward, result.loss, verdict, "forward")
    source = RecordingSource(path)
    source.load_all()
    newest_first = versions_of(source.tmap)
    _check(orig, damage, newest_first, source.loss_report(), verdict, "open")
    source.close()
    return verdict


def _check(
    orig: Original,
    damage: Damage,
    got: dict[tuple[ObjectKey, int], Version],
    report: LossReport,
    verdict: Verdict,
    how: str,
) -> None:
    fail = verdict.failures.append
    truth = orig.versions
    # (a) and (c): every version returned is the original's, or a marked correction
    for (key, t), (kind, digest) in got.items():
        if report.marked(key, t) and t in report.corrected.get(key, ()):
            want = _state_at(truth, key, t)
            if want != digest:
                fail(f"{how}: correction of {key} at {t} is not how it was then")
            continue
        old = truth.get((key, t))
        if old is None:
            fail(f"{how}: invented {kind.name} of {key} at {t}")
        elif old[1] != digest:
            fail(f"{how}: {key} at {t} differs from the recording")
        elif old[0] != kind and t not in report.restored.get(key, ()):
            fail(f"{how}: {key} at {t} is {kind.name}, the recording says {old[0].name}")
    # (b) what is lost, per type: the original's versions in bytes that still attest them
    first_block = orig.blocks[0].offset if orig.blocks else 0  # (retention's keyframe)
    attested = {
        v
        for v in truth
        if damage.attested_until is None
        or orig.block_of.get(v, first_block) < damage.attested_until
    }
    lost = [v for v in attested if v not in got]
    per_type: dict[str, int] = {}
    objects: dict[str, set[ObjectKey]] = {}
    for key, _t in lost:
        per_type[key.type] = per_type.get(key.type, 0) + 1
        objects.setdefault(key.type, set()).add(key)
    reported = report.by_type()
    verdict.lost = max(verdict.lost, len(lost))
    if report.unknown_count:
        verdict.exact = False
        if report.versions > len(lost):
            fail(f"{how}: reports {report.versions}+ lost, truly {len(lost)}")
    elif report.versions != len(lost):
        fail(f"{how}: reports {report.versions} versions lost, truly {len(lost)}")
    unattributed = 0
    for type_name in set(per_type) | set(reported):
        true_n = per_type.get(type_name, 0)
        r = reported.get(type_name)
        n = r.versions if r else 0
        if n > true_n:
            fail(f"{how}: {type_name}: reports {n} versions lost, truly {true_n}")
        unattributed += true_n - n
        true_objects = len(objects.get(type_name, ()))
        got_objects = r.objects if r else 0
        if r is not None and not r.objects_exact:
            verdict.exact = False
            if got_objects > true_objects:
                fail(f"{how}: {type_name}: at least {got_objects} objects, truly {true_objects}")
        elif got_objects != true_objects and n == true_n:
            fail(f"{how}: {type_name}: reports {got_objects} objects, truly {true_objects}")
    if report.unknown_versions:
        verdict.exact = False
    if not report.unknown_count and unattributed != report.unknown_versions:
        fail(
            f"{how}: {unattributed} versions lost beyond the per-type figures, the report "
            f"says {report.unknown_versions} of unknown type"
        )
    if lost and not report.problems:
        fail(f"{how}: {len(lost)} versions lost and no damage reported")


def _state_at(truth: dict[tuple[ObjectKey, int], Version], key: ObjectKey, t: int) -> bytes | None:
    """The digest of `key`'s version in force at t in the original (None: absent)."""
    best: tuple[int, bytes | None] | None = None
    for (k, vt), (_kind, digest) in truth.items():
        if k == key and vt <= t and (best is None or vt > best[0]):
            best = (vt, digest)
    return None if best is None else best[1]


Judge = Callable[[Original, Damage, Path], Verdict]

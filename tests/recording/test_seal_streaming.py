"""Sealing reads its spool as it goes: the segment is the one the whole spool in memory makes,
byte for byte (many types, deletes, several blocks and batches per type, carried versions, a
damaged and a torn spool), and the sealer never holds the spool's records all at once."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from khronoscope.core.source import SourceInfo
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.segments import layout, sealer
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.catalog import SegmentedRecording, pack_header
from khronoscope.recording.segments.sealer import Sealed, SealState, seal, seal_spool
from khronoscope.recording.segments.spoolread import SpoolChanged, SpoolFile
from khronoscope.recording.segments.wal import WalFile
from khronoscope.recording.writer import make_header
from khronoscope.storage.local import LocalStore

T0 = 1_800_000_000_000_000_000
TYPES = ["configmaps", "events", "nodes", "pods", "secrets"]
MiB = 1 << 20
PEAK_VERSIONS = 8000  # ~30 MiB of versions in the spool whose seal is measured


def read_spool(path: Path) -> tuple[list[list[Any]], list[str]]:
    """Every readable record of a spool file, whole in memory (as sealing once read it), and
    what could not be read (one line each)."""
    reader = RecordingReader(path)
    try:
        records: list[list[Any]] = []
        for b in reader.data_blocks():
            records.extend(reader.records(b))
        problems = [p.describe() for p in reader.report()]
    finally:
        reader.close()
    return records, problems


def version(name: str, v: int, size: int) -> bytes:
    """An object's version: the same (name, v) is the same bytes (a put that changes nothing)."""
    rng = random.Random(f"{name}/{v}")
    words = [
        rng.choice(["alpha", "beta", "gamma", "delta", "ready", "node", "x"])
        for _ in range(size // 6)
    ]
    return rec.pack(
        {"metadata": {"name": name, "resourceVersion": str(v)}, "data": " ".join(words)}
    )


def scenario(seed: int, spools: int, per_spool: int, size: int) -> list[list[list[Any]]]:
    """Records of `spools` spools: puts, deletes, re-adds, puts equal to the version in force,
    writes at the time of an existing version, a few out of order, logs, metrics, bookmarks."""
    rng = random.Random(seed)
    keys = [(t, ns, f"obj-{i}") for t in TYPES for ns in ("a", "b") for i in range(10)]
    t = T0
    out: list[list[list[Any]]] = []
    for _ in range(spools):
        records: list[list[Any]] = []
        # the third spool leaves half the objects alone: a base after it carries them
        touched = keys if len(out) != 2 else keys[::2]
        for _ in range(per_spool):
            t += rng.randrange(1, 1_000_000)
            type_, ns, name = rng.choice(touched)
            r = rng.random()
            at = t - rng.randrange(0, 5_000_000) if r < 0.1 else t  # a few out of order
            if r < 0.15:
                records.append([fmt.DELETE, at, type_, ns, name])
            elif r < 0.18:
                records.append([fmt.LOG, t, ns, name, "c", f"line {t}"])
            elif r < 0.19:
                records.append([fmt.METRIC, t, type_, ns, name, {"cpu": rng.random()}])
            elif r < 0.195:
                records.append([fmt.BOOKMARK, t, len(records), "mark", None, t])
            else:
                v = rng.randrange(6)
                records.append([fmt.PUT_FULL, at, type_, ns, name, version(name, v, size)])
                if rng.random() < 0.05:  # a second write at the same time replaces the first
                    records.append([fmt.PUT_FULL, at, type_, ns, name, version(name, v + 10, size)])
        out.append(records)
    return out


def write_spool(path: Path, records: list[list[Any]], block_size: int) -> None:
    """A spool file of `records`, as the writer writes it."""
    wal = WalFile(path, {"format": 1, "spool": 0}, block_size=block_size, fsync_interval=60)
    for r in records:
        wal.add(r, r[1], change=r[0] in fmt.CHANGE_KINDS)
    wal.close()


class Store:
    """A recording the segments of one sealing run go to (carried versions are read back)."""

    def __init__(self, path: Path) -> None:
        path.mkdir()
        self.store = LocalStore(path)
        header = make_header(SourceInfo("c", "ctx"), T0)
        header["format"] = sf.FORMAT
        self.store.put_if_absent(layout.HEADER, pack_header(header))
        self.dicts: dict[str, bytes] = {}

    def fetch(self, seq: int, type_: str, rids: list[int]) -> list[bytes]:
        raws = SegmentedRecording(self.store, None).records(seq, type_, rids)
        assert all(r is not None for r in raws)
        return [r for r in raws if r is not None]

    def put_dict(self, name: str, data: bytes) -> None:
        self.dicts[name] = data
        self.store.put_if_absent(name, data)

    def publish(self, made: Sealed) -> None:
        self.store.put(made.name, made.data)


def seal_both(
    tmp_path: Path, paths: list[Path], bases: set[int], reach: int
) -> tuple[list[Sealed], list[Sealed]]:
    """Each spool sealed in order twice: read whole into memory (as before), and streamed."""
    memory, streamed = Store(tmp_path / "memory.khr"), Store(tmp_path / "streamed.khr")
    st_m, st_s = SealState(), SealState()
    made_m: list[Sealed] = []
    made_s: list[Sealed] = []
    for i, path in enumerate(paths):
        records, _problems = read_spool(path)
        m = seal(records, st_m, i in bases, memory.fetch, memory.put_dict, reach=reach)
        memory.publish(m)
        with SpoolFile(path) as spool:
            s = seal_spool(spool, st_s, i in bases, streamed.fetch, streamed.put_dict, reach=reach)
        streamed.publish(s)
        made_m.append(m)
        made_s.append(s)
    assert memory.dicts == streamed.dicts
    return made_m, made_s


def type_index(made: Sealed, type_: str) -> sf.TypeIndex:
    ref = made.footer["types"][type_]["index"]
    return sf.unpack_type_index(made.data[ref[0] : ref[0] + ref[1]], made.footer["first_t"])


@pytest.mark.parametrize("batch", [20 * 1024, 1024], ids=["batches-span-types", "tiny-batches"])
def test_a_streamed_segment_is_byte_for_byte_the_one_sealed_in_memory(tmp_path, monkeypatch, batch):
    # small blocks and batches: several blocks per type, batches that span types and blocks
    # (or of one block each, and a base's carried copies packed type by type)
    monkeypatch.setattr(sealer, "BLOCK_RAW", 8 * 1024)
    monkeypatch.setattr(sealer, "SEAL_BATCH_RAW", batch)
    paths = []
    for i, records in enumerate(scenario(seed=3, spools=4, per_spool=700, size=300)):
        paths.append(tmp_path / layout.wal_file(i))
        write_spool(paths[-1], records, block_size=4 * 1024)
    # a base every other spool, references reaching one back: the last base carries
    made_m, made_s = seal_both(tmp_path, paths, bases={0, 2, 3}, reach=1)
    for m, s in zip(made_m, made_s, strict=True):
        assert s.name == m.name
        assert s.data == m.data
    # what the scenario was meant to exercise is there
    last = made_s[-1]
    assert set(last.footer["types"]) == set(TYPES)
    for type_ in TYPES:
        ix = type_index(last, type_)
        assert len(ix.blocks) >= 3, type_
        assert sf.DELETED in ix.kinds, type_
        assert 1 in ix.carried, type_
    assert last.footer["logs"] is not None and last.footer["metrics"] is not None


def test_a_damaged_or_torn_spool_seals_what_reading_it_whole_did(tmp_path):
    records = scenario(seed=5, spools=1, per_spool=400, size=300)[0]
    path = tmp_path / layout.wal_file(0)
    write_spool(path, records, block_size=4 * 1024)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a block in the middle is damaged
    path.write_bytes(bytes(data[:-100]))  # and the last one torn
    kept, problems = read_spool(path)
    assert problems and 0 < len(kept) < len(records)
    made_m, made_s = seal_both(tmp_path, [path], bases={0}, reach=48)
    assert made_s[0].data == made_m[0].data
    assert made_s[0].footer["changes"] > 0


def test_a_version_whose_record_has_more_items_is_sealed_too(tmp_path):
    # a spool from elsewhere may hold longer PUT_FULL records: the version is not at the end
    records = scenario(seed=7, spools=1, per_spool=200, size=200)[0]
    longer = [
        [*r, "extra"] if r[0] == fmt.PUT_FULL and i % 3 == 0 else r for i, r in enumerate(records)
    ]
    path = tmp_path / layout.wal_file(0)
    write_spool(path, longer, block_size=4 * 1024)
    made_m, made_s = seal_both(tmp_path, [path], bases={0}, reach=48)
    assert made_s[0].data == made_m[0].data


def test_sealing_never_holds_the_whole_spool(tmp_path, monkeypatch):
    """The peak of the sealer's Python allocations stays a small part of the spool's size (it
    was over twice the spool when the spool was read whole)."""
    monkeypatch.setattr(sealer, "SEAL_BATCH_RAW", 1 * MiB)
    first, spool = tmp_path / layout.wal_file(0), tmp_path / layout.wal_file(1)
    objects = [("pods", "a", f"pod-{i}") for i in range(400)]

    def versions(n: int, t: int, first: int) -> list[list[Any]]:
        out = []
        for i in range(n):
            _type, ns, name = objects[i % len(objects)]
            # ~4 KB, compressible as objects are (the sealed segment is held whole)
            raw = rec.pack(
                {"metadata": {"name": name}, "n": first + i, "spec": f"{name} {i} " * 300}
            )
            out.append([fmt.PUT_FULL, t + i, "pods", ns, name, raw])
        return out

    write_spool(first, versions(400, T0, 0), block_size=256 * 1024)
    records = versions(PEAK_VERSIONS, T0 + 10**9, 400)
    raw_size = sum(len(r[5]) for r in records)
    write_spool(spool, records, block_size=256 * 1024)
    del records
    state = SealState()
    dicts: dict[str, bytes] = {}
    with SpoolFile(first) as sp:  # trains the dictionary: later seals never do
        seal_spool(sp, state, True, lambda *a: [], dicts.__setitem__)
    tracemalloc.start()
    try:
        with SpoolFile(spool) as sp:
            made = seal_spool(sp, state, False, lambda *a: [], dicts.__setitem__)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made.footer["changes"] == PEAK_VERSIONS
    assert peak < raw_size / 3, (peak, raw_size)


def test_a_spool_changed_between_its_two_reads_is_not_sealed(tmp_path):
    """Sealing reads a spool twice: bytes that differ the second time stop the seal (the
    writer then reports it and keeps the spool) rather than seal something never recorded."""
    records = scenario(seed=9, spools=1, per_spool=300, size=300)[0]
    path = tmp_path / layout.wal_file(0)
    write_spool(path, records, block_size=4 * 1024)

    class ChangedAfterFirstRead(SpoolFile):
        def records(self):
            yield from super().records()
            with open(path, "r+b") as f:  # a byte inside the first data block's payload
                f.seek(self._blocks[0].offset + fmt.BLOCK_HEADER_SIZE + 10)
                byte = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([byte[0] ^ 0xFF]))

    state = SealState()
    with ChangedAfterFirstRead(path) as spool, pytest.raises(SpoolChanged):
        seal_spool(spool, state, True, lambda *a: [], lambda name, data: None)
    assert state.next_seq == 0 and not state.live  # nothing advanced

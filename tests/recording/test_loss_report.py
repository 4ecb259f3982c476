"""Loss is reported exactly and never invents changes: a damaged block also loses the later
versions of its objects, a keyframe after it restores state without making up changes, and
duplicated or reordered blocks are detected."""

from __future__ import annotations

import json

import pytest

from khronoscope.cli import main
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import assert_same, crash, record


def _changes(tmap: TemporalMap) -> dict[tuple[ObjectKey, int], ChangeKind]:
    return {(r.key, r.t): r.kind for r in tmap.changes()}


def _damage_payload(path, block) -> None:
    with open(path, "r+b") as f:
        f.seek(block.offset + fmt.BLOCK_HEADER_SIZE + block.payload_len // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x20]))


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """A recording as kill -9 leaves it: no final keyframe, so nothing after the last periodic
    keyframe can set lost objects straight."""
    path = tmp_path_factory.mktemp("loss") / "r.khr"
    rec = record(path, count=1600, objects=120, keyframe_changes=1200, close=False)
    crash(rec)
    return rec


def test_a_damaged_block_loses_its_objects_later_versions_and_says_so_exactly(tmp_path, crashed):
    with RecordingReader(crashed.path) as reader:
        data = [b for b in reader.blocks if b.type == fmt.DATA]
        kf = reader.keyframes()[-1]
    victim = next(b for b in data if b.offset > kf.blocks[-1].end and b.changes > 20)
    copy = tmp_path / "hurt.khr"
    copy.write_bytes(crashed.path.read_bytes())
    _damage_payload(copy, victim)
    truth = _changes(crashed.live)
    with RecordingReader(copy) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    got = _changes(tmap)
    lost = [v for v in truth if v not in got]
    # the block's own changes are not all: its objects' later deltas cannot be read either
    assert len(lost) > victim.changes
    loss = result.loss
    assert loss.versions == len(lost)
    per_type: dict[str, int] = {}
    for key, _t in lost:
        per_type[key.type] = per_type.get(key.type, 0) + 1
    assert {t.type: t.versions for t in loss.types} == per_type
    assert {t.type: t.objects for t in loss.types} == {
        name: len({k for k, _ in lost if k.type == name}) for name in per_type
    }
    assert all(t.objects_exact for t in loss.types) and not loss.unknown_versions
    assert loss.problems[0].start == victim.offset and loss.problems[0].end == victim.end
    first = min(t for _, t in lost)
    last = max(t for _, t in lost)
    spans = [(t.first_t, t.last_t) for t in loss.types]
    assert min(s[0] for s in spans) <= first and max(s[1] for s in spans) == last
    text = loss.warning(copy)
    assert text.startswith(f"khronoscope: warning: {copy} is damaged: {len(lost)} versions of")
    assert f"bytes {victim.offset}-{victim.end}" in text
    for name, n in per_type.items():
        assert f"{name}: {n} version" in text
    # opening newest first (as the app does) finds the same
    src = RecordingSource(copy)
    src.load_all()
    assert src.loss_report().by_type() == loss.by_type()
    assert _changes(src.tmap) == got


def test_a_keyframe_after_damage_restores_state_without_inventing_changes(tmp_path):
    rec = record(tmp_path / "r.khr", count=1500, objects=60, keyframe_changes=300)
    truth = _changes(rec.live)
    with RecordingReader(rec.path) as reader:
        data = [b for b in reader.blocks if b.type == fmt.DATA]
    invented_somewhere = False
    for n, victim in enumerate(data[3:-3:3]):
        copy = tmp_path / f"flip{n}.khr"
        copy.write_bytes(rec.path.read_bytes())
        _damage_payload(copy, victim)
        for how in ("forward", "open"):
            if how == "forward":
                with RecordingReader(copy) as reader:
                    tmap = TemporalMap()
                    loss = load_into(reader, tmap).loss
            else:
                src = RecordingSource(copy)
                src.load_all()
                tmap, loss = src.tmap, src.loss_report()
            for (key, t), kind in _changes(tmap).items():
                if truth.get((key, t)) == kind:
                    continue
                # anything else is a state set straight at a keyframe, and marked as such
                invented_somewhere = True
                assert loss.marked(key, t), (how, victim.offset, key, t, kind)
            # and the newest moment is the recorded one
            end = rec.live.last_t
            assert tmap.state_at(end) == rec.live.state_at(end)
    assert invented_somewhere  # the case the keyframes used to turn into ADDED/DELETED


def test_history_prints_a_restored_version_as_restored_not_as_added(tmp_path, capsys):
    rec = record(tmp_path / "r.khr", count=1500, objects=60, keyframe_changes=300)
    truth = _changes(rec.live)
    with RecordingReader(rec.path) as reader:
        data = [b for b in reader.blocks if b.type == fmt.DATA]
    for n, victim in enumerate(data[3:-3]):
        copy = tmp_path / f"h{n}.khr"
        copy.write_bytes(rec.path.read_bytes())
        _damage_payload(copy, victim)
        src = RecordingSource(copy)
        src.load_all()
        loss = src.loss_report()
        marked = [(k, t) for (k, t), kind in _changes(src.tmap).items() if loss.marked(k, t)]
        if not any(truth.get(v) != _changes(src.tmap)[v] for v in marked):
            continue
        assert main(["history", str(copy), "--json"]) == 0
        out, err = capsys.readouterr()
        doc = json.loads(out)
        shown = {
            (ObjectKey(e["type"], e["namespace"], e["name"]), e["t"]): e["change"] for e in doc
        }
        for v in marked:
            assert shown[v] == "RESTORED"
        assert err.startswith(f"khronoscope: warning: {copy} is damaged:")
        assert err.count("khronoscope:") == 1  # one block of lines
        return
    pytest.fail("no damage made a keyframe restore anything")


def test_duplicated_and_reordered_blocks_are_detected_and_read_in_order(tmp_path, crashed):
    data = crashed.path.read_bytes()
    with RecordingReader(crashed.path) as reader:
        blocks = [b for b in reader.blocks if b.type == fmt.DATA]
    a, b = blocks[10], blocks[11]
    assert a.end == b.offset
    dup = blocks[20]
    damaged = (
        data[: a.offset]
        + data[b.offset : b.end]  # two neighbours swapped
        + data[a.offset : a.end]
        + data[b.end : dup.end]
        + data[dup.offset : dup.end]  # and a block written twice
        + data[dup.end :]
    )
    copy = tmp_path / "moved.khr"
    copy.write_bytes(damaged)
    with RecordingReader(copy) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    assert_same(crashed.live, tmap)  # nothing lost, nothing twice
    assert result.loss.versions == 0
    what = [p.describe() for p in result.problems]
    assert any("out of place" in w and "nothing lost" in w for w in what), what
    assert any("second copy" in w and "skipped" in w for w in what), what
    assert all(p.lossless for p in result.problems)


def test_a_block_whose_header_is_damaged_is_counted_from_the_numbering(tmp_path, crashed):
    with RecordingReader(crashed.path) as reader:
        victim = [b for b in reader.blocks if b.type == fmt.DATA][12]
    copy = tmp_path / "head.khr"
    raw = bytearray(crashed.path.read_bytes())
    raw[victim.offset + 8] ^= 0xFF  # the header's length field: its checksum fails
    copy.write_bytes(bytes(raw))
    with RecordingReader(copy) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    unreadable = [p for p in result.problems if "unreadable" in p.what]
    assert unreadable and unreadable[0].changes == victim.changes
    assert f"lost {victim.changes} changes between" in unreadable[0].describe()
    truth = _changes(crashed.live)
    lost = [v for v in truth if v not in _changes(tmap)]
    assert result.loss.versions == len(lost) and not result.loss.unknown_versions


def test_export_and_drift_of_a_damaged_recording_say_what_cannot_be_read(tmp_path, crashed, capsys):
    with RecordingReader(crashed.path) as reader:
        victim = [b for b in reader.blocks if b.type == fmt.DATA][8]
    copy = tmp_path / "hurt.khr"
    copy.write_bytes(crashed.path.read_bytes())
    _damage_payload(copy, victim)
    repo = tmp_path / "repo"
    main(["export", "--recording", str(copy), "--repo", str(repo), "-q"])
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[0].startswith(f"khronoscope: warning: {copy} is damaged: ")
    block = [lines[0]] + [ln for ln in lines[1:] if ln.startswith("  ")]
    assert f"  bytes {victim.offset}-{victim.end}: block checksum mismatch" in block[1]
    assert any(ln.startswith("  cannot be read: pods: ") for ln in block)
    main(["drift", "--recording", str(copy), "--repo", str(repo)])
    _, err = capsys.readouterr()
    assert err.startswith(f"khronoscope: warning: {copy} is damaged: ")
    assert "cannot be read: " in err

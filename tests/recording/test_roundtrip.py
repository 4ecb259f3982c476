"""Everything recorded from a seeded scenario replays identically, whichever way it is opened."""

from __future__ import annotations

import pytest

from khronoscope.core.source import Bookmark, HistorySource, TypeState
from khronoscope.recording import format as fmt
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.temporal import TemporalMap
from khronoscope.temporal.chain import COLD, DELTA, KEYFRAME
from tests.recording.helpers import assert_same, crash, record
from tests.recording.scenario import NS, T0


@pytest.mark.parametrize("final_keyframe", [True, False])
def test_forward_load_equals_the_live_map(tmp_path, final_keyframe):
    rec = record(tmp_path / "r.khr", final_keyframe=final_keyframe)
    with RecordingReader(rec.path) as reader:
        assert reader.indexed  # cleanly closed: the trailing index is used, no scan
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    assert result.changes == len(rec.changes)
    assert result.lost_versions == 0 and result.problems == []
    assert_same(rec.live, tmap)


@pytest.mark.parametrize(
    ("keyframe_changes", "closed"),
    [(500, True), (500, False), (10**9, True), (10**9, False), (37, False)],
)
def test_newest_first_open_then_history_equals_the_live_map(tmp_path, keyframe_changes, closed):
    rec = record(tmp_path / "r.khr", keyframe_changes=keyframe_changes, close=closed)
    if not closed:
        crash(rec)
    seen: list[tuple[str, int, int]] = []
    src = RecordingSource(rec.path, progress=lambda *p: seen.append(p))
    end = rec.live.last_t
    assert src.end_t == end
    # the newest moment is right before any history is loaded
    assert src.tmap.state_at(end) == rec.live.state_at(end)
    assert seen and seen[0][0] == "newest"
    src.load_all()
    assert src.history_complete
    assert_same(rec.live, src.tmap)
    assert seen[-1][1:] == (len(rec.changes), len(rec.changes))
    assert src.lost_versions == 0 and src.problems() == []


def test_first_types_show_first_and_the_rest_follows(tmp_path):
    rec = record(tmp_path / "r.khr", count=2000, keyframe_changes=300)
    src = RecordingSource(rec.path, first_types=["pods"])
    end = rec.live.last_t
    assert src.end_t == end
    assert src.tmap.state_at(end, "pods") == rec.live.state_at(end, "pods")
    assert src.tmap.state_at(end, "configmaps") == {}  # not yet
    assert src.complete_from is None
    src.load_step(0.0)
    while src.complete_from is None:
        src.load_step(0.0)
    assert src.tmap.state_at(end) == rec.live.state_at(end)
    src.load_all()
    assert_same(rec.live, src.tmap)


def test_history_loads_in_slices_newest_window_first(tmp_path):
    rec = record(tmp_path / "r.khr", count=4000, keyframe_changes=400)
    src = RecordingSource(rec.path)
    froms = []
    while src.load_step(0.0):
        if src.complete_from is not None and src.complete_from not in froms:
            t = src.complete_from
            # from complete_from on, the map is already exact
            assert src.tmap.state_at(t) == rec.live.state_at(t)
            froms.append(t)
    known = froms
    assert len(set(known)) > 3
    assert known == sorted(known, reverse=True)
    assert_same(rec.live, src.tmap)


def test_extras_round_trip(tmp_path):
    rec = record(tmp_path / "r.khr")
    src = RecordingSource(rec.path)
    src.load_all()
    as_source: HistorySource = src  # checked statically; and every member is there
    for name in (
        "tmap",
        "info",
        "is_live",
        "resource_types",
        "type_status",
        "gaps",
        "bookmarks",
        "add_bookmark",
        "remove_bookmark",
    ):
        assert hasattr(as_source, name)
    assert src.is_live is False
    assert src.info.cluster == "test-cluster" and src.info.context == "kind-test"
    assert src.info.server_version == "v1.31.1"  # an INFO record updated the header's
    assert src.info.extra["secrets"] == fmt.SECRETS_REDACTED
    assert src.header["start"] == T0 and src.header["options"] == {"namespaces": "all"}
    marks = src.bookmarks()
    assert [(b.id, b.label) for b in marks] == [(1, "incident starts")]
    assert marks[0].key is not None
    gaps = src.gaps()
    assert [(g.type, g.reason) for g in gaps] == [("pods", "watch expired (410)")]
    status = src.type_status()["pods"]
    assert status.state == TypeState.RETRYING and status.error == "timeout"
    types = src.resource_types()
    assert types["pods"].kind == "Pod" and types["deployments.apps"].group == "apps"
    # types seen only in objects are described from the objects
    assert types["configmaps"].kind == "ConfigMap" and types["nodes"].namespaced is False
    pods_with_logs = {
        (c.key.namespace, c.key.name)
        for n, c in enumerate(rec.changes)
        if n % 97 == 0 and c.key.type == "pods" and c.obj is not None
    }
    ns, pod = sorted(pods_with_logs)[0]
    lines = src.logs.lines(ns, pod)
    assert lines and all(line.text.endswith(f"of {pod}") for line in lines)
    assert src.logs.lines(ns, pod, after=lines[-1].t) == []
    total_logs = sum(len(src.logs.lines(n, p)) for n, p in pods_with_logs)
    expected = sum(
        1
        for n, c in enumerate(rec.changes)
        if n % 97 == 0 and c.key.type == "pods" and c.obj is not None
    )
    assert total_logs == expected
    key = next(
        c.key
        for n, c in enumerate(rec.changes)
        if n % 97 == 0 and c.key.type == "pods" and c.obj is not None
    )
    assert src.metrics.series(key)[0].memory >= 1000


def test_secret_mode_is_in_the_header(tmp_path):
    from khronoscope.core.source import SourceInfo
    from khronoscope.recording.writer import RecordingWriter

    w = RecordingWriter.create(tmp_path / "k.khr", SourceInfo("c"), secrets=fmt.SECRETS_KEPT)
    w.close()
    with RecordingReader(tmp_path / "k.khr") as r:
        assert r.header["secrets"] == "kept"
    with pytest.raises(ValueError):
        RecordingWriter.create(tmp_path / "x.khr", SourceInfo("c"), secrets="maybe")


def test_bookmarks_made_during_replay_persist_in_a_sidecar(tmp_path):
    rec = record(tmp_path / "r.khr")
    before = rec.path.read_bytes()
    src = RecordingSource(rec.path)
    added = src.add_bookmark(Bookmark(T0 + 5 * NS, "rollback here"))
    assert added.id not in (0, 1, 2)
    src.remove_bookmark(1)
    renamed = src.add_bookmark(Bookmark(added.t, "rollback done", None, added.id))
    assert renamed.id == added.id
    src.close()
    assert rec.path.read_bytes() == before  # the recording itself is never written
    again = RecordingSource(rec.path)
    assert [(b.label, b.t) for b in again.bookmarks()] == [("rollback done", T0 + 5 * NS)]


def test_bookmark_sidecar_falls_back_to_the_data_dir(tmp_path, monkeypatch):
    from khronoscope.recording import bookmarks

    rec = record(tmp_path / "r.khr", count=200)
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    # the directory of the recording refuses writes: the next candidate is used
    blocked = tmp_path / "r.khr.bookmarks"
    blocked.mkdir()  # a directory where the sidecar file would go: opening it fails
    src = RecordingSource(rec.path)
    src.add_bookmark(Bookmark(T0, "here"))
    side = bookmarks.sidecar_candidates(rec.path)[1]
    assert side.is_relative_to(data) and side.exists()
    assert "here" in [b.label for b in RecordingSource(rec.path).bookmarks()]


def test_replayed_history_goes_cold_and_reads_the_same(tmp_path):
    rec = record(tmp_path / "r.khr", count=6000)
    src = RecordingSource(rec.path)
    src.load_all()
    assert_same(rec.live, src.tmap)
    # a recording that is not followed changes no more: every version is packed into blocks
    ops = [op for chain in src.tmap.chains() for op in chain.ops]
    assert ops.count(COLD) > len(ops) // 2
    assert ops.count(KEYFRAME) == ops.count(DELTA) == 0

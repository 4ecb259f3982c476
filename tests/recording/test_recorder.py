"""Recorder: what a live source stores, its gaps, status, types and bookmarks reach the file."""

from __future__ import annotations

from collections.abc import Callable

from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeState, TypeStatus
from khronoscope.core.types import Change, ChangeKind, ResourceType
from khronoscope.recording.recorder import Recorder, Retention, default_recording_path
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import POD_TYPE, assert_same
from tests.recording.scenario import NS, T0, changes


class FakeSession:
    """The registration surface of a cluster session, driven by the test (no cluster here)."""

    def __init__(self) -> None:
        self.info = SourceInfo("fake")
        self.tmap = TemporalMap()
        self.sinks: list[Callable[[Change], None]] = []
        self.gap_listeners: list[Callable[[Gap], None]] = []
        self.listeners: list[Callable[[], None]] = []
        self.types: dict[str, ResourceType] = {}
        self.status: dict[str, TypeStatus] = {}
        self.marks: list[Bookmark] = []

    def add_sink(self, sink: Callable[[Change], None]) -> None:
        self.sinks.append(sink)

    def add_gap_listener(self, listener: Callable[[Gap], None]) -> None:
        self.gap_listeners.append(listener)

    def add_listener(self, listener: Callable[[], None]) -> None:
        self.listeners.append(listener)

    def resource_types(self) -> dict[str, ResourceType]:
        return dict(self.types)

    def type_status(self) -> dict[str, TypeStatus]:
        return dict(self.status)

    def bookmarks(self) -> list[Bookmark]:
        return list(self.marks)

    def store(self, c: Change) -> None:
        ok = (
            self.tmap.delete(c.key, c.t)
            if c.kind == ChangeKind.DELETED
            else self.tmap.put(c.key, c.t, c.obj or {})
        )
        if ok:
            for sink in self.sinks:
                sink(c)

    def batch_done(self) -> None:
        for listener in self.listeners:
            listener()


def test_recorder_mirrors_a_live_session(tmp_path):
    session = FakeSession()
    session.types = {"pods": POD_TYPE}
    session.status = {"pods": TypeStatus(TypeState.SYNCING, T0)}
    path = tmp_path / "live.khr"
    opts = WriterOptions(block_size=4096, keyframe_changes=200, keyframe_ratio=0, autoflush=False)
    writer = RecordingWriter.create(path, session.info, writer_options=opts)
    clock = [0.0]
    stream = list(changes(41, 1200, objects=40))
    now = [T0]  # the session's clock: the scenario's times
    rec = Recorder(
        session,
        writer,
        Retention(max_age=3 * NS, every=5),
        clock=lambda: clock[0],
        now=lambda: now[0],
    )
    rec.attach()
    compacted = []
    for n, c in enumerate(stream):
        now[0] = c.t
        session.store(c)
        if n == 100:
            session.status = {"pods": TypeStatus(TypeState.LIVE, c.t, "", 10, 100)}
            session.marks = [Bookmark(c.t, "deploy v2", c.key, 1)]
        if n == 300:
            session.marks = [Bookmark(c.t, "deploy v2 (bad)", c.key, 1)]
            for g in session.gap_listeners:
                g(Gap(c.t - NS, c.t, "pods", "watch expired (410)"))
        if n % 50 == 0:
            session.batch_done()
            clock[0] += 1.0
            result = rec.tick()
            if result is not None and result.compacted:
                compacted.append(result)
    assert compacted
    assert "1 types watched" in rec.status_line() and "changes/s" in rec.status_line()
    assert rec.rate > 0
    writer.close()
    src = RecordingSource(path)
    src.load_all()
    start = compacted[-1].start_t
    assert start is not None
    last = session.tmap.last_t
    assert src.tmap.state_at(last) == session.tmap.state_at(last)
    refs = list(session.tmap.changes(start))
    assert [(r.t, r.key, r.kind) for r in src.tmap.changes(start)] == [
        (r.t, r.key, r.kind) for r in refs
    ]
    assert [(b.id, b.label) for b in src.bookmarks()] == [(1, "deploy v2 (bad)")]
    assert src.type_status()["pods"].state == TypeState.LIVE
    assert src.resource_types()["pods"] == POD_TYPE
    assert [g.reason for g in src.gaps()] == ["watch expired (410)"]


def test_recorder_without_retention_keeps_everything(tmp_path):
    session = FakeSession()
    writer = RecordingWriter.create(
        tmp_path / "a.khr", session.info, writer_options=WriterOptions(autoflush=False)
    )
    rec = Recorder(session, writer)
    rec.attach()
    for c in changes(42, 300, objects=20):
        session.store(c)
    assert rec.tick() is None
    writer.close()
    src = RecordingSource(tmp_path / "a.khr")
    src.load_all()
    assert_same(session.tmap, src.tmap)


def test_default_path_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    p = default_recording_path("kind-dev/admin@x", T0)
    assert p.parent == tmp_path / "khronoscope" / "recordings"
    assert p.name == "kind-dev_admin_x-20261118T110640Z.khr"

"""One bookmark store: the live session, a v0.1 recording and a segmented one add, rename and
remove bookmarks the same way, ids are never given twice, and sidecars written before still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khronoscope.cluster.session import ClusterSession
from khronoscope.core.bookmarks import BookmarkStore
from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import NS
from khronoscope.recording.segments.convert import convert
from khronoscope.recording.segments.source import open_segmented
from khronoscope.recording.source import RecordingSource
from tests.recording.helpers import record
from tests.recording.scenario import T0


def _v1(path: Path) -> RecordingSource:
    return RecordingSource(path / "r.khr")


def _v2(path: Path) -> object:
    return open_segmented(path / "r2.khr")


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """The same recording (bookmark 1 kept, bookmark 2 removed while recording) in both
    formats."""
    rec = record(tmp_path / "r.khr", count=600)
    convert(rec.path, tmp_path / "r2.khr")
    return tmp_path


@pytest.mark.parametrize("opener", [_v1, _v2], ids=["v0.1", "segmented"])
def test_a_sidecar_written_before_reads_the_same(recordings, opener):
    # lines as khronoscope wrote them before the one store: an addition, a rename, a removal
    lines = [
        {"op": "add", "id": 3, "t": T0 + 5 * NS, "label": "rollback", "key": None},
        {"op": "add", "id": 3, "t": T0 + 5 * NS, "label": "rollback done", "key": None},
        {"op": "del", "id": 1},
    ]
    name = "r.khr" if opener is _v1 else "r2.khr"
    (recordings / f"{name}.bookmarks").write_text("".join(json.dumps(e) + "\n" for e in lines))
    source = opener(recordings)
    assert [(b.id, b.label, b.t) for b in source.bookmarks()] == [(3, "rollback done", T0 + 5 * NS)]
    # the next id is past every one used, the deleted ones too
    assert source.add_bookmark(Bookmark(T0, "again")).id == 4


@pytest.mark.parametrize("opener", [_v1, _v2], ids=["v0.1", "segmented"])
def test_a_recordings_bookmarks_persist_across_opens(recordings, opener):
    source = opener(recordings)
    recorded = [(b.id, b.label) for b in source.bookmarks()]
    assert recorded == [(1, "incident starts")]
    added = source.add_bookmark(Bookmark(T0 + NS, "here"))
    assert added.id == 3  # 2 was a bookmark once (removed while recording): never given again
    source.rename_bookmark(1, "incident")
    source.remove_bookmark(added.id)
    again = opener(recordings)
    assert [(b.id, b.label) for b in again.bookmarks()] == [(1, "incident")]
    assert again.add_bookmark(Bookmark(T0, "next")).id == 4


def test_the_live_session_gives_ids_as_recordings_do():
    session = ClusterSession()
    a = session.add_bookmark(Bookmark(T0 + 2 * NS, "b"))
    b = session.add_bookmark(Bookmark(T0 + NS, "a"))
    assert (a.id, b.id) == (1, 2)
    assert [x.label for x in session.bookmarks()] == ["a", "b"]  # by time
    session.remove_bookmark(b.id)
    c = session.add_bookmark(Bookmark(T0, "c"))
    assert c.id == 3  # a deleted bookmark's id is not given again
    renamed = session.rename_bookmark(a.id, "renamed")
    assert renamed is not None and (renamed.id, renamed.t) == (a.id, a.t)
    assert [(x.id, x.label) for x in session.bookmarks()] == [(3, "c"), (1, "renamed")]
    assert session.rename_bookmark(99, "none") is None
    assert isinstance(session.bookmark_store, BookmarkStore)

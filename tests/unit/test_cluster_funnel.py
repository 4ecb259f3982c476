"""The session's funnel: every change stamped once, in order, redacted, stored, then fanned out."""

from __future__ import annotations

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.redact import is_redacted
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.source import Bookmark
from khronoscope.core.types import Change, ChangeKind, ObjectKey

CM = ObjectKey("configmaps", "default", "app")
SECRET = ObjectKey("secrets", "default", "db")


def _cm(rv: str, value: str) -> dict:
    return {
        "kind": "ConfigMap",
        "metadata": {"name": "app", "resourceVersion": rv},
        "data": {"v": value},
    }


def test_stamps_strictly_increase_and_equal_versions_are_not_stored():
    session = ClusterSession()
    seen: list[Change] = []
    session.add_sink(seen.append)
    stamps = [session.record(CM, ChangeKind.ADDED, _cm("1", "a"))]
    stamps += [session.record(CM, ChangeKind.MODIFIED, _cm(str(i), str(i))) for i in range(2, 200)]
    assert stamps == sorted(set(stamps)) and all(stamps)
    assert session.record(CM, ChangeKind.MODIFIED, _cm("199", "199")) == 0  # equal: nothing
    assert session.record(CM, ChangeKind.DELETED, None)
    assert session.record(CM, ChangeKind.DELETED, None) == 0  # already gone
    assert [c.t for c in seen] == [t for t, _ in session.tmap.history(CM)]
    assert session.change_count == len(seen) == 200


def test_secret_values_are_redacted_before_anything_sees_them():
    secret = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "aHVudGVyMg=="}}
    redacted, kept = ClusterSession(), ClusterSession(ClusterOptions(keep_secret_values=True))
    seen: list[Change] = []
    redacted.add_sink(seen.append)
    for session in (redacted, kept):
        session.record(SECRET, ChangeKind.ADDED, secret)
    stored = redacted.tmap.get(SECRET, 2**62)
    assert is_redacted(stored["data"]["password"]) and is_redacted(seen[0].obj["data"]["password"])
    assert kept.tmap.get(SECRET, 2**62)["data"]["password"] == "aHVudGVyMg=="


def test_a_failing_sink_does_not_stop_the_stream():
    session = ClusterSession()
    seen: list[Change] = []

    def broken(change: Change) -> None:
        raise RuntimeError("disk full")

    session.add_sink(broken)
    session.add_sink(seen.append)
    session.record(CM, ChangeKind.ADDED, _cm("1", "a"))
    assert len(seen) == 1 and CM in session.tmap


def test_bookmarks_in_memory():
    session = ClusterSession()
    b1 = session.add_bookmark(Bookmark(t=20, label="deploy"))
    b2 = session.add_bookmark(Bookmark(t=10, label="alert", key=CM))
    assert b1.id != b2.id
    assert [b.label for b in session.bookmarks()] == ["alert", "deploy"]
    session.remove_bookmark(b2.id)
    assert [b.label for b in session.bookmarks()] == ["deploy"]

"""Shared helpers: record a seeded scenario while building the live TemporalMap beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeState, TypeStatus
from khronoscope.core.types import Change, ResourceType
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.temporal import TemporalMap
from tests.recording.scenario import NS, T0, changes

POD_TYPE = ResourceType("", "v1", "pods", "Pod", True, ("po",), ("list", "watch", "get"))
DEPLOY_TYPE = ResourceType(
    "apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")
)


@dataclass
class Recorded:
    """A recording written from a scenario, and what the live session held."""

    path: Path
    changes: list[Change]
    live: TemporalMap
    writer: RecordingWriter


def apply(tmap: TemporalMap, change: Change) -> None:
    """What the session does with a change."""
    if change.obj is None:
        tmap.delete(change.key, change.t)
    else:
        tmap.put(change.key, change.t, change.obj)


def record(
    path: Path,
    seed: int = 1,
    count: int = 3000,
    objects: int = 120,
    keyframe_changes: int = 500,
    close: bool = True,
    final_keyframe: bool = True,
    extras: bool = True,
    block_size: int = 16 * 1024,
) -> Recorded:
    """Write `count` scenario changes (plus bookmarks, logs, metrics, gaps, status if `extras`)."""
    opts = WriterOptions(
        block_size=block_size,
        keyframe_changes=keyframe_changes,
        keyframe_ratio=0.0,
        autoflush=False,
    )
    w = RecordingWriter.create(
        path,
        SourceInfo("test-cluster", "kind-test", "v1.31.0"),
        start=T0,
        options={"namespaces": "all"},
        writer_options=opts,
    )
    live = TemporalMap()
    out = list(changes(seed, count, objects=objects))
    if extras:
        w.set_types(T0, [POD_TYPE, DEPLOY_TYPE])
        w.append_status(T0, "pods", TypeStatus(TypeState.LIVE, T0, "", 0, 0))
    for n, c in enumerate(out):
        apply(live, c)
        w.append_change(c)
        if extras and n % 97 == 0 and c.key.type == "pods" and c.obj is not None:
            w.append_log(c.t, c.key.namespace, c.key.name, "web", f"line {n} of {c.key.name}")
            w.append_metric(c.t, c.key, {"cpu": n / 1000, "memory": 1000 + n})
        if extras and n == count // 3:
            w.add_bookmark(Bookmark(c.t, "incident starts", c.key, 1), created=c.t)
            w.add_bookmark(Bookmark(c.t + NS, "to delete", None, 2), created=c.t)
            w.append_gap(Gap(c.t - NS, c.t, "pods", "watch expired (410)"))
        if extras and n == count // 2:
            w.remove_bookmark(2, c.t)
            w.append_status(c.t, "pods", TypeStatus(TypeState.RETRYING, c.t, "timeout", 10, n))
            w.set_info(c.t, {"server_version": "v1.31.1"})
    if close:
        # stopped right after the last change (the scenario's times are not the clock's)
        w.close(final_keyframe=final_keyframe, stop_t=out[-1].t if out else T0)
    return Recorded(path, out, live, w)


def crash(rec: Recorded) -> None:
    """Stop a writer the way kill -9 would after its last flush: no final keyframe, no index."""
    rec.writer._flush_buffer()
    rec.writer._out.close()
    rec.writer.closed = True


def assert_same(a: TemporalMap, b: TemporalMap) -> None:
    """Same versions of every object at every change time, same change log."""
    keys = {c.key for c in a.chains()}
    assert keys == {c.key for c in b.chains()}
    for k in keys:
        assert a.history(k) == b.history(k), k
        for t in a.version_times(k):
            assert a.get(k, t) == b.get(k, t), (k, t)
    assert list(a.changes()) == list(b.changes())
    assert a.change_count == b.change_count
    assert (a.first_t, a.last_t) == (b.first_t, b.last_t)


def live_until(changes_: list[Change], n: int) -> TemporalMap:
    """The live map after the first n changes."""
    m = TemporalMap()
    for c in changes_[:n]:
        apply(m, c)
    return m

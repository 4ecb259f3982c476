"""A recording session holds each live object's newest version once, and `record` (which trims
its map to the last minute) keeps nothing of objects that are gone: its memory stays flat
however many objects come and go. Memory is counted with tracemalloc (allocations, not time)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.commands.record import MEMORY_WINDOW_NS, trim_memory
from khronoscope.core.source import SourceInfo
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.recording.recorder import Recorder
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.recording.writer import RecordingWriter, WriterOptions

SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND


class Clock:
    """The session's clock, moved by the test."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> int:
        return self.t


@pytest.fixture(params=[True, False], ids=["segmented", "v0.1 file"])
def segmented(request) -> bool:
    """`record` writes segmented recordings; the v0.1 writer is held to the same bound."""
    return request.param


def recording_session(path: Path, segmented: bool) -> tuple[ClusterSession, Clock, Any]:
    """A session as `khronoscope record` makes it (no rows), writing to `path`."""
    clock = Clock()
    session = ClusterSession(ClusterOptions(), row_fn=None, clock=clock)
    info = SourceInfo(cluster="c", context="c")
    writer: Any
    if segmented:
        # sealed in the caller so that no sealing thread's work is half done at a mark
        opts = SegmentOptions(autoflush=False, background=False)
        writer = SegmentedWriter.create_local(path, info, writer_options=opts)
    else:
        writer = RecordingWriter.create(path, info, writer_options=WriterOptions(autoflush=False))
    Recorder(session, writer).attach()
    return session, clock, writer


def configmap(name: str, ns: str, payload: str) -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"p": payload},
    }


@contextmanager
def traced() -> Iterator[list[int]]:
    """Bytes allocated and still held by the block, in out[0]."""
    out = [0]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    try:
        yield out
        gc.collect()
        out[0] = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_newest_version_of_each_object_is_held_once(tmp_path, segmented):
    session, clock, writer = recording_session(tmp_path / "a.khr", segmented)
    n, size = 300, 20_000
    with traced() as held:
        for i in range(n):
            clock.t += SECOND
            # a different payload per object: its bytes cannot be shared by accident
            payload = (f"{i:06d}" * (size // 6))[:size]
            session.record(
                ObjectKey("configmaps", "a", f"c{i}"),
                ChangeKind.ADDED,
                configmap(f"c{i}", "a", payload),
            )
    # the map's newest version and the writer's delta base are the same bytes: ~1x, not 2x
    assert held[0] < 1.5 * n * size, held[0] / (n * size)
    writer.close()
    # and the recording reads back what was stored
    src = open_any(tmp_path / "a.khr")
    assert src.tmap.get(ObjectKey("configmaps", "a", "c7"), 2**62)["data"]["p"].startswith("000007")


def churn(session: ClusterSession, clock: Clock, rounds: range) -> None:
    """Each round, 200 objects in a namespace of their own (as a CI run makes) come and go;
    the recorder's minute-long memory window is applied every 30 s, as `record` does."""
    for r in rounds:
        ns = f"ci-{r}"
        keys = [ObjectKey("configmaps", ns, f"job-{i}") for i in range(200)]
        for key in keys:
            clock.t += SECOND // 100
            session.record(key, ChangeKind.ADDED, configmap(key.name, ns, "x" * 200))
        for key in keys:
            clock.t += SECOND // 100
            session.record(key, ChangeKind.DELETED, None)
        clock.t += 30 * SECOND
        trim_memory(session)


def test_record_keeps_nothing_of_objects_that_are_gone(tmp_path):
    # what `record` writes (the v0.1 writer, now used by import only, keeps its last block's
    # key ledger: bounded, but as big as this test's margin)
    session, clock, writer = recording_session(tmp_path / "b.khr", segmented=True)
    session.record(ObjectKey("nodes", "", "n1"), ChangeKind.ADDED, {"metadata": {"name": "n1"}})
    churn(session, clock, range(20))  # warm-up: every structure at its working size
    gc.collect()
    tracemalloc.start()
    try:
        churn(session, clock, range(20, 40))
        writer.flush()  # the writer's buffer holds up to a block: empty at both marks
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        churn(session, clock, range(40, 140))  # 20,000 more objects made and deleted
        writer.flush()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - first
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown  # not even 4 bytes per object that came and went
    # the node, and the last round's objects: deleted less than a minute ago
    assert session.tmap.memory_stats().objects == 1 + 200
    assert session.tmap.namespaces("configmaps") == ["ci-139"]
    assert (
        session.tmap.first_t is not None and session.tmap.first_t >= clock.t - 2 * MEMORY_WINDOW_NS
    )
    writer.close()
    # the file has all of it
    src = open_any(tmp_path / "b.khr")
    assert len(src.tmap.history(ObjectKey("configmaps", "ci-77", "job-3"))) == 2
    assert src.tmap.namespaces("configmaps") == [f"ci-{r}" for r in sorted(range(140), key=str)]

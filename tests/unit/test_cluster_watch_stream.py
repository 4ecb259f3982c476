"""Reading a watch stream: events cut anywhere across chunks, bookmarks, errors, broken lines."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
import pytest

from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.cluster.session import ClusterSession
from khronoscope.cluster.watcher import Watcher
from khronoscope.core.types import ChangeKind, ObjectKey, ResourceType

CM = ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), ("list", "watch"))


class Body:
    """A response body handing out the given chunks, then end of stream."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    async def readany(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def _event(kind: str, name: str, rv: int, value: str = "x") -> bytes:
    obj = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)},
        "data": {"v": value},
    }
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


def _watcher() -> tuple[ClusterSession, Watcher]:
    session = ClusterSession()
    return session, Watcher(None, CM, session)  # type: ignore[arg-type]


async def test_events_split_anywhere_across_chunks_are_all_applied():
    session, w = _watcher()
    stream = b"".join(
        [
            _event("ADDED", "a", 1),
            _event("ADDED", "b", 2),
            _event("MODIFIED", "a", 3, "y"),
            orjson.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "7"}}})
            + b"\n",
            _event("DELETED", "b", 8),
            _event("MODIFIED", "a", 3, "y"),  # the same version again (a replay): no change
        ]
    )
    for size in (1, 7, 64, len(stream)):
        session, w = _watcher()
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert await w._consume(Body(chunks), 10, None) == 5
        a, b = ObjectKey("configmaps", "ns", "a"), ObjectKey("configmaps", "ns", "b")
        assert [k for _, k in session.tmap.history(a)] == [ChangeKind.ADDED, ChangeKind.MODIFIED]
        assert [k for _, k in session.tmap.history(b)] == [ChangeKind.ADDED, ChangeKind.DELETED]
        assert session.tmap.get(a, 2**62)["data"] == {"v": "y"}
        assert w.rv == "3" and w.known == {a: "3"} and w.changes == 4


async def test_a_bookmark_moves_the_version_without_a_change():
    session, w = _watcher()
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}}
    await w._consume(Body([orjson.dumps(bookmark) + b"\n"]), 10, None)
    assert w.rv == "42" and session.change_count == 0


async def test_an_error_event_is_raised_with_its_status():
    _, w = _watcher()
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    error = orjson.dumps({"type": "ERROR", "object": status}) + b"\n"
    with pytest.raises(ApiError) as info:
        await w._consume(Body([_event("ADDED", "a", 1) + error]), 10, None)
    assert info.value.gone and "too old" in str(info.value)
    assert w.rv == "1"  # what came before the error is kept


@pytest.mark.parametrize("bad", [b"{not json\n", b'{"type": "ADDED"}\n', b"[1, 2]\n"])
async def test_a_broken_line_resumes_from_the_last_good_version(bad):
    session, w = _watcher()
    with pytest.raises(TransportError, match="malformed watch event"):
        await w._consume(Body([_event("ADDED", "a", 1) + bad + _event("ADDED", "b", 2)]), 10, None)
    assert w.rv == "1" and ObjectKey("configmaps", "ns", "a") in session.tmap


async def test_a_stream_cut_in_the_middle_of_an_event_is_an_error():
    _, w = _watcher()
    line = _event("ADDED", "a", 1)
    with pytest.raises(TransportError, match="middle of an event"):
        await w._consume(Body([line[:20]]), 10, None)


class SilentAfter(Body):
    """Hands out the given chunks, then stays silent (an open, quiet watch)."""

    async def readany(self) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        await asyncio.Event().wait()
        return b""


async def test_a_bookmark_proves_a_resumed_watch_good():
    # after an outage the gap closes once the resumed watch proves good: a bookmark does (the
    # server sends none on a watch whose resourceVersion it refused), even before any change
    session, w = _watcher()
    w.tuning = dataclasses.replace(w.tuning, resume_confirm=30.0)
    w.ever_synced = True
    w._lose(session.now(), "cannot connect")
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}}
    task = asyncio.create_task(
        w._consume(SilentAfter([orjson.dumps(bookmark) + b"\n"]), 60, session.now())
    )
    try:
        for _ in range(100):
            if session.gaps() and "ongoing" not in session.gaps()[0].reason:
                break
            await asyncio.sleep(0.01)
        assert [g.reason for g in session.gaps()] == [
            "cannot connect; resumed from the last resourceVersion"
        ]
    finally:
        task.cancel()

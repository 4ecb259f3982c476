"""A live session feeds a recording through its sinks: what is reopened is what was watched,
gaps included, Secret values redacted."""

from __future__ import annotations

import base64

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.redact import is_redacted
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.source import TypeState
from khronoscope.core.types import ObjectKey
from khronoscope.recording.recorder import Recorder
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from tests.cluster.sessionkit import FAST, assert_matches_server, configmap, eventually


async def test_a_recorded_session_reopens_as_it_was_watched(sim, tmp_path):
    options = ClusterOptions(
        kubeconfig=str(sim.kubeconfig_path), include=("configmaps", "secrets", "pods")
    )
    session = ClusterSession(options, tuning=FAST)
    await session.connect()  # identity and types known, nothing watched yet
    writer = RecordingWriter.create(
        tmp_path / "live.khr", session.info, writer_options=WriterOptions(autoflush=False)
    )
    recorder = Recorder(session, writer)
    recorder.attach()
    session.run()
    try:
        assert await session.wait_synced(30)
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "demo"},
            "data": {"password": base64.b64encode(b"swordfish-4242").decode()},
        }
        sim.store.create("secrets", secret)
        sim.store.create("configmaps", configmap("a", v="1"))
        await sim.stop()
        sim.store.patch("configmaps", "demo", "a", {"data": {"v": "2"}})
        sim.faults.compact()  # a relist after this leaves a gap
        await sim.start()
        await assert_matches_server(session, sim)
        await eventually(
            lambda: all(s.state is TypeState.LIVE for s in session.type_status().values()),
            "every type is live again",
        )
        await eventually(lambda: any(g.type == "configmaps" for g in session._gaps), "gap")
    finally:
        await session.close()
        recorder.sync()
        writer.close()

    replay = RecordingSource(tmp_path / "live.khr")
    replay.load_all()
    t = 2**62
    assert replay.tmap.state_at(t) == session.tmap.state_at(t)
    for key in session.tmap.keys_at(t):
        assert replay.tmap.history(key) == session.tmap.history(key)
    assert {g.type for g in replay.gaps()} >= {"configmaps"}
    assert set(replay.resource_types()) == {"configmaps", "secrets", "pods"}
    stored_secret = replay.tmap.get(ObjectKey("secrets", "demo", "db"), t)
    assert is_redacted(stored_secret["data"]["password"])

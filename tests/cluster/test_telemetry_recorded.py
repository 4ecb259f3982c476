"""Log lines and metric samples captured from the sim are recorded, and a replay of the
recording holds exactly the same lines and samples (in the same stores the live views read)."""

from __future__ import annotations

import dataclasses
import time

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.types import ObjectKey
from khronoscope.recording.recorder import Recorder
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.sim.metrics import Usage
from tests.cluster.sessionkit import FAST, eventually
from tests.cluster.test_logs_capture import FAST_LOGS

POD = ObjectKey("pods", "demo", "hello")
NODE = ObjectKey("nodes", "", "node-1")
S = 1_000_000_000


async def test_logs_and_metrics_round_trip_through_a_recording(sim, tmp_path):
    options = ClusterOptions(
        kubeconfig=str(sim.kubeconfig_path),
        include=("pods", "nodes"),
        logs=("demo",),
        metrics_interval=0.05,
    )
    session = ClusterSession(
        options, tuning=dataclasses.replace(FAST), log_tuning=dataclasses.replace(FAST_LOGS)
    )
    await session.connect()
    # small blocks so the replay loads history window by window (newest first)
    writer = RecordingWriter.create(
        tmp_path / "t.khr",
        session.info,
        writer_options=WriterOptions(autoflush=False, block_size=2048, keyframe_changes=4),
    )
    recorder = Recorder(session, writer)
    recorder.attach()
    session.run()
    try:
        assert await session.wait_synced(30)
        base = time.time_ns()
        first = (base // S + 1) * S  # metrics-server's timestamps have whole seconds
        for i in range(300):
            sim.logs.append("demo", "hello", "hello", f"req {i} ✓ path=/orders/{i}", base + i)
            if i % 50 == 0:
                sim.metrics.set_pod(
                    "demo",
                    "hello",
                    (Usage("hello", 1_000_000 * (i + 1), 2**20 * (i + 1)),),
                    first + i * S,
                )
                await eventually(
                    lambda i=i: (
                        (s := session.metrics.at(POD, first + i * S)) is not None
                        and s.t == first + i * S
                    ),
                    f"sample {i}",
                )
        await eventually(lambda: session.logs.count("demo", "hello") >= 301, "lines captured")
        # what the pane shows between the lines (a restart, a loss) is recorded too
        session.logs.note("demo", "hello", "hello", base + 200, "container restarted (restart 1)")
        await eventually(lambda: session.metrics.has_type("nodes"), "node samples")
    finally:
        await session.close()
        recorder.sync()
        writer.close()

    replay = RecordingSource(tmp_path / "t.khr")
    replay.load_all()
    live_lines = session.logs.lines("demo", "hello")
    assert len(live_lines) == 301  # the scenario's first line and ours
    assert replay.logs.lines("demo", "hello") == live_lines
    for t in (base - 1, base + 150, base + 299):
        assert replay.logs.lines("demo", "hello", until=t) == session.logs.lines(
            "demo", "hello", until=t
        )
    assert replay.logs.notes("demo", "hello") == session.logs.notes("demo", "hello")
    assert [n.text for n in replay.logs.notes("demo", "hello")] == [
        "container restarted (restart 1)"
    ]
    for key in (POD, NODE):
        assert replay.metrics.series(key) == session.metrics.series(key)
    assert replay.metrics.series(POD, container="hello") == session.metrics.series(
        POD, container="hello"
    )
    assert len(replay.metrics.series(POD)) >= 6

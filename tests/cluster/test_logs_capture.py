"""Log capture and metrics polling against the simulated cluster (real HTTPS, sim `quiet`).

The sim's pod `demo/hello` has one container `hello`; tests write its log lines themselves (at
chosen server times) and compare what the session stored with what the server holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from khronoscope.cluster.logs import ENDED, FOLLOWING, LogTuning, parse_log_time
from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.types import ObjectKey
from khronoscope.sim import SimCluster
from khronoscope.sim.logs import rfc3339_nano
from khronoscope.sim.metrics import Usage
from khronoscope.sim.store import WriteContext
from khronoscope.telemetry.metricstore import MetricsState, Sample

from .sessionkit import FAST, eventually

POD = ObjectKey("pods", "demo", "hello")
FAST_LOGS = LogTuning(backoff_base=0.02, backoff_max=0.2)
MS = 1_000_000


async def session_for(sim: SimCluster, **options) -> ClusterSession:
    session = ClusterSession(
        ClusterOptions(kubeconfig=str(sim.kubeconfig_path), include=("pods",), **options),
        tuning=dataclasses.replace(FAST),
        log_tuning=dataclasses.replace(FAST_LOGS),
    )
    await session.start()
    assert await session.wait_synced(30)
    return session


def server_lines(sim: SimCluster, previous: bool = False) -> list[tuple[int, str]]:
    log = sim.logs.get("demo", "hello", "hello")
    assert log is not None
    lines = (log.previous or []) + log.lines if previous else log.lines
    return list(lines)


def stored(session: ClusterSession, until: int | None = None) -> list[tuple[int, str]]:
    return [(ln.t, ln.text) for ln in session.logs.lines("demo", "hello", until=until)]


def write(sim: SimCluster, t: int, text: str) -> None:
    sim.logs.append("demo", "hello", "hello", text, t)


def test_kubelet_timestamps_parse():
    t = 1_773_478_805_123_456_789
    assert parse_log_time(rfc3339_nano(t)) == t
    assert parse_log_time("2026-03-14T09:00:05Z") == parse_log_time("2026-03-14T09:00:05.000Z")
    assert parse_log_time("2026-03-14T09:00:05.5Z") - parse_log_time("2026-03-14T09:00:05Z") == (
        500 * MS
    )
    assert parse_log_time("2026-03-14T11:00:05+02:00") == parse_log_time("2026-03-14T09:00:05Z")
    assert parse_log_time("garbage line") is None


async def test_lines_at_t_are_exactly_those_with_server_time_up_to_t(sim):
    session = await session_for(sim)
    try:
        base = time.time_ns()
        for i in range(200):
            # bursts share a timestamp, as a busy container's lines do
            write(sim, base + (i // 3) * MS, f"request {i}")
        session.mark_logs(POD)
        want = server_lines(sim)
        await eventually(lambda: len(stored(session)) == len(want), "all lines stored")
        assert stored(session) == want
        for t in [base - 1, base, base + 10 * MS, base + 10 * MS + 1, want[-1][0], 2**62]:
            assert stored(session, until=t) == [x for x in want if x[0] <= t]
        status = session.log_status(POD)["hello"]
        assert status.state == FOLLOWING
        # live lines keep coming in
        write(sim, base + 500 * MS, "late line")
        await eventually(lambda: stored(session)[-1][1] == "late line", "followed")
    finally:
        await session.close()


async def test_dropped_log_stream_loses_and_duplicates_nothing(sim):
    session = await session_for(sim)
    try:
        session.mark_logs(POD)
        base = time.time_ns()
        await eventually(lambda: session.log_status(POD)["hello"].state == FOLLOWING, "follows")
        n = 0
        for round_ in range(4):
            t = base + round_ * 100 * MS
            # the last two lines share one timestamp: the server resends both at a reconnect
            for _ in range(5):
                write(sim, t, f"line {n}")
                n += 1
            write(sim, t + MS, "same time, same text")
            write(sim, t + MS, "same time, other text")
            want = server_lines(sim)
            await eventually(lambda w=want: stored(session) == w, f"round {round_} received")
            connects = session._capture.followers[(POD, "hello")].connects
            # cut the stream, keep it down for a few attempts, write meanwhile (also a line
            # identical to one already stored, at the very same time)
            sim.faults.fail_next(3, status=503, match=r"/log$")
            assert sim.faults.drop_watches(match=r"/log$") == 1
            write(sim, t + MS, "same time, same text")
            write(sim, t + 2 * MS, f"during outage {round_}")
            want = server_lines(sim)
            follower = session._capture.followers[(POD, "hello")]
            await eventually(lambda c=connects, f=follower: f.connects > c, "reconnected")
            await eventually(lambda w=want: len(stored(session)) >= len(w), "caught up")
            assert stored(session) == want
    finally:
        await session.close()


async def test_restarted_container_followed_and_crash_lines_kept(sim):
    session = await session_for(sim)
    ctx = WriteContext(manager="kubelet", subresource="*")
    try:
        sim.store.patch(
            "pods",
            "demo",
            "hello",
            {
                "status": {
                    "containerStatuses": [
                        {
                            "name": "hello",
                            "containerID": "containerd://a1",
                            "restartCount": 0,
                            "state": {"running": {}},
                        }
                    ]
                }
            },
            "merge",
            ctx,
        )
        base = time.time_ns()
        write(sim, base, "starting")
        initial = server_lines(sim)  # the scenario's own first line, then ours
        session.mark_logs(POD)
        await eventually(lambda: stored(session) == initial, "first lines")
        follower = session._capture.followers[(POD, "hello")]
        connects = follower.connects
        # the stream drops; meanwhile the container logs its crash and restarts
        sim.faults.fail_next(2, status=503, match=r"/log$")
        sim.faults.drop_watches(match=r"/log$")
        write(sim, base + 1 * MS, "panic: nil map")
        write(sim, base + 2 * MS, "goroutine 1 [running]")
        sim.logs.restart("demo", "hello", "hello")
        sim.store.patch(
            "pods",
            "demo",
            "hello",
            {
                "status": {
                    "containerStatuses": [
                        {
                            "name": "hello",
                            "ready": True,
                            "restartCount": 1,
                            "containerID": "containerd://b2",
                            "state": {"running": {"startedAt": rfc3339_nano(base + 3 * MS)}},
                            "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
                        }
                    ]
                }
            },
            "merge",
            ctx,
        )
        write(sim, base + 4 * MS, "starting again")
        want = [
            *initial,
            (base + 1 * MS, "panic: nil map"),
            (base + 2 * MS, "goroutine 1 [running]"),
            (base + 4 * MS, "starting again"),
        ]
        await eventually(lambda: follower.connects > connects, "reconnected")
        await eventually(lambda: len(stored(session)) >= len(want), "lines of both instances")
        assert stored(session) == want
        assert follower.status.restarts == 1
        notes = session.logs.notes("demo", "hello")
        assert [n.text for n in notes] == ["container restarted (restart 1, containerd://b2)"]
        assert notes[0].t == base + 3 * MS  # when the new instance started
        # the new instance keeps being followed
        write(sim, base + 5 * MS, "ready")
        await eventually(lambda: stored(session)[-1] == (base + 5 * MS, "ready"), "followed")
    finally:
        await session.close()


async def test_previous_instance_lines_fetched_when_marked_after_a_crash(sim):
    base = time.time_ns()
    write(sim, base, "old instance says goodbye")
    initial = server_lines(sim)
    sim.logs.restart("demo", "hello", "hello")
    sim.store.patch(
        "pods",
        "demo",
        "hello",
        {
            "status": {
                "containerStatuses": [
                    {"name": "hello", "restartCount": 1, "state": {"running": {}}}
                ]
            }
        },
        "merge",
        WriteContext(manager="kubelet", subresource="*"),
    )
    write(sim, base + MS, "new instance")
    # `--logs demo`: the pod is marked as it is listed, without anyone asking
    session = await session_for(sim, logs=("demo",))
    try:
        await eventually(lambda: len(stored(session)) == len(initial) + 1, "both instances")
        assert stored(session) == [*initial, (base + MS, "new instance")]
        assert session.log_marks.is_marked(POD)
    finally:
        await session.close()


async def test_deleted_pod_ends_its_capture_and_keeps_its_lines(sim):
    session = await session_for(sim)
    try:
        write(sim, time.time_ns(), "bye")
        session.mark_logs(POD)
        await eventually(lambda: stored(session)[-1:] == server_lines(sim)[-1:], "line")
        sim.store.delete("pods", "demo", "hello", WriteContext(manager="kubectl"))
        follower = session._capture.followers[(POD, "hello")]
        await eventually(lambda: follower.status.state == ENDED, "ended")
        assert [x[1] for x in stored(session)][-1] == "bye"
    finally:
        await session.close()


async def test_metrics_polled_and_unchanged_timestamps_skipped(sim):
    sample_t = (time.time_ns() // 1_000_000_000) * 1_000_000_000
    sim.metrics.set_pod("demo", "hello", (Usage("hello", 120_000_000, 64 * 2**20),), sample_t)
    session = await session_for(sim, metrics_interval=0.05)
    try:
        store = session.metrics
        await eventually(lambda: store.has_type("pods") and store.has_type("nodes"), "samples")
        assert store.state is MetricsState.AVAILABLE
        assert store.at(POD, sample_t) == Sample(sample_t, 120_000_000, 64 * 2**20)
        assert store.at(POD, sample_t, container="hello") is not None
        poller = session.metrics_poller
        assert poller is not None
        polls = poller.polls
        await eventually(lambda: poller.polls >= polls + 3, "polled again")
        # metrics-server still reports the same timestamp: stored once
        assert [s.t for s in store.series(POD)] == [sample_t]
    finally:
        await session.close()


async def test_absent_metrics_server_is_a_state_not_an_error_loop():
    cluster = SimCluster("quiet", autorun=False, metrics=False)
    await cluster.start()
    try:
        session = await session_for(cluster, metrics_interval=0.02)
        try:
            store = session.metrics
            await eventually(lambda: store.state is MetricsState.ABSENT, "absent")
            assert "metrics-server" in store.state_reason
            version = store.version
            await asyncio.sleep(0.3)
            # re-checked quietly every few minutes, not every interval
            assert store.version == version and not store.has_type("pods")
        finally:
            await session.close()
    finally:
        await cluster.close()


async def test_init_containers_are_captured_and_end_when_they_complete(sim):
    # a failing migration or config fetch in an init container is often the incident: its
    # lines are captured with the pod's, and its follower ends once it exited 0
    key = ObjectKey("pods", "demo", "migrator")
    session = await session_for(sim)
    try:
        sim.store.create(
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "migrator", "namespace": "demo"},
                "spec": {
                    "initContainers": [{"name": "migrate", "image": "migrate:1"}],
                    "containers": [{"name": "app", "image": "app:1"}],
                },
                "status": {
                    "phase": "Running",
                    "initContainerStatuses": [
                        {
                            "name": "migrate",
                            "restartCount": 0,
                            "containerID": "containerd://m1",
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                        }
                    ],
                    "containerStatuses": [
                        {
                            "name": "app",
                            "restartCount": 0,
                            "containerID": "containerd://a1",
                            "state": {"running": {}},
                        }
                    ],
                },
            },
        )
        base = time.time_ns()
        sim.logs.append("demo", "migrator", "migrate", "applying 0042_add_orders", base)
        sim.logs.append("demo", "migrator", "migrate", "done", base + MS)
        sim.logs.append("demo", "migrator", "app", "listening :8080", base + 2 * MS)
        await eventually(lambda: session.tmap.get(key, 2**62) is not None, "pod seen")
        session.mark_logs(key)

        def lines(container: str) -> list[str]:
            return [ln.text for ln in session.logs.lines("demo", "migrator", container)]

        await eventually(lambda: lines("migrate") == ["applying 0042_add_orders", "done"], "init")
        await eventually(lambda: lines("app") == ["listening :8080"], "app")
        await eventually(
            lambda: session.log_status(key)["migrate"].state == ENDED, "init follower ended"
        )
        assert session.log_status(key)["app"].state == FOLLOWING
    finally:
        await session.close()


async def test_logs_fetched_on_demand_are_the_servers_and_not_stored(sim):
    base = time.time_ns()
    write(sim, base, "before the restart")
    sim.logs.restart("demo", "hello", "hello")
    write(sim, base + MS, "after the restart")
    session = await session_for(sim)
    try:
        current = await session.fetch_logs(POD, "hello", previous=False, tail=1000)
        previous = await session.fetch_logs(POD, "hello", previous=True, tail=1000)
        assert current.error == "" and list(current.lines) == server_lines(sim)
        assert (base, "before the restart") in previous.lines
        assert (base + MS, "after the restart") not in previous.lines
        assert stored(session) == []  # fetched now, not captured at its time
        missing = await session.fetch_logs(POD, "nosuch", previous=False, tail=10)
        assert missing.lines == () and missing.error
    finally:
        await session.close()

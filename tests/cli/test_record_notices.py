"""What `khronoscope record` could not watch is said: a stretch in which it was stopped (SIGSTOP,
as a laptop's sleep does to it) is a gap of every type in the file, so the changes stamped at
the resume are not taken for changes made then; an account that may read only some namespaces
is told that `-n` may help."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.sim import SimClusterThread
from tests.cli.procs import Proc, configmap, synced, term

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def sim() -> Iterator[SimClusterThread]:
    """A quiet simulated cluster on a manual clock."""
    with SimClusterThread(scenario="quiet", autorun=False, bookmark_interval=0.5) as s:
        yield s


def test_a_recorder_stopped_for_seconds_records_a_gap_for_the_stall(sim, tmp_path):
    path = tmp_path / "stalled.khr"
    p = Proc(
        "record", "-o", str(path), "--kubeconfig", str(sim.kubeconfig_path),
        "--include", "configmaps", "--status-every", "0.3",
    )  # fmt: skip
    try:
        p.wait_line(synced)
        stopped = time.time_ns()
        p.p.send_signal(signal.SIGSTOP)
        time.sleep(2.0)
        sim.call(sim.sim.store.create, "configmaps", configmap("made-while-stopped"))
        time.sleep(6.0)
        resumed = time.time_ns()
        p.p.send_signal(signal.SIGCONT)
        p.wait_line(lambda ln: synced(ln) and "1 changes" not in ln and "changes/s" in ln)
        time.sleep(1.5)
        code, _out, err = term(p)
    finally:
        p.p.send_signal(signal.SIGCONT)
        p.kill()
    assert code == 0, err
    src = open_any(path)  # what `record` wrote, as `khronoscope open` reads it
    stalls = [g for g in src.gaps() if g.type == "*"]
    assert len(stalls) == 1, src.gaps()
    (gap,) = stalls
    assert "did not run for" in gap.reason
    assert gap.start <= stopped + 2 * 10**9 and gap.end >= resumed - 10**9
    # the change made meanwhile is stamped at the resume: inside the gap, never before it
    (stamp, _), *_ = src.tmap.history(ObjectKey("configmaps", "default", "made-while-stopped"))
    assert gap.start <= stamp <= gap.end


def test_an_account_limited_to_a_namespace_is_told_once_that_n_may_help(sim, tmp_path):
    kubeconfig = sim.add_user("team", namespaces={"default"}, context_namespace="default")
    path = tmp_path / "limited.khr"
    p = Proc("record", "-o", str(path), "--kubeconfig", str(kubeconfig), "--status-every", "0.3")
    try:
        hint = p.wait_line(lambda ln: "may help" in ln)
        p.wait_line(lambda ln: "forbidden" in ln and "types watched" in ln)
        time.sleep(1.0)
        code, _out, err = term(p)
    finally:
        p.kill()
    assert code == 0, err
    assert hint.startswith("khronoscope: hint: ") and "-n default may help" in hint
    assert err.count("may help") == 1

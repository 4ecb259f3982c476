"""`khronoscope record -o FILE` as a user runs it against the simulated cluster."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronoscope import cli
from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.sim import SimClusterThread
from tests.cli.procs import Proc, configmap, server_keys, synced, term
from tests.tmpfs import small_tmpfs

pytestmark = pytest.mark.timeout(90)
FUTURE = 2**62
TYPES = "pods,deployments,configmaps,namespaces,nodes,secrets"


@pytest.fixture
def sim() -> Iterator[SimClusterThread]:
    """The incident scenario 60 s in, on a manual clock (changes happen when a test says so)."""
    with SimClusterThread(scenario="default", autorun=False, bookmark_interval=0.5) as s:
        s.advance(60)
        yield s


def record(sim: SimClusterThread, path: Path, *more: str) -> Proc:
    return Proc(
        "record", "-o", str(path), "--kubeconfig", str(sim.kubeconfig_path),
        "--include", TYPES, "--status-every", "0.3", *more,
    )  # fmt: skip


def opened(path: Path):
    """The recording as `khronoscope open` reads it (whatever its format)."""
    return open_any(path)


def test_records_until_sigterm_and_the_file_holds_the_scenario(sim, tmp_path):
    path = tmp_path / "r.khr"
    p = record(sim, path)
    try:
        first = p.wait_line(lambda ln: ln.startswith("recording context"))
        assert "khronoscope-sim" in first and str(path) in first
        p.wait_line(synced)
        sim.call(sim.sim.store.create, "configmaps", configmap("during", v="1"))
        sim.advance(40)  # the bad rollout: new pods, a crash loop
        # the status line counts what reaches the file (types watched, rate, size)
        line = p.wait_line(lambda ln: synced(ln) and "changes/s" in ln and "KiB" in ln)
        assert "6 types watched" in line
        time.sleep(1.5)
        code, _out, err = term(p)
    finally:
        p.kill()
    assert code == 0, err
    assert "Traceback" not in err
    assert f"{path} holds" in err.splitlines()[-1] and "khronoscope open" in err.splitlines()[-1]
    src = opened(path)
    assert src.problems() == []
    for type_name in ("pods", "deployments.apps", "configmaps", "namespaces", "nodes"):
        recorded = set(src.tmap.state_at(FUTURE, type_name))
        assert recorded == server_keys(sim.sim, type_name), type_name
    assert src.tmap.get(ObjectKey("configmaps", "default", "during"), FUTURE) is not None
    assert set(src.resource_types()) >= {"pods", "deployments.apps", "configmaps"}
    assert src.info.context == "khronoscope-sim"
    assert src.header["secrets"] == "redacted"
    assert src.header["options"]["include"] == TYPES.split(",")


def test_kill_9_leaves_a_readable_file(sim, tmp_path):
    path = tmp_path / "crash.khr"
    p = record(sim, path)
    try:
        p.wait_line(synced)
        sim.call(sim.sim.store.create, "configmaps", configmap("before-crash", v="1"))
        time.sleep(2.5)  # more than the writer's flush interval (1 s)
        p.p.send_signal(signal.SIGKILL)
        p.p.wait(10)
    finally:
        p.kill()
    src = opened(path)
    assert src.tmap.get(ObjectKey("configmaps", "default", "before-crash"), FUTURE) is not None
    assert set(src.tmap.state_at(FUTURE, "pods")) == server_keys(sim.sim, "pods")


def test_retention_drops_the_oldest_never_the_newest(tmp_path):
    path = tmp_path / "kept.khr"
    with SimClusterThread(scenario="default", speed=30, bookmark_interval=0.5) as s:
        p = Proc(
            "record", "-o", str(path), "--kubeconfig", str(s.kubeconfig_path),
            "--include", "pods,events", "--max-age", "2s", "--status-every", "0.3",
        )  # fmt: skip
        try:
            p.wait_line(synced)
            dropped = p.wait_line(lambda ln: "retention: dropped" in ln, timeout=40)
            assert "old changes" in dropped
            code, _, err = term(p)
        finally:
            p.kill()
        pods_now = server_keys(s.sim, "pods")
    assert code == 0, err
    src = opened(path)
    assert src.header["options"]["max_age_ns"] == 2 * 10**9
    # whole segments went: the recording starts later than it began, and no segment was
    # rewritten to get there
    assert src.start_t is not None and src.start_t > src.header["start"]
    assert min(s.seq for s in src.segments) > 0
    # the newest moment is whole: every pod the server had at the end (the sim kept running a
    # moment after the stop, so compare with a small allowance for churn after it)
    recorded = set(src.tmap.state_at(FUTURE, "pods"))
    assert len(recorded & pods_now) >= len(pods_now) - 3


@pytest.mark.skipif(not shutil.which("mount"), reason="needs mount for a small tmpfs")
def test_full_disk_stops_with_one_line_and_keeps_the_file(sim, tmp_path):
    with small_tmpfs(tmp_path, "96k") as mnt:
        path = mnt / "full.khr"
        p = record(sim, path)
        try:
            p.wait_line(synced)
            for i in range(40):
                big = configmap(f"filler-{i}", blob=os.urandom(3000).hex())  # incompressible
                sim.call(sim.sim.store.create, "configmaps", big)
            code, _out, err = p.stop(signal.SIGCONT, timeout=60)  # it stops by itself
        finally:
            p.kill()
        assert code == 1, err
        last = err.splitlines()[-1]
        assert last.startswith("khronoscope: disk full writing") and "keeps everything" in last
        assert "Traceback" not in err
        src = opened(path)
        try:
            assert src.problems() == []
            assert set(src.tmap.state_at(FUTURE, "pods")) == server_keys(sim.sim, "pods")
        finally:
            src.close()  # an open file keeps the tmpfs busy


KUBECONFIG_UNREACHABLE = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.mark.parametrize(
    ("case", "expected", "status"),
    [
        ("existing file", "already exists: choose a new file", 1),
        ("no directory", "does not exist", 1),
        ("parent is a file", "is not a directory", 1),
        ("bad max-age", "--max-age '7x': use a duration like 7d", 2),
        ("bad max-size", "--max-size 'lots': use a size like 500M", 2),
        ("no kubeconfig", "no kubeconfig found", 1),
        ("unreachable", "cannot reach the API server", 1),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch, case, expected, status):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", "")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "")
    kc = tmp_path / "kubeconfig"
    kc.write_text(KUBECONFIG_UNREACHABLE)
    (tmp_path / "exists.khr").write_bytes(b"precious")
    (tmp_path / "afile").write_text("")
    out = {
        "existing file": tmp_path / "exists.khr",
        "no directory": tmp_path / "nope" / "r.khr",
        "parent is a file": tmp_path / "afile" / "r.khr",
    }.get(case, tmp_path / "new.khr")
    argv = ["record", "-o", str(out)]
    if case == "bad max-age":
        argv += ["--max-age", "7x"]
    if case == "bad max-size":
        argv += ["--max-size", "lots"]
    if case != "no kubeconfig":
        argv += ["--kubeconfig", str(kc)]
    code = cli.main(argv)
    _, err = capsys.readouterr()
    assert code == status
    assert err.count("\n") == 1 and expected in err, err
    assert (tmp_path / "exists.khr").read_bytes() == b"precious"
    assert not (tmp_path / "new.khr").exists()  # nothing is created when nothing is recorded

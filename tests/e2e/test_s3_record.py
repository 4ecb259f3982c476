"""`khronoscope record -o s3://...` against a real S3 server (Ceph RGW), as a team runs it: the
recording opened from another process equals a local recording of the same story; kill -9 and
a restart lose nothing sealed; an RGW outage loses nothing and the backlog drains; one recorder
per prefix; `ls` lists recordings; `--max-age` deletes old segments in the bucket."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronoscope.sim import SimClusterThread
from khronoscope.storage import open_store
from tests.cli.procs import Proc, configmap, synced, term
from tests.e2e import s3

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
TYPES = "pods,deployments,configmaps,namespaces"


@pytest.fixture
def sim() -> Iterator[SimClusterThread]:
    with SimClusterThread(scenario="default", autorun=False, bookmark_interval=0.5) as s:
        s.advance(60)
        yield s


def machine(rgw: s3.RGW, home: Path) -> dict[str, str]:
    """The environment of one machine: the RGW's AWS variables, its own XDG dirs (spools,
    cache)."""
    env = rgw.client_env()
    for sub in ("state", "cache", "data", "config"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONPATH=str(ROOT),
    )
    return env


def recorder(sim: SimClusterThread, out: str, env: dict[str, str], *extra: str) -> Proc:
    return Proc(
        "record", "-o", out, "--kubeconfig", str(sim.kubeconfig_path), "--include", TYPES,
        "--status-every", "0.3", *extra, env=env,
    )  # fmt: skip


def cm(sim: SimClusterThread, name: str, **data: str) -> None:
    sim.call(sim.sim.store.create, "configmaps", configmap(name, **data))


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SNAPSHOT = """
import json, sys
from khronoscope.recording.opening import open_any
src = open_any(sys.argv[1])
t = int(sys.argv[2])
state = {str(k): v for k, v in src.tmap.state_at(t).items()}
keys = sorted({r.key for r in src.tmap.changes(None, None)}, key=str)
hist = {str(k): [kind.name for _t, kind in src.tmap.history(k)] for k in keys}
print(json.dumps({"state": state, "history": hist}, sort_keys=True))
"""


def snapshot(env: dict[str, str], where: str, t: int) -> dict:
    """The state at t and every object's history, read by another process."""
    proc = subprocess.run(
        [sys.executable, "-c", SNAPSHOT, where, str(t)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def segments(url: str, env: dict[str, str]) -> list[str]:
    store = _store(url, env)
    return [b.name for b in store.list("segments/")]


def _store(url: str, env: dict[str, str]):
    saved = dict(os.environ)
    try:
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        return open_store(url)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def iso(t: int) -> str:
    """A moment as `--at` takes it (ISO 8601 with nanoseconds)."""
    from khronoscope.core.timefmt import format_iso

    return format_iso(t)


def wait_for(pred, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


# --- the recording in S3 is the recording ------------------------------------------------------


def test_a_recording_in_s3_opens_elsewhere_equal_to_a_local_recording_of_the_same_story(
    rgw, sim, tmp_path
):
    url = f"s3://{rgw.create_bucket()}/clusters/sim"
    recorder_env = machine(rgw, tmp_path / "recorder")
    r_s3 = recorder(sim, url, recorder_env, "--seal-every", "1")
    local = tmp_path / "local.khr"
    r_local = recorder(sim, str(local), recorder_env)
    try:
        r_s3.wait_line(synced)
        r_local.wait_line(synced)
        cm(sim, "prices", apple="1")
        cm(sim, "flags", beta="off")
        sim.call(sim.sim.store.patch, "configmaps", "default", "prices", {"data": {"apple": "2"}})
        sim.advance(30)  # a rollout: pods come and go
        time.sleep(3)
        moment = time.time_ns()
        time.sleep(1.5)
        sim.call(sim.sim.store.delete, "configmaps", "default", "prices")
        cm(sim, "later", x="1")
        sim.advance(30)
        time.sleep(3)
        code_s3, _, err_s3 = term(r_s3)
        code_local, _, err_local = term(r_local)
    finally:
        r_s3.kill()
        r_local.kill()
    assert code_s3 == 0, err_s3[-2000:]
    assert code_local == 0, err_local[-2000:]
    assert f"khronoscope open {url}" in err_s3
    # a teammate's laptop: another process, another machine's (empty) cache
    laptop = machine(rgw, tmp_path / "laptop")
    remote = snapshot(laptop, url, moment)
    here = snapshot(recorder_env, str(local), moment)
    assert remote["state"] == here["state"]
    assert "configmaps/default/prices" in remote["state"]
    assert remote["state"]["configmaps/default/prices"]["data"] == {"apple": "2"}
    assert "configmaps/default/later" not in remote["state"]
    assert remote["history"] == here["history"]
    assert remote["history"]["configmaps/default/prices"] == ["ADDED", "MODIFIED", "DELETED"]
    assert any(k.startswith("pods/") for k in remote["history"])
    # the CLI commands take the URL too; the laptop's cache now holds what it fetched
    hist = run(laptop, "history", url, "configmaps/default/prices", "--json")
    assert hist.returncode == 0, hist.stderr
    changes = [c["change"] for c in json.loads(hist.stdout) if c["change"] != "MARK"]
    assert changes == ["ADDED", "MODIFIED", "DELETED"]
    cache_dir = tmp_path / "laptop" / "cache"
    assert sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file()) > 0
    # export --recording URL: the same commit tree as from the local recording
    trees = []
    for where, repo in ((url, tmp_path / "git-s3"), (str(local), tmp_path / "git-local")):
        done = run(laptop, "export", "--recording", where, "--at", iso(moment), "--repo",
                   str(repo), "-q")  # fmt: skip
        assert done.returncode == 0, done.stderr
        tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "HEAD"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        trees.append(tree)
    assert trees[0] == trees[1] and "prices" in trees[0]
    # drift --recording URL against what it exported: no drift
    drift = run(laptop, "drift", "--recording", url, "--at", iso(moment), "--repo",
                str(tmp_path / "git-s3"))  # fmt: skip
    assert drift.returncode == 0, drift.stdout + drift.stderr


# --- crashes, outages, one writer --------------------------------------------------------------


def test_kill9_and_restart_lose_nothing_sealed_and_mark_the_gap(rgw, sim, tmp_path):
    url = f"s3://{rgw.create_bucket()}/clusters/sim"
    env = machine(rgw, tmp_path / "pod")
    first = recorder(sim, url, env, "--seal-every", "2")
    try:
        first.wait_line(synced)
        for i in range(4):
            cm(sim, f"before-{i}", i=str(i))
            time.sleep(0.7)
        wait_for(lambda: len(segments(url, env)) >= 2, what="sealed segments uploaded")
        cm(sim, "just-before-the-kill", x="1")
        time.sleep(1.6)  # the spool's blocks are written every second
        first.p.send_signal(signal.SIGKILL)
        first.p.wait(10)
    finally:
        first.kill()
    cm(sim, "while-down", x="1")
    sim.call(sim.sim.store.delete, "configmaps", "default", "before-0")
    second = recorder(sim, url, env, "--seal-every", "2")
    try:
        line = second.wait_line(lambda ln: ln.startswith("continuing "), timeout=60)
        assert "segments" in line
        second.wait_line(synced)
        time.sleep(2)
        code, _, err = term(second)
    finally:
        second.kill()
    assert code == 0, err[-2000:]
    laptop = machine(rgw, tmp_path / "laptop")
    snap = snapshot(laptop, url, 2**62)
    hist = snap["history"]
    for i in range(4):
        assert f"configmaps/default/before-{i}" in hist
    assert hist["configmaps/default/just-before-the-kill"] == ["ADDED"]
    assert hist["configmaps/default/while-down"] == ["ADDED"]
    # deleted while nobody recorded: the restarted recorder records the deletion
    assert hist["configmaps/default/before-0"] == ["ADDED", "DELETED"]
    # an object the relist found unchanged has no second version
    assert hist["configmaps/default/before-1"] == ["ADDED"]
    gaps = run(laptop, "history", url, "--json", "-t", "configmaps")
    assert gaps.returncode == 0, gaps.stderr
    probe = (
        "import sys\nfrom khronoscope.recording.opening import open_any\n"
        "print([g.reason for g in open_any(sys.argv[1]).gaps()])"
    )
    reasons = subprocess.run(
        [sys.executable, "-c", probe, url], cwd=ROOT, env=laptop, capture_output=True,
        text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "recorder not running" in reasons


def test_a_second_recorder_on_the_same_prefix_refuses_with_one_line(rgw, sim, tmp_path):
    url = f"s3://{rgw.create_bucket()}/clusters/sim"
    first = recorder(sim, url, machine(rgw, tmp_path / "a"))
    try:
        first.wait_line(synced)
        second = run(
            machine(rgw, tmp_path / "b"), "record", "-o", url, "--kubeconfig",
            str(sim.kubeconfig_path), "--include", "configmaps",
        )  # fmt: skip
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "already being recorded by host" in lines[0] and "Traceback" not in second.stderr
        code, _, err = term(first)
    finally:
        first.kill()
    assert code == 0, err[-2000:]


@pytest.fixture
def own_rgw() -> Iterator[s3.RGW]:
    """An RGW of this test's own: stopping it must not disturb the session's."""
    server = s3.start()
    try:
        yield server
    finally:
        s3.stop(server)


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else -1.0


def test_an_rgw_outage_loses_nothing_and_the_backlog_drains(own_rgw, sim, tmp_path):
    url = f"s3://{own_rgw.create_bucket()}/clusters/sim"
    env = machine(own_rgw, tmp_path / "pod")
    rec = recorder(sim, url, env, "--seal-every", "1", "--listen", "127.0.0.1:0")
    try:
        port = int(re.search(r"port (\d+)", rec.wait_line(lambda ln: "serving" in ln)).group(1))
        rec.wait_line(synced)
        cm(sim, "before", x="1")
        wait_for(lambda: len(segments(url, env)) >= 1, what="a first segment")
        own_rgw.stop()
        names = []
        for i in range(15):  # ~30 s of changes while the store is down (the outage)
            names.append(f"during-{i}")
            cm(sim, names[-1], i=str(i))
            sim.advance(5)
            time.sleep(2)
        # the status line says what waits and why
        line = rec.wait_line(
            lambda ln: "upload backlog" in ln and ("retrying" in ln or "lease not renewed" in ln),
            timeout=30,
        )
        assert re.search(r"upload backlog \d+ \(", line), line
        assert _metric(port, "khronoscope_upload_backlog_bytes") > 0
        own_rgw.start()
        env = machine(own_rgw, tmp_path / "pod")  # the same server, maybe on a new port
        wait_for(
            lambda: _metric(port, "khronoscope_upload_backlog_objects") == 0,
            timeout=120,
            what="the backlog to drain",
        )
        cm(sim, "after", x="1")
        time.sleep(3)
        code, _, err = term(rec)
    finally:
        rec.kill()
    assert code == 0, err[-2000:]
    hist = snapshot(machine(own_rgw, tmp_path / "laptop"), url, 2**62)["history"]
    for name in ["before", *names, "after"]:
        assert hist.get(f"configmaps/default/{name}") == ["ADDED"], name


# --- several recordings, retention, follow -----------------------------------------------------


def test_ls_lists_the_recordings_under_a_prefix_and_whose_writer_is_alive(rgw, sim, tmp_path):
    bucket = rgw.create_bucket()
    env = machine(rgw, tmp_path / "m")
    done = recorder(sim, f"s3://{bucket}/clusters/staging", env)
    try:
        done.wait_line(synced)
        time.sleep(1)
        assert term(done)[0] == 0
    finally:
        done.kill()
    running = recorder(sim, f"s3://{bucket}/clusters/prod", machine(rgw, tmp_path / "n"))
    try:
        running.wait_line(synced)
        listed = run(env, "ls", f"s3://{bucket}/clusters/")
        as_json = run(env, "ls", f"s3://{bucket}/clusters/", "--json")
        opened = run(env, "history", f"s3://{bucket}/clusters/")
        assert term(running)[0] == 0
    finally:
        running.kill()
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].startswith("2 recordings under")
    rows = {ln.split()[0]: ln for ln in lines[2:]}
    assert set(rows) == {"prod", "staging"}
    assert "khronoscope-sim" in rows["prod"] and "alive (host" in rows["prod"]
    assert rows["staging"].rstrip().endswith("stopped")
    doc = {d["recording"].rsplit("/", 1)[-1]: d for d in json.loads(as_json.stdout)}
    assert doc["prod"]["writer_alive"] is True and doc["staging"]["writer_alive"] is False
    assert doc["prod"]["bytes"] > 0 and doc["staging"]["first"] <= doc["staging"]["last"]
    # a prefix of several is not one recording: one line naming them
    assert opened.returncode == 2 and "holds 2 recordings" in opened.stderr


def test_max_age_deletes_whole_old_segments_in_the_bucket(rgw, sim, tmp_path):
    url = f"s3://{rgw.create_bucket()}/clusters/sim"
    env = machine(rgw, tmp_path / "m")
    rec = recorder(sim, url, env, "--max-age", "6s", "--seal-every", "1")
    try:
        rec.wait_line(synced)
        first = None
        for i in range(22):
            cm(sim, f"c-{i}", i=str(i))
            time.sleep(1)
            names = segments(url, env)
            if first is None and names:
                first = names[0]
        wait_for(lambda: first not in segments(url, env), timeout=30, what="retention")
        assert term(rec)[0] == 0
    finally:
        rec.kill()
    left = segments(url, env)
    assert first is not None and first not in left and left
    assert not left[0].startswith("segments/0000000000-")
    snap = snapshot(machine(rgw, tmp_path / "laptop"), url, 2**62)
    assert "configmaps/default/c-21" in snap["state"]  # the newest history stays


def test_follow_from_a_laptop_shows_new_segments_as_they_arrive(rgw, sim, tmp_path):
    from khronoscope.core.types import ObjectKey
    from khronoscope.recording.remote import open_url
    from khronoscope.storage.cache import BlockCache

    url = f"s3://{rgw.create_bucket()}/clusters/sim"
    rec = recorder(sim, url, machine(rgw, tmp_path / "pod"), "--seal-every", "1")
    laptop = machine(rgw, tmp_path / "laptop")
    saved = dict(os.environ)
    try:
        rec.wait_line(synced)
        wait_for(lambda: len(segments(url, laptop)) >= 1, what="a first segment")
        os.environ.update({k: v for k, v in laptop.items() if k.startswith("AWS_")})
        opened = open_url(url, follow=True, cache=BlockCache(tmp_path / "laptop-cache"))
        src = opened.source
        assert src.is_live
        key = ObjectKey("configmaps", "default", "arrives")
        cm(sim, "arrives", x="1")

        def seen() -> bool:
            src.poll()
            return src.tmap.get(key, 2**62) is not None

        wait_for(seen, timeout=30, what="the new ConfigMap to be followed")
        assert term(rec)[0] == 0
        wait_for(lambda: (src.poll(), not src.is_live)[1], timeout=30, what="the stop seen")
        assert src.writer_state().how == "closed"
        opened.progress.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        rec.kill()

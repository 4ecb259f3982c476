"""The live app records what it watches (data dir by default), shows where, and says so on exit."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import AsyncIterator

import pytest

from khronoscope import cli
from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.commands import live
from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.sim import SimCluster
from khronoscope.tui.settings import BrowserSettings
from tests.cli.procs import configmap
from tests.tui.conftest import notifications, screen_text

FUTURE = 2**62


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    """The quiet scenario on a manual clock."""
    cluster = SimCluster("quiet", autorun=False, bookmark_interval=0.2)
    await cluster.start()
    yield cluster
    await cluster.close()


def _args(**kw: object) -> argparse.Namespace:
    ns = argparse.Namespace(record=None, no_record=False, max_age=None, max_size=None)
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


async def _wait(pilot, check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.05)


async def test_the_app_records_to_the_data_dir_and_the_file_reopens_the_same(
    sim, tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    recordings = data / "khronoscope" / "recordings"
    recordings.mkdir(parents=True)
    old = recordings / "khronoscope-sim-20200101T000000Z.khr"
    old.write_bytes(b"an old recording")
    os.utime(old, (time.time() - 8 * 86400, time.time() - 8 * 86400))
    recent = recordings / "other-20200101T000000Z.khr"
    recent.write_bytes(b"yesterday's")
    os.utime(recent, (time.time() - 86400, time.time() - 86400))

    plan = live.recording_plan(_args())
    options = ClusterOptions(kubeconfig=str(sim.kubeconfig_path))
    app, session, rec = await live.open_live(ClusterSession, options, BrowserSettings(), plan)
    assert rec is not None
    path = rec.path
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await _wait(pilot, lambda: session.synced, "synced")
            sim.store.create("configmaps", configmap("seen-live", v="1"))
            await _wait(
                pilot,
                lambda: ObjectKey("configmaps", "default", "seen-live") in session.tmap,
                "the change reached the app",
            )
            await pilot.pause(0.3)
            assert any(f"recording to {path}" in n for n in notifications(app))
            assert "● REC" in screen_text(app)
            await pilot.press("ctrl+c")
    finally:
        await live.close_live(session, rec)
    err = capsys.readouterr().err
    assert f"replay with: khronoscope open {path}" in err

    assert path.parent == recordings and path.name.startswith("khronoscope-sim-")
    assert path.stat().st_mode & 0o077 == 0
    assert not old.exists() and recent.exists()  # older than the 7d retention: pruned
    src = open_any(path)
    assert src.problems() == []
    assert src.tmap.state_at(FUTURE) == session.tmap.state_at(FUTURE)
    for key in session.tmap.keys_at(FUTURE):
        assert src.tmap.history(key) == session.tmap.history(key)
    assert src.header["options"]["max_age_ns"] == 7 * 86400 * 10**9


async def test_no_record_writes_nothing(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    plan = live.recording_plan(_args(no_record=True))
    options = ClusterOptions(kubeconfig=str(sim.kubeconfig_path), include=("pods",))
    app, session, rec = await live.open_live(ClusterSession, options, BrowserSettings(), plan)
    try:
        assert rec is None
        async with app.run_test(size=(150, 40)) as pilot:
            await _wait(pilot, lambda: session.synced, "synced")
            assert "REC" not in screen_text(app)
    finally:
        await live.close_live(session, rec)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--no-record", "--record", "x.khr"], "either --record FILE or --no-record"),
        (["--record", "EXISTS"], "already exists"),
        (["--max-age", "soon"], "--max-age 'soon'"),
    ],
)
def test_recording_options_fail_before_connecting(tmp_path, capsys, argv, expected):
    existing = tmp_path / "exists.khr"
    existing.write_bytes(b"x")
    argv = [str(existing) if a == "EXISTS" else a for a in argv]
    code = cli.main(["live", "--kubeconfig", str(tmp_path / "none"), *argv])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and expected in err, err


async def test_ctx_switches_to_another_context_with_a_new_session(sim, tmp_path, monkeypatch):
    import yaml

    from khronoscope.tui.screens.contexts import ContextsScreen

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = yaml.safe_load(sim.kubeconfig_path.read_text())
    first = config["contexts"][0]
    config["contexts"].append({"name": "staging", "context": dict(first["context"])})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    options = ClusterOptions(kubeconfig=str(kubeconfig), include=("pods",))
    seen: list[tuple[str, str]] = []

    async def drive(app):
        async with app.run_test(size=(150, 40)) as pilot:
            await _wait(pilot, lambda: app.source.synced, "synced")
            seen.append((app.source.info.context, screen_text(app)))
            if len(seen) == 1:
                await pilot.press("colon", *"ctx", "enter")
                await pilot.pause()
                assert isinstance(app.screen, ContextsScreen)
                seen.append(("list", screen_text(app)))
                await pilot.press("down", "enter")
                await pilot.pause()
            else:
                await pilot.press("ctrl+c")
        return app.return_value

    plan = live.recording_plan(_args(no_record=True))
    assert await live._browse(ClusterSession, options, BrowserSettings(), plan, drive) == 0
    assert [s[0] for s in seen] == [first["name"], "list", "staging"]
    assert f"* {first['name']}" in seen[1][1] and "staging" in seen[1][1]


async def test_the_app_keeps_its_hot_window_in_memory_and_reads_older_history_back(
    sim, tmp_path, monkeypatch
):
    # a session's map forgets what is older than its hot window once it is sealed in the
    # recording; the views still show that past, read back from the recording
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    plan = live.recording_plan(_args(record=str(tmp_path / "r.khr")))
    options = ClusterOptions(kubeconfig=str(sim.kubeconfig_path))
    app, session, rec = await live.open_live(ClusterSession, options, BrowserSettings(), plan)
    assert rec is not None
    key = ObjectKey("configmaps", "default", "early")
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await _wait(pilot, lambda: session.synced, "synced")
            sim.store.create("configmaps", configmap("early", v="1"))
            await _wait(pilot, lambda: key in session.tmap, "the change reached the app")
            early = session.tmap.version_times(key)[0]
            before = session.tmap.get(key, early)
            everything_then = session.tmap.state_at(early)
            sim.store.delete("configmaps", "default", "early")
            await _wait(pilot, lambda: session.tmap.get(key, time.time_ns()) is None, "the delete")
            rec.writer.seal_now()  # what a few minutes of recording do
            sim.store.create("configmaps", configmap("late", v="2"))
            late_key = ObjectKey("configmaps", "default", "late")
            await _wait(pilot, lambda: late_key in session.tmap, "the later change")
            rec.hot_window = 0
            assert rec.trim(time.time_ns()) > 0
            assert key not in session.tmap  # the session forgot the deleted object entirely
            shown = app.source.tmap
            assert shown.hot_from > early
            assert shown.get(key, early) == before  # read back from the recording
            assert shown.state_at(early) == everything_then
            assert [kind.name for _, kind in shown.history(key)] == ["ADDED", "DELETED"]
            assert shown.get(late_key, time.time_ns()) is not None
            await pilot.press("ctrl+c")
    finally:
        await live.close_live(session, rec)


async def test_two_windows_on_one_context_in_the_same_second_record_to_two_files(
    sim, tmp_path, monkeypatch
):
    """Both apps start recording: the second picks a free name instead of failing to start."""
    from khronoscope.recording import recorder

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    same_second = time.time_ns()
    original = recorder.default_recording_path
    monkeypatch.setattr(
        recorder,
        "default_recording_path",
        lambda context, start=None: original(context, same_second),
    )
    options = ClusterOptions(kubeconfig=str(sim.kubeconfig_path), include=("configmaps",))
    opened = []
    try:
        for _ in range(2):
            plan = live.recording_plan(_args())
            opened.append(await live.open_live(ClusterSession, options, BrowserSettings(), plan))
    finally:
        for _app, session, rec in opened:
            await live.close_live(session, rec)
    paths = [rec.path for _app, _session, rec in opened]
    assert len(paths) == 2 and paths[0] != paths[1]
    assert paths[1].name == paths[0].name.replace(".khr", "-2.khr")
    for path in paths:
        src = open_any(path)
        assert src.problems() == [] and src.header["options"]["command"] == "live"
        src.close()

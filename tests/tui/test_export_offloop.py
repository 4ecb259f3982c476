"""An export of a big moment leaves the app responsive: only reading the map runs on the loop."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from textual.widgets import Input, Static

from khronoscope.export.snapshot import Renderer
from khronoscope.tui.screens.export import ExportScreen
from tests import testing

from .conftest import SIZE, notifications

CONFIGMAPS = 1500


def add_configmaps(source: testing.MemorySource, n: int = CONFIGMAPS) -> None:
    """`n` ConfigMaps in four namespaces, there from T0 + 10 s (an export renders them all)."""
    t = testing.at(10)
    for i in range(n):
        source.put(
            t,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cfg-{i:05d}", "namespace": f"team-{i % 4}", "uid": str(i)},
                "data": {"index": str(i), "settings.ini": f"[main]\nid = {i}\n" * 20},
            },
        )


def commits(repo: Path) -> int:
    proc = subprocess.run(
        ["git", "rev-list", "--count", "--all"], cwd=repo, capture_output=True, text=True
    )
    return int(proc.stdout.strip() or 0)


class StallMeter:
    """The longest the event loop went without running a 5 ms ticker, and what `look()` saw
    at each tick, while it runs."""

    def __init__(self, look=lambda: None) -> None:
        self.longest = 0.0
        self.look = look
        self.seen: set[object] = set()
        self._last = time.perf_counter()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick())

    def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        # a stall that ended just now has not been seen by the ticker yet
        self.longest = max(self.longest, time.perf_counter() - self._last)

    async def _tick(self) -> None:
        self._last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - self._last)
            self._last = now
            self.seen.add(self.look())


async def _open_dialog(app, pilot, repo: Path) -> ExportScreen:
    await pilot.press("E")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ExportScreen)
    dialog.query_one("#export-repo", Input).value = str(repo)
    dialog.query_one("#export-repo", Input).focus()
    return dialog


def _shown(dialog: ExportScreen) -> str:
    return str(dialog.query_one("#export-result", Static).content)


async def test_the_loop_keeps_running_during_an_export(make_app, source, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    add_configmaps(source)
    # rendering costs what a much bigger cluster's would (0.4 ms an object): the dialog's
    # progress is seen whatever the speed of the YAML writer
    render = Renderer.render

    def slow_render(self, key, obj):
        time.sleep(0.0004)
        return render(self, key, obj)

    monkeypatch.setattr(Renderer, "render", slow_render)
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = await _open_dialog(app, pilot, repo)
        meter = StallMeter(lambda: _shown(dialog))
        meter.start()
        started = time.perf_counter()
        await pilot.press("enter")
        while dialog.result is None and not dialog.error:
            await asyncio.sleep(0.01)
        took = time.perf_counter() - started
        meter.stop()
        assert dialog.error == "" and dialog.result.commit
        assert dialog.result.files > CONFIGMAPS
        # on the loop, the whole export (>1 s here) was one stall; now only reading chunks are
        assert took > 0.3, took
        # relative to the export's length, so a loaded machine (slower ticks, slower export)
        # cannot fail it; an export on the loop would stall it for about `took`
        assert meter.longest < took / 4, (meter.longest, took)
        # the dialog showed the progress while the thread rendered
        shown = [s for s in meter.seen if s.startswith("rendering ")]
        assert len(shown) > 2 and any(not s.startswith("rendering 0/") for s in shown), meter.seen


async def _until(check, what: str, timeout: float = 30.0) -> None:
    # not the pilot: its waits also wait for the process to go idle, never while a thread works
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.005)


async def test_a_second_export_to_the_repository_is_refused_until_the_first_ends(
    make_app, source, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    add_configmaps(source)
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = await _open_dialog(app, pilot, repo)
        first.start()
        await _until(lambda: _shown(first).startswith("rendering "), "the thread rendering")
        first.start()  # the same dialog again: ignored while it runs
        # closed while the thread writes: the export goes on, and a second one is refused
        first.action_close()
        await _until(lambda: not isinstance(app.screen, ExportScreen), "dialog closed")
        app.action_export()
        await _until(lambda: isinstance(app.screen, ExportScreen), "dialog opened again")
        second = app.screen
        await _until(lambda: second.is_mounted, "dialog mounted")
        second.query_one("#export-repo", Input).value = str(repo)
        second.start()
        await _until(lambda: second.error or second.result is not None, "second export")
        assert "still running" in second.error and "\n" not in second.error
        await _until(lambda: "still running" in _shown(second), "the refusal shown")
        # the first one's outcome comes as a notification, as its dialog is gone
        await _until(lambda: any(n.startswith("commit ") for n in notifications(app)), "toast")
        assert commits(repo) == 1
        # once the first has ended, the same moment again is "nothing changed"
        second.start()
        await _until(lambda: second.result is not None, "third export")
        assert second.result.commit is None and commits(repo) == 1

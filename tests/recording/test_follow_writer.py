"""`open --follow` tells a live recorder from a stopped or dead one: a close record, or its lock
released and no growth; and the app stops saying LIVE."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from khronoscope.core.source import SourceInfo
from khronoscope.printers import row_for
from khronoscope.recording.recorded import WRITER_GONE_AFTER
from khronoscope.recording.segments.source import open_segmented
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.tui.app import create_app
from khronoscope.tui.settings import BrowserSettings
from tests.recording.scenario import changes
from tests.tui.conftest import notifications, screen_text

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from khronoscope.core.source import SourceInfo
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from tests.recording.scenario import changes
if {segmented!r}:
    w = SegmentedWriter.create_local({path!r}, SourceInfo("child"),
                                     writer_options=SegmentOptions(autoflush=False))
else:
    w = RecordingWriter.create({path!r}, SourceInfo("child"),
                               writer_options=WriterOptions(block_size=4096, autoflush=False))
for c in changes(3, 300, objects=30):
    w.append_change(c)
w.flush()
print("ready", flush=True)
time.sleep(600)
"""


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=[False, True], ids=["v0.1 file", "segmented"])
def segmented(request) -> bool:
    """Every behaviour holds for both formats."""
    return request.param


def _writer(path: Path, segmented: bool) -> Any:
    if segmented:
        opts2 = SegmentOptions(autoflush=False, background=False)
        return SegmentedWriter.create_local(path, SourceInfo("follow"), writer_options=opts2)
    opts = WriterOptions(block_size=4096, autoflush=False)
    return RecordingWriter.create(path, SourceInfo("follow"), writer_options=opts)


def _source(path: Path, segmented: bool, **kw: Any) -> Any:
    if segmented:
        return open_segmented(path, **kw)
    src = RecordingSource(path, **kw)
    src.load_all()
    return src


def test_a_clean_close_ends_following_at_the_stop_time(tmp_path, segmented):
    path = tmp_path / "f.khr"
    w = _writer(path, segmented)
    stream = list(changes(4, 400, objects=30))
    w.append_changes(stream[:200])
    w.flush()
    src = _source(path, segmented, follow=True)
    assert src.is_live and not src.writer_state().stopped
    w.append_changes(stream[200:])
    stop = stream[-1].t + 5 * 10**9
    w.close(stop_t=stop)
    assert src.poll() == 200
    state = src.writer_state()
    assert state.stopped and state.how == "closed" and state.at == stop
    assert not src.is_live and src.end_t == stop
    assert "the recorder stopped at" in state.describe() and "closed cleanly" in state.describe()
    src.close()


def test_a_live_idle_writer_stays_live_and_a_killed_one_is_gone(tmp_path, segmented):
    path = tmp_path / "child.khr"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path), segmented=segmented)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        clock = Clock()
        src = _source(path, segmented, follow=True, clock=clock)
        src.poll()
        clock.now += 10 * WRITER_GONE_AFTER  # an idle cluster: nothing written for a while
        src.poll()
        assert not src.writer_state().stopped and src.is_live  # it still holds the file
        child.send_signal(signal.SIGKILL)  # it dies without closing the file
        child.wait(10)
        src.poll()
        state = src.writer_state()
        assert state.stopped and state.how == "gone" and not src.is_live
        assert "the recorder is gone" in state.describe()
        src.close()
    finally:
        child.kill()
        child.wait()


async def test_the_app_stops_saying_live_when_the_writer_stops(tmp_path, segmented):
    path = tmp_path / "app.khr"
    w = _writer(path, segmented)
    stream = list(changes(5, 300, objects=30))
    w.append_changes(stream)
    w.flush()
    source = (
        open_segmented(path, row_fn=row_for, follow=True)
        if segmented
        else RecordingSource(path, row_fn=row_for, follow=True)
    )
    app = create_app(source, BrowserSettings(tz=UTC))
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.pause()
        assert app.playback.live and "● LIVE" in screen_text(app)
        w.close(stop_t=stream[-1].t + 2 * 10**9)
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.playback.live:
                break
        app.browser.tick()
        await pilot.pause()
        drawn = screen_text(app)
        assert "LIVE" not in drawn and "FOLLOW · STOPPED" in drawn
        assert app.playback.go_live() is False
        assert any("the recorder stopped at" in n for n in notifications(app))
    source.close()


def test_following_a_recording_already_closed_is_not_live(tmp_path, segmented):
    path = tmp_path / "done.khr"
    w = _writer(path, segmented)
    stream = list(changes(6, 200, objects=20))
    w.append_changes(stream)
    w.close(stop_t=stream[-1].t + 10**9)
    src = _source(path, segmented, follow=True)
    state = src.writer_state()
    assert state.stopped and state.how == "closed" and not src.is_live
    src.close()

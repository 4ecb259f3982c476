"""`khronoscope open FILE [--follow]`: the app over a recording, driven with Textual's pilot."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC

import pytest

from khronoscope import cli
from khronoscope.commands.open import first_types
from khronoscope.printers import row_for
from khronoscope.recording import format as fmt
from khronoscope.recording.source import RecordingSource
from khronoscope.tui.app import create_app
from khronoscope.tui.settings import BrowserSettings
from tests.recording.helpers import apply, crash, record
from tests.recording.scenario import changes
from tests.tui.conftest import names, notifications, screen_text

SIZE = (150, 40)


async def _until(pilot, check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.05)


def _pods_at(tmap, t: int) -> list[str]:
    return sorted(k.name for k in tmap.keys_at(t, "pods"))


async def test_replay_shows_the_recorded_end_then_any_earlier_moment(tmp_path):
    rec = record(tmp_path / "r.khr", count=3000, objects=120, keyframe_changes=300)
    source = RecordingSource(rec.path, row_fn=row_for, first_types=["pods"])
    assert not source.history_complete  # the past fills in while the app runs
    app = create_app(source, BrowserSettings(tz=UTC))
    end = rec.live.last_t
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.playback.t == end and not app.playback.live
        assert sorted(names(app)) == _pods_at(rec.live, end)
        drawn = screen_text(app)
        assert "REPLAY" in drawn and "LIVE" not in drawn
        assert app.playback.go_live() is False  # there is no live cluster in a recording
        await _until(pilot, lambda: source.history_complete, "history loaded")
        # an earlier moment, through the playback cursor (what the time controls drive)
        for t in (rec.changes[400].t, rec.changes[1500].t, rec.changes[2500].t):
            app.playback.seek(t)
            await pilot.pause()
            app.browser.tick()
            await pilot.pause()
            assert sorted(names(app)) == _pods_at(rec.live, t), t
        app.playback.seek(end)
        await pilot.pause()
        app.browser.tick()
        assert sorted(names(app)) == _pods_at(rec.live, end)
    source.close()


async def test_history_progress_is_shown_while_the_past_loads(tmp_path):
    rec = record(tmp_path / "big.khr", count=6000, objects=150, keyframe_changes=200)
    source = RecordingSource(rec.path, row_fn=row_for, first_types=["pods"])
    # the loading goes only as far as the test allows (no race with a fast machine)
    allowed = [0]
    load_step = source.load_step

    def gated(budget: float = 0.02) -> bool:
        if allowed[0] <= 0:
            return True  # more to load, not now
        allowed[0] -= 1
        return load_step(budget)

    source.load_step = gated  # type: ignore[method-assign]
    app = create_app(source, BrowserSettings(tz=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        first = screen_text(app)
        assert "loading history: " in first and "% of 6,000 changes" in first
        allowed[0] = 10**9
        await _until(pilot, lambda: source.history_complete, "history loaded")
        await pilot.pause(0.2)
        assert "loading history" not in screen_text(app)  # gone once complete
    source.close()


async def test_follow_picks_up_what_a_recorder_appends(tmp_path):
    rec = record(tmp_path / "growing.khr", count=600, objects=40, close=False)
    rec.writer.flush()  # what a recorder has written so far (at most a second behind)
    source = RecordingSource(rec.path, row_fn=row_for, follow=True)
    app = create_app(source, BrowserSettings(tz=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "FOLLOW" in screen_text(app)
        assert sorted(names(app)) == _pods_at(rec.live, rec.live.last_t)
        more = list(changes(seed=9, count=400, objects=40))
        # the same objects, later: shift them past the end
        shift = rec.live.last_t - more[0].t + 10**9
        for c in more:
            c = dataclasses.replace(c, t=c.t + shift)
            apply(rec.live, c)
            rec.writer.append_change(c)
        rec.writer.flush()
        end = rec.live.last_t
        await _until(pilot, lambda: source.end_t == end, "the appended blocks were read")
        await pilot.pause(0.3)
        app.browser.tick()
        await pilot.pause()
        assert app.playback.live and app.playback.t == end
        assert sorted(names(app)) == _pods_at(rec.live, end)
    rec.writer.close()
    source.close()


async def test_a_damaged_recording_opens_with_a_warning(tmp_path):
    rec = record(tmp_path / "hurt.khr", count=1500, objects=60, close=False)
    crash(rec)
    data = bytearray(rec.path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = b"\0" * 64  # a damaged block in the middle
    data = data[:-100]  # and a torn last block
    rec.path.write_bytes(bytes(data))
    source = RecordingSource(rec.path, row_fn=row_for)
    assert source.problems()
    app = create_app(source, BrowserSettings(tz=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: source.history_complete, "history loaded")
        await pilot.pause()
        warned = [n for n in notifications(app) if "bytes" in n and "cannot be read" in n]
        assert warned, notifications(app)
        assert names(app)  # what survived is shown
    source.close()


def test_open_bad_files_are_one_line(tmp_path, capsys):
    newer = bytearray(fmt.pack_file_header({"format": 2}))
    newer[8:10] = (fmt.FORMAT_VERSION + 1).to_bytes(2, "little")
    (tmp_path / "new.khr").write_bytes(bytes(newer))
    (tmp_path / "text.khr").write_text("hello")
    cases = {
        str(tmp_path / "missing.khr"): "no such file",
        str(tmp_path / "text.khr"): "is not a khronoscope recording",
        str(tmp_path / "new.khr"): "made by a newer khronoscope",
        str(tmp_path): "is a directory",
    }
    for path, expected in cases.items():
        code = cli.main(["open", path])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and expected in err, (path, err)


@pytest.mark.parametrize("word", ["pods", "po", "pod", "deploy", "deployments.apps", "svc"])
def test_first_types_knows_the_usual_names(word):
    expected = {
        "pods": "pods",
        "po": "pods",
        "pod": "pods",
        "deploy": "deployments.apps",
        "deployments.apps": "deployments.apps",
        "svc": "services",
    }[word]
    assert first_types(word) == [expected]
    assert first_types("databases.example.com") is None  # loaded with everything else


def test_the_first_screens_type_is_there_before_the_rest(tmp_path):
    rec = record(tmp_path / "r.khr", count=800, objects=40)
    src = RecordingSource(rec.path, first_types=first_types("po"))
    end = rec.live.last_t
    assert set(src.tmap.keys_at(end, "pods")) == set(rec.live.keys_at(end, "pods"))
    others = set(rec.live.keys_at(end)) - set(rec.live.keys_at(end, "pods"))
    assert others and not others & set(src.tmap.keys_at(end))  # not yet: they come next
    src.load_all()
    assert set(src.tmap.keys_at(end)) == set(rec.live.keys_at(end))
    src.close()


@pytest.mark.parametrize(
    ("at", "edge", "where"),
    [
        ("2001-01-01T00:00:00Z", "start", "before the recording's start"),
        ("-3650d", "start", "before the recording's start"),
        ("+1h", "end", "after the recording's end"),
        ("2200-01-01T00:00:00Z", "end", "after the recording's end"),
    ],
)
def test_open_at_far_outside_the_recording_opens_at_its_edge_and_says_so(
    tmp_path, capsys, monkeypatch, at, edge, where
):
    from khronoscope.core.timefmt import format_iso
    from khronoscope.tui import app as app_module

    rec = record(tmp_path / "r.khr", count=300)
    opened: list[BrowserSettings] = []

    class NoApp:
        def __init__(self, source, settings) -> None:
            opened.append(settings)

        def run(self) -> None:
            return None

    monkeypatch.setattr(app_module, "create_app", NoApp)
    assert cli.main(["open", str(rec.path), "--at", at]) == 0
    err = capsys.readouterr().err
    src = RecordingSource(rec.path)
    expected = src.start_t if edge == "start" else src.end_t
    src.close()
    assert opened[0].at == expected
    notes = [line for line in err.splitlines() if line.startswith("khronoscope: --at")]
    assert (
        len(notes) == 1 and where in notes[0] and f"opening at {format_iso(expected)}" in notes[0]
    )


def test_open_at_inside_the_recording_is_taken_as_given(tmp_path, capsys, monkeypatch):
    from khronoscope.tui import app as app_module

    rec = record(tmp_path / "r.khr", count=300)
    opened: list[BrowserSettings] = []
    monkeypatch.setattr(
        app_module, "create_app", lambda source, settings: opened.append(settings) or _NoRun()
    )
    t = rec.changes[150].t
    from khronoscope.core.timefmt import format_iso

    assert cli.main(["open", str(rec.path), "--at", format_iso(t)]) == 0
    assert opened[0].at == t
    assert "--at" not in capsys.readouterr().err


class _NoRun:
    def run(self) -> None:
        return None

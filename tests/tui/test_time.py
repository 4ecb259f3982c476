"""Time travel as a user drives it (Textual pilot) over the incident scenario, whose every
change is at a known time: go-to, steps both ways, playing, the timeline, bookmarks across a
restart on a real recording, history with field managers, diffs and "what changed"."""

from __future__ import annotations

import re

from textual.widgets import Input

from khronoscope.core.source import Bookmark, Gap
from khronoscope.core.timefmt import NS
from khronoscope.core.types import Change, ObjectKey
from khronoscope.printers import row_for
from khronoscope.recording.source import open_recording
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.tui.screens.bookmarks import BookmarksScreen
from khronoscope.tui.screens.changes import ChangesScreen
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.diff import DiffScreen
from khronoscope.tui.screens.history import HistoryScreen
from khronoscope.tui.screens.prompt import BookmarkPrompt, TextPrompt
from khronoscope.tui.widgets.timeline import Timeline
from tests import testing

from .conftest import SIZE, header, names, rows, screen_text, table_of

at = testing.at
API_POD = ObjectKey("pods", "shop", "api-7f8b9-x2x4q")
API_DEPLOY = ObjectKey("deployments.apps", "shop", "api")
WEB_CONFIG = ObjectKey("configmaps", "shop", "web-config")
NODE_1 = ObjectKey("nodes", "", "node-1")


def by_name(app) -> dict[str, dict[str, str]]:
    cols = header(app)
    i = cols.index("NAME")
    return {r[i]: dict(zip(cols, r, strict=False)) for r in rows(app)}


def changed_lines(diff_lines: list[str]) -> list[str]:
    """The - and + lines of a unified diff (not its --- +++ headers)."""
    return [x for x in diff_lines if x[:1] in "+-" and not x.startswith(("+++", "---"))]


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


async def goto(pilot, text: str) -> None:
    await pilot.press("t")
    await pilot.pause()
    await pilot.press(*text, "enter")
    await pilot.pause()


async def select(pilot, key: ObjectKey) -> None:
    await pilot.pause()
    table_of(pilot.app).select(key)
    await pilot.pause()


async def test_go_to_a_typed_time_shows_exactly_that_moment(make_app, source):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        await pilot.press(*"25:00", "enter")
        await pilot.pause()
        assert app.screen is prompt and "bad clock time" in prompt.error  # inline, still open
        prompt.query_one(Input).value = ""
        await pilot.press(*"09:01:35", "enter")
        await pilot.pause()
        assert app.playback.t == at(95) and not isinstance(app.screen, TextPrompt)
        pods = by_name(app)
        assert sorted(pods) == sorted(k.name for k in source.tmap.keys_at(at(95), "pods"))
        assert pods[API_POD.name]["STATUS"] == "CrashLoopBackOff"
        assert pods[API_POD.name]["RESTARTS"] == "2 (5s ago)"
        assert pods["web-5d9c7-ccccc"]["STATUS"] == "Running"
        assert "web-5d9c7-ddddd" not in pods

        # the YAML follows the cursor too; relative times count from the cursor
        await command(pilot, "cm shop")
        await select(pilot, WEB_CONFIG)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert "LOG_LEVEL: debug" in (app.screen.text or "")
        await goto(pilot, "-60s")
        assert app.playback.t == at(35)
        app.screen.redraw()
        assert "LOG_LEVEL: info" in (app.screen.text or "")
        assert "09:00:35" in screen_text(app)


async def test_stepping_visits_every_change_in_order_both_ways(make_app, source):
    tmap = source.tmap
    truth = sorted({r.t for r in tmap.changes(type="pods")})
    app = make_app(-1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert names(app) == []
        for expected in truth:
            await pilot.press("right_square_bracket")
            await pilot.pause()
            assert app.playback.t == expected
            assert sorted(names(app)) == sorted(k.name for k in tmap.keys_at(expected, "pods"))
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.playback.t == truth[-1]
        assert "no later change of pods" in app.time.message
        for expected in reversed(truth[:-1]):
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert app.playback.t == expected
            assert sorted(names(app)) == sorted(k.name for k in tmap.keys_at(expected, "pods"))

        # `{` `}`: the selected object's own changes
        await goto(pilot, "09:00:31")
        await select(pilot, API_POD)
        versions = tmap.version_times(API_POD)
        for expected in versions[1:]:
            await pilot.press("right_curly_bracket")
            await pilot.pause()
            assert app.playback.t == expected
        assert "restartCount" in app.time.message  # what the step changed
        await pilot.press("left_curly_bracket")
        await pilot.pause()
        assert app.playback.t == versions[-2]
        assert by_name(app)[API_POD.name]["RESTARTS"] == "2 (0s ago)"


async def test_play_rewind_jump_and_the_timeline(make_app, source):
    source.gap_list.append(Gap(at(70), at(80), "pods", "watch expired (410)"))
    app = make_app(20)
    wall = [0]
    app.playback.wall = lambda: wall[0]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("space", "greater_than_sign", "greater_than_sign")
        await pilot.pause()
        assert app.playback.playing and app.playback.speed == 4
        wall[0] += 10 * NS
        app.playback.advance()
        await pilot.pause()
        assert app.playback.t == at(60)
        assert "▶ PLAY 4x" in screen_text(app)
        assert by_name(app)[API_POD.name]["STATUS"] == "CrashLoopBackOff"
        for _ in range(4):  # 4x 2x 1x 0.5x 0.25x -> pause -> rewind
            await pilot.press("less_than_sign")
        await pilot.press("less_than_sign", "less_than_sign")
        await pilot.pause()
        assert app.playback.speed == -1
        assert "◀ REWIND 1x" in screen_text(app)
        await pilot.press("space")
        await pilot.pause()
        assert not app.playback.playing

        assert app.playback.t == at(60)
        await pilot.press("minus")  # the default interval: 1 min
        assert app.playback.t == at(0)
        await pilot.press("i", "i", "i", "plus")  # 1m -> 10m -> 1h -> 10s
        assert app.playback.t == at(10)
        await pilot.press("equals_sign", "i", "i", "plus")  # 10 min on: stops at the end
        assert app.playback.t == at(150) and "the record ends there" in app.time.message

        # the strip: a click seeks to that moment; bookmarks are marked
        app.source.add_bookmark(Bookmark(at(45), "config edit"))
        timeline = app.browser.query_one(Timeline)
        timeline.refresh()
        await pilot.pause()
        layout = timeline._layout
        bar = layout.bucket(at(100))
        await pilot.click(Timeline, offset=(layout.x0 + bar, 0))
        await pilot.pause()
        lo, hi = layout.bounds(bar)
        assert lo <= app.playback.t <= hi
        mark = layout.bucket(at(45))
        assert timeline.render_line(0).text[layout.x0 + mark] == "◆"
        strip = timeline.render_line(0)
        gap_cell = layout.x0 + layout.bucket(at(75))
        cells = [seg for seg in strip for _ in seg.text]
        assert cells[gap_cell].style.bgcolor is not None  # shaded
        outside = layout.x0 + layout.bucket(at(20))
        assert cells[outside].style.bgcolor != cells[gap_cell].style.bgcolor
        await pilot.click(Timeline, offset=(layout.x0 + mark, 1))
        await pilot.pause()
        assert app.playback.t == at(45)  # a click on a mark goes to the bookmark itself


async def test_the_state_message_follows_playback_that_stops_by_itself(make_app):
    # rewinding into the start pauses, playing into now turns live: the timeline's message
    # said "rewinding at 8x" next to PAUSED and "playing at 64x" next to LIVE
    app = make_app(20)
    wall = [0]
    app.playback.wall = lambda: wall[0]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("less_than_sign", "less_than_sign")  # rewind 2x
        await pilot.pause()
        assert app.time.message == "rewinding at 2x"
        wall[0] += 30 * NS
        app.playback.advance()
        await pilot.pause()
        first = app.playback.bounds()[0]
        assert not app.playback.playing and app.playback.t == first
        assert "⏸ PAUSED" in screen_text(app)
        assert "rewinding" not in screen_text(app)
        assert app.time.message.startswith("paused at ") and "the record starts there" in (
            app.time.message
        )
        await pilot.press("greater_than_sign")  # plays forward
        await pilot.pause()
        assert app.playback.playing and app.time.message == "playing at 1x"
        await pilot.press("t", *"end", "enter")  # a seek says where it went, not a state
        await pilot.pause()
        assert "rewinding" not in app.time.message and not app.playback.playing

    live = make_app(None, src=testing.incident_source(live=True))
    async with live.run_test(size=SIZE) as pilot:
        await pilot.pause()
        wall = [0]
        live.playback.wall = lambda: wall[0]
        await pilot.press("space", "t", *"-10s", "enter")
        await pilot.pause()
        await pilot.press("greater_than_sign", "greater_than_sign")  # 1x, then 2x
        await pilot.pause()
        assert live.time.message == "playing at 2x"
        wall[0] += 60 * NS
        live.playback.advance()
        await pilot.pause()
        assert live.playback.live
        assert live.time.message == "live" and "playing" not in screen_text(live)


async def test_z_zooms_the_timeline_around_the_cursor_and_a_click_seeks_within_it(make_app, source):
    # a week-long recording squeezes an hour into one cell: zoomed, a click lands where meant
    app = make_app(100)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.browser.query_one(Timeline)
        whole = timeline._layout.end - timeline._layout.start
        await pilot.press("z")
        await pilot.pause()
        assert app.time.timeline_zoom == 60 * NS  # the record is ~2.5 min: 1 min is next
        layout = timeline._layout
        assert layout.end - layout.start == 60 * NS < whole
        assert layout.start <= at(100) < layout.end
        assert "zoom 1m" in timeline.render_line(1).text
        await pilot.click(Timeline, offset=(layout.x0 + layout.n - 1, 0))
        await pilot.pause()
        assert layout.bounds(layout.n - 1)[0] <= app.playback.t <= layout.end
        await pilot.press("z")  # nothing narrower
        assert app.time.timeline_zoom == 60 * NS
        await pilot.press("Z")
        await pilot.pause()
        assert app.time.timeline_zoom is None
        assert timeline._layout.end - timeline._layout.start == whole


def _record_incident(path, source, kind: str):
    """The scenario written as a v0.1 file or a segmented recording; returns its opener."""
    if kind == "recorded":
        from khronoscope.recording.segments.copy import write_source
        from khronoscope.recording.segments.source import open_segmented
        from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions

        w = SegmentedWriter.create_local(
            path, source.info, start=testing.T0, writer_options=SegmentOptions(autoflush=False)
        )
        write_source(source, w, testing.T0)
        w.close(stop_t=source.tmap.last_t)
        return lambda: open_segmented(path, row_fn=row_for)
    writer = RecordingWriter.create(
        path, source.info, start=testing.T0, writer_options=WriterOptions(autoflush=False)
    )
    writer.set_types(testing.T0, source.types.values())
    for ref in source.tmap.changes():
        writer.append_change(Change(ref.t, ref.key, ref.kind, source.tmap.get(ref.key, ref.t)))
    writer.close()
    return lambda: open_recording(path, row_fn=row_for)


async def test_bookmarks_survive_a_restart_on_the_same_recording(
    tmp_path, make_app, source, source_kind
):
    reopen = _record_incident(tmp_path / "incident.khr", source, source_kind)
    first = reopen()
    app = make_app(60, src=first)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, API_POD)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, BookmarkPrompt)
        await pilot.press(*"api crashes", "ctrl+o", "enter")
        await pilot.pause()
        await goto(pilot, "09:00:45")
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"config edit", "enter")
        await pilot.pause()
    first.close()

    second = reopen()
    marks = [(b.t, b.label, b.key) for b in second.bookmarks()]
    assert marks == [(at(45), "config edit", None), (at(60), "api crashes", API_POD)]
    app = make_app(150, src=second)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("apostrophe")
        await pilot.pause()
        assert isinstance(app.screen, BookmarksScreen)
        shown = screen_text(app)
        assert "api crashes" in shown and "pods/shop/api-7f8b9-x2x4q" in shown
        assert app.screen.list.index == 1  # the last one before the cursor
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one(Input).value = ""
        await pilot.press(*"api CrashLoopBackOff", "enter")
        await pilot.pause()
        await pilot.press("up", "x")
        await pilot.pause()
        assert [b.label for b in second.bookmarks()] == ["api CrashLoopBackOff"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.playback.t == at(60)
        await pilot.press("left_parenthesis")  # previous bookmark: none now
        assert app.playback.t == at(60) and "no earlier bookmark" in app.time.message
    second.close()

    third = reopen()
    assert [(b.t, b.label) for b in third.bookmarks()] == [(at(60), "api CrashLoopBackOff")]
    third.close()


async def test_the_diff_of_a_known_edit_shows_exactly_the_edited_lines(make_app):
    app = make_app(50)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "cm shop")
        await select(pilot, WEB_CONFIG)
        await pilot.press("D")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert changed_lines(screen.result.lines) == ["-  LOG_LEVEL: info", "+  LOG_LEVEL: debug"]
        assert screen.moments == (at(0), at(45))
        assert re.search(r"-\s+LOG_LEVEL: info", screen_text(app))
        await pilot.press("a")  # the noise, on request
        await pilot.pause()
        shown = changed_lines(screen.result.lines)
        assert any("resourceVersion" in x for x in shown)
        assert any("manager: kubectl-edit" in x for x in shown)
        await pilot.press("a", "n")  # against the end of the record: nothing changed since
        await pilot.pause()
        assert screen.result.equal

        await pilot.press("escape")
        await command(pilot, "deploy shop")
        await select(pilot, API_DEPLOY)
        await goto(pilot, "09:00:58")
        await pilot.press("D")
        await pilot.pause()
        image = changed_lines(app.screen.result.lines)
        assert image == ["-        image: nginx:1.27", f"+        image: {testing.API_IMAGE_RC}"]
        await pilot.press("right_curly_bracket")  # the object's next change, diffed
        await pilot.pause()
        app.screen.redraw()
        assert changed_lines(app.screen.result.lines) == [
            "-  readyReplicas: 1",
            "+  readyReplicas: 0",
            "-  availableReplicas: 1",
            "+  availableReplicas: 0",
        ]


async def test_history_names_the_field_managers_and_moves_the_cursor(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "deploy shop")
        await select(pilot, API_DEPLOY)
        await pilot.press("H")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        shown = screen_text(app)
        assert re.search(
            r"09:00:58\.000\s+MODIFIED\s+kubectl-set\s+spec\.template\.spec\.containers\[api\]"
            r"\.image",
            shown,
        )
        assert re.search(r"09:01:00\.000\s+MODIFIED\s+kube-controller-manager \(status\)", shown)
        assert screen.list.index == 3  # the version in force at the cursor
        await pilot.press("up")
        await pilot.pause()
        assert app.playback.t == at(58)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        assert f"+        image: {testing.API_IMAGE_RC}" in app.screen.result.lines


async def test_what_changed_between_two_bookmarks(make_app, source):
    source.add_bookmark(Bookmark(at(40), "before"))
    source.add_bookmark(Bookmark(at(65), "after"))
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "changes before after")
        screen = app.screen
        assert isinstance(screen, ChangesScreen)
        by_type = screen.result.by_type
        got = {t: sorted((m.key.name, m.how) for m in ms) for t, ms in by_type.items()}
        assert got == {
            "configmaps": [("web-config", "modified")],
            "deployments.apps": [("api", "modified")],
            "events": [("api-7f8b9-x2x4q.backoff", "added")],
            "jobs.batch": [("migrate", "added")],
            "pods": [("api-7f8b9-x2x4q", "modified")],
        }
        assert "data.LOG_LEVEL" in screen_text(app)
        keys = [getattr(x, "key", None) for x in screen.lines]
        target = keys.index(API_DEPLOY)
        screen.list.move_to(target)
        await pilot.press("enter")
        await pilot.pause()
        diff = app.screen
        assert isinstance(diff, DiffScreen) and diff.moments == (at(40), at(65))
        assert f"+        image: {testing.API_IMAGE_RC}" in diff.result.lines


async def test_what_changed_hides_objects_whose_only_change_is_noise_until_a(make_app, source):
    # a kubelet heartbeat rewrites a node's resourceVersion and managedFields and nothing a
    # reader cares about: listed, it would bury the objects that really changed
    import copy

    before = source.tmap.get(NODE_1, at(40))
    beat = copy.deepcopy(before)
    beat["metadata"]["resourceVersion"] = "999999"
    source.put(at(50), beat)
    source.add_bookmark(Bookmark(at(40), "before"))
    source.add_bookmark(Bookmark(at(65), "after"))
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "changes before after")
        screen = app.screen
        assert isinstance(screen, ChangesScreen)
        assert NODE_1 not in [getattr(x, "key", None) for x in screen.lines]
        assert screen.noise_hidden == 1
        assert "1 with noise-only changes hidden (a shows)" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert NODE_1 in [getattr(x, "key", None) for x in screen.lines]
        assert "(only resourceVersion, managedFields)" in screen_text(app)


def test_at_is_one_option_for_live_and_demo():
    from khronoscope.cli import build_parser, main

    parser = build_parser()
    for argv in (["live", "--at", "-15m"], ["demo", "--at", "-15m", "--utc", "-c", "deploy"]):
        args = parser.parse_args(argv)
        assert args.at == "-15m"
    assert main(["demo", "--at", "25:00"]) == 2  # before any cluster starts

    from khronoscope.tui.run import build_settings

    settings = build_settings(at="09:01:00", utc=True, at_base=at(3600), user_keymap=None)
    assert settings.at == at(60)


async def test_time_keys_are_remappable_and_in_the_help_and_palette(tmp_path, make_app):
    from khronoscope.tui.run import build_settings
    from khronoscope.tui.screens.help import HelpScreen

    path = tmp_path / "keys.toml"
    path.write_text('[time]\nstep_next = "u"\n')
    settings = build_settings(keymap=str(path), user_keymap=tmp_path / "none.toml")
    app = make_app(-1, keymap=settings.keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")  # no longer bound
        await pilot.pause()
        assert app.playback.t == at(-1)
        await pilot.press("u")
        await pilot.pause()
        assert app.playback.t == at(0)
        commands = list(app.palette_entries(app.screen))
        goto = next(c for c in commands if "time.goto" in c.help)
        await goto.run()
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        wanted = r"\bu\s+Next change in view\s+\(yours\)\s+time\.step_next"
        for _ in range(4):  # page down to the time travel keys
            if re.search(wanted, screen_text(app)):
                break
            await pilot.press("pagedown")
            await pilot.pause()
        assert re.search(wanted, screen_text(app))

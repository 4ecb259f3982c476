"""The log pane, capture marks, usage columns and sparklines, driven like a user (pilot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.source import SourceCapability
from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.marks import LogMarks
from khronoscope.telemetry.metricstore import MetricStore
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.logs import LogsScreen
from khronoscope.tui.widgets.logview import LogView
from khronoscope.tui.widgets.usage import UsagePanel, buckets, marker
from tests import testing

from .conftest import SIZE, header, rows, screen_text, table_of

API = ObjectKey("pods", "shop", "api-7f8b9-x2x4q")
WEB = ObjectKey("pods", "shop", "web-5d9c7-aaaaa")
NODE = ObjectKey("nodes", "", "node-2")
at = testing.at


def with_telemetry(src: testing.MemorySource) -> testing.MemorySource:
    """The incident with the api pod's log (two containers) and usage every 15 s."""
    logs = LogStore()
    lines = [(at(32 + i), f"GET /orders/{i} 200") for i in range(0, 28)]
    lines += [(at(60), "panic: connection refused to db:5432")]
    lines += [(at(61 + i), f"GET /orders/{i} 200 after restart") for i in range(0, 29)]
    lines += [(at(90), "ERROR: db unreachable, exiting")]
    logs.extend("shop", API.name, "api", lines)
    logs.extend("shop", API.name, "proxy", [(at(33 + 2 * i), f"proxy tick {i}") for i in range(40)])
    logs.note("shop", API.name, "api", at(61), "container restarted (containerd://b2)")
    metrics = MetricStore()
    for i, s in enumerate(range(45, 300, 15)):
        metrics.add(at(s), API, (20 + i * 10) * 1_000_000, (64 + i) * 2**20)
        metrics.add(at(s), NODE, 500_000_000, 3 * 2**30)
    src.logs = logs  # type: ignore[attr-defined]
    src.metrics = metrics  # type: ignore[attr-defined]
    return src


@dataclass
class CapturingSource(testing.MemorySource):
    """A live-like source that records marks as a cluster session would."""

    log_marks: LogMarks = field(default_factory=LogMarks)
    calls: list[tuple[str, ObjectKey, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.capabilities |= SourceCapability.CAPTURES_LOGS  # what a cluster session declares

    def mark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        self.calls.append(("mark", key, container))
        self.log_marks.mark(key, container)

    def unmark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        self.calls.append(("unmark", key, container))
        self.log_marks.unmark(key, container)

    def log_status(self, key: ObjectKey) -> dict[str, Any]:
        return {}


async def open_logs(app, pilot, key=API):
    table = table_of(app)
    table.select(key)
    await pilot.pause()
    await pilot.press("o")
    await pilot.pause()
    assert isinstance(app.screen, LogsScreen)
    return app.screen.query_one(LogView)


async def seek(app, pilot, seconds):
    app.playback.seek(at(seconds))
    app.screen.refresh_view()
    await pilot.pause()


async def test_log_pane_shows_the_lines_up_to_the_cursor(make_app, source):
    app = make_app(70, src=with_telemetry(source))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot)
        texts = [e.text for e in view.entries]
        assert "panic: connection refused to db:5432" in texts
        assert all(e.t <= at(70) for e in view.entries)
        assert sum(not e.note for e in view.entries) == app.source.logs.count(  # type: ignore[attr-defined]
            "shop", API.name, at(70)
        )
        assert "── container restarted (containerd://b2) ──" in texts  # the note, in time order
        assert texts.index("panic: connection refused to db:5432") < texts.index(
            "── container restarted (containerd://b2) ──"
        )
        # both containers, with the container column
        assert any("proxy tick" in line and " proxy " in line for line in view.texts())
        # back in time: only what had been written by then
        await seek(app, pilot, 45)
        assert [e.t for e in view.entries] and max(e.t for e in view.entries) <= at(45)
        assert "panic: connection refused to db:5432" not in [e.text for e in view.entries]
        # forward again: the lines in between are added, nothing twice
        await seek(app, pilot, 95)
        got = [(e.t, e.container, e.text) for e in view.entries if not e.note]
        want = [
            (ln.t, ln.container, ln.text)
            for ln in app.source.logs.lines("shop", API.name, until=at(95))
        ]  # type: ignore[attr-defined]
        assert got == want
        assert "lines up to" in screen_text(app) and "PAUSED" in screen_text(app)


async def test_container_filter_search_wrap_and_follow(make_app, source):
    app = make_app(300, src=with_telemetry(source))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot)
        await pilot.press("c")  # all -> api
        await pilot.pause()
        assert {e.container for e in view.entries if not e.note} == {"api"}
        assert "[api]" in screen_text(app)
        await pilot.press("c")  # -> proxy
        await pilot.pause()
        assert {e.container for e in view.entries if not e.note} == {"proxy"}
        await pilot.press("c")  # -> all again
        await pilot.pause()
        await pilot.press("slash")
        await pilot.press(*"DB")
        await pilot.press("enter")
        await pilot.pause()
        matches = view.matches()
        assert [view.entries[i].text for i in matches] == [
            "panic: connection refused to db:5432",
            "ERROR: db unreachable, exiting",
        ]
        assert view.current_match == matches[-1]  # the newest match first
        assert "2 matches" in screen_text(app)
        await pilot.press("n")
        assert view.current_match == matches[0]  # wraps around
        await pilot.press("N")
        assert view.current_match == matches[-1]
        rows_before = view.virtual_size.height
        await pilot.press("w")
        await pilot.pause()
        assert view.wrap and view.virtual_size.height >= rows_before
        await pilot.press("f")
        await pilot.pause()
        assert view.follow and view.is_vertical_scroll_end


async def test_long_lines_wrap_into_more_rows(make_app, source):
    src = with_telemetry(source)
    src.logs.extend("shop", WEB.name, "web", [(at(50), "x" * 500)])  # type: ignore[attr-defined]
    app = make_app(100, src=src)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot, WEB)
        assert view.virtual_size.height == 1
        await pilot.press("w")
        await pilot.pause()
        assert view.virtual_size.height >= 500 // SIZE[0] + 1


async def test_pods_without_logs_say_so(make_app, source):
    app = make_app(100, src=with_telemetry(source))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot, WEB)
        assert view.entries == []
        assert "no log lines up to this moment" in screen_text(app)


async def test_capture_key_marks_the_pod_and_the_row_shows_it(make_app):
    src = CapturingSource(**vars(testing.incident_source(live=True)))
    app = make_app(None, src=src)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        table.select(WEB)
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert src.calls == [("mark", WEB, None)]
        marked = [r for r in table.row_texts() if r.startswith("●")]
        assert len(marked) == 1 and WEB.name in marked[0]
        await pilot.press("c")  # again: stop
        await pilot.pause()
        assert src.calls[-1] == ("unmark", WEB, None)
        assert not any(r.startswith("●") for r in table.row_texts())


async def test_logs_of_a_pod_deleted_before_capture_say_so_instead_of_waiting(make_app):
    # paused before the pod's deletion in a live session: the API has no logs of a deleted
    # pod, so marking it would leave "capture starting…" on screen forever
    doomed = ObjectKey("pods", "shop", "web-5d9c7-ccccc")
    src = CapturingSource(**vars(testing.incident_source(live=True)))
    app = make_app(100, src=src)
    async with app.run_test(size=SIZE) as pilot:
        await open_logs(app, pilot, doomed)
        assert src.calls == []
        text = screen_text(app)
        assert "not captured: deleted at 2026-03-14 09:02:05, before capture" in text
        assert "capture starting" not in text


async def test_a_captured_pod_deleted_later_says_its_capture_ended(make_app):
    doomed = ObjectKey("pods", "shop", "web-5d9c7-ccccc")
    src = CapturingSource(**vars(testing.incident_source(live=True)))
    src.logs = LogStore()  # type: ignore[attr-defined]
    src.logs.extend("shop", doomed.name, "web", [(at(100), "GET / 200")])
    src.log_marks.mark(doomed)
    app = make_app(110, src=src)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot, doomed)
        assert view.texts() == ["09:01:40.000 GET / 200"]
        text = screen_text(app)
        assert "capture ended: the pod was deleted at 2026-03-14 09:02:05" in text
        assert "not captured" not in text


async def test_tabs_in_log_lines_are_expanded_not_sent_to_the_terminal(make_app, source):
    # Go stack traces indent with a tab: drawn raw, the terminal jumps to its next tab stop
    # past cells the screen believes it painted, and stale characters show through
    src = with_telemetry(source)
    src.logs.extend(
        "shop", WEB.name, "web", [(at(100), "main.main()"), (at(101), "\t/src/main.go:41")]
    )
    app = make_app(110, src=src)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot, WEB)
        assert view.texts()[-1] == "09:01:41.000         /src/main.go:41"


async def test_usage_columns_at_the_cursor(make_app, source):
    app = make_app(100, src=with_telemetry(source))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        cols = header(app)
        assert cols[-6:] == ["CPU", "%CPU/R", "%CPU/L", "MEM", "%MEM/R", "%MEM/L"]
        by_name = {r[cols.index("NAME")]: dict(zip(cols, r, strict=False)) for r in rows(app)}
        api = by_name[API.name]
        # the sample of t=90s (4th): 50m of a 100m request, no limit; 67Mi of 128Mi
        assert (api["CPU"], api["%CPU/R"], api["%CPU/L"]) == ("50m", "50%", "n/a")
        assert (api["MEM"], api["%MEM/R"]) == ("67Mi", "52%")
        assert by_name[WEB.name]["CPU"] == "n/a"  # no sample for web
        app.playback.seek(at(40))  # before the first sample
        app.browser.tick()
        await pilot.pause()
        by_name = {r[cols.index("NAME")]: dict(zip(cols, r, strict=False)) for r in rows(app)}
        assert by_name[API.name]["CPU"] == "n/a"


async def test_shift_c_sorts_by_cpu_at_the_cursor_and_follows_it_through_time(make_app, source):
    # as in k9s: the hottest pod first; here the ranking flips between two moments, and the
    # order must be that of the moment shown, not of when the key was pressed
    src = with_telemetry(source)
    for i, s in enumerate(range(45, 300, 15)):
        # web runs hot early, then cools below api (which climbs 20m -> 180m)
        src.metrics.add(at(s), WEB, (200 - i * 10) * 1_000_000, 32 * 2**20)
    app = make_app(60, src=src)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        def names() -> list[str]:
            cols = header(app)
            return [r[cols.index("NAME")] for r in rows(app)]

        await pilot.press("C")
        await pilot.pause()
        assert names()[:2] == [WEB.name, API.name]  # at 60 s: web 190m, api 30m
        assert "CPU↓" in table_of(app).header_text()
        assert "sort: CPU↓" in screen_text(app)
        app.playback.seek(at(285))
        app.browser.tick()
        await pilot.pause()
        assert names()[:2] == [API.name, WEB.name]  # at 285 s: api 180m, web 40m
        await pilot.press("C")  # again: the coolest first, pods without samples before
        await pilot.pause()
        assert names()[-2:] == [WEB.name, API.name]


async def test_detail_view_sparklines_mark_the_cursor(make_app, source):
    app = make_app(150, src=with_telemetry(source))
    async with app.run_test(size=SIZE) as pilot:
        app.show_detail(API, "describe")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        panel = screen.query_one(UsagePanel)
        assert panel.has_class("-shown")
        text = screen_text(app)
        # the sample of t=150s: 90m of a 100m request; 71Mi of 128Mi
        assert "CPU 90m  90% of request · n/a of limit" in text
        assert "MEM 71Mi  55% of request" in text and "17 samples" in text
        mark = str(screen.query_one("#usage-cpu-mark").render())
        width = panel.size.width - 2
        # t=150s in a range of 45s..285s: just before the middle
        assert mark.index("▲") == (150 - 45) * width // (285 - 45)


def test_buckets_follow_time_not_sample_count():
    from khronoscope.telemetry.metricstore import Sample

    samples = [Sample(0, 1, 1), Sample(10, 5, 5), Sample(95, 9, 9)]
    # ten slices of 10 ns: values carried forward until the next sample
    assert buckets(samples, 0, 100, 10, "cpu") == [1, 5, 5, 5, 5, 5, 5, 5, 5, 9]
    assert marker(0, 100, 10, 55) == "     ▲"
    assert marker(0, 100, 10, 200).endswith("▶") and marker(0, 100, 10, -5) == "◀"


async def test_the_pane_opens_at_the_moment_shown_and_time_keys_move_it(make_app, source):
    src = with_telemetry(source)
    src.logs.extend(  # type: ignore[attr-defined]
        "shop", API.name, "api", [(at(100) + i * 1000, f"late line {i}") for i in range(300)]
    )
    app = make_app(110, src=src)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_logs(app, pilot)
        await pilot.pause()
        # the newest line up to t is on screen (before: the pane opened at the oldest line)
        assert view.is_vertical_scroll_end and view.scroll_offset.y > 0
        assert "late line 299" in screen_text(app)
        await pilot.press("minus")  # the time keys work here: back one interval (1m)
        await pilot.pause()
        app.screen.refresh_view()
        await pilot.pause()
        assert app.playback.t == at(50)
        assert isinstance(app.screen, LogsScreen)
        assert max(e.t for e in view.entries) <= at(50)
        assert "late line" not in screen_text(app)


@dataclass
class FetchingSource(CapturingSource):
    """A live source whose capture says `following` and that can fetch logs now."""

    fetches: list[tuple[ObjectKey, str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.capabilities |= SourceCapability.FETCHES_LOGS  # declared, as a session does

    def log_status(self, key: ObjectKey) -> dict[str, Any]:
        @dataclass
        class St:
            state: str = "following"
            reason: str = ""

        return {"web": St()} if self.log_marks.is_marked(key) else {}

    async def fetch_logs(self, key, container, previous, tail):
        from khronoscope.core.source import FetchedLog

        self.fetches.append((key, container, previous))
        if previous:
            return FetchedLog(
                container, True, at(3600), error="previous terminated container not found"
            )
        return FetchedLog(container, False, at(3600), ((at(3590), "GET / 200 (fetched)"),))


async def test_paused_pane_does_not_say_following_and_p_fetches_labelled_as_now():
    from datetime import UTC

    from khronoscope.tui.app import create_app
    from khronoscope.tui.settings import BrowserSettings

    base = testing.incident_source(live=True)
    src = FetchingSource(base.tmap, base.info, base.types, base.status, True)
    src.logs = LogStore()  # type: ignore[attr-defined]
    app = create_app(src, BrowserSettings(tz=UTC, clock=lambda: at(3600)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.playback.seek(at(155))
        await pilot.pause()
        view = await open_logs(app, pilot, WEB)
        await pilot.pause()
        title = screen_text(app)
        assert "capture now: web: following" in title and "PAUSED" in title
        await pilot.press("p")
        for _ in range(20):
            await pilot.pause(0.05)
            if view.entries:
                break
        assert src.fetches == [(WEB, "web", True), (WEB, "web", False)]
        texts = [e.text for e in view.entries]
        assert texts == [
            "── fetched now (10:00:00), not recorded at its time: web, previous instance — "
            "previous terminated container not found ──",
            "── fetched now (10:00:00), not recorded at its time: web, current instance ──",
            "GET / 200 (fetched)",
        ]

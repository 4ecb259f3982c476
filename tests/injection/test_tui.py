"""Every view of the app over a hostile cluster: no control byte of cluster text reaches the
terminal (the raw bytes the driver writes are captured), and the hostile text is still shown.

The driver is Textual's headless one, told it is not headless so that the app writes its frames
exactly as it would to a terminal; they are kept instead of being sent anywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path

import pytest
from textual.widgets import Input

from khronoscope.core.types import ObjectKey
from khronoscope.printers import row_for
from khronoscope.recording.source import RecordingSource
from khronoscope.tui.app import KhronoscopeApp, create_app
from khronoscope.tui.screens.bookmarks import BookmarksScreen
from khronoscope.tui.screens.capture import CaptureChoice
from khronoscope.tui.screens.changes import ChangesScreen
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.diff import DiffScreen
from khronoscope.tui.screens.history import HistoryScreen
from khronoscope.tui.screens.logs import LogsScreen
from khronoscope.tui.settings import BrowserSettings
from tests.tui.conftest import screen_text, table_of

from .conftest import command, settle
from .corpus import (
    ANNOTATED,
    END,
    LABELLED,
    MANAGED,
    NAMES,
    NODE,
    VICTIM,
    N,
    at,
    forbidden_type,
    hostile,
    hostile_source,
    leaks,
    marker,
    write_recording,
)

SIZE = (220, 60)
NOW = END + 3600 * 1_000_000_000


def make_app(live: bool = False, source=None) -> KhronoscopeApp:
    src = source or hostile_source(live)
    settings = BrowserSettings(at=None if live else END, tz=UTC, clock=lambda: NOW)
    return create_app(src, settings)


async def select(app, pilot, key: ObjectKey, view: str) -> None:
    """Open `view` (all namespaces) and put the cursor on `key`."""
    await command(app, pilot, view)
    await pilot.press("0")
    await settle(pilot)
    table_of(app).select(key)
    await settle(pilot)


def each(prefix: str) -> list[str]:
    return [marker(prefix, i) for i in range(N)]


Shown = list[str]
View = Callable[[KhronoscopeApp, object], Awaitable[Shown]]
VIEWS: dict[str, View] = {}


def view(name: str) -> Callable[[View], View]:
    def register(fn: View) -> View:
        VIEWS[name] = fn
        return fn

    return register


@view("pods table, all namespaces, header")
async def _pods(app, pilot) -> Shown:
    await select(app, pilot, VICTIM, "pods")
    return [*each("p"), *each("n"), "cluster-", "ctx-"]


@view("pods table, a hostile namespace (header, favourites, timeline scope)")
async def _pods_in_namespace(app, pilot) -> Shown:
    await command(app, pilot, "pods")
    await pilot.press("1")  # the first favourite: a namespace with pods
    await settle(pilot)
    for key in ("left_curly_bracket", "left_square_bracket"):  # steps: the timeline says why
        await pilot.press(key)
        await settle(pilot)
    return ["[n00-"]


@view("namespaces table")
async def _namespaces(app, pilot) -> Shown:
    await command(app, pilot, "ns")
    return each("n")


@view("events table")
async def _events(app, pilot) -> Shown:
    await command(app, pilot, "events")
    await pilot.press("0")
    await settle(pilot)
    return [*each("m"), *each("r")]


@view("custom resources table (printer columns)")
async def _databases(app, pilot) -> Shown:
    await command(app, pilot, "databases")
    await pilot.press("0")
    await settle(pilot)
    return [*each("d"), *each("k")]


@view("forbidden types (watch errors)")
async def _forbidden(app, pilot) -> Shown:
    for i in range(N):
        await command(app, pilot, forbidden_type(i).name)
        assert marker("w", i) in table_of(app).message
    return [marker("w", N - 1)]


async def _detail(app, pilot, key: ObjectKey, view_name: str, keys: str) -> None:
    await select(app, pilot, key, view_name)
    for k in keys:
        await pilot.press(k)
        await settle(pilot)
    assert isinstance(app.screen, DetailScreen)


@view("describe pod (status message, events)")
async def _describe_victim(app, pilot) -> Shown:
    await _detail(app, pilot, VICTIM, "pods", "d")
    assert "Message:          s00-" in screen_text(app)
    await pilot.press("G")  # the events, at the bottom
    await settle(pilot)
    return each("m")[-5:]


@view("describe pod (labels)")
async def _describe_labels(app, pilot) -> Shown:
    await _detail(app, pilot, LABELLED, "pods", "d")
    return each("l")


@view("describe configmap (annotations)")
async def _describe_annotations(app, pilot) -> Shown:
    await _detail(app, pilot, ANNOTATED, "configmaps", "d")
    return each("a")


@view("yaml configmap (annotations)")
async def _yaml_annotations(app, pilot) -> Shown:
    await _detail(app, pilot, ANNOTATED, "configmaps", "y")
    return each("a")


@view("yaml with managedFields (managers)")
async def _yaml_managers(app, pilot) -> Shown:
    await _detail(app, pilot, MANAGED, "configmaps", "yM")
    return ["g00-", "h00-"]


@view("describe node (condition messages)")
async def _describe_node(app, pilot) -> Shown:
    await _detail(app, pilot, NODE, "nodes", "d")
    return each("c")


@view("describe custom resource")
async def _describe_database(app, pilot) -> Shown:
    key = ObjectKey("databases.example.com", "shop", hostile("d", 0))
    await _detail(app, pilot, key, "databases", "d")
    return ["d00-", "k00-"]


@view("history of an object (field managers)")
async def _history(app, pilot) -> Shown:
    await select(app, pilot, MANAGED, "configmaps")
    await pilot.press("H")
    await settle(pilot)
    assert isinstance(app.screen, HistoryScreen)
    await pilot.press("g")  # the first version: the cursor moves there
    await settle(pilot)
    return ["g00-"]


@view("diff of an object, noise shown")
async def _diff(app, pilot) -> Shown:
    await select(app, pilot, MANAGED, "configmaps")
    await pilot.press("D")
    await settle(pilot)
    assert isinstance(app.screen, DiffScreen)
    await pilot.press("a")
    await settle(pilot)
    return [marker("h", N - 1), marker("g", N - 1)]


@view("diff against a bookmark")
async def _diff_bookmark(app, pilot) -> Shown:
    await select(app, pilot, MANAGED, "configmaps")
    await pilot.press("D")
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
    return [f"bookmark '{marker('b', N - 1)}"]


@view("what changed since the start")
async def _changes(app, pilot) -> Shown:
    await command(app, pilot, "changes start")
    assert isinstance(app.screen, ChangesScreen)
    return ["n00-", "d00-"]


@view("bookmarks list")
async def _bookmarks(app, pilot) -> Shown:
    await pilot.press("apostrophe")
    await settle(pilot)
    assert isinstance(app.screen, BookmarksScreen)
    return each("b")


@view("bookmark jump (timeline message)")
async def _bookmark_jump(app, pilot) -> Shown:
    await pilot.press("left_parenthesis")
    await settle(pilot)
    return [marker("b", N - 1)]


@view("what changed from a bookmark")
async def _changes_from_bookmark(app, pilot) -> Shown:
    await pilot.press("apostrophe")
    await settle(pilot)
    await pilot.press("g")
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(app.screen, ChangesScreen)
    return ["from bookmark 'b00-"]


@view("rename a bookmark (prompt holds the label)")
async def _rename(app, pilot) -> Shown:
    await pilot.press("apostrophe")
    await settle(pilot)
    await pilot.press("g")
    await pilot.press("r")
    await settle(pilot)
    return ["b00-"]


@view("delete a bookmark (notification)")
async def _delete_bookmark(app, pilot) -> Shown:
    await pilot.press("apostrophe")
    await settle(pilot)
    await pilot.press("g")
    for i in range(N):
        await pilot.press("x")
        await settle(pilot)
        shown = screen_text(app)
        assert "deleted bookmark" in shown and marker("b", i) in shown
    return []


@view("logs pane (lines, notes, container names)")
async def _logs(app, pilot) -> Shown:
    await select(app, pilot, VICTIM, "pods")
    await pilot.press("o")
    await settle(pilot)
    assert isinstance(app.screen, LogsScreen)
    await pilot.press("w")  # wrapped
    await settle(pilot)
    return [*each("o")[-10:], "q22-", "side-"]


@view("logs pane, one container each")
async def _logs_containers(app, pilot) -> Shown:
    await select(app, pilot, VICTIM, "pods")
    await pilot.press("o")
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    return ["side-"]


@view("command line completion of namespaces")
async def _completion(app, pilot) -> Shown:
    await pilot.press(":")
    for ch in "pods n0":
        await pilot.press("space" if ch == " " else ch)
    await settle(pilot)
    return ["pods n0"]


@view("export dialog and its result (scope names a hostile namespace)")
async def _export(app, pilot, repo: Path | None = None) -> Shown:
    await command(app, pilot, "pods")
    await pilot.press("1")
    await settle(pilot)
    await pilot.press("E")
    await settle(pilot)
    shown = screen_text(app)
    assert "namespace n" in shown
    return ["pods in n"]


@view("capture logs (live): container choice and notifications")
async def _capture(app, pilot) -> Shown:
    await select(app, pilot, VICTIM, "pods")
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(app.screen, CaptureChoice)
    text = screen_text(app)
    await pilot.press("down", "down", "enter")
    await settle(pilot)
    table_of(app).select(ObjectKey("pods", hostile("n", 0), hostile("p", 0)))
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    assert "side-" in text
    return ["capturing the logs of p00-"]


LIVE_VIEWS = {"capture logs (live): container choice and notifications"}


@pytest.mark.parametrize("name", list(VIEWS))
async def test_no_control_byte_of_cluster_text_reaches_the_terminal(name, terminal):
    app = make_app(live=name in LIVE_VIEWS)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        expected = await VIEWS[name](app, pilot)
        await settle(pilot)
        shown = screen_text(app)
        missing = [m for m in expected if m not in shown]
        assert app.is_running
    raw = "".join(terminal)
    assert raw, "the driver received no frames"
    assert not leaks(raw), f"{name}: control bytes reached the terminal: {leaks(raw)}"
    assert not missing, f"{name}: hostile text not shown: {missing}"


async def test_drift_screen_over_a_hostile_cluster(terminal, tmp_path):
    from khronoscope.export import export_moment

    src = hostile_source()
    # Git as the cluster was at 1.5 s: what came later is "only in the cluster", by its
    # hostile name; and as it was at 10 s: the hostile annotations added since are diff lines
    first, early = tmp_path / "first", tmp_path / "early"
    export_moment(src, at(1.5), first)
    export_moment(src, at(10), early)
    app = make_app(source=src)
    shown = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        for repo, done in ((first, "only in the cluster ("), (early, "changed (")):
            await command(app, pilot, f"drift {repo}")
            for _ in range(100):
                await pilot.pause(0.05)
                if done in screen_text(app):
                    break
            top = screen_text(app)
            await pilot.press("G")
            await settle(pilot)
            shown.append(top + screen_text(app))
            await pilot.press("escape")
            await settle(pilot)
        assert app.is_running
    raw = "".join(terminal)
    assert not leaks(raw), leaks(raw)
    assert "cluster cluster-" in shown[0] and "  + configmaps/n22-" in shown[0]
    assert "changed (1)" in shown[1] and marker("h", N - 1) in shown[1]


async def test_export_dialog_result_over_a_hostile_cluster(terminal, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await _export(app, pilot)
        app.screen.query_one("#export-repo", Input).value = str(tmp_path / "repo")
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if "commit " in screen_text(app):
                break
        assert "commit " in screen_text(app)
    assert not leaks("".join(terminal)), leaks("".join(terminal))


async def test_a_hostile_recording_opened_in_the_app(terminal, tmp_path):
    path = write_recording(tmp_path / "hostile.khr")
    source = RecordingSource(path, row_fn=row_for)
    settings = BrowserSettings(tz=UTC, clock=lambda: NOW)
    app = create_app(source, settings)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, 6)
            for _ in range(40):
                if source.history_complete:
                    break
                await pilot.pause(0.05)
            await select(app, pilot, VICTIM, "pods")
            drawn = [screen_text(app)]
            for keys in ("d", "escape", "o", "escape", "apostrophe", "escape", "left_parenthesis"):
                await pilot.press(keys)
                await settle(pilot)
                drawn.append(screen_text(app))
            assert app.is_running
    finally:
        source.close()
    raw = "".join(terminal)
    assert not leaks(raw), leaks(raw)
    text = "\n".join(drawn)
    for m in ("p00-", "cluster-", "m00-", "o22-", "b00-"):
        assert m in text


# --- markup stays text ---------------------------------------------------------------------------

CLICK = NAMES.index("markup-click")


async def test_markup_in_a_bookmark_label_is_shown_literally_and_clicking_it_does_nothing(
    terminal,
):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("apostrophe")
        await settle(pilot)
        screen = app.screen
        screen.list.move_to(CLICK)
        await settle(pilot)
        await pilot.press("x")  # deleted: a notification names the bookmark
        await settle(pilot)
        toasts = [str(n.message) for n in app._notifications]
        assert any("[@click=app.quit]click me[/]" in m for m in toasts), toasts
        shown = screen_text(app)
        assert "[@click=app.quit]click me[/]" in shown
        # click where "click me" is drawn when the markup is read (border and padding, then
        # "deleted bookmark 'b20-"): there, a live @click would run app.quit
        from textual.widgets._toast import Toast

        toast = app.screen.query(Toast).last()
        x = 2 + len(f"deleted bookmark '{marker('b', CLICK)}") + 2
        await pilot.click(toast, offset=(x, 1))
        await settle(pilot)
        assert app.is_running
        assert app.return_code is None


async def test_markup_in_a_pod_name_shows_literally_in_table_title_and_notification(terminal):
    app = make_app(live=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        key = ObjectKey("pods", hostile("n", CLICK), hostile("p", CLICK))
        await select(app, pilot, key, "pods")
        await pilot.press("c")  # capture: a notification names the pod
        await settle(pilot)
        shown = screen_text(app)
        assert f"capturing the logs of {marker('p', CLICK)}[@click=app.quit]click me[/]" in shown
        await pilot.press("d")
        await settle(pilot)
        assert f"{marker('p', CLICK)}[@click=app.quit]click me[/]" in screen_text(app)
        assert app.is_running

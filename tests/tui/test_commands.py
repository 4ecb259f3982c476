"""The `:` command line as k9s users type it: one catalogue of commands, every alias, keys
typed in a burst, `:aliases`, `:ctx`, `:xray`, trouble steps and an object's relations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from khronoscope.core.source import ContextInfo, SourceCapability
from khronoscope.core.types import ObjectKey
from khronoscope.tui.aliases import Aliases, read_user_aliases
from khronoscope.tui.commands import BY_NAME, COMMANDS, CommandError, parse_command
from khronoscope.tui.keymap import normalize_key
from khronoscope.tui.screens.aliases import AliasesScreen
from khronoscope.tui.screens.contexts import ContextsScreen
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.help import HelpScreen
from khronoscope.tui.screens.related import RelatedScreen
from khronoscope.tui.screens.xray import XrayScreen
from khronoscope.tui.settings import BrowserSettings
from tests import testing

from .conftest import SIZE, names, notifications, screen_text, table_of

API = ObjectKey("pods", "shop", "api-7f8b9-x2x4q")


def aliases() -> Aliases:
    return Aliases(testing.RESOURCE_TYPES)


async def burst(app, pilot, keys: str) -> None:
    """Send keys the way a paste or `tmux send-keys` does: all at once, nothing waited for."""
    driver = app._driver
    for ch in keys:
        key = {"\r": "enter", ":": "colon", "/": "slash", " ": "space"}.get(ch, ch)
        if key == ch and not ch.isalnum():
            from khronoscope.tui.keymap import normalize_key

            key = normalize_key(ch)
        event = events.Key(key, None if key == "enter" else ch)
        event.set_sender(app)
        driver.send_message(event)
    for _ in range(10):
        await pilot.pause(0.05)
    # keys held for a prompt are given once it opens (or closes): wait for them all, a while
    for _ in range(100):
        if app._typeahead is None and not isinstance(app.focused, Input):
            break  # every key given, the last prompt closed by its Enter
        await pilot.pause(0.05)
    await pilot.pause(0.1)


# --- the catalogue -------------------------------------------------------------------------------


async def test_every_command_of_the_catalogue_has_a_handler(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE):
        assert set(app.command_handlers()) == set(BY_NAME)


@pytest.mark.parametrize(
    ("line", "type_name", "namespace", "all_ns", "flt"),
    [
        ("sec", "secrets", None, False, ""),  # k9s
        ("dp -A", "deployments.apps", None, True, ""),  # k9s
        ("deploy shop", "deployments.apps", "shop", False, ""),  # kubectl short name
        ("po -n kube-system", "pods", "kube-system", False, ""),
        ("pods /CrashLoop", "pods", None, False, "CrashLoop"),
        ("pods shop -l app=web", "pods", "shop", False, "-l app=web"),
        ("events.events.k8s.io", "events.events.k8s.io", None, False, ""),
        ("ev", "events", None, False, ""),  # core events first, as kubectl
        ("jo", "jobs.batch", None, False, ""),
    ],
)
def test_views_answer_to_kubectl_and_k9s_names(line, type_name, namespace, all_ns, flt):
    inv = parse_command(line, aliases())
    assert inv.name == "view"
    assert (inv.type_name, inv.namespace, inv.all_namespaces, inv.filter_text) == (
        type_name,
        namespace,
        all_ns,
        flt,
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("nosuchtype", "unknown resource type 'nosuchtype'"),
        ("goto", ":goto needs TIME"),
        ("live now", ":live takes no arguments"),
        ("xray", ":xray needs TYPE (usage: :xray TYPE [NS])"),
        ("pods -x", "unknown option '-x'"),
        ("", "empty command"),
    ],
)
def test_bad_command_lines_are_one_line_errors(line, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        parse_command(line, aliases())


def test_user_aliases_file_adds_types_and_command_lines(tmp_path: Path):
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "aliases:\n  pp: v1/pods\n  dep: apps/v1/deployments\n  crash: pods -A /CrashLoop\n"
        "  bad one: pods\n"
    )
    user = read_user_aliases(path)
    assert user.problems == (f"{path}: alias 'bad one' must be one word (ignored)",)
    table = Aliases(testing.RESOURCE_TYPES, (), user.entries)
    assert parse_command("pp shop", table).type_name == "pods"
    assert parse_command("dep", table).type_name == "deployments.apps"
    crash = parse_command("crash", table)
    assert (crash.type_name, crash.all_namespaces, crash.filter_text) == ("pods", True, "CrashLoop")
    groups = {g.target: g.aliases for g in table.groups()}
    assert ("pp", "yours") in groups["pods"]
    assert ("crash", "yours") in groups["pods -A /CrashLoop"]


def test_a_broken_aliases_file_is_one_line_and_no_aliases(tmp_path: Path):
    path = tmp_path / "aliases.yaml"
    path.write_text("aliases: [pp\n")
    user = read_user_aliases(path)
    assert user.entries == {}
    assert len(user.problems) == 1 and "not valid YAML" in user.problems[0]
    assert read_user_aliases(tmp_path / "missing.yaml").problems == ()


async def test_help_lists_every_command_uncut(make_app):
    app = make_app(155)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        seen = ""
        for _ in range(12):
            seen += screen_text(app)
            await pilot.press("pagedown")
            await pilot.pause()
        for spec in COMMANDS:
            assert f":{spec.usage}" in seen, spec.usage


async def test_palette_offers_the_commands(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        offered = {c.title: c for c in app.palette_entries(app.screen)}
        assert ":xray TYPE [NS]" in offered and ":aliases" in offered
        offered[":aliases"].run()
        await pilot.pause()
        assert isinstance(app.screen, AliasesScreen)


async def palette_hits(app, pilot, query: str) -> list[str]:
    """Open the palette (ctrl+p), type `query`, and return the titles it lists, best first."""
    from textual.command import CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*[normalize_key(ch) if not ch.isalnum() else ch for ch in query])
    command_list = app.screen.query_one(CommandList)
    titles: list[str] = []
    for _ in range(100):  # the palette gathers hits in a worker, in batches
        await pilot.pause(0.05)
        if not app.screen.workers and command_list.option_count:
            titles = [
                str(command_list.get_option_at_index(i).hit.text)
                for i in range(command_list.option_count)
                if command_list.get_option_at_index(i).id != "--no-matches"
            ]
            break
    return titles


async def test_palette_finds_a_command_by_what_a_k9s_user_types(make_app, source):
    # before, the palette matched descriptions only: "step" found "Sort by namespace" and no
    # step command, "[" found only `:` usages with a bracket in them
    first_change = min(r.t for r in source.tmap.changes(type="pods"))
    app = make_app(-1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        hits = await palette_hits(app, pilot, "step")
        assert {"Next change in view", "Previous change in view"} <= set(hits)
        command_list = app.screen.query_one("CommandList")
        for _ in range(len(hits) + 1):  # arrow down to it, as a user does
            await pilot.press("down")
            highlighted = command_list.highlighted_option
            if highlighted is not None and highlighted.hit.text == "Next change in view":
                break
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.browser
        assert app.playback.t == first_change  # it stepped, as `]` does
        assert not app.playback.playing

        await pilot.press("escape")
        assert (await palette_hits(app, pilot, "["))[0] == "Previous change in view"
        await pilot.press("escape")
        await pilot.pause()
        assert ":goto TIME" in await palette_hits(app, pilot, ":t")  # an alias of :goto
        await pilot.press("escape")
        await pilot.pause()
        # a usage is shown whole (the palette read `[NS]` as markup and dropped it)
        hits = await palette_hits(app, pilot, "xray")
        assert ":xray TYPE [NS]" in hits
        assert ":xray TYPE [NS]" in screen_text(app)


# --- keys typed in a burst -----------------------------------------------------------------------


async def test_a_burst_of_keys_reaches_the_prompt(make_app):
    # `:deploy⏎` pasted: before, `d` opened describe, `p` played, `o` opened the logs
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(app, pilot, ":deploy shop\r")
        assert app.screen is app.browser
        assert app.browser.view.type_name == "deployments.apps"
        assert app.browser.view.namespace == "shop"
        assert not app.playback.playing and app.playback.t == testing.at(155)
        await burst(app, pilot, "/api\r")
        assert names(app) == ["api"]
        await burst(app, pilot, ":q\r")
        assert app._exit  # quit, as k9s's :q


async def test_keys_after_a_prompts_enter_wait_for_it_to_close(make_app):
    # `t-1m⏎:pods⏎` at once: before, ":pods" went into the go-to dialog too ("-1m:pods")
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(app, pilot, "t-1m\r:deploy\r/api\r")
        assert app.playback.t == testing.at(95)
        assert app.screen is app.browser
        assert app.browser.view.type_name == "deployments.apps"
        assert names(app) == ["api"]
        assert not app.playback.playing
        await burst(app, pilot, ":pods\rt-1m\r")
        assert app.browser.view.type_name == "pods" and app.playback.t == testing.at(35)


async def test_keys_after_the_enter_of_an_open_dialog_wait_for_it_to_close(make_app):
    # the dialog has focus before the burst arrives (keys read in two chunks): before, the
    # dialog's input took ":deploy" after "-1m" (its Enter is handled after the keys behind it)
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.focused, Input) and app._typeahead is None
        await burst(app, pilot, "-1m\r:deploy\r")
        assert app.playback.t == testing.at(95)
        assert app.screen is app.browser
        assert app.browser.view.type_name == "deployments.apps"


async def test_a_burst_reaches_the_go_to_dialog(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(app, pilot, "t-1m\r")
        assert app.playback.t == testing.at(95)
        assert app.screen is app.browser


# --- :aliases and :ctx ---------------------------------------------------------------------------


async def test_aliases_view_lists_k9s_aliases_and_opens_a_view(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"aliases", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AliasesScreen)
        text = screen_text(app)
        assert "dp (k9s)" in text and "deploy, deployment" in text
        screen = app.screen
        index = next(i for i, g in enumerate(screen.entries) if g.target == "secrets")
        screen.query_one("VirtualList").move_to(index)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.browser and app.browser.view.type_name == "secrets"


@dataclass
class ContextSource(testing.MemorySource):
    """A live source that can list kubeconfig contexts (declared: LISTS_CONTEXTS)."""

    def __post_init__(self) -> None:
        self.capabilities |= SourceCapability.LISTS_CONTEXTS

    def contexts(self) -> list[ContextInfo]:
        return [
            ContextInfo("incident-admin", "incident", "admin", "", True),
            ContextInfo("staging", "staging", "dev", "shop", False),
        ]


async def test_ctx_lists_contexts_and_switching_leaves_the_app_for_the_new_one():
    from datetime import UTC

    from khronoscope.tui.app import ContextSwitch, create_app

    src = testing.incident_source(live=True)
    source = ContextSource(src.tmap, src.info, src.types, src.status, True)
    app = create_app(source, BrowserSettings(tz=UTC, clock=lambda: testing.at(3600)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"ctx", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ContextsScreen)
        text = screen_text(app)
        assert "* incident-admin" in text and "staging" in text
        await pilot.press("enter")  # the one in use
        await pilot.pause()
        assert any("already on context incident-admin" in m for m in notifications(app))
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.return_value == ContextSwitch("staging")


async def test_ctx_on_a_recording_says_there_is_one_context(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"ctx", "enter")
        await pilot.pause()
        assert app.screen is app.browser
        assert any("a recording has one context: incident-admin" in m for m in notifications(app))


# --- :xray, related, trouble ---------------------------------------------------------------------


async def test_xray_shows_the_owner_tree_at_t_and_follows_the_cursor(make_app):
    app = make_app(15)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"xray dp shop", "enter")
        await pilot.pause()
        assert isinstance(app.screen, XrayScreen)
        text = screen_text(app)
        assert "deployment shop/web  0/3" in text
        assert "└─ replicaset web-5d9c7" in text and "revision 1" in text
        assert "├─ pod web-5d9c7-aaaaa  0/1  ContainerCreating" in text
        app.playback.seek(testing.at(155))
        await pilot.pause(0.6)
        text = screen_text(app)
        assert "deployment shop/web  3/3" in text
        assert "web-5d9c7-ccccc" not in text and "web-5d9c7-ddddd  1/1  Running" in text
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.screen.key == ObjectKey("pods", "shop", "web-5d9c7-aaaaa")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.key == app.screen.key


async def test_related_shows_owners_children_and_events_over_time(make_app):
    app = make_app(100)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table_of(app).select(API)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RelatedScreen)
        text = screen_text(app)
        assert "Events over time  3 (1 after t, dimmed)" in text
        assert "Warning  BackOff" in text and "x1" in text and "x3" in text
        await pilot.press("escape")
        await pilot.pause()
        table_of(app).select(ObjectKey("pods", "shop", "web-5d9c7-aaaaa"))
        await pilot.press("r")
        await pilot.pause()
        text = screen_text(app)
        assert "└─ replicaset web-5d9c7" in text and "deployment web" in text
        assert "Scheduled" in text


async def test_trouble_keys_step_to_the_moments_things_went_wrong(make_app):
    app = make_app(0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        # the api pod goes into CrashLoopBackOff at 60 s: the first trouble of pods in view
        assert app.playback.t == testing.at(60)
        assert "CrashLoopBackOff, restart 1: pod shop/api-7f8b9-x2x4q" in app.time.message
        assert table_of(app).selected == API
        await pilot.press("x")
        await pilot.pause()
        assert app.playback.t == testing.at(90)  # it crashed again: restart 2
        assert "restart 2" in app.time.message
        await pilot.press("X")
        await pilot.pause()
        assert app.playback.t == testing.at(60)
        await pilot.press("colon", *"nodes", "enter", "x")
        await pilot.pause()
        assert app.playback.t == testing.at(140)
        assert "NotReady: node node-3" in app.time.message
        await pilot.press("colon", *"events", "enter", "X")
        await pilot.pause()
        assert app.playback.t == testing.at(90)  # the last Warning before 140 s
        await pilot.press("colon", *"cm", "enter", "x")  # no rule: pods, nodes, events...
        await pilot.pause()
        assert app.playback.t == testing.at(140)


async def test_k9s_changing_keys_say_read_only_once_and_q_quits(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        selected = table_of(app).selected
        for key in ("ctrl+d", "e", "s", "F", "ctrl+k"):
            await pilot.press(key)
            await pilot.pause()
        said = [m for m in notifications(app) if "read-only" in m]
        assert len(said) == 1  # once, then on the timeline
        assert "never changes the cluster" in app.time.message
        assert app.screen is app.browser and table_of(app).selected == selected
        await pilot.press("y")  # q is Back on a screen over the browser...
        await pilot.pause()
        assert app.screen is not app.browser
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is app.browser and not app._exit
        await pilot.press("q")  # ...and quits on the browser, as k9s's :q
        await pilot.pause()
        assert app._exit


async def test_trouble_is_marked_on_the_timeline(make_app):
    from khronoscope.tui.widgets.timeline import Timeline

    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        timeline = app.browser.query_one(Timeline)
        layout = timeline._layout
        marked = [i for i, on in enumerate(timeline._trouble_cells) if on]
        # the api pod's crashes at 60, 90 and 150 s
        assert marked == sorted({layout.bucket(testing.at(s)) for s in (60, 90, 150)})
        strip = timeline.render_line(0)
        red = [
            seg.text
            for seg in strip
            if seg.style is not None and seg.style.color and seg.style.color.name == "red"
        ]
        assert len("".join(red)) == len(marked)
        await pilot.press("colon", *"nodes", "enter")
        await pilot.pause(0.2)
        marked = [i for i, on in enumerate(timeline._trouble_cells) if on]
        assert marked == [layout.bucket(testing.at(140))]  # node-3 NotReady
        # and its label follows the view (it said "pods" until the cursor next moved)
        label = "".join(seg.text for seg in timeline.render_line(1))
        assert label.startswith("nodes "), label


async def test_a_secret_rotation_shows_in_history_and_diff(make_app, source):
    from khronoscope.cluster.redact import SecretRedactor
    from khronoscope.tui.screens.diff import DiffScreen
    from khronoscope.tui.screens.history import HistoryScreen

    ingest = SecretRedactor(b"session-salt-123")  # what a session stores
    rotated = testing.secret(testing.at(0))
    rotated["data"] = dict(rotated["data"], password="bmV3LXBhc3N3b3Jk")
    rotated["metadata"]["resourceVersion"] = "999"
    source.put(testing.at(0), ingest(testing.secret(testing.at(0))))
    source.put(testing.at(100), ingest(rotated))
    key = ObjectKey("secrets", "shop", "db-credentials")
    app = make_app(100, src=source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"sec shop", "enter")
        await pilot.pause()
        table_of(app).select(key)
        await pilot.press("H")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "data.password" in text  # before: "only resourceVersion…"
        await pilot.press("escape", "D")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        text = screen_text(app)
        assert "no difference" not in text
        assert "password: <redacted, changed>" in text  # named, never shown
        assert "username: <redacted, changed>" not in text
        assert testing.SECRET_PASSWORD not in text and "bmV3LXBhc3N3b3Jk" not in text

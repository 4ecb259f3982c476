"""The browser as a user drives it (Textual pilot): what is on screen at known times."""

from __future__ import annotations

import re

import pytest

from khronoscope.core.source import TypeState, TypeStatus
from khronoscope.core.types import ObjectKey
from khronoscope.tui.keymap import ACTIONS
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.help import HelpScreen
from tests import testing

from .conftest import SIZE, header, names, notifications, rows, screen_text, table_of

WEB = ["web-5d9c7-aaaaa", "web-5d9c7-bbbbb", "web-5d9c7-ccccc"]
API = "api-7f8b9-x2x4q"


def by_name(app) -> dict[str, list[str]]:
    """Rows keyed by NAME (the first cell when one namespace is shown, else the second)."""
    cols = header(app)
    i = cols.index("NAME")
    return {r[i]: dict(zip(cols, r, strict=False)) for r in rows(app)}


async def seek(app, pilot, seconds: float) -> None:
    app.playback.seek(testing.at(seconds))
    await pilot.pause()
    app.browser.tick()
    await pilot.pause()


async def test_pods_table_at_known_times(make_app):
    app = make_app(11)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "NODE",
            "IP",
        ]
        pods = by_name(app)
        assert [pods[n]["STATUS"] for n in WEB] == ["Pending"] * 3
        assert pods[WEB[0]]["NODE"] == "<none>"
        assert pods[WEB[0]]["AGE"] == "1s"  # relative to t, not to now
        assert API not in pods

        await seek(app, pilot, 15)
        pods = by_name(app)
        assert [pods[n]["STATUS"] for n in WEB] == ["ContainerCreating"] * 3
        assert [pods[n]["NODE"] for n in WEB] == ["node-1", "node-2", "node-3"]

        await seek(app, pilot, 155)
        pods = by_name(app)
        assert pods[API]["STATUS"] == "CrashLoopBackOff"
        assert pods[API]["READY"] == "0/1"
        assert pods[API]["RESTARTS"] == "3 (5s ago)"
        assert pods[WEB[0]]["AGE"] == "2m25s"
        drawn = screen_text(app)  # what the terminal shows, not only what the model holds
        assert re.search(rf"{API}\s+0/1\s+CrashLoopBackOff\s+3 \(5s ago\)\s+2m5s\s+node-2", drawn)

        await seek(app, pilot, 122)
        pods = by_name(app)
        assert pods[WEB[2]]["STATUS"] == "Terminating"
        assert pods[API]["RESTARTS"] == "2 (32s ago)"

        await seek(app, pilot, 127)
        pods = by_name(app)
        assert WEB[2] not in pods
        assert pods["web-5d9c7-ddddd"]["STATUS"] == "Pending"


async def test_header_shows_cluster_time_view_and_forbidden_types(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(app.browser.query_one("#header").render())
        assert "incident" in text
        assert "PAUSED 2026-03-14 09:02:35" in text
        assert "(-57m25s)" in text  # offset from now
        assert "pods [all]" in text
        assert "forbidden: roles.rbac.authorization.k8s.io" in text


async def test_cursor_stays_on_its_object_when_rows_move(make_app):
    app = make_app(25)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.select(ObjectKey("pods", "shop", WEB[1]))
        await pilot.press("S")  # sort by STATUS: all Running at 25s
        await pilot.pause()
        assert table.selected == ObjectKey("pods", "shop", WEB[1])
        # at 11s every web pod is Pending and coredns Running: the rows reorder
        await seek(app, pilot, 11)
        assert names(app)[-1] == "coredns-6d4b75cb6d-x7k2p"
        assert table.selected == ObjectKey("pods", "shop", WEB[1])
        assert names(app)[table.cursor] == WEB[1]
        # web-...-ccccc is selected, then deleted: the cursor goes to a neighbour, and back to
        # the object when time comes back to when it existed
        table.select(ObjectKey("pods", "shop", WEB[2]))
        await seek(app, pilot, 127)
        assert table.selected is not None and table.selected.name != WEB[2]
        await seek(app, pilot, 100)
        assert table.selected == ObjectKey("pods", "shop", WEB[2])


async def test_sort_by_column_and_reverse(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        assert names(app)[0] == "web-5d9c7-ddddd"  # by age: youngest first
        assert table_of(app).header_text().count("AGE↑") == 1
        await pilot.press("A")
        await pilot.pause()
        assert names(app)[0] == "coredns-6d4b75cb6d-x7k2p"  # oldest first
        await pilot.press("T")  # restarts
        await pilot.pause()
        assert names(app)[-1] == API
        await pilot.press("N")
        await pilot.pause()
        assert names(app) == sorted(names(app))


async def test_command_line_switches_type_and_namespace(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"deploy", "enter")
        await pilot.pause()
        assert header(app) == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        assert by_name(app)["web"]["READY"] == "3/3"
        assert by_name(app)["api"]["READY"] == "0/1"

        await pilot.press("colon", *"po kube-system", "enter")
        await pilot.pause()
        assert names(app) == ["coredns-6d4b75cb6d-x7k2p"]
        assert "NAMESPACE" not in header(app)

        await pilot.press("0")  # all namespaces
        await pilot.pause()
        assert len(names(app)) == 5

        await pilot.press("colon", *"cm", "enter")
        await pilot.pause()
        assert by_name(app)["web-config"]["DATA"] == "2"

        await pilot.press("escape")  # back to the previous view
        await pilot.pause()
        assert app.browser.view.type_name == "pods"


async def test_command_line_completes_types_with_tab(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"stat")
        await pilot.pause(0.2)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert app.browser.view.type_name == "statefulsets.apps"
        await pilot.press("colon", *"pods ku")
        await pilot.pause(0.2)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert app.browser.view.namespace == "kube-system"


async def test_namespaces_view_enter_and_favourites(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", "n", "s", "enter")
        await pilot.pause()
        assert names(app) == ["default", "kube-system", "shop"]
        assert by_name(app)["shop"]["STATUS"] == "Active"
        table_of(app).select(ObjectKey("namespaces", "", "shop"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.browser.view.type_name == "pods"
        assert app.browser.view.namespace == "shop"
        assert app.browser.favourites[0] == "shop"
        await pilot.press("0")
        await pilot.pause()
        assert app.browser.view.namespace is None
        await pilot.press("1")
        await pilot.pause()
        assert app.browser.view.namespace == "shop"
        assert sorted(names(app)) == sorted([API, *WEB[:2], "web-5d9c7-ddddd"])
        # a mistyped namespace is said and stays out of the favourites (1-9)
        before = list(app.browser.favourites)
        await pilot.press("colon", *"pods shpo", "enter")
        await pilot.pause()
        assert app.browser.view.namespace == "shpo"
        assert "no namespace 'shpo' seen so far" in " ".join(notifications(app))
        assert app.browser.favourites == before


async def test_crd_table_uses_additional_printer_columns(make_app):
    app = make_app(50)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"db", "enter")
        await pilot.pause()
        assert header(app) == ["NAMESPACE", "NAME", "ENGINE", "SIZE", "PHASE", "READY", "AGE"]
        assert rows(app) == [["shop", "orders-db", "postgres", "3", "Provisioning", "False", "10s"]]
        await seek(app, pilot, 155)
        assert rows(app) == [["shop", "orders-db", "postgres", "3", "Ready", "True", "115s"]]
        await pilot.press("colon", *"databases.example.com", "enter")
        await pilot.pause()
        assert names(app) == ["orders-db"]


async def test_forbidden_type_shows_as_such(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"roles", "enter")
        await pilot.pause()
        table = table_of(app)
        assert app.browser.view.type_name == "roles.rbac.authorization.k8s.io"
        assert "forbidden" in table.message
        assert 'User "dev" cannot list' in table.message
        line = "".join(s.text for s in table.render_line(2))
        assert "forbidden" in line


async def test_syncing_and_retrying_types_are_reported(make_app, source):
    source.status["pods"] = TypeStatus(TypeState.RETRYING, testing.T0, "connection refused")
    source.status["services"] = TypeStatus(TypeState.SYNCING, testing.T0)
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(app.browser.query_one("#header").render())
        assert "retrying: pods" in text
        assert "syncing: services" in text


async def test_bad_input_shows_a_message_and_keeps_the_view(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"nosuchtype", "enter")
        await pilot.pause()
        assert app.browser.view.type_name == "pods"
        assert any("unknown resource type 'nosuchtype'" in m for m in notifications(app))
        await pilot.press("slash", *"web", "enter")
        await pilot.pause()
        assert len(names(app)) == 3
        await pilot.press("slash", "ctrl+u", *"[oops", "enter")
        await pilot.pause()
        assert any("bad regex" in m for m in notifications(app))
        assert len(names(app)) == 3  # the previous filter stays
        await pilot.press("slash", "ctrl+u", *"-l app in (a", "enter")
        await pilot.pause()
        assert any("bad label selector" in m for m in notifications(app))
        await pilot.press("colon", *"pods -x", "enter")
        await pilot.pause()
        assert any("unknown option '-x'" in m for m in notifications(app))
        assert app.is_running


async def test_filter_regex_selector_invert_and_escape(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"web", "enter")
        await pilot.pause()
        assert names(app) == [*WEB[:2], "web-5d9c7-ddddd"]
        assert "filter: web" in str(app.browser.query_one("#header").render())
        await pilot.press("slash", "ctrl+u", *"!web", "enter")
        await pilot.pause()
        assert names(app) == ["coredns-6d4b75cb6d-x7k2p", API]
        await pilot.press("slash", "ctrl+u", *"-l app=api", "enter")
        await pilot.pause()
        assert names(app) == [API]
        await pilot.press("slash", "ctrl+u", *"!-l app in (web,api)", "enter")
        await pilot.pause()
        assert names(app) == ["coredns-6d4b75cb6d-x7k2p"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(names(app)) == 5


async def test_enter_drills_down_like_k9s(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"deploy", "enter")
        await pilot.pause()
        table_of(app).select(ObjectKey("deployments.apps", "shop", "web"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.browser.view.type_name == "pods"
        assert names(app) == [*WEB[:2], "web-5d9c7-ddddd"]
        assert "-l app=web" in app.browser.view.filter.label
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("colon", *"no", "enter")
        await pilot.pause()
        table_of(app).select(ObjectKey("nodes", "", "node-2"))
        await pilot.press("enter")
        await pilot.pause()
        assert names(app) == [API, WEB[1]]
        assert "node=node-2" in str(app.browser.query_one("#header").render())


async def test_yaml_of_a_secret_never_shows_its_values(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"secrets", "enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        text = screen.text or ""
        assert "password: <redacted>" in text
        assert "username: <redacted>" in text
        assert testing.SECRET_PASSWORD not in text
        secret = testing.secret(testing.T0)
        assert secret["data"]["password"] not in text
        assert "last-applied-configuration" in text
        shown = app.screen.query_one("#detail-body").render()
        assert secret["data"]["password"] not in str(getattr(shown, "code", shown))


async def test_yaml_and_describe_follow_t_and_escape_returns(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table_of(app).select(ObjectKey("pods", "shop", API))
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert "restartCount: 3" in (screen.text or "")
        assert "managedFields" not in (screen.text or "")
        app.playback.seek(testing.at(95))
        screen.redraw()
        assert "restartCount: 2" in (screen.text or "")
        await pilot.press("d")
        await pilot.pause()
        text = screen.text or ""
        assert re.search(r"^Status:\s+CrashLoopBackOff$", text, re.M)
        assert re.search(r"^\s+Restart Count:\s+2$", text, re.M)
        assert "BackOff" in text and "Back-off restarting failed container" in text
        app.playback.seek(testing.at(20))
        screen.redraw()
        assert "did not exist yet" in str(screen.query_one("#detail-body").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        # api did not exist at 20s: the cursor waits on a neighbour, and comes back with it
        assert table_of(app).wanted == ObjectKey("pods", "shop", API)
        await seek(app, pilot, 155)
        assert table_of(app).selected == ObjectKey("pods", "shop", API)


async def test_describe_node_lists_its_pods_at_t(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"nodes", "enter")
        await pilot.pause()
        assert by_name(app)["node-3"]["STATUS"] == "NotReady"
        table_of(app).select(ObjectKey("nodes", "", "node-2"))
        await pilot.press("d")
        await pilot.pause()
        text = app.screen.text or ""
        assert "Non-terminated Pods:" in text and "(2 in total)" in text
        assert API in text and WEB[1] in text


async def test_help_is_generated_from_the_keymap_and_quit_works(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        for binding_id in ("table.yaml", "table.describe", "browser.filter", "app.quit"):
            assert binding_id in shown
        await pilot.press("end")
        await pilot.pause()
        assert ACTIONS[-1].id in screen_text(app)  # the last binding: the help scrolls to it
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("colon", "q", "enter")
        await pilot.pause()
    assert not app.is_running


async def test_wide_columns_toggle(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "NOMINATED NODE" not in header(app)
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert header(app)[-1] == "NOMINATED NODE"


async def test_palette_offers_the_keymap_actions(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        commands = list(app.palette_entries(app.screen))
        helps = [c.help for c in commands]
        assert any("table.yaml" in h for h in helps)
        assert any("browser.filter" in h for h in helps)
        yaml = next(c for c in commands if "table.yaml" in c.help)
        await yaml.run()
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)


async def test_live_updates_are_coalesced(make_app):
    now = [testing.at(200)]
    src = testing.incident_source(live=True)
    app = make_app(None, src=src, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.playback.live
        assert "LIVE" in str(app.browser.query_one("#header").render())
        table = table_of(app)
        before = table.version
        for i in range(50):
            now[0] += 1000
            src.put(now[0], testing.pod(f"burst-{i:02d}", "shop", now[0], labels={"app": "b"}))
        app.browser.tick()
        assert table.version == before + 1  # fifty changes, one update
        assert sum(n.startswith("burst-") for n in names(app)) == 50


async def test_only_visible_rows_are_drawn(make_app):
    src = testing.scale_source(3000, live=False)
    app = make_app(None, src=src)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert len(table.model) == 3000
        drawn = []
        original = table._row_text

        def spy(key, row):
            drawn.append(key)
            return original(key, row)

        table._row_text = spy  # type: ignore[method-assign]
        table.refresh()
        await pilot.pause()
        assert 0 < len(drawn) <= SIZE[1]
        await pilot.press("G")
        await pilot.pause()
        assert table.selected == table.model.key_at(2999)
        assert drawn[-1] in table.model.keys_in(2999 - SIZE[1], 3000)


async def test_clicking_a_header_sorts_by_it(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        x = table.header_text().index("RESTARTS")
        await pilot.click(table, offset=(x + 1, 0))
        await pilot.pause()
        assert "RESTARTS↑" in table.header_text()
        assert names(app)[-1] == API
        await pilot.click(table, offset=(x + 1, 0))
        await pilot.pause()
        assert names(app)[0] == API


async def test_columns_widen_when_a_bulk_change_brings_wider_cells(make_app):
    src = testing.scale_source(2500, live=False)
    for i in range(2500):
        obj = testing.scale_pod(i, testing.T0 - (i % 3600) * 10**9, "crashloop", 1)
        src.put(testing.T0 + 10 * 10**9, obj)
    app = make_app(None, src=src)
    app.playback.seek(testing.T0 + 1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "CrashLoopBackOff" not in table_of(app).row_texts()[0]
        await seek(app, pilot, 20)  # 2500 rows change at once: measured as they are drawn
        await pilot.pause()
        assert rows(app)[0][3] == "CrashLoopBackOff"


async def test_events_show_the_newest_first(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"ev", "enter")
        await pilot.pause()
        first = by_name(app)[names(app)[0]]
        assert names(app)[0] == f"{API}.backoff"
        assert (first["LAST SEEN"], first["TYPE"], first["OBJECT"]) == (
            "5s",
            "Warning",
            f"pod/{API}",
        )
        assert "LAST SEEN↑" in table_of(app).header_text()


@pytest.mark.parametrize("size", [(80, 24), (60, 18)])
async def test_dialogs_fit_a_small_terminal(make_app, size):
    # the go-to, bookmark and export dialogs were 90 columns wide: their right edge (and the
    # end of what was typed) was cut in an 80x24 terminal
    from textual.containers import Vertical
    from textual.screen import ModalScreen

    width, height = size
    app = make_app(155)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in ("t", "m", "E"):
            await pilot.press(key)
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, ModalScreen), key
            box = dialog.query(Vertical).first().region
            assert box.x >= 0 and box.right <= width, (key, box)
            assert box.y >= 0 and box.bottom <= height, (key, box)
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is app.browser


async def test_notifications_leave_the_timeline_uncovered(make_app):
    # a toast sat on the strip's end: the "now" label and the cursor's last minutes
    from textual.widgets._toast import Toast

    from khronoscope.tui.widgets.timeline import Timeline

    app = make_app(155)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        app.notify("a message long enough to take two lines of a toast in a small terminal")
        await pilot.pause(0.3)
        await pilot.pause()
        strip = app.browser.query_one(Timeline).region
        toasts = list(app.screen.query(Toast))
        assert toasts
        for toast in toasts:
            assert not toast.region.overlaps(strip), (toast.region, strip)


async def test_the_footer_shows_the_keys_of_the_focused_prompt(make_app):
    # typing in the `/` or `:` line, the footer said "/ Filter" (the table's key, typed into
    # the line now) and not how to apply or leave it
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        def footer() -> list[str]:
            shown = app.screen.active_bindings.values()
            return [b.binding.description for b in shown if b.binding.show]

        assert "Filter" in footer() and "Describe" in footer()
        for key in ("slash", "colon"):
            await pilot.press(key)
            await pilot.pause()
            keys = footer()
            assert {"Apply", "Complete", "Cancel"} <= set(keys), keys
            assert "Filter" not in keys and "Describe" not in keys, keys
            await pilot.press("escape")
            await pilot.pause()
        assert "Filter" in footer()


async def test_switching_describe_to_yaml_opens_at_the_top(make_app):
    # describe scrolled to its end, then y: the YAML showed its end (status), not apiVersion
    from textual.containers import VerticalScroll

    app = make_app(155)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        table_of(app).select(ObjectKey("pods", "shop", "api-7f8b9-x2x4q"))
        await pilot.press("d")
        await pilot.pause()
        scroll = app.screen.query_one("#detail-scroll", VerticalScroll)
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y > 0
        await pilot.press("y")
        await pilot.pause()
        assert app.screen.mode == "yaml" and scroll.scroll_y == 0
        assert "apiVersion" in screen_text(app)
        await pilot.press("G", "M")  # managedFields shown: the same view, the place is kept
        await pilot.pause()
        assert scroll.scroll_y > 0

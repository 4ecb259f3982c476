"""A view left and shown again (kept and moved to t) shows exactly what a fresh open shows."""

from __future__ import annotations

import pytest

from tests import testing

from .conftest import SIZE, names, table_of


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


async def fresh_view(make_app, seconds, text: str, **options) -> tuple[list[str], list[str]]:
    """The rows (as drawn) and names of `text`'s view opened in a new app at `seconds`."""
    app = make_app(seconds, **options)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await command(pilot, text)
        return table_of(app).row_texts(), names(app)


async def test_a_view_shown_again_after_t_moved_is_the_fresh_view_at_t(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        at_155 = names(app)
        await command(pilot, "svc")
        app.playback.seek(testing.at(11))
        app.browser.tick()
        await pilot.pause()
        await command(pilot, "pods")
        shown = table_of(app).row_texts(), names(app)
        await command(pilot, "deploy")
        app.playback.seek(testing.at(127))
        app.browser.tick()
        await pilot.pause()
        await pilot.press("escape")  # back to pods, now at 127
        await pilot.pause()
        back = table_of(app).row_texts(), names(app)
    fresh_11 = await fresh_view(make_app, 11, "pods")
    fresh_127 = await fresh_view(make_app, 127, "pods")
    assert shown[1] != at_155  # the past differs: a stale view would show
    assert shown == fresh_11
    assert back == fresh_127


async def test_a_kept_view_takes_the_filter_and_namespace_it_is_opened_with(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await command(pilot, "svc")
        await command(pilot, "pods /web")
        filtered = table_of(app).row_texts(), names(app)
        await command(pilot, "svc")
        await command(pilot, "pods")
        unfiltered = table_of(app).row_texts(), names(app)
        await command(pilot, "pods kube-system")
        await command(pilot, "svc")
        await command(pilot, "pods kube-system")
        one_namespace = table_of(app).row_texts(), names(app)
    assert filtered == await fresh_view(make_app, 155, "pods /web")
    assert unfiltered == await fresh_view(make_app, 155, "pods")
    assert one_namespace == await fresh_view(make_app, 155, "pods kube-system")
    assert filtered[1] != unfiltered[1]


async def test_a_kept_view_does_not_keep_a_sort_a_fresh_view_would_not_have(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table_of(app).model.set_sort(5, True)  # AGE, descending
        app.browser.tick()
        await command(pilot, "svc")
        await command(pilot, "pods")
        shown = table_of(app).row_texts(), names(app)
    assert shown == await fresh_view(make_app, 155, "pods")


@pytest.mark.memory_only
async def test_changes_recorded_while_a_view_was_away_are_shown_when_it_returns(make_app):
    now = [testing.at(200)]
    src = testing.incident_source(live=True)
    app = make_app(None, src=src, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = names(app)
        await command(pilot, "svc")
        for i in range(5):
            now[0] += 1000
            src.put(now[0], testing.pod(f"later-{i}-with-a-much-longer-name", "shop", now[0]))
        gone = testing.pod(before[0], "shop", testing.at(0))
        src.delete(now[0], gone)
        now[0] += 1000
        app.browser.run_command("pods")  # what it shows at once, before any refresh tick
        shown = table_of(app).row_texts(), names(app)
        fresh = make_app(None, src=src, clock=lambda: now[0])
    async with fresh.run_test(size=SIZE) as pilot:
        await pilot.pause()
        expected = table_of(fresh).row_texts(), names(fresh)
    assert sum(n.startswith("later-") for n in shown[1]) == 5
    assert shown == expected

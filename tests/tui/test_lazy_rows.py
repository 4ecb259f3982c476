"""A table draws rows computed for what is on screen: a big table at a past t prints about a
screenful of versions, and the cells are those of the objects as they were at t."""

from __future__ import annotations

from khronoscope.core.timefmt import NS
from khronoscope.printers import row_for
from khronoscope.tui.widgets.timeline import Timeline
from tests import testing

from .conftest import SIZE, table_of

PODS = 3000
SEAL_RAW = 400_000  # ~25 segments over the churn: boundaries crossed, not hundreds sealed


def churned_source() -> testing.MemorySource:
    src = testing.scale_source(PODS, live=False)
    churn = testing.Churn(src, PODS)
    for b in range(30):
        for _ in churn.step(testing.T0 + (b + 1) * NS, 200):
            pass
    return src


async def test_a_past_moment_of_a_big_table_prints_only_the_rows_on_screen(make_app):
    src = churned_source()
    app = make_app(2, src=src, seal_raw=SEAL_RAW)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert table.model is not None and len(table.model) >= PODS
        # the strip's trouble marks read the pods' rows once per view, a slice per frame:
        # done before the seeks are measured (it is not the table's printing)
        timeline = app.browser.query_one(Timeline)
        for _ in range(400):
            if timeline.trouble_complete:
                break
            await pilot.pause(0.02)
        assert timeline.trouble_complete
        shown_map = app.source.tmap  # the recording read back, for the recorded kind
        for seconds in (25, 9, 17):
            before = shown_map.rows_computed
            t = testing.at(seconds)
            app.playback.seek(t)
            app.browser.tick()
            await pilot.pause()
            # a screenful of lines (and the selected row), not one per pod
            assert shown_map.rows_computed - before <= SIZE[1] + 1
            model = table.model
            shown = model.keys_in(round(table.scroll_y), round(table.scroll_y) + SIZE[1] - 6)
            assert shown
            for key in shown:
                assert model.row(key) == row_for("pods", src.tmap.get(key, t))


async def test_sorting_by_a_column_reads_every_row_and_orders_like_the_objects(make_app):
    src = churned_source()
    app = make_app(2, src=src, seal_raw=SEAL_RAW)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = testing.at(21)
        app.playback.seek(t)
        app.browser.tick()
        table = table_of(app)
        table.action_sort("RESTARTS")
        await pilot.pause()
        model = table.model
        col = model.columns.index("RESTARTS")
        objs = src.tmap.state_at(t, "pods")
        expected = sorted(
            objs, key=lambda k: (row_for("pods", objs[k]).cells[col][0], k.namespace, k.name)
        )
        assert model.keys_in(0, len(model)) == expected

"""The timeline shades every gap that concerns the view: its type's, and those of every type
(`*`: the recorder did not run, or the recording is damaged there)."""

from __future__ import annotations

from khronoscope.core.source import Gap
from khronoscope.tui.widgets.timeline import Timeline
from tests import testing

from .conftest import SIZE

at = testing.at


async def test_a_gap_of_every_type_is_shaded_in_a_view_of_one_type(make_app, source):
    source.gap_list.append(Gap(at(70), at(80), "*", "khronoscope did not run for 10 s"))
    source.gap_list.append(Gap(at(100), at(110), "configmaps", "watch expired (410)"))
    app = make_app(20)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        timeline = app.browser.query_one(Timeline)
        assert app.time.in_view(app.browser).step.type == "pods"
        timeline.refresh()
        await pilot.pause()
        layout = timeline._layout
        cells = [seg for seg in timeline.render_line(0) for _ in seg.text]

        def shade(t: int):
            return cells[layout.x0 + layout.bucket(t)].style.bgcolor

        assert shade(at(75)) is not None  # every type's gap
        assert shade(at(105)) == shade(at(20))  # another type's gap is not this view's
        assert shade(at(75)) != shade(at(20))

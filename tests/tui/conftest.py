"""Fixtures: the incident scenario (tests.testing) and apps built by the real factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest

from khronoscope.tui.app import KhronoscopeApp, create_app
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.widgets.table import ResourceTable
from tests import testing

SIZE = (150, 40)
NOW = testing.at(3600)
"""A fixed 'now' one hour after the incident began (stable headers and snapshots)."""


@pytest.fixture
def source() -> testing.MemorySource:
    """A fresh incident scenario (tests may add to it before building the app)."""
    return testing.incident_source()


@pytest.fixture(params=["memory", "recorded"])
def source_kind(request) -> str:
    """Every view test runs twice: over the scenario held in memory as a session holds it, and
    over the same scenario recorded (small segments) and read back lazily as `khronoscope open`
    reads it. Tests that change the scenario while the app runs are marked `memory_only`."""
    if request.param == "recorded" and request.node.get_closest_marker("memory_only"):
        pytest.skip("changes the scenario while the app runs: a recording read back is fixed")
    return request.param


def recorded(memory: testing.MemorySource, path, seal_raw: int = 20_000):
    """`memory` written as a segmented recording (segments of a few changes, so views cross
    segment boundaries and bases) and opened as `khronoscope open` opens it."""
    from khronoscope.core.source import SourceInfo
    from khronoscope.printers import row_for
    from khronoscope.recording.segments.copy import write_source
    from khronoscope.recording.segments.source import open_segmented
    from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions

    options = SegmentOptions(
        seal_raw=seal_raw, autoflush=False, background=False, base_every=3, refs_reach=4
    )
    info = SourceInfo(memory.info.cluster, memory.info.context, memory.info.server_version)
    writer = SegmentedWriter.create_local(path, info, start=testing.T0, writer_options=options)
    write_source(memory, writer, testing.T0)
    writer.close(stop_t=memory.tmap.last_t)
    return open_segmented(path, row_fn=row_for)


@pytest.fixture
def make_app(source, source_kind, tmp_path_factory) -> Callable[..., KhronoscopeApp]:
    """Build the app through `create_app`, paused at `seconds` after T0, UTC, fixed now (over
    the scenario as it is then, recorded first for the `recorded` kind)."""

    def make(
        seconds: float | None = 155, src=None, seal_raw: int = 20_000, **options
    ) -> KhronoscopeApp:
        at = testing.at(seconds) if seconds is not None else None
        options.setdefault("clock", lambda: NOW)
        settings = BrowserSettings(at=at, tz=UTC, **options)
        shown = src or source
        if source_kind == "recorded" and isinstance(shown, testing.MemorySource):
            if shown.is_live:
                pytest.skip("a live session's view: nothing recorded to read back")
            shown = recorded(shown, tmp_path_factory.mktemp("rec") / "incident.khr", seal_raw)
        return create_app(shown, settings)

    return make


def table_of(app: KhronoscopeApp) -> ResourceTable:
    """The browser's table."""
    return app.browser.query_one(ResourceTable)


def rows(app: KhronoscopeApp) -> list[list[str]]:
    """The visible rows as lists of cell texts (split on runs of 2+ spaces)."""
    import re

    return [re.split(r"\s{2,}", r.strip()) for r in table_of(app).row_texts()]


def names(app: KhronoscopeApp) -> list[str]:
    """The NAME column of every shown row."""
    table = table_of(app)
    model = table.model
    assert model is not None
    return [k.name for k in model.keys_in(0, len(model))]


def header(app: KhronoscopeApp) -> list[str]:
    """The column headers (sort arrows removed)."""
    import re

    text = table_of(app).header_text().replace("↑", "").replace("↓", "")
    return re.split(r"\s{2,}", text.strip())


def notifications(app: KhronoscopeApp) -> list[str]:
    """Messages shown to the user (toasts)."""
    return [str(n.message) for n in app._notifications]


def screen_text(app: KhronoscopeApp) -> str:
    """Everything drawn on the terminal now, as plain text (from Textual's screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")

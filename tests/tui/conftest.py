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
    """A fresh incident scenario."""
    return testing.incident_source()


@pytest.fixture
def make_app(source) -> Callable[..., KhronoscopeApp]:
    """Build the app through `create_app`, paused at `seconds` after T0, UTC, fixed now."""

    def make(seconds: float | None = 155, src=None, **options) -> KhronoscopeApp:
        at = testing.at(seconds) if seconds is not None else None
        options.setdefault("clock", lambda: NOW)
        settings = BrowserSettings(at=at, tz=UTC, **options)
        return create_app(src or source, settings)

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

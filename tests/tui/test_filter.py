"""The `/` filter as k9s users type it: the whole row as displayed, fuzzy names, as you type."""

from __future__ import annotations

import pytest

from khronoscope.core.types import ObjectKey
from khronoscope.printers import columns_for, row_for
from khronoscope.tui.filters import FilterError, parse_filter
from tests import testing

from .conftest import SIZE, names

API = "api-7f8b9-x2x4q"


def test_a_regex_matches_the_row_as_displayed_but_not_its_ages():
    pod = testing.pod(
        API, "shop", testing.at(30), node_name="node-2", phase="Running", state="crashloop",
        restarts=3, last_finished=testing.at(150), ip="10.244.1.20",
    )  # fmt: skip
    key = ObjectKey("pods", "shop", API)
    row = row_for("pods", pod)
    kinds = tuple(c.kind for c in columns_for("pods").columns)
    for text in ("CrashLoop", "node-2", r"10\.244\.1\.20", "^shop", "0/1", "3"):
        assert parse_filter(text).with_kinds(kinds).matches(key, row), text
    for text in ("Running", "node-1", "2m", "!CrashLoop"):
        assert not parse_filter(text).with_kinds(kinds).matches(key, row), text


def test_fuzzy_names_and_errors():
    key = ObjectKey("pods", "shop", API)
    assert parse_filter("-f a7x2q").matches(key, None)
    assert not parse_filter("-f a7z").matches(key, None)
    assert parse_filter("!-f zz").matches(key, None)
    with pytest.raises(FilterError, match="-f needs letters"):
        parse_filter("-f")


async def test_whole_row_filter_on_pods_and_events(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"CrashLoop", "enter")
        await pilot.pause()
        assert names(app) == [API]
        await pilot.press("escape", "slash", *"node-3", "enter")
        await pilot.pause()
        assert names(app) == []  # ccccc on node-3 is gone by 155 s
        await pilot.press("escape", "colon", *"events", "enter", "slash", *"Warning", "enter")
        await pilot.pause()
        assert names(app) == [f"{API}.backoff"]
        await pilot.press("escape", "slash", *"-f wbbb", "enter")
        await pilot.pause()
        assert names(app) == ["web-5d9c7-bbbbb.sched"]


async def test_the_filter_applies_as_you_type_and_escape_restores(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        every = names(app)
        await pilot.press("slash", *"Crash")
        await pilot.pause(0.3)
        assert names(app) == [API]  # before Enter
        await pilot.press(*"[")  # half a regex: what is shown stays
        await pilot.pause(0.3)
        assert names(app) == [API]
        await pilot.press("escape")
        await pilot.pause()
        assert names(app) == every and not app.browser.view.filter.active

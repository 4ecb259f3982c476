"""SVG snapshots of the main screens (pytest-textual-snapshot), built by the app factory.

Regenerate after an intended change with `python -m pytest tests/tui/test_snapshots.py
--snapshot-update` and look at the SVGs before committing them.
"""

from __future__ import annotations

from khronoscope.core.types import ObjectKey

from .conftest import screen_text, table_of

TERMINAL = (130, 30)


async def _select(pilot, key: ObjectKey) -> None:
    await pilot.pause()
    table_of(pilot.app).select(key)
    await pilot.pause()


def test_pods_at_the_crashloop(snap_compare, make_app):
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=["_"])


def test_pods_while_rolling_out(snap_compare, make_app):
    assert snap_compare(make_app(15), terminal_size=TERMINAL, press=["_"])


def test_deployments(snap_compare, make_app):
    press = ["colon", *"deploy", "enter", "_"]
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=press)


def test_crd_with_printer_columns(snap_compare, make_app):
    press = ["colon", *"db", "enter", "_"]
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=press)


def test_forbidden_type(snap_compare, make_app):
    press = ["colon", *"roles", "enter", "_"]
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=press)


def test_secret_yaml(snap_compare, make_app):
    press = ["colon", *"secrets", "enter", "_", "y", "_"]
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=press)


def test_describe_pod(snap_compare, make_app):
    async def select(pilot):
        await _select(pilot, ObjectKey("pods", "shop", "api-7f8b9-x2x4q"))

    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=["d", "_"], run_before=select)


def test_help(snap_compare, make_app):
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=["question_mark", "_"])


def test_filter_prompt(snap_compare, make_app, monkeypatch):
    # the table filters as you type once the keys pause: at once here, so the picture never
    # depends on how loaded the machine is
    monkeypatch.setattr("khronoscope.tui.screens.browser.TYPED_FILTER_DELAY_S", 0.001)
    press = ["slash", *"-l app=web", "_", "_"]
    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=press)


def test_history_of_a_deployment(snap_compare, make_app):
    async def select(pilot):
        await pilot.press("colon", *"deploy shop", "enter")
        await _select(pilot, ObjectKey("deployments.apps", "shop", "api"))

    assert snap_compare(make_app(155), terminal_size=TERMINAL, press=["H", "_"], run_before=select)


def test_diff_of_the_image_change(snap_compare, make_app):
    async def select(pilot):
        await pilot.press("colon", *"deploy shop", "enter")
        await _select(pilot, ObjectKey("deployments.apps", "shop", "api"))

    assert snap_compare(make_app(58), terminal_size=TERMINAL, press=["D", "_"], run_before=select)


def test_xray_of_the_rollout(snap_compare, make_app):
    async def open_xray(pilot):
        await pilot.press("colon", *"xray dp shop", "enter")
        await pilot.pause()
        # the title counts the tree it heads from the first frame, not a tick (1/4 s) later
        assert "in trouble" in screen_text(pilot.app)

    assert snap_compare(make_app(100), terminal_size=TERMINAL, press=["_"], run_before=open_xray)


def test_related_of_the_crashing_pod(snap_compare, make_app):
    async def select(pilot):
        await _select(pilot, ObjectKey("pods", "shop", "api-7f8b9-x2x4q"))

    assert snap_compare(make_app(100), terminal_size=TERMINAL, press=["r", "_"], run_before=select)

"""Audit logs are cluster text too: who did it (user names, groups, user agents) and the objects
they wrote, imported and then shown by `history` and the app's history view, stay inert."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from khronoscope.core.types import ObjectKey
from khronoscope.printers import row_for
from khronoscope.recording.source import RecordingSource
from khronoscope.tui.app import create_app
from khronoscope.tui.screens.history import HistoryScreen
from khronoscope.tui.settings import BrowserSettings
from tests.audit.lines import event, write
from tests.tui.conftest import screen_text, table_of

from .conftest import cli_leaks, command, run, settle
from .corpus import CLUSTER, N, hostile, leaks, marker
from .test_tui import SIZE

CM = ObjectKey("configmaps", "shop", "written")


def body(i: int) -> dict:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "written", "namespace": "shop", "resourceVersion": str(10 + i)},
        "data": {"value": hostile("v", i)},
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, str]:
    """A recording imported from an audit log whose every writer is hostile; and what the
    import printed."""
    tmp = tmp_path_factory.mktemp("audit")
    events = [
        event(
            1 + i,
            "create" if i == 0 else "update",
            "configmaps",
            "written",
            response=body(i),
            user={"username": hostile("u", i), "groups": [hostile("grp", i)]},
            agent=hostile("ua", i),
        )
        for i in range(N)
    ]
    log = write(tmp / "audit.log", events)
    out = tmp / "imported.khr"
    code, stdout, stderr = run("import", "audit", str(log), "-o", str(out), "--cluster", CLUSTER)
    assert code == 0, stderr
    return out, stdout + stderr


def test_the_import_prints_nothing_raw(imported):
    _, printed = imported
    assert not cli_leaks(printed), cli_leaks(printed)
    assert f"imported {N} audit entries" in printed


def test_history_names_every_hostile_writer_inert(imported):
    path, _ = imported
    code, out, err = run("history", str(path), "--diff")
    assert code == 0, err
    assert not cli_leaks(out) and not cli_leaks(err), cli_leaks(out) + cli_leaks(err)
    for i in range(N):
        assert f"by {marker('u', i)}" in out, i


async def test_the_history_view_names_every_hostile_writer_inert(imported, terminal):
    path, _ = imported
    source = RecordingSource(path, row_fn=row_for)
    app = create_app(source, BrowserSettings(tz=UTC))
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, 6)
            await command(app, pilot, "configmaps")
            await pilot.press("0")
            await settle(pilot)
            table_of(app).select(CM)
            await settle(pilot)
            await pilot.press("H")
            await settle(pilot)
            assert isinstance(app.screen, HistoryScreen)
            shown = screen_text(app)
            await pilot.press("enter")  # the diff of the selected version: "by USER" in its title
            await settle(pilot)
            shown += screen_text(app)
    finally:
        source.close()
    raw = "".join(terminal)
    assert not leaks(raw), leaks(raw)
    assert all(marker("u", i) in shown for i in range(N)), shown

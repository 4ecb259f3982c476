"""The live app says once that `-n NAMESPACE` may help an account limited to some namespaces."""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator

import pytest

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.commands import live
from khronoscope.sim import SimCluster
from khronoscope.tui.settings import BrowserSettings
from tests.tui.conftest import notifications


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    """The quiet scenario on a manual clock."""
    cluster = SimCluster("quiet", autorun=False, bookmark_interval=0.2)
    await cluster.start()
    yield cluster
    await cluster.close()


async def test_the_app_says_once_that_n_may_help(sim):
    kubeconfig = sim.add_user("team", namespaces={"demo"}, context_namespace="demo")
    plan = live.recording_plan(argparse.Namespace(record=None, no_record=True))
    options = ClusterOptions(kubeconfig=str(kubeconfig))
    app, session, _ = await live.open_live(ClusterSession, options, BrowserSettings(), plan)
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            deadline = time.monotonic() + 20
            while not any("may help" in n for n in notifications(app)):
                assert time.monotonic() < deadline, notifications(app)
                await pilot.pause(0.1)
            await pilot.pause(1.2)
            hints = [n for n in notifications(app) if "may help" in n]
            assert len(hints) == 1 and "-n demo may help" in hints[0]
    finally:
        await live.close_live(session, None)

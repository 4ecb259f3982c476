"""Test-wide settings: the end-to-end tier runs only when KHRONOSCOPE_E2E=1 (as .ci/run sets)."""

from __future__ import annotations

import os

import pytest
import textual._wait as textual_wait

E2E_ENABLED = os.environ.get("KHRONOSCOPE_E2E") == "1"


def pytest_report_header(config: pytest.Config) -> str:
    if E2E_ENABLED:
        return "khronoscope e2e tier: ON (real kube-apiserver)"
    return "khronoscope e2e tier: off (set KHRONOSCOPE_E2E=1; .ci/run does, after building it)"


def pytest_configure(config: pytest.Config) -> None:
    # Textual's pilot waits after every key and pause() until the app has been idle for one
    # sleep of SLEEP_GRANULARITY (20 ms), twice per key: most of a view test's time was spent
    # asleep. A 5 ms window with the same idle ratio (CPU under 1/20 of it) waits for the same
    # thing, sooner; tests that need a timer to fire already pause for it explicitly.
    textual_wait.SLEEP_GRANULARITY = 0.005
    textual_wait.SLEEP_IDLE = textual_wait.SLEEP_GRANULARITY / 20


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if E2E_ENABLED:
        # under pytest-xdist (--dist loadgroup) the tier runs in one worker, so its session
        # fixtures start one set of real servers, as in a serial run
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(pytest.mark.xdist_group("e2e"))
        return
    # deselected (not skipped): the tier is a separate, slower run that .ci/run always performs
    keep = [item for item in items if "e2e" not in item.keywords]
    dropped = [item for item in items if "e2e" in item.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own XDG config, data and state directories, so no test reads the
    developer's keymap or writes recordings, bookmarks or the last export's repository into
    their real ones. (The cache is shared: the e2e tier keeps its built binaries there.)"""
    base = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(base / name.lower()))

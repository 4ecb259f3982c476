"""The domain never imports the UI or the Kubernetes client (DESIGN.md boundaries)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# every module of these packages is imported in a fresh interpreter, then sys.modules is checked
PURE = ["khronoscope.core", "khronoscope.temporal", "khronoscope.printers", "khronoscope.telemetry"]
NO_UI = [
    "khronoscope.export",
    "khronoscope.recording",
    "khronoscope.cluster",
    "khronoscope.sim",
    "khronoscope.storage",
]

_IMPORT_ALL = """
import importlib, pkgutil, sys
pkg = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    importlib.import_module(info.name)
print("\\n".join(sys.modules))
"""


def imported_by(package: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, package], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def _ui(mods: set[str]) -> set[str]:
    return {m for m in mods if m.split(".")[0] == "textual" or m.startswith("khronoscope.tui")}


@pytest.mark.parametrize("package", PURE)
def test_pure_domain_imports_neither_the_ui_nor_a_kubernetes_client(package):
    mods = imported_by(package)
    client = {m for m in mods if m.split(".")[0] in ("kubernetes_asyncio", "aiohttp")}
    assert not client
    assert not _ui(mods)


@pytest.mark.parametrize("package", NO_UI)
def test_domain_packages_never_import_the_ui(package):
    assert not _ui(imported_by(package))

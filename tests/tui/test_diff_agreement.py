"""`khronoscope diff` and the app's diff screen (`D`) tell the same story about the same two
versions: the same changed paths, the same lines, the same redaction (issue 17).

One recording holds a Secret rotation, a change of only resourceVersion/managedFields, a list
reorder and a deletion; the CLI reads it with `--json`, the app opens it and shows each object's
diff between the same two moments.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from khronoscope.cli import main
from khronoscope.core.source import SourceInfo
from khronoscope.core.timefmt import NS, format_iso, format_k8s_time
from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType
from khronoscope.printers import row_for
from khronoscope.printers.objdiff import CHANGED
from khronoscope.recording.format import SECRETS_KEPT
from khronoscope.recording.source import open_recording
from khronoscope.recording.writer import RecordingWriter
from khronoscope.tui.app import create_app
from khronoscope.tui.screens.diff import FIXED, DiffScreen
from khronoscope.tui.settings import BrowserSettings
from tests.tui.conftest import SIZE, screen_text

T0 = 1_773_478_800 * NS  # 2026-03-14T09:00:00Z
T1, T2 = T0 + 10 * NS, T0 + 20 * NS
PASSWORD = "old-pa55word"
ROTATED = "new-pa55word"

TYPES = [
    ResourceType("", "v1", "secrets", "Secret", True, (), ("list", "watch")),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), ("list", "watch")),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")),
]
SECRET = ObjectKey("secrets", "shop", "db")
NOISY = ObjectKey("configmaps", "shop", "noisy")
GONE = ObjectKey("configmaps", "shop", "gone")
DEPLOY = ObjectKey("deployments", "shop", "api")


def _meta(name: str, rv: int, manager_t: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "shop",
        "uid": f"uid-{name}",
        "resourceVersion": str(rv),
        "managedFields": [
            {
                "manager": "kubectl-edit",
                "operation": "Update",
                "apiVersion": "v1",
                "time": format_k8s_time(manager_t),
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {}},
            }
        ],
        **extra,
    }


def _secret(password: str, rv: int, t: int) -> dict[str, Any]:
    data = {
        "password": base64.b64encode(password.encode()).decode(),
        "username": base64.b64encode(b"orders").decode(),
    }
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": data}
    meta = _meta(
        "db",
        rv,
        t,
        annotations={
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied),
            # a tool's note quoting the value: redacted as the value is
            "rotation/note": f"set to {password} by the runbook",
        },
    )
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data}


def _configmap(name: str, rv: int, t: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, rv, t),
        "data": {"LOG_LEVEL": "info"},
    }


def _deployment(rv: int, t: int, reordered: bool) -> dict[str, Any]:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    args = ["--port=8080", "--verbose"]
    if reordered:
        env.reverse()
        args.reverse()
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("api", rv, t),
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [{"name": "api", "image": "api:1", "env": env, "args": args}]
                }
            },
        },
    }


def _changes() -> list[Change]:
    mod, add, gone = ChangeKind.MODIFIED, ChangeKind.ADDED, ChangeKind.DELETED
    return [
        Change(T0, SECRET, add, _secret(PASSWORD, 1, T0)),
        Change(T0, NOISY, add, _configmap("noisy", 2, T0)),
        Change(T0, GONE, add, _configmap("gone", 3, T0)),
        Change(T0, DEPLOY, add, _deployment(4, T0, reordered=False)),
        # T1 .. T2: the password rotates; `noisy` is only re-applied (new resourceVersion and
        # managedFields time); the deployment's env and args are reordered; `gone` is deleted
        Change(T1 + NS, SECRET, mod, _secret(ROTATED, 11, T1 + NS)),
        Change(T1 + NS, NOISY, mod, _configmap("noisy", 12, T1 + NS)),
        Change(T1 + NS, DEPLOY, mod, _deployment(14, T1 + NS, reordered=True)),
        Change(T1 + 2 * NS, GONE, gone, None),
        Change(T2, ObjectKey("configmaps", "shop", "last"), add, _configmap("last", 20, T2)),
    ]


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A recording that kept Secret values (`record --keep-secrets`): redaction is the
    readers' job, so both must do it."""
    path = tmp_path_factory.mktemp("agree") / "r.khr"
    writer = RecordingWriter.create(path, SourceInfo("agree", "agree"), T0, secrets=SECRETS_KEPT)
    writer.set_types(T0, TYPES)
    for change in _changes():
        writer.append_change(change)
    writer.close(stop_t=T2)
    return path


def _cli(capsys, recording: Path) -> dict[str, Any]:
    code = main(["diff", str(recording), format_iso(T1), format_iso(T2), "--json"])
    out, err = capsys.readouterr()
    assert code == 1, err
    return json.loads(out)


def _body(lines: list[str]) -> list[str]:
    """A unified diff without its ---/+++ header lines (they carry each side's own labels)."""
    return [line for line in lines if not line.startswith(("---", "+++"))]


async def _screens(recording: Path) -> dict[ObjectKey, tuple[Any, str]]:
    """For each object: the diff screen's result between T1 and T2, and what it drew."""
    source = open_recording(recording, row_fn=row_for)
    settings = BrowserSettings(at=T2, tz=UTC, clock=lambda: T2 + 3600 * NS)
    app = create_app(source, settings)
    out: dict[ObjectKey, tuple[Any, str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in (SECRET, NOISY, GONE, DEPLOY):
            screen = DiffScreen(app.ctx, key, FIXED, T1, T2)
            await app.push_screen(screen)
            await pilot.pause()
            out[key] = (screen.result, screen_text(app))
            screen.dismiss()
            await pilot.pause()
    return out


async def test_cli_diff_and_the_diff_screen_agree(recording, capsys):
    doc = _cli(capsys, recording)
    shown = await _screens(recording)
    modified = {ObjectKey(m["type"], m["namespace"], m["name"]): m for m in doc["modified"]}
    deleted = {ObjectKey(d["type"], d["namespace"], d["name"]) for d in doc["deleted"]}

    # the deletion: the CLI lists it as deleted, the screen shows every line removed
    assert deleted == {GONE}
    gone, _ = shown[GONE]
    assert gone.lines and all(line.startswith(("-", "@@")) for line in _body(gone.lines))

    # what was modified, with which paths, as the same lines
    for key, (result, _) in shown.items():
        if key == GONE:
            continue
        cli = modified.get(key)
        cli_paths = cli["paths"] if cli else []
        assert cli_paths == result.paths, key
        cli_lines = _body(cli["diff"].splitlines()) if cli else []
        assert cli_lines == _body(result.lines), key

    # a rotation is a change of the password, never of what it was or became
    assert modified[SECRET]["paths"] == ["data.password"]
    rotated = f"password: {CHANGED}"
    assert rotated in modified[SECRET]["diff"]
    secret, drawn = shown[SECRET]
    assert any(line.endswith(rotated) for line in secret.lines)
    assert "changed: data.password" in drawn
    assert NOISY not in modified  # only resourceVersion and managedFields moved
    assert shown[NOISY][0].equal
    # a reorder of named items is no change of a field, but the lines moved: both show them
    assert modified[DEPLOY]["paths"] == [
        "spec.template.spec.containers[api].args[0]",
        "spec.template.spec.containers[api].args[1]",
    ]

    everything = json.dumps(doc) + "".join(text for _, text in shown.values())
    for value in (PASSWORD, ROTATED):
        assert value not in everything
        assert base64.b64encode(value.encode()).decode() not in everything

"""Who did it, everywhere: the history view, `history`, the diff header, the Git trailers; and
unknown and reconstructed states labelled as such."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from khronoscope.cli import main
from khronoscope.core.provenance import (
    RECONSTRUCTED,
    RECONSTRUCTED_FIELD,
    Provenance,
    ProvenanceStore,
    unknown_placeholder,
)
from khronoscope.core.types import ObjectKey
from khronoscope.recording.source import open_recording
from khronoscope.temporal import TemporalMap
from khronoscope.tui.screens.detail import provenance_banner
from khronoscope.tui.screens.history import entry_text
from khronoscope.tui.versions import ObjectHistory
from khronoscope.tui.widgets.timeline import _IMPORTED, _RECONSTRUCTED, Layout, Timeline
from tests.audit.lines import deployment, event, write
from tests.audit.test_entries import WEB, at

CFG = ObjectKey("configmaps", "shop", "cfg")
CFG_BODY = {
    "kind": "ConfigMap",
    "apiVersion": "v1",
    "metadata": {"name": "cfg", "namespace": "shop", "resourceVersion": "20"},
    "data": {"mode": "blue"},
}


def managed(obj: dict, manager: str, second: float) -> dict:
    obj["metadata"]["managedFields"] = [
        {"manager": manager, "operation": "Update", "time": f"2026-05-01T10:00:{int(second):02d}Z"}
    ]
    return obj


def recording(tmp_path: Path) -> Path:
    d1 = managed(deployment("web", 10), "kubectl-create", 1)
    d2 = managed(deployment("web", 11, replicas=4), "kubectl-edit", 5)
    log = write(
        tmp_path / "audit.log",
        [
            event(1, "create", "deployments", "web", group="apps", response=d1),
            event(
                5,
                "update",
                "deployments",
                "web",
                group="apps",
                response=d2,
                user={"username": "bob", "groups": ["ops"]},
            ),
            event(6, "create", "configmaps", "cfg", response=CFG_BODY),
            event(7, "patch", "configmaps", "cfg", level="Metadata"),
        ],
    )
    out = tmp_path / "r.khr"
    assert main(["import", "audit", str(log), "-o", str(out), "-q"]) == 0
    return out


def test_history_text_and_json_name_the_user_beside_the_manager(tmp_path, capsys):
    out = recording(tmp_path)
    capsys.readouterr()
    assert main(["history", str(out), "deploy/shop/web", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["user"], e["manager"]) for e in entries] == [
        ("alice@example.com", "kubectl-create"),
        ("bob", "kubectl-edit"),
    ]
    assert entries[1]["groups"] == ["ops"] and entries[1]["source_ips"] == ["10.0.0.7"]
    assert main(["history", str(out), "deploy/shop/web"]) == 0
    text = capsys.readouterr().out
    assert "by bob (kubectl-edit)  spec.replicas" in text and "managedFields" not in text
    assert main(["history", str(out), "cm/shop/cfg"]) == 0
    assert "(content not in the audit log)" in capsys.readouterr().out


def test_the_diff_header_says_who(tmp_path, capsys):
    out = recording(tmp_path)
    capsys.readouterr()
    assert main(["history", str(out), "deploy/shop/web", "--diff"]) == 0
    assert "by bob (kubectl-edit)" in capsys.readouterr().out.split("+++")[2].splitlines()[0]


def test_git_export_trailers_name_the_user_and_the_manager(tmp_path):
    out = recording(tmp_path)
    repo = tmp_path / "repo"
    first = "2026-05-01T10:00:01Z"
    args = ["export", "--recording", str(out), "--repo", str(repo), "--from", first, "-q"]
    assert main(args) == 0
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B%x00"], capture_output=True, text=True
    ).stdout
    assert "Khronoscope-Changed-By: bob (kubectl-edit): deployments.apps/shop/web" in log
    assert "Khronoscope-Changed-By: alice@example.com (kubectl-create): deployments.apps/" in log
    # the ConfigMap's edit whose content is unknown leaves its file as it was: nothing invented
    cfg = subprocess.run(
        ["git", "-C", str(repo), "show", "HEAD:shop/configmaps/cfg.yaml"],
        capture_output=True,
        text=True,
    ).stdout
    assert "mode: blue" in cfg and "content-unknown" not in cfg
    # a snapshot at the end: no file made up for it, and the commit says why
    other = tmp_path / "moment"
    assert main(["export", "--recording", str(out), "--repo", str(other), "-q"]) == 0
    message = subprocess.run(
        ["git", "-C", str(other), "log", "-1", "--format=%B"], capture_output=True, text=True
    ).stdout
    assert "Left as before (state not known): configmaps/shop/cfg: content not known" in message
    files = subprocess.run(
        ["git", "-C", str(other), "ls-files"], capture_output=True, text=True
    ).stdout
    assert "configmaps/cfg.yaml" not in files and "deployments.apps/web.yaml" in files


def test_the_history_view_lists_marks_unknown_and_reconstructed_apart():
    tmap = TemporalMap()
    store = ProvenanceStore()
    shell = {"kind": "Deployment", "spec": {"replicas": 1}, RECONSTRUCTED_FIELD: "from RS x"}
    tmap.put(WEB, 10, shell)
    store.add(Provenance(10, WEB, RECONSTRUCTED, note="from RS x"))
    store.add(Provenance(15, WEB, RECONSTRUCTED, mark=True, note="kubectl-set last wrote"))
    unknown = unknown_placeholder("apps/v1", "Deployment", WEB, "patch by eve")
    tmap.put(WEB, 20, unknown)
    store.add(Provenance(20, WEB, "audit", unknown=True, verb="patch"))
    tmap.put(WEB, 30, deployment("web", 12))
    history = ObjectHistory(tmap, WEB, provenance=store)
    assert len(history) == 4
    rows = [entry_text(history.entry(i), str(history.row_t(i)), False).plain for i in range(4)]
    assert "reconstructed from RS x" in rows[0]
    assert rows[1].startswith("  15") and "kubectl-set last wrote" in rows[1]
    assert "content not in the audit log" in rows[2]
    assert "first observed" not in rows[2]
    assert history.index_at(16) == 0  # a mark is never the version in force
    assert history.index_at(25) == 2


def test_the_detail_view_says_a_state_is_unknown_or_rebuilt():
    unknown = unknown_placeholder("v1", "ConfigMap", CFG, "patch by eve at T")
    banner = provenance_banner(unknown)
    assert banner is not None and banner.plain.startswith("state unknown: patch by eve")
    rebuilt = provenance_banner({"kind": "X", RECONSTRUCTED_FIELD: "from RS"})
    assert rebuilt is not None and "reconstructed (not observed)" in rebuilt.plain
    assert provenance_banner(deployment("web", 1)) is None


def test_the_timeline_styles_history_from_before_watching_began():
    layout = Layout(0, 100, 0, 10)
    cells = Timeline._before_cells(60, (0, 40), layout)
    assert cells[:4] == [_IMPORTED] * 4
    assert cells[4:6] == [_RECONSTRUCTED] * 2
    assert cells[6:] == [None] * 4


def test_an_imported_recording_is_all_imported_history(tmp_path):
    src = open_recording(recording(tmp_path))
    assert src.provenance.imported == (at(1), at(7) + 1)


def test_a_table_row_says_unknown_rather_than_showing_blanks():
    from khronoscope.printers import row_for
    from khronoscope.printers.columns import CellKind, format_cell

    row = row_for("configmaps", unknown_placeholder("v1", "ConfigMap", CFG, "patch by eve"))
    assert row.cells[0] == "<unknown>"
    assert format_cell(CellKind.NUMBER, row.cells[0], 0) == "<unknown>"
    assert format_cell(CellKind.AGE, row.cells[1], 0) == "<unknown>"

"""`khronoscope history` and `khronoscope diff` on a recording, as a script would call them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from khronoscope.cli import main
from khronoscope.core.timefmt import format_iso, parse_time
from khronoscope.core.types import ChangeKind, ObjectKey
from tests.recording.helpers import Recorded, record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recorded:
    return record(tmp_path_factory.mktemp("cmd") / "r.khr", count=600, objects=30)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_history_of_everything_lists_every_change_in_order(rec, capsys):
    code, out, _ = _run(capsys, "history", str(rec.path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == rec.live.change_count
    refs = list(rec.live.changes())
    column = {line.index("  ") for line in lines}
    assert len(column) == 1  # the times line up (9.5 and 9.25 were one column apart)
    for line, ref in zip(lines, refs, strict=True):
        time, kind = line.split()[:2]
        assert parse_time(time) == ref.t and time.startswith(format_iso(ref.t)[:-1])
        assert kind == ref.kind.name
        assert str(ref.key) in line


def test_history_of_one_object_with_paths_and_json(rec, capsys):
    key = max(
        (c.key for c in rec.changes if c.key.type == "pods"), key=lambda k: len(rec.live.history(k))
    )
    code, out, _ = _run(
        capsys, "history", str(rec.path), f"po/{key.namespace}/{key.name}", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert [(e["t"], e["change"]) for e in doc] == [(t, k.name) for t, k in rec.live.history(key)]
    modified = [e for e in doc if e["change"] == "MODIFIED"]
    # the fields every write changes are set apart, as in the app; --all-fields names them
    assert modified and all("metadata.resourceVersion" in e["hidden_paths"] for e in modified)
    assert not any(p.startswith("metadata.resourceVersion") for e in modified for p in e["paths"])
    code, out, _ = _run(capsys, "history", str(rec.path), f"po/{key.namespace}/{key.name}")
    only_noise = [ln for ln in out.splitlines() if "(only resourceVersion" in ln]
    assert only_noise and "metadata.resourceVersion" not in out
    code, out, _ = _run(
        capsys, "history", str(rec.path), f"po/{key.namespace}/{key.name}", "--all-fields"
    )
    assert code == 0 and "(only resourceVersion" not in out
    assert out.count("metadata.resourceVersion") == len(modified)
    # with -n instead of the namespace in the name, and a YAML diff per change
    code, out, _ = _run(
        capsys, "history", str(rec.path), f"pods/{key.name}", "-n", key.namespace, "--diff"
    )
    assert code == 0 and "+++ " in out and "resourceVersion" in out


def test_history_never_prints_secret_values_unless_asked(rec, capsys):
    key = next(c.key for c in rec.changes if c.key.type == "secrets")
    token = next(c.obj["data"]["token"] for c in rec.changes if c.key == key and c.obj)
    code, out, _ = _run(
        capsys, "history", str(rec.path), f"secrets/{key.namespace}/{key.name}", "--diff", "--json"
    )
    assert code == 0 and token not in out and "aHVudGVyMg==" not in out
    assert "<redacted>" in out
    code, out, _ = _run(
        capsys,
        "history",
        str(rec.path),
        f"secrets/{key.namespace}/{key.name}",
        "--diff",
        "--show-secrets",
    )
    assert token in out


def test_history_since_until_relative_to_the_end(rec, capsys):
    end = rec.live.last_t
    code, out, _ = _run(capsys, "history", str(rec.path), "--since", "-2s", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc and all(e["t"] >= end - 2 * 10**9 for e in doc)
    assert len(doc) == rec.live.count_changes(end - 2 * 10**9, end)


def test_diff_between_two_moments(rec, capsys):
    live = rec.live
    t1 = live.first_t + (live.last_t - live.first_t) // 3
    t2 = live.last_t
    code, out, _ = _run(capsys, "diff", str(rec.path), format_iso(t1), "end", "--json")
    assert code == 1  # differences, like diff(1)
    doc = json.loads(out)
    before, after = live.state_at(t1), live.state_at(t2)
    keyset = lambda items: {ObjectKey(e["type"], e["namespace"], e["name"]) for e in items}  # noqa: E731
    assert keyset(doc["added"]) == after.keys() - before.keys()
    assert keyset(doc["deleted"]) == before.keys() - after.keys()
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    # what only moved resourceVersion or managedFields is set apart, as the app's diff does
    assert keyset(doc["modified"]) | keyset(doc["noise_only"]) == changed
    assert not keyset(doc["modified"]) & keyset(doc["noise_only"])
    assert all(e["diff"].startswith("--- ") and e["paths"] for e in doc["modified"])
    for e in doc["noise_only"]:
        key = ObjectKey(e["type"], e["namespace"], e["name"])
        a, b = dict(before[key]), dict(after[key])
        a["metadata"] = {k: v for k, v in a["metadata"].items() if k != "resourceVersion"}
        b["metadata"] = {k: v for k, v in b["metadata"].items() if k != "resourceVersion"}
        assert a == b, key
    code, out, _ = _run(capsys, "diff", str(rec.path), format_iso(t1), format_iso(t1))
    assert code == 0 and "0 added, 0 deleted, 0 modified" in out


def test_diff_of_one_object(rec, capsys):
    key = next(
        c.key for c in rec.changes if c.kind == ChangeKind.MODIFIED and c.key.type == "configmaps"
    )
    times = rec.live.version_times(key)
    code, out, _ = _run(
        capsys,
        "diff",
        str(rec.path),
        format_iso(times[0]),
        format_iso(times[1]),
        f"cm/{key.namespace}/{key.name}",
    )
    assert code == 1
    assert f"~ {key}: " in out and "LOG_LEVEL" in out


def test_diff_clamps_times_outside_the_recording_and_says_so(rec, capsys):
    """As `open --at`, export and the app: the recording's edge and one line each (before:
    an error, no diff)."""
    src_start, src_end = rec.live.first_t, rec.live.last_t
    code, out, err = _run(
        capsys, "diff", str(rec.path), "2001-01-01T00:00:00Z", "2200-01-01T00:00:00Z", "--json"
    )
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "khronoscope: T1 2001-01-01T00:00:00Z is before the recording's start"
    )
    assert lines[1].startswith("khronoscope: T2 2200-01-01T00:00:00Z is after the recording's end")
    code2, same, _ = _run(capsys, "diff", str(rec.path), "start", "end", "--json")
    assert (code2, same) == (code, out)  # the same answer as from start to end
    assert json.loads(out)["added"] and src_start < src_end


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (["history", "{missing}"], "no such file", 1),
        (["history", "{notrec}"], "is not a khronoscope recording", 1),
        (["diff", "{rec}", "yesterday-ish", "end"], "T1: cannot read time", 2),
        (["history", "{rec}", "pods/nope"], "no such object", 2),
        (["history", "{rec}", "pods"], "use TYPE/NAME", 2),
        (["history", "{rec}", "--since=-5x"], "--since: cannot read time", 2),
    ],
)
def test_bad_input_is_one_line_and_a_status(rec, tmp_path, argv, message, status):
    notrec = tmp_path / "n.txt"
    notrec.write_text("x")
    names = {"rec": str(rec.path), "missing": str(tmp_path / "none.khr"), "notrec": str(notrec)}
    done = subprocess.run(
        [sys.executable, "-m", "khronoscope", *(a.format(**names) for a in argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == status, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_damaged_recording_warns_and_still_answers(rec, tmp_path, capsys):
    data = bytearray(rec.path.read_bytes())
    data[len(data) // 2] ^= 0x40
    copy = tmp_path / "d.khr"
    copy.write_bytes(bytes(data))
    code, out, err = _run(capsys, "history", str(copy))
    assert code == 0 and out
    assert "warning" in err and "bytes " in err


def test_history_into_a_closed_pipe_is_quiet(rec):
    """`khronoscope history F | head -1`: the reader leaves early; no traceback, no error line."""
    proc = subprocess.run(
        f"{sys.executable} -m khronoscope history {rec.path} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""

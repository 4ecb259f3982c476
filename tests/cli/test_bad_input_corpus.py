"""Every bad input is one line: a corpus of typos, overflows and contradictions for every command.

Each case runs the command line in-process as `khronoscope ...` and checks what a user sees and
keeps: a non-zero exit (2 for a usage error), exactly one line on stderr that names the problem,
no traceback, no "internal error", nothing on stdout, and no file created, changed or removed
(the recording, the export repository, the data and state directories).

A bad input must be refused before anything starts: the points where a command would go on
(connecting to a cluster, serving the demo, opening the app) raise `Accepted`, so a case the
command accepts fails with that name in its message instead of connecting or hanging.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from khronoscope import cli
from khronoscope.core.source import SourceInfo
from khronoscope.recording.writer import RecordingWriter
from tests.recording.helpers import record

ROOT = Path(__file__).resolve().parents[2]


class Accepted(Exception):
    """A bad input went through: the command went on to connect, serve or open the app."""


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@dataclass(frozen=True)
class Case:
    """One command line, the exit status it must give and a fragment its one line must hold."""

    argv: tuple[str, ...]
    code: int
    says: str

    @property
    def id(self) -> str:
        text = " ".join(self.argv)
        if len(text) <= 90:
            return text
        return text[:80] + "...#" + hashlib.sha1(text.encode()).hexdigest()[:6]


def _cases() -> list[Case]:
    out: list[Case] = []

    def add(argv: list[str], code: int, says: str) -> None:
        out.append(Case(tuple(argv), code, says))

    live = ["--kubeconfig", "{KC}"]
    rec = ["record", "-o", "{W}/new.khr", *live]
    exp = ["export", "--recording", "{F}", "--repo", "{W}/repo"]
    drift = ["drift", "--recording", "{F}", "--repo", "{R}"]

    # --- times: overflowing, out of range, not times -------------------------------------------
    bad_times = [
        ("-99999999999999999999w", "too long"),
        ("+99999999999999999999w", "too long"),
        ("-" + "9" * 400 + "s", "too long"),
        ("-99999999999d", "too long"),
        ("9999-12-31T23:59:59Z", "out of range"),
        ("0001-01-01T00:00:00Z", "out of range"),
        ("1500-06-01", "out of range"),
        ("3000-01-01T00:00:00+14:00", "out of range"),
        ("nan", "cannot read time"),
        ("inf", "cannot read time"),
        ("25:99", "bad clock time"),
        ("2026-13-01", "cannot read time"),
        ("-15x", "cannot read time"),
        ("-1e9s", "cannot read time"),
    ]
    slots: list[tuple[list[str], str]] = [
        (["history", "{F}", "--since", "{T}"], "--since"),
        (["history", "{F}", "--until", "{T}"], "--until"),
        (["diff", "{F}", "{T}", "end"], "T1"),
        (["diff", "{F}", "start", "{T}"], "T2"),
        ([*exp, "--at", "{T}"], "--at"),
        ([*exp, "--from", "{T}"], "--from"),
        ([*exp, "--from", "start", "--to", "{T}"], "--to"),
        ([*drift, "--at", "{T}"], "--at"),
        (["open", "{F}", "--at", "{T}"], "--at"),
        (["live", *live, "--at", "{T}"], "--at"),
        (["demo", "--at", "{T}"], "--at"),
        (["export", "--repo", "{W}/repo", *live, "--at", "{T}"], "--at"),
    ]
    for argv, option in slots:
        for value, says in bad_times:
            if option in ("T1", "T2") and value.startswith("+"):
                continue  # `+...` is not read as a relative time in a positional slot
            add([value if a == "{T}" else a for a in argv], 2, says)

    # --- durations and sizes (retention) ---------------------------------------------------------
    retention_commands = [rec, ["live", *live], ["demo"]]
    bad_ages = ["0", "0s", "-1h", "99999999999999999999w", "9" * 400 + "d", "nan", "inf"]
    bad_ages += ["1e3s", "abc", "", "7x", "1.5.5h", "36501d"]
    bad_sizes = ["0", "-1", "99999999999999999999T", "nan", "inf", "1.5.5G", "abc", "1X", ""]
    bad_sizes += ["9" * 400, "1e9", "5 GiBs", "2048T"]
    for argv in retention_commands:
        for value in bad_ages:
            add([*argv, "--max-age", value], 2, "--max-age")
        for value in bad_sizes:
            add([*argv, "--max-size", value], 2, "--max-size")

    # --- numbers -----------------------------------------------------------------------------
    for value in ["nan", "inf", "-inf", "0", "-1", "abc", "1e999", "99999"]:
        add(["demo", "--speed", value], 2, "--speed")
        add(["demo", "--no-ui", "--speed", value], 2, "--speed")
    for value in ["nan", "inf", "0", "-1", "abc", "1e999", ""]:
        add([*rec, "--status-every", value], 2, "--status-every")
    for value in ["nan", "inf", "-1", "abc", "1e999"]:
        add([*rec, "--metrics-interval", value], 2, "--metrics-interval")
        add(["live", *live, "--metrics-interval", value], 2, "--metrics-interval")
    for value in ["nan", "inf", "0", "-1", "abc"]:
        add(["export", "--repo", "{W}/repo", *live, "--sync-timeout", value], 2, "--sync-timeout")
        add(["drift", "--repo", "{R}", *live, "--sync-timeout", value], 2, "--sync-timeout")
    for value in ["-1", "65536", "abc", "99999999999999999999", "1.5"]:
        add(["demo", "--no-ui", "--port", value], 2, "--port")
    for value in ["abc", "1.5", "-1", "nan"]:
        add(["demo", "--no-ui", "--seed", value], 2, "--seed")

    # --- demo scenarios --------------------------------------------------------------------------
    for spec, says in [
        ("scale:pods=-1", "option pods"),
        ("scale:pods=abc", "option pods"),
        ("scale:pods=1e999", "option pods"),
        ("scale:pods=99999999999", "option pods"),
        ("scale:nodes=0", "option nodes"),
        ("scale:churn=-5", "option churn"),
        ("scale:foo=1", "unknown option 'foo'"),
        ("default:foo=1", "unknown option 'foo'"),
        ("quiet:period=nan", "option period"),
        ("quiet:period=-5", "option period"),
        ("quiet:period=inf", "option period"),
        ("scale:pods", "bad scenario option"),
        ("nope", "unknown scenario 'nope'"),
    ]:
        add(["demo", "--no-ui", "--scenario", spec], 2, says)
        add(["demo", "--scenario", spec], 2, says)

    # --- names: namespaces, types, contradictions ------------------------------------------------
    bad_namespaces = ["bad ns!", "UPPER", "a" * 64, "ns_underscore", "ns.dot", "..", "-"]
    bad_namespaces += ["x-", "\u00e9t\u00e9", ""]
    namespace_commands = [
        rec,
        ["live", *live],
        ["export", "--repo", "{W}/repo", *live],
        ["drift", "--repo", "{R}", *live],
        exp,
        drift,
        ["history", "{F}"],
        ["diff", "{F}", "start", "end"],
        ["open", "{F}"],
    ]
    for argv in namespace_commands:
        for value in bad_namespaces:
            if value == "-" and argv[0] in ("open",):
                continue  # `-n -` is read by argparse as a missing value: already one line
            add([*argv, "-n", value], 2, "namespace")
    for argv in (rec, ["live", *live]):
        for value in ["bad ns!", "UPPER", ""]:
            add([*argv, "--exclude-namespace", value], 2, "--exclude-namespace")
        add([*argv, "-n", "shop", "--exclude-namespace", "shop"], 2, "'shop'")
        add([*argv, "-n", "shop,web", "--exclude-namespace", "web"], 2, "'web'")
        add([*argv, "--include", "pods", "--exclude", "pods"], 2, "'pods'")
        add([*argv, "--include", "po,deploy", "--exclude", "PO"], 2, "'po'")
        add([*argv, "--include", ""], 2, "--include")
        add([*argv, "--exclude", ""], 2, "--exclude")
        add([*argv, "--include", "bad type!"], 2, "--include")
        add([*argv, "--context", ""], 2, "--context")
    for argv in (exp, drift, ["history", "{F}"], ["diff", "{F}", "start", "end"]):
        add([*argv, "-t", "nosuchtype"], 2, "unknown type 'nosuchtype'")
        add([*argv, "-t", "pods,gizmos"], 2, "unknown type 'gizmos'")
        add([*argv, "-n", "nosuchns"], 2, "unknown namespace 'nosuchns'")
        add([*argv, "-n", "default,nosuchns"], 2, "unknown namespace 'nosuchns'")
    for value in ["nosuchtype", "", "pods!"]:
        add(["open", "{F}", "-c", value], 2, "-c")
    add([*drift, "--default-namespace", "bad ns!"], 2, "--default-namespace")
    for value in ["bad..name", "a b", "HEAD~1", "refs/heads/", "x.lock", "@{-1}"]:
        add([*exp, "--branch", value], 2, "branch")
    for value in ["just a name", "<a@b>", "Name <a@b"]:
        add([*exp, "--author", value], 1, "author")

    # --- paths -----------------------------------------------------------------------------------
    for value in ["../..", "/abs", "a/../../b", ".git", "x/.git/y", "a\x01b", "..\\.."]:
        add([*exp, "--prefix", value], 2, "--prefix")
        add([*drift, "--path", value], 2, "--path")
    for value, code, says in [
        ("{W}/adir/", 2, "is a directory"),
        ("{W}/adir", 2, "is a directory"),
        ("{W}/newdir/", 2, "is a directory"),
        ("", 2, "empty"),
        ("{W}/existing.khr", 1, "already exists"),
        ("{W}/nope/x.khr", 1, "does not exist"),
        ("{W}/afile/x.khr", 1, "is not a directory"),
    ]:
        add(["record", "-o", value, *live], code, says)
        add(["live", *live, "--record", value], code, says)
    add(["live", *live, "--record", "{W}/x.khr", "--no-record"], 2, "--no-record")
    for value in ["abc", "127.0.0.1:99999", ":abc", "", "127.0.0.1:-1"]:
        add([*rec, "--listen", value], 2, "--listen")
    add(["record", "-o", "file://{W}/adir/", *live], 2, "is a directory")
    for value, says in [
        ("{W}/nope.yaml", "kubeconfig not found"),
        ("{W}/notyaml.yaml", "cannot read kubeconfig"),
        ("{W}/emptycfg", "kubeconfig"),
        ("{W}/listcfg", "not a kubeconfig"),
    ]:
        add(["record", "-o", "{W}/new.khr", "--kubeconfig", value], 1, says)
        add(["live", "--kubeconfig", value], 1, says)
        add(["export", "--repo", "{W}/repo", "--kubeconfig", value], 1, says)
    add(["record", "-o", "{W}/new.khr", *live, "--context", "nope"], 1, "context 'nope'")
    for argv in (["open", "{F}"], ["live", *live], ["demo"]):
        add([*argv, "--keymap", "{W}/nope.toml"], 2, "does not exist")
    for argv, says in [
        (["history", "{W}/nope.khr"], "nope.khr"),
        (["diff", "{W}/nope.khr", "start", "end"], "nope.khr"),
        (["diff", "{E}", "start", "end"], "no readable change"),
        (["diff", "{E}", "-1m", "end"], "no readable change"),
        (["history", "{E}", "--since", "-1m"], "no readable change"),
        (["diff", "{F}", "start", "end", "pods/nosuch"], "no such object"),
        (["history", "{F}", "bad"], "TYPE/NAME"),
    ]:
        add(argv, 2 if argv[0] == "diff" or "{E}" in argv or "bad" in argv else 1, says)
    add([*exp, "--at", "-1s", "--from", "-2s"], 2, "either --at")
    add([*exp, "--to", "-1s"], 2, "--to needs --from")
    add([*exp, "--from", "end", "--to", "start"], 1, "range is empty")
    add(["export", "--repo", "{W}/repo", *live, "--from", "-1m"], 2, "--from/--to")
    add(["export", "--recording", "{F}", "--repo", "{W}/afile"], 1, "is a file")
    # import audit: what it writes must be a new file
    for value, code, says in [
        ("{W}/adir/", 2, "is a directory"),
        ("{W}/newdir/", 2, "is a directory"),
        ("", 2, "empty"),
        ("{W}/existing.khr", 2, "already exists"),
        ("{W}/rec.khr", 2, "already exists"),
    ]:
        add(["import", "audit", "{W}/notrec.txt", "-o", value], code, says)
    add(["import", "audit", "{W}/nope.log", "-o", "{W}/new.khr"], 1, "no such file")
    add(["import", "audit", "{W}/adir", "-o", "{W}/new.khr"], 1, "is a directory")
    add(["import", "audit", "{W}/notrec.txt", "--into", "{W}/nope.khr"], 2, "no such recording")
    add(["import", "audit", "{W}/notrec.txt", "-o", "{W}/n.khr", "--into", "{F}"], 2, "not allowed")
    add(["export", "--recording", "{F}", "--repo", "{W}/notrepo"], 1, "not a Git repository")
    # convert: a v0.1 file into a new segmented recording, nothing overwritten
    for argv, code, says in [
        (["{W}/nope.khr", "{W}/new.khr"], 1, "nope.khr"),
        (["{W}/notrec.txt", "{W}/new.khr"], 1, "not a khronoscope recording"),
        (["{W}/adir", "{W}/new.khr"], 1, "is a directory"),
        (["{F}", "{F}"], 2, "already exists"),
        (["{F}", "{W}/existing.khr"], 2, "already exists"),
        (["{F}", "{W}/adir"], 2, "already exists"),
        (["{F}", ""], 2, "empty"),
        (["{F}", "{W}/nope/x.khr"], 1, "does not exist"),
        (["{F}", "{W}/afile/x.khr"], 1, "is not a directory"),
    ]:
        add(["convert", *argv], code, says)
    # ls: a location holding recordings (a directory or an s3:// prefix)
    for value, says in [
        ("{W}/nope", "not a directory"),
        ("{W}/notrec.txt", "not a directory"),
        ("{W}/adir", "no khronoscope recording there"),
        ("", "no recording location given"),
        ("gs://bucket/x", "not a supported storage URL"),
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://key:secret@bucket/x", "credentials and ports do not go in the URL"),
    ]:
        add(["ls", value], 2, says)
    # record to object storage: a bad URL is refused before connecting
    for value, says in [
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://bucket/x?versionId=1", "no '?'"),
        ("s3://bucket/a/../b", "'..'"),
    ]:
        add(["record", "-o", value, *live], 2, says)
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording, an empty one and a Git repository, made once and copied into each case."""
    base = tmp_path_factory.mktemp("corpus")
    record(base / "rec.khr", count=300, objects=40)
    RecordingWriter.create(base / "empty.khr", SourceInfo("c", "x", "v1")).close()
    repo = base / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
         "--allow-empty", "-m", "init"],
        check=True, env=env,
    )  # fmt: skip
    return base


@pytest.fixture
def workdir(tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files a case may name, and the points where a command would go on, made to raise."""
    w = tmp_path / "w"
    w.mkdir()
    shutil.copy(templates / "rec.khr", w / "rec.khr")
    shutil.copy(templates / "empty.khr", w / "empty.khr")
    (w / "existing.khr").write_bytes(b"precious")
    (w / "adir").mkdir()
    (w / "notrepo").mkdir()
    (w / "notrepo" / "notes.txt").write_text("mine")
    (w / "afile").write_text("")
    (w / "notrec.txt").write_text("hello\n")
    (w / "kubeconfig").write_text(KUBECONFIG)
    (w / "notyaml.yaml").write_text("clusters: [unclosed\n")
    (w / "emptycfg").write_text("")
    (w / "listcfg").write_text("- 1\n- 2\n")
    monkeypatch.setenv("HOME", str(w / "adir"))
    monkeypatch.setenv("KUBECONFIG", "")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "")
    _go_on_raises(monkeypatch)
    return w


def _go_on_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from khronoscope.cluster import kubeconfig, session
    from khronoscope.commands import demo
    from khronoscope.tui import app

    async def connect(self) -> None:  # type: ignore[no-untyped-def]
        # the kubeconfig is read for real: its errors are part of the corpus
        await kubeconfig.load_credentials(self.options.kubeconfig, self.options.context)
        raise Accepted("connected to the cluster")

    async def serve(*_a: object) -> int:
        raise Accepted("served the demo")

    def refuse(what: str):  # type: ignore[no-untyped-def]
        def go_on(*_a: object, **_k: object) -> None:
            raise Accepted(what)

        return go_on

    monkeypatch.setattr(session.ClusterSession, "connect", connect)
    monkeypatch.setattr(demo, "_serve", serve)
    monkeypatch.setattr(demo, "_with_app", refuse("started the demo and its app"))
    monkeypatch.setattr(app, "create_app", refuse("opened the app"))


def _snapshot(*roots: Path) -> dict[str, tuple[int, int, str]]:
    out: dict[str, tuple[int, int, str]] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            st = path.lstat()
            digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            out[str(path)] = (st.st_size if path.is_file() else 0, st.st_mtime_ns, digest)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case, workdir: Path, templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {
        "{W}": str(workdir),
        "{F}": str(workdir / "rec.khr"),
        "{E}": str(workdir / "empty.khr"),
        "{KC}": str(workdir / "kubeconfig"),
        "{R}": str(workdir / "repo-existing"),
    }
    if "{R}" in case.argv:
        shutil.copytree(templates / "repo", workdir / "repo-existing", symlinks=True)
    argv = []
    for arg in case.argv:
        for key, value in names.items():
            arg = arg.replace(key, value)
        argv.append(arg)
    state_dirs = [Path(os.environ[k]) for k in ("XDG_DATA_HOME", "XDG_STATE_HOME")]
    before = _snapshot(workdir, *state_dirs)

    try:
        code = cli.main(argv)
    except SystemExit as done:  # what a console script turns into its exit status
        code = done.code if isinstance(done.code, int) else 1
    out, err = capsys.readouterr()

    # `open` says which file it reads before it reads it (a progress line, not an error)
    lines = [ln for ln in err.splitlines() if not ln.startswith("opening ")]
    assert code == case.code, f"exit {code}, stderr: {err!r}"
    assert len(lines) == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert case.says in lines[0], lines[0]
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert out == "", out
    assert _snapshot(workdir, *state_dirs) == before, "a file was created, changed or removed"


def test_the_corpus_is_large_and_covers_every_command() -> None:
    """The issue counted 266 cases; this corpus runs more, over every command."""
    assert len(CASES) >= 300
    from khronoscope.commands import COMMANDS

    assert {c.argv[0] for c in CASES} == {c.name for c in COMMANDS}


@pytest.mark.parametrize(
    "argv",
    [
        ["open", "{F}", "--at", "-99999999999999999999w"],
        ["demo", "--no-ui", "--speed", "nan"],
        ["diff", "{E}", "start", "end"],
    ],
)
def test_in_a_real_process_too(argv: list[str], tmp_path: Path, templates: Path) -> None:
    """The same promise from a real process: no Rich traceback from the app, no hang."""
    shutil.copy(templates / "rec.khr", tmp_path / "rec.khr")
    shutil.copy(templates / "empty.khr", tmp_path / "empty.khr")
    files = {"{F}": str(tmp_path / "rec.khr"), "{E}": str(tmp_path / "empty.khr")}
    argv = [files.get(a, a) for a in argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KUBECONFIG": "", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "khronoscope", *argv],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("opening ")]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr

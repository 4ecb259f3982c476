"""Writing commits with Git's plumbing, leaving the user's index, work tree, config and hooks alone.

Every command runs with `core.hooksPath=/dev/null` (plumbing like update-ref and fast-import
would otherwise run the reference-transaction hook) and `core.fsmonitor=false`, identities and
dates come from environment variables (the user's `user.*` config is never read or written),
and inherited `GIT_*` variables that would redirect Git to another repository or index are
dropped. Commits are built by one
`git fast-import` process on a temporary ref (a range of thousands of commits costs one
process, not several per commit), then published with a compare-and-swap `update-ref`.

Git is driven through `subprocess`, not GitPython: GitPython has no fast-import (it would be
the same pipe), its commands inherit the caller's whole environment (an inherited
`GIT_INDEX_FILE` or `GIT_DIR` cannot be dropped), and its pure-Python ref and config readers
bypass Git's ref locking and do not know every ref storage; plain `git` does all of it right.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from khronoscope.errors import KhronoscopeError
from khronoscope.export.plan import FileOp

# kept from the caller's environment: where git and its config live, tracing
_KEEP_ENV = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_TRACE",
        "GIT_TRACE2",
        "GIT_TRACE2_EVENT",
        "GIT_TRACE2_PERF",
        "GIT_CEILING_DIRECTORIES",
    }
)
# glibc's malloc gives memory back to the kernel after each object fast-import compresses (zlib's
# buffers sit at the top of the heap): tens of thousands of brk calls and page faults, three
# quarters of its time. A high trim threshold keeps them; other C libraries ignore the variable.
_FAST_IMPORT_ENV = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20)}
# no command from the repository's config runs: hooks, and the fsmonitor (a command `status`
# and `update-index` would start: a repository copied from elsewhere must not run its code)
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


class GitError(KhronoscopeError):
    """A Git operation that failed or was refused; the message is one line."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the export's commits are by (a tool identity unless the user gives one)."""

    name: str = "khronoscope"
    email: str = "khronoscope@localhost"

    def __post_init__(self) -> None:
        for part in (self.name, self.email):
            if not part or any(c in part for c in "<>\n\r\0"):
                raise GitError(f"invalid commit identity {self.name!r} <{self.email}>")

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Read `Name <email>` as given on the command line."""
        name, sep, rest = text.partition("<")
        if not sep or not rest.endswith(">") or not name.strip():
            raise GitError(f"author must look like 'Name <email>', not {text!r}")
        return cls(name.strip(), rest[:-1].strip())


def git_binary() -> str:
    """The `git` executable, or a one-line error when it is not installed."""
    found = shutil.which("git")
    if found is None:
        raise GitError("git is not installed (or not on PATH): install git to export")
    return found


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for git: no inherited repository redirection, C locale, no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP_ENV}
    env.update({"LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"})
    if extra:
        env.update(extra)
    return env


def run_git(
    cwd: Path,
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command in `cwd`; on failure raise GitError with git's first error line."""
    cmd = [git_binary(), *_NO_HOOKS, *args]
    proc = subprocess.run(
        cmd, cwd=cwd, input=input, capture_output=True, env=clean_env(env), check=False
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {first_line(proc.stderr)}")
    return proc


def first_line(stderr: bytes) -> str:
    """The most telling line of git's error output (`fatal:`/`error:` first)."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln
    return lines[0] if lines else "no message"


@dataclass(frozen=True, slots=True)
class Repository:
    """An opened repository: `path` is its work tree (or the git dir of a bare repository)."""

    path: Path
    bare: bool
    object_format: str
    git_dir: Path
    """The repository's git directory (absolute)."""
    pack_dir: Path
    """Where its packs are written."""
    created: bool = False

    def git(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        """Run git in this repository."""
        return run_git(self.path, *args, **kwargs)  # type: ignore[arg-type]

    def out(self, *args: str) -> str:
        """Stripped text output of a git command."""
        return self.git(*args).stdout.decode("utf-8", "replace").strip()


def open_repository(
    path: Path | str, *, create: bool = True, initial_branch: str = "main"
) -> Repository:
    """Open the repository at `path`; a missing or empty directory is initialised when `create`.

    Refused: a file, a non-empty directory that is not a repository, and a directory inside
    another repository's work tree that is not its root (the export would land elsewhere).
    """
    git_binary()
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise GitError(f"{p} is a file, not a directory: give a repository directory")
    if not p.exists() or not any(p.iterdir()):
        if not create:
            raise GitError(f"{p} is not a Git repository")
        p.mkdir(parents=True, exist_ok=True)
        ref_ok = run_git(p, "check-ref-format", "--branch", initial_branch, check=False)
        branch = initial_branch if ref_ok.returncode == 0 else "main"
        run_git(p, "init", "--quiet", f"--initial-branch={branch}")
        return _describe(p.resolve(), created=True)
    probe = run_git(p, "rev-parse", "--is-bare-repository", "--absolute-git-dir", check=False)
    if probe.returncode != 0:
        why = first_line(probe.stderr)
        if "not a git repository" in why:
            raise GitError(
                f"{p} is a non-empty directory that is not a Git repository: "
                "give an existing repository or a new/empty directory"
            )
        raise GitError(f"cannot use {p} as a Git repository: {why}")
    lines = probe.stdout.decode().splitlines()
    bare = lines[0].strip() == "true"
    if bare:
        root = Path(lines[1].strip())
    else:
        top = run_git(p, "rev-parse", "--show-toplevel", check=False)
        if top.returncode != 0:
            raise GitError(f"cannot use {p} as a Git repository: {first_line(top.stderr)}")
        root = Path(top.stdout.decode().strip())
    if root.resolve() != p.resolve():
        raise GitError(
            f"{p} is inside the Git repository {root}, not its root: "
            f"use --repo {root} (and --prefix for a subdirectory)"
        )
    return _describe(root.resolve(), created=False)


def _describe(root: Path, created: bool) -> Repository:
    # one process for every fact (each git process costs milliseconds, tens on a busy machine)
    facts = ("--is-bare-repository", "--absolute-git-dir", "--git-path", "objects/pack")
    probe = run_git(root, "rev-parse", *facts, "--show-object-format", check=False)
    if probe.returncode != 0:  # a git older than 2.25 knows no --show-object-format: sha1
        probe = run_git(root, "rev-parse", *facts)
    bare, git_dir, pack_dir, *fmt = probe.stdout.decode("utf-8", "surrogateescape").splitlines()
    object_format = fmt[0].strip() if fmt else ""
    return Repository(
        root,
        bare.strip() == "true",
        object_format or "sha1",
        Path(git_dir),
        root / pack_dir,  # relative to the work tree, unless absolute
        created,
    )


def check_branch_name(branch: str) -> str:
    """`branch` without `refs/heads/` if Git takes it as a branch name, else GitError (checked
    before anything is created: a typo must not leave a new empty repository behind)."""
    name = branch.removeprefix("refs/heads/")
    ok = run_git(
        Path(tempfile.gettempdir()),
        "check-ref-format",
        "--normalize",
        f"refs/heads/{name}",
        check=False,
    )
    if ok.returncode != 0 or name.startswith("-") or not name:
        raise GitError(f"{branch[:100]!r} is not a valid branch name", exit_code=2)
    return name


def branch_ref(repo: Repository, branch: str | None) -> str:
    """`refs/heads/<branch>`, or the branch HEAD is on; a detached HEAD needs a branch."""
    if branch is None:
        head = repo.git("symbolic-ref", "-q", "HEAD", check=False)
        if head.returncode != 0:
            raise GitError(
                f"HEAD of {repo.path} is detached: name the branch to export to (--branch)"
            )
        return head.stdout.decode().strip()
    name = branch.removeprefix("refs/heads/")
    ok = repo.git("check-ref-format", "--branch", name, check=False)
    if ok.returncode != 0 or name.startswith("-"):
        raise GitError(f"{branch!r} is not a valid branch name")
    return f"refs/heads/{name}"


def resolve(repo: Repository, rev: str) -> str | None:
    """The commit id `rev` names, or None if it does not exist."""
    proc = repo.git("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def ls_tree(repo: Repository, commit: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Every file under `prefix` in `commit`: path -> (mode, object id)."""
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if prefix:
        args += ["--", prefix + "/"]
    out: dict[str, tuple[str, str]] = {}
    for entry in repo.git(*args).stdout.split(b"\0"):
        if not entry:
            continue
        info, _, path = entry.partition(b"\t")
        mode, _kind, oid = info.decode().split(" ")
        out[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return out


def read_blobs(repo: Repository, oids: Sequence[str]) -> dict[str, bytes]:
    """The content of blobs by id, read through one `cat-file --batch` process."""
    if not oids:
        return {}
    unique = list(dict.fromkeys(oids))
    proc = repo.git("cat-file", "--batch", input="".join(f"{o}\n" for o in unique).encode())
    data = proc.stdout
    out: dict[str, bytes] = {}
    pos = 0
    for oid in unique:
        end = data.index(b"\n", pos)
        header = data[pos:end].decode().split(" ")
        pos = end + 1
        if len(header) < 3 or header[1] == "missing":
            continue
        size = int(header[2])
        out[oid] = data[pos : pos + size]
        pos += size + 1
    return out


def worktrees_on(repo: Repository, ref: str) -> list[Path]:
    """Work trees (main and linked) that have `ref` checked out."""
    proc = repo.git("worktree", "list", "--porcelain", check=False)
    if proc.returncode != 0:
        return []
    found: list[Path] = []
    current: Path | None = None
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree ") :])
        elif line == f"branch {ref}" and current is not None and current.is_dir():
            found.append(current)
    if repo.bare:
        found = [w for w in found if w.resolve() != repo.path.resolve()]
    return found


def ensure_clean(worktree: Path, ref: str) -> None:
    """Refuse when a work tree that has `ref` checked out has changes to tracked files."""
    proc = run_git(
        worktree,
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=no",
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"cannot read the state of {worktree}: {first_line(proc.stderr)}")
    if proc.stdout.strip(b"\0"):
        branch = ref.removeprefix("refs/heads/")
        raise GitError(
            f"branch {branch} is checked out in {worktree} with uncommitted changes: "
            "commit or stash them, or export to another --branch"
        )


def update_ref(repo: Repository, ref: str, new: str, old: str | None, message: str) -> None:
    """Move `ref` to `new` only if it still points at `old` (None: only if it does not exist)."""
    zero = "0" * len(new)
    proc = repo.git("update-ref", "-m", message, ref, new, old or zero, check=False)
    if proc.returncode != 0:
        why = first_line(proc.stderr)
        name = ref.removeprefix("refs/heads/")
        if "couldn't write" in why or "No space left" in why:
            raise GitError(f"branch {name} could not be written (is the disk full?): {why}")
        if ".lock': File exists" in why:
            # another git process holds the ref's lock file (or one crashed and left it)
            raise GitError(
                f"branch {name} is locked by another git process (nothing written): {why}"
            )
        raise GitError(f"{name} moved while exporting (nothing written): {why}")


def fast_forward(
    worktree: Path,
    old: str | None,
    new: str,
    empty_tree: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    refresh: bool = True,
) -> str | None:
    """Bring a clean work tree (and its index) from `old` to `new`; None when done, else git's
    reason for refusing (nothing was changed). `progress(done, total)` counts files written;
    `refresh=False` skips refreshing an index known to be empty.

    `read-tree -m -u OLD NEW` is the two-tree fast-forward: it refuses, changing nothing, when
    a tracked file was edited meanwhile or an untracked file is in the way, and runs no hooks.
    It trusts the index's file stats, which a copy (`cp -a`, a restore) makes stale: the index
    is refreshed first (as `git status` does), so unchanged files are seen as unchanged.
    """
    if refresh:
        run_git(worktree, "update-index", "-q", "--refresh", check=False)
    # the user's checkout.workers (default 1) is kept: parallel workers (0, one per core) wrote
    # 1,000 small files two to three times slower and at twice the CPU on a busy two-core
    # machine, the processes competing for the same inode allocator (bench/export.py)
    args = ("read-tree", "-m", "-u", old or empty_tree, new)
    if progress is None:
        proc = run_git(worktree, *args, check=False)
        return None if proc.returncode == 0 else first_line(proc.stderr)
    # writing a big tree takes seconds on a slow disk: read-tree's own progress (`-v`, shown
    # at once with GIT_PROGRESS_DELAY=0) is passed on as it comes
    live = subprocess.Popen(
        [git_binary(), *_NO_HOOKS, *args[:1], "-v", *args[1:]],
        cwd=worktree,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env({"GIT_PROGRESS_DELAY": "0"}),
    )
    assert live.stderr is not None
    messages = bytearray()
    pending = b""
    for chunk in iter(lambda: live.stderr.read1(65536), b""):  # type: ignore[union-attr]
        *lines, pending = (pending + chunk).replace(b"\r", b"\n").split(b"\n")
        for line in lines:
            counted = _PROGRESS.search(line)
            if counted and line.startswith(b"Updating files:"):
                progress(int(counted[1]), int(counted[2]))
            else:
                messages += line + b"\n"
    messages += pending
    return None if live.wait() == 0 else first_line(bytes(messages))


_PROGRESS = re.compile(rb"\((\d+)/(\d+)\)")

# how read-tree fails once its checks have passed and it has begun writing (a full disk, a
# quota): the work tree then holds part of the new tree while the index is still the old one.
# Only these: a failure before the checks (say, no room for index.lock) wrote nothing, and
# undoing then could remove an untracked file of the user's that the checks would have seen.
_WRITE_FAILURES = (
    "error: unable to write file ",
    "error: unable to create file ",
    "fatal: unable to write new index file",
)


def failed_while_writing(reason: str) -> bool:
    """True when `fast_forward`'s refusal came after it had begun writing files."""
    return any(marker in reason for marker in _WRITE_FAILURES)


def undo_checkout(worktree: Path, old: str | None, new: str, empty_tree: str) -> str | None:
    """Put back the files a `fast_forward` that failed while writing had changed; None when
    done, else git's reason.

    Its checks had passed, so every path it touches was clean (or absent) before: files only
    `new` has are removed, the others written again from the index, which is still `old`'s.
    """
    diff = run_git(
        worktree,
        *("diff-tree", "-r", "-z", "--no-renames", "--name-status", old or empty_tree, new),
        check=False,
    )
    if diff.returncode != 0:
        return first_line(diff.stderr)
    listing = diff.stdout.split(b"\0")
    restore: list[bytes] = []
    for status, path in zip(listing[0::2], listing[1::2], strict=False):
        if status != b"A":
            restore.append(path)
            continue
        target = worktree / os.fsdecode(path)
        try:
            target.unlink(missing_ok=True)
        except OSError as err:
            return f"cannot remove {path.decode('utf-8', 'replace')}: {err.strerror}"
        # directories it created for the file (even one it failed to write), if now empty
        for parent in target.parents:
            if parent == worktree or not parent.is_relative_to(worktree):
                break
            try:
                parent.rmdir()
            except OSError:
                break
    if restore:
        proc = run_git(
            worktree,
            "checkout-index",
            "-f",
            "-q",
            "-z",
            "--stdin",
            input=b"\0".join(restore) + b"\0",
            check=False,
        )
        if proc.returncode != 0:
            return first_line(proc.stderr)
    return None


def empty_tree(repo: Repository) -> str:
    """The id of the empty tree in this repository's object format."""
    # what `git hash-object -t tree --stdin </dev/null` prints, without a process
    return hashlib.new(repo.object_format, b"tree 0\0").hexdigest()


def _quote_path(path: str) -> bytes:
    # fast-import reads C-style quoted paths; quoting always keeps spaces, quotes and
    # non-ASCII prefixes exact
    out = bytearray(b'"')
    for byte in path.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte >= 0x7F:
            out += f"\\{byte:03o}".encode()
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


# the stream goes to fast-import in writes of this size: one system call per few hundred commits
_STREAM_CHUNK = 256 << 10
# and the pipe holds four of them (Linux's default is 64 KiB): Python renders the next commits
# while fast-import, on the other core, is still busy with the last ones, instead of waiting for
# it to drain every 64 KiB
_PIPE_SIZE = 1 << 20


def _widen_pipe(proc: subprocess.Popen[bytes]) -> None:
    """Give the pipe to `proc`'s stdin `_PIPE_SIZE` bytes where the system allows it."""
    if sys.platform != "linux" or proc.stdin is None:
        return
    # refused above the user's pipe quota (fs.pipe-user-pages-soft): the default pipe works
    with contextlib.suppress(OSError):
        fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _tmp_packs(pack_dir: Path) -> set[Path]:
    """The unfinished pack and index files in a pack directory (`tmp_pack_*`, `tmp_idx_*`)."""
    try:
        return {p for p in pack_dir.iterdir() if p.name.startswith(("tmp_pack_", "tmp_idx_"))}
    except OSError:
        return set()


class CommitWriter:
    """A `git fast-import` session writing a chain of commits on a temporary ref.

    `finish()` returns the commit ids; the caller publishes the last one with `update_ref`.
    """

    def __init__(self, repo: Repository, identity: Identity, parent: str | None, now: int) -> None:
        self.repo = repo
        self.identity = identity
        self.now_s = now
        self.tmp_ref = f"refs/khronoscope/tmp/{os.getpid()}-{secrets.token_hex(6)}"
        self._dir = tempfile.TemporaryDirectory(prefix="khronoscope-export-")
        self._marks = Path(self._dir.name) / "marks"
        self._stderr = open(Path(self._dir.name) / "stderr", "wb")  # noqa: SIM115 - closed in finish
        cmd = [
            git_binary(),
            *_NO_HOOKS,
            "fast-import",
            "--quiet",
            "--done",
            "--date-format=raw",
            f"--export-marks={self._marks}",
        ]
        # what a failed fast-import leaves (its unfinished pack, a crash report) is removed:
        # after a full disk, the export must not keep the disk full
        self._git_dir = repo.git_dir
        self._pack_dir = repo.pack_dir
        self._tmp_packs_before = _tmp_packs(self._pack_dir)
        self._proc = subprocess.Popen(
            cmd,
            cwd=repo.path,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=clean_env(_FAST_IMPORT_ENV),
            bufsize=_STREAM_CHUNK,
        )
        _widen_pipe(self._proc)
        self._parent = parent
        self._count = 0
        # a range writes the same paths thousands of times
        self._quoted: dict[str, bytes] = {}
        self._write(f"reset {self.tmp_ref}\n".encode())
        if parent:
            self._write(f"from {parent}\n\n".encode())

    def _write(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:
            self._fail()

    def commit(self, author_t_s: int, message: str, ops: Sequence[FileOp]) -> int:
        """Queue one commit dated `author_t_s` (seconds, UTC); returns its mark."""
        self._count += 1
        mark = self._count
        who = f"{self.identity.name} <{self.identity.email}>"
        msg = message.encode("utf-8")
        parts = [
            f"commit {self.tmp_ref}\nmark :{mark}\n".encode(),
            f"author {who} {author_t_s} +0000\n".encode(),
            f"committer {who} {self.now_s} +0000\n".encode(),
            b"data %d\n" % len(msg),
            msg,
            b"\n",
        ]
        quoted = self._quoted
        for op in ops:
            path = quoted.get(op.path)
            if path is None:
                path = quoted[op.path] = _quote_path(op.path)
            if op.data is None:
                parts.append(b"D " + path + b"\n")
            else:
                parts.append(b"M 100644 inline " + path + b"\n")
                parts.append(b"data %d\n" % len(op.data))
                parts.append(op.data)
                parts.append(b"\n")
        parts.append(b"\n")
        self._write(b"".join(parts))
        return mark

    def finish(self) -> list[str]:
        """End the session; the commit ids in the order they were queued."""
        try:
            self._write(b"done\n")
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()  # sends what is still buffered
            except BrokenPipeError:
                self._fail()
            if self._proc.wait() != 0:
                self._fail()
            marks: dict[int, str] = {}
            if self._marks.exists():
                for line in self._marks.read_text().splitlines():
                    mark, _, oid = line.partition(" ")
                    marks[int(mark[1:])] = oid
            return [marks[m] for m in range(1, self._count + 1)]
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Stop without publishing anything (objects written so far are unreachable)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            self._remove_leftovers()
        self._drop_stdin()
        self._cleanup()

    def _drop_stdin(self) -> None:
        """Close the pipe to a stopped fast-import, throwing away what is still buffered."""
        if self._proc.stdin is None or self._proc.stdin.closed:
            return
        # what is still buffered cannot go to a process that is gone, and need not
        with contextlib.suppress(OSError):
            self._proc.stdin.close()

    def _fail(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._drop_stdin()
        self._stderr.flush()
        err = (Path(self._dir.name) / "stderr").read_bytes()
        self._remove_leftovers()
        self._cleanup()
        why = first_line(err)
        full = any(m in why for m in ("No space left", "Out of diskspace", "quota exceeded"))
        raise GitError(f"git fast-import failed{' (is the disk full?)' if full else ''}: {why}")

    def _remove_leftovers(self) -> None:
        """Delete the unfinished pack files that appeared while this fast-import ran (a full
        disk stays full otherwise) and its crash report."""
        for path in _tmp_packs(self._pack_dir) - self._tmp_packs_before:
            path.unlink(missing_ok=True)
        (self._git_dir / f"fast_import_crash_{self._proc.pid}").unlink(missing_ok=True)

    def _cleanup(self) -> None:
        if not self._stderr.closed:
            self._stderr.close()
        run_git(self.repo.path, "update-ref", "-d", self.tmp_ref, check=False)
        self._dir.cleanup()

"""Creating the files khronoscope writes without following a planted symlink.

khronoscope often runs as root or with cluster-admin credentials, and writes next to files
other users may control (a recording in a shared directory, its `.bookmarks` sidecar). A path
that is a symlink must never make it write elsewhere, and what it writes holds cluster data, so
every file is created owner-only: new files with O_EXCL (a symlink or any existing file makes
the create fail), appends with O_NOFOLLOW, replacements through a fresh temporary file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

PRIVATE = 0o600
"""The mode of every file khronoscope creates: they hold cluster state, or paths to it."""

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


def create_new(path: Path | str) -> int:
    """A descriptor of a new file at `path` (mode 0600); FileExistsError if anything, a
    symlink included, is already there."""
    return os.open(path, _CREATE, PRIVATE)


def open_append(path: Path | str) -> int:
    """A descriptor appending to the regular file at `path` (created 0600 when missing);
    OSError when `path` is a symlink (ELOOP) or not a regular file."""
    fd = os.open(path, _APPEND | os.O_NONBLOCK, PRIVATE)  # a FIFO must not block the open
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def replace_file(path: Path | str, data: bytes) -> None:
    """Write `data` as the new content of `path` atomically: a fresh temporary file (O_EXCL,
    0600) in the same directory, then a rename over `path` (a symlink there is replaced, its
    target untouched)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = create_new(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_plain_file(path: Path) -> bool:
    """True for a regular file that is not a symlink (`Path.is_file()` follows symlinks)."""
    return path.is_file() and not path.is_symlink()

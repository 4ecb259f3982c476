"""One export at a time per repository in this process.

The app writes exports in a thread: a dialog closed and opened again could otherwise start a
second export to a repository the first is still writing to (the second would then fail late,
on the branch's compare-and-swap, after all its work).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from khronoscope.export.target import ExportError

_guard = threading.Lock()
_busy: set[Path] = set()


def repo_key(repo_path: Path | str) -> Path:
    """The absolute path that names a repository for the lock."""
    return Path(repo_path).expanduser().resolve()


def ensure_free(repo_path: Path | str) -> None:
    """Refuse (ExportError) while an export to this repository runs in this process."""
    key = repo_key(repo_path)
    with _guard:
        if key in _busy:
            raise _refusal(key)


@contextmanager
def exclusive(repo_path: Path | str) -> Iterator[None]:
    """Hold the repository for one export; refused (ExportError) while another holds it."""
    key = repo_key(repo_path)
    with _guard:
        if key in _busy:
            raise _refusal(key)
        _busy.add(key)
    try:
        yield
    finally:
        with _guard:
            _busy.discard(key)


def _refusal(key: Path) -> ExportError:
    return ExportError(f"an export to {key} is still running: wait for it to finish")

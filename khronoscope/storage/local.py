"""A BlobStore in a local directory: one file per object, written to a temporary name and
renamed, so a reader never sees half an object and a crash leaves no torn one."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from khronoscope.storage import BlobInfo, BlobNotFound, Capability

# files khronoscope writes hold cluster state: owner only
_MODE = 0o600
_TMP_SUFFIX = ".partial"


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a valid object name: {name!r}")


class LocalStore:
    """Objects as files under `root` (created on first write, mode 0700)."""

    capabilities = Capability.CONDITIONAL_CREATE | Capability.LOCAL

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, name: str) -> Path:
        _check_name(name)
        return self.root / name

    def _write_new(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # pid and thread: two writers of one name in one process must not share a temporary
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}{_TMP_SUFFIX}")
        # O_EXCL|O_NOFOLLOW: a planted file or symlink at the temporary name is never written
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        return tmp

    def put(self, name: str, data: bytes) -> None:
        """Write whole: a temporary file, fsync'ed, renamed over `name`."""
        path = self._path(name)
        os.replace(self._write_new(path, data), path)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create `name` by a hard link of a complete temporary file (atomic, never replaces)."""
        path = self._path(name)
        tmp = self._write_new(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return True

    def get(self, name: str) -> bytes:
        """The whole file."""
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except FileNotFoundError as e:
            raise BlobNotFound(name) from e

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """`length` bytes from `start` with one pread."""
        try:
            fd = os.open(self._path(name), os.O_RDONLY)
        except FileNotFoundError as e:
            raise BlobNotFound(name) from e
        try:
            return os.pread(fd, length, start)
        finally:
            os.close(fd)

    def stat(self, name: str) -> BlobInfo | None:
        """Size and mtime, or None."""
        try:
            st = os.stat(self._path(name))
        except FileNotFoundError:
            return None
        return BlobInfo(name, st.st_size, st.st_mtime_ns)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Files under the root whose relative name starts with `prefix`, in name order."""
        if not self.root.is_dir():
            return
        found: list[BlobInfo] = []
        # only walk the directory the prefix points into
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                if f.endswith(_TMP_SUFFIX):
                    continue
                full = Path(dirpath) / f
                name = full.relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):
                        st = full.stat()
                        found.append(BlobInfo(name, st.st_size, st.st_mtime_ns))
        found.sort(key=lambda b: b.name)
        yield from found

    def delete(self, name: str) -> None:
        """Unlink; absent is fine."""
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

"""Every file khronoscope writes: a symlink planted at its path is never followed (the file it
points to stays as it was), and what is created is readable by its owner only (0600).

khronoscope runs as root or with cluster-admin rights next to directories others can write to:
one planted link would make it overwrite /etc/passwd with a recording, world-readable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from khronoscope.commands import live
from khronoscope.core.files import create_new, open_append, replace_file
from khronoscope.core.source import Bookmark, SourceInfo
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import bookmarks
from khronoscope.recording.retention import compact
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import FileOutput, RecordingWriter
from khronoscope.sim.kubeconfig import write_kubeconfig
from khronoscope.tui.screens import export as export_screen
from tests.recording.helpers import record
from tests.recording.scenario import NS, T0

PRECIOUS = b"root:x:0:0:root:/root:/bin/bash\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file an attacker wants overwritten (or read): the planted links point at it."""
    path = tmp_path / "victim"
    path.write_bytes(PRECIOUS)
    path.chmod(0o644)
    return path


def _untouched(victim: Path) -> None:
    assert victim.read_bytes() == PRECIOUS
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def _private(path: Path) -> None:
    st = path.lstat()
    assert stat.S_ISREG(st.st_mode), f"{path} is not a regular file"
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)


def test_the_compacting_temporary_file(tmp_path, victim):
    rec = record(tmp_path / "r.khr", count=1500, keyframe_changes=250, block_size=4096)
    (tmp_path / "r.khr.compacting").symlink_to(victim)
    span = rec.live.last_t - rec.live.first_t
    result = compact(rec.path, max_age=span // 3)
    assert result.compacted
    _untouched(victim)
    _private(rec.path)
    assert not (tmp_path / "r.khr.compacting").exists()


def test_the_bookmark_sidecar(tmp_path, victim, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    rec = record(tmp_path / "r.khr", count=200)
    planted = tmp_path / "r.khr.bookmarks"
    planted.symlink_to(victim)
    src = RecordingSource(rec.path)
    src.add_bookmark(Bookmark(T0 + NS, "incident"))
    src.close()
    _untouched(victim)
    assert planted.is_symlink()
    saved = bookmarks.sidecar_candidates(rec.path)[1]  # the data directory's, instead
    _private(saved)
    assert "incident" in [b.label for b in RecordingSource(rec.path).bookmarks()]


def test_a_sidecar_link_is_not_read_either(tmp_path, victim, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    rec = record(tmp_path / "r.khr", count=200)
    victim.write_bytes(b'{"op":"add","id":77,"t":1,"label":"from the link","key":null}\n')
    (tmp_path / "r.khr.bookmarks").symlink_to(victim)
    assert "from the link" not in [b.label for b in RecordingSource(rec.path).bookmarks()]


@pytest.mark.parametrize("dangling", [False, True])
def test_a_recording_created_where_a_link_is(tmp_path, victim, dangling):
    target = tmp_path / "nowhere" if dangling else victim
    link = tmp_path / "new.khr"
    link.symlink_to(target)
    with pytest.raises(KhronoscopeError, match="already exists"):
        RecordingWriter.create(link, SourceInfo("c"))
    _untouched(victim)
    assert not (tmp_path / "nowhere").exists()


def test_a_recording_reopened_after_compaction(tmp_path, victim):
    path = tmp_path / "r.khr"
    path.symlink_to(victim)
    with pytest.raises(OSError):
        FileOutput(path, exclusive=False)
    _untouched(victim)


def test_the_default_recording_name(tmp_path, victim):
    first = tmp_path / "ctx-20260101T000000Z.khr"
    first.symlink_to(victim)
    writer = live._create_free(first, lambda p: RecordingWriter.create(p, SourceInfo("c")))
    writer.close()
    assert writer.path == tmp_path / "ctx-20260101T000000Z-2.khr"
    _untouched(victim)
    _private(writer.path)


def test_the_remembered_export_repository(tmp_path, victim, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    state = export_screen.state_file()
    state.parent.mkdir(parents=True)
    state.symlink_to(victim)
    export_screen.remember("/srv/exports")
    _untouched(victim)
    _private(state)
    assert export_screen.remembered() == {"repo": "/srv/exports"}


def test_the_demo_kubeconfig(tmp_path, victim):
    path = tmp_path / "kubeconfig"
    path.symlink_to(victim)
    (tmp_path / "kubeconfig.tmp").symlink_to(victim)  # where its temporary copy used to go
    write_kubeconfig(path, "https://127.0.0.1:1", "tok", "u", "ctx")
    _untouched(victim)
    _private(path)
    assert b"tok" in path.read_bytes()


def test_the_building_blocks(tmp_path, victim):
    link = tmp_path / "link"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        create_new(link)
    with pytest.raises(OSError):
        open_append(link)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        open_append(fifo)  # refused, and without blocking on the missing reader
    replace_file(link, b"new")
    _untouched(victim)
    _private(link)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_object_store_cache_lock(tmp_path):
    from khronoscope.storage.cache import BlockCache

    cache = BlockCache(tmp_path / "cache", max_bytes=4096, block_size=1024)
    (tmp_path / "cache").mkdir(mode=0o700)
    elsewhere = tmp_path / "etc-cron.d-job"
    (tmp_path / "cache" / ".lock").symlink_to(elsewhere)  # dangling: O_CREAT would make it
    assert cache.evict() == 0  # eviction waits for another time; nothing is followed
    assert not elsewhere.exists()

"""Crafted recordings (valid checksums over hostile bytes) and files that are not recordings:
one clear line or a reported, counted damage; never a traceback, a hang, or memory beyond what
the headers honestly declare."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import pytest
import zstandard as zstd

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.recording.writer import make_header
from khronoscope.temporal import TemporalMap
from tests.recording.scenario import T0

ROOT = Path(__file__).resolve().parents[2]
NS = 10**9


def _block(records: list, t: int, before: int, raw_override: bytes | None = None) -> bytes:
    """A data block with valid checksums around whatever `records` are."""
    raw = raw_override if raw_override is not None else b"".join(map(rec.pack, records))
    payload = zstd.ZstdCompressor().compress(raw)
    changes = sum(1 for r in records if isinstance(r, list) and r and r[0] in fmt.CHANGE_KINDS)
    return fmt.pack_block(
        fmt.DATA, fmt.F_ZSTD, payload, len(raw), len(records), changes, t, t + 5, before
    )


def _file(path: Path, *blocks: bytes) -> Path:
    head = fmt.pack_file_header(make_header(SourceInfo("crafted"), T0))
    path.write_bytes(head + b"".join(blocks))
    return path


def _pod(name: str, v: int) -> bytes:
    return rec.pack({"kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "v": v})


def _good(t: int, before: int, name: str = "a", v: int = 1) -> bytes:
    return _block([[fmt.PUT_FULL, t, "pods", "default", name, _pod(name, v)]], t, before)


def _run(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
    )


def test_records_of_the_wrong_shape_are_one_counted_damage(tmp_path):
    short = [fmt.PUT_FULL, T0 + 2 * NS]  # IndexError for a reader that trusts shapes
    wrong = [fmt.DELETE, "yesterday", "pods", "default", "a"]
    path = _file(
        tmp_path / "shape.khr",
        _good(T0, 0),
        _block([short, wrong], T0 + 2 * NS, 1),
        _good(T0 + 4 * NS, 3, "b"),
    )
    with RecordingReader(path) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    assert [p.what for p in result.problems] == ["block holds records of the wrong shape"]
    assert {k.name for k in tmap.keys_at(T0 + 10 * NS)} == {"a", "b"}
    done = _run("history", str(path))
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "wrong shape" in done.stderr and done.stderr.count("khronoscope:") == 1


def test_object_bytes_that_are_not_one_msgpack_map_are_a_lost_version(tmp_path):
    extra = _pod("a", 2) + b"\x01"  # msgpack ExtraData
    path = _file(
        tmp_path / "extra.khr",
        _good(T0, 0),
        _block([[fmt.PUT_FULL, T0 + NS, "pods", "default", "a", extra]], T0 + NS, 1),
        _block([[fmt.PUT_FULL, T0 + 2 * NS, "pods", "default", "c", b"\x05"]], T0 + 2 * NS, 2),
    )
    with RecordingReader(path) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
    assert result.loss.by_type()["pods"].versions == 2
    assert tmap.get(ObjectKey("pods", "default", "a"), T0 + 5 * NS)["v"] == 1
    done = _run("history", str(path), "pods/a")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "cannot be read: pods: 2 versions" in done.stderr


def _max_rss_mb(script: str, timeout: float = 120.0) -> tuple[float, str]:
    # the peak RSS of this process's own memory (VmHWM; ru_maxrss would carry the parent's
    # peak over the exec)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"{script}\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
        "print(int(hwm.split()[1]) / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    return float(lines[-1]), done.stdout


@functools.cache
def _bomb(size: int) -> bytes:
    # a frame of `size` zero bytes compresses to a few KiB and says its size in its header
    return zstd.ZstdCompressor(level=1).compress(bytes(size))


def test_a_zstd_frame_that_inflates_past_its_header_is_refused_unallocated(tmp_path):
    bomb = _bomb(256 * 1024 * 1024)
    payload_raw = 1024  # what the block header declares
    block = fmt.pack_block(fmt.DATA, fmt.F_ZSTD, bomb, payload_raw, 1, 0, T0 + NS, T0 + NS, 1)
    path = _file(tmp_path / "bomb.khr", _good(T0, 0), block, _good(T0 + 2 * NS, 1, "b"))
    rss, out = _max_rss_mb(
        "from khronoscope.recording.reader import RecordingReader\n"
        "from khronoscope.recording.loader import load_into\n"
        "from khronoscope.temporal import TemporalMap\n"
        f"r = RecordingReader({str(path)!r})\n"
        "res = load_into(r, TemporalMap())\n"
        "print(res.problems[0].what)\n"
    )
    assert "block payload" in out
    assert rss < 200, f"{rss:.0f} MiB to read a file of {path.stat().st_size} bytes"


def test_a_delta_claiming_a_huge_object_is_a_lost_version_unallocated(tmp_path):
    bomb = _bomb(256 * 1024 * 1024)
    path = _file(
        tmp_path / "delta.khr",
        _good(T0, 0),
        _block([[fmt.PUT_DELTA, T0 + NS, "pods", "default", "a", bomb]], T0 + NS, 1),
    )
    rss, out = _max_rss_mb(
        "from khronoscope.recording.reader import RecordingReader\n"
        "from khronoscope.recording.loader import load_into\n"
        "from khronoscope.temporal import TemporalMap\n"
        f"r = RecordingReader({str(path)!r})\n"
        "res = load_into(r, TemporalMap())\n"
        "print(res.lost_versions)\n"
    )
    assert out.split()[0] == "1"
    assert rss < 200, rss


def test_msgpack_lengths_are_bounded_by_the_payload(tmp_path):
    # an array header claiming 2**31 elements, in a block with a valid checksum
    raw = b"\xdd\x7f\xff\xff\xff" + b"\x00" * 16
    block = fmt.pack_block(
        fmt.DATA, fmt.F_ZSTD, zstd.ZstdCompressor().compress(raw), len(raw), 1, 0, T0, T0, 1
    )
    many = b"".join(block for _ in range(50))
    path = _file(tmp_path / "array.khr", _good(T0, 0), many)
    started = time.monotonic()
    rss, _ = _max_rss_mb(
        "from khronoscope.recording.reader import RecordingReader\n"
        "from khronoscope.recording.loader import load_into\n"
        "from khronoscope.temporal import TemporalMap\n"
        f"r = RecordingReader({str(path)!r})\n"
        "res = load_into(r, TemporalMap())\n"
        "print(len(res.problems))\n"
    )
    assert time.monotonic() - started < 30
    assert rss < 200, rss


def test_loading_a_crafted_file_is_quick_small_and_can_be_interrupted(tmp_path):
    bomb = _bomb(256 * 1024 * 1024)
    blocks = [_good(T0, 0)]
    for n in range(200):
        blocks.append(fmt.pack_block(fmt.DATA, fmt.F_ZSTD, bomb, 512, 1, 0, T0 + n, T0 + n, 1))
    path = _file(tmp_path / "slow.khr", *blocks)
    rss, out = _max_rss_mb(
        "import time\n"
        "from khronoscope.cli import main\n"
        "t = time.monotonic()\n"
        f"code = main(['history', {str(path)!r}])\n"
        "print(code, time.monotonic() - t)\n",
        timeout=60,
    )
    code, seconds = out.split()[-3:-1]
    assert code == "0" and float(seconds) < 15, out
    assert rss < 250, rss
    # and a load under way stops at Ctrl-C (once the file is open, it is being read)
    p = subprocess.Popen(
        [sys.executable, "-m", "khronoscope", "history", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and p.poll() is None:
            fds = Path(f"/proc/{p.pid}/fd")
            try:
                if any(os.readlink(f) == str(path) for f in fds.iterdir()):
                    break
            except OSError:
                pass
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
    finally:
        p.kill()
    err = p.stderr.read() if p.stderr else ""
    # 130: stopped by Ctrl-C in the load; 0: it had finished; -SIGINT: the signal came as the
    # interpreter was exiting (it restores the default handler then): stopped, as a shell expects
    assert p.returncode in (0, 130, -signal.SIGINT), err
    assert "Traceback" not in err


@pytest.mark.timeout(30)
def test_a_fifo_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.khr"
    os.mkfifo(fifo)
    with pytest.raises(NotARecording, match="is a FIFO, not a recording file"):
        RecordingReader(fifo)
    with pytest.raises(NotARecording, match="is a device, not a recording file"):
        RecordingReader("/dev/zero")
    for cmd in (["history", str(fifo)], ["diff", str(fifo), "start", "end"]):
        done = _run(*cmd, timeout=20)
        assert done.returncode != 0
        assert done.stderr.strip().count("\n") == 0, done.stderr
        assert "FIFO" in done.stderr and "Traceback" not in done.stderr


def test_an_empty_file_says_it_was_never_written(tmp_path):
    empty = tmp_path / "empty.khr"
    empty.write_bytes(b"")
    with pytest.raises(NotARecording, match=r"is empty \(0 bytes\): nothing was ever written"):
        RecordingReader(empty)


def test_a_crafted_index_cannot_make_the_reader_allocate_for_blocks_that_are_not_there(tmp_path):
    # a valid index (checksums right) listing a million blocks in a tiny file
    good = _good(T0, 0)
    head = fmt.pack_file_header(make_header(SourceInfo("crafted"), T0))
    entries = [[len(head), 1, 1, 10, 1, 1, T0, T0, 0]] * 1_000_000
    raw = msgpack.packb([fmt.INDEX, entries])
    payload = zstd.ZstdCompressor().compress(raw)
    at = len(head) + len(good)
    index = fmt.pack_block(fmt.INDEX, fmt.F_ZSTD, payload, len(raw), len(entries), 0, T0, T0, 1)
    path = tmp_path / "index.khr"
    path.write_bytes(head + good + index + fmt.pack_trailer(at))
    with RecordingReader(path) as reader:
        assert not reader.indexed  # the index does not describe this file: walked instead
        assert len(reader.blocks) == 2

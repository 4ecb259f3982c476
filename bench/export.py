"""Range export throughput: commits/s and files/s over a history of a few thousand changes.

Run: python bench/export.py [--objects 1000] [--changes 3000] [--runs 3]
The range is exported `--runs` times into a new repository (its work tree checked out at the
end, as a user gets it) and as many times into a bare one (commit writing alone); the figures
are the median run, with the slowest and fastest.

The machine is shared: wall-clock figures vary by tens of percent from run to run, and by
several times when other processes hold both cores. The CPU time the export used (this process
and its git processes) varies much less: `range_commits_per_cpu_s` compares two versions on a
busy machine. Creating the work tree's 1,000 files costs the kernel far more on some disks
than others (on an ext4 without a journal, each new file scans past the inodes deleted in the
last 30 s: right after another process removed thousands of files, 1,000 new ones take a
second instead of 30 ms); `create_1000_files_ms` measures that next to the repositories.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from khronoscope.core.source import SourceInfo
from khronoscope.core.timefmt import NS
from khronoscope.export import export_moment, export_range
from tests.export.scenario import MemorySource, configmap, deployment


def build(objects: int, changes: int, seed: int = 7) -> tuple[MemorySource, int, int]:
    rnd = random.Random(seed)
    src = MemorySource(info=SourceInfo(cluster="bench"))
    t0 = 1_760_000_000 * NS
    keys = []
    for i in range(objects):
        ns = f"ns-{i % 20}"
        if i % 2:
            obj = deployment(f"img:{i}")
            obj["metadata"]["name"] = f"web-{i}"
            obj["metadata"]["namespace"] = ns
        else:
            obj = configmap(f"cfg-{i}", {"k": str(i), "blob": "x" * 400}, ns)
        keys.append((src.put(t0, obj), obj))
    t = t0
    for n in range(changes):
        t += rnd.randint(1, 5) * NS
        i = rnd.randrange(len(keys))
        key, obj = keys[i]
        obj = dict(obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=str(10_000 + n))
        if n % 4 == 3:  # a status-only change: recorded, but no commit
            obj["status"] = {"observed": n}
        elif key.type == "configmaps":
            obj["data"] = {"k": str(n), "blob": "x" * 400}
        else:
            obj["spec"] = dict(obj["spec"], replicas=n % 7 + 1)
        src.put(t, obj)
        keys[i] = (key, obj)
    return src, t0, t


def cpu_seconds() -> float:
    """CPU time used so far by this process and the child processes it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def create_files(where: Path, count: int = 1000) -> float:
    """Seconds to create `count` files of 500 bytes in a new directory (kept: removing them
    would slow down the next files created nearby)."""
    where.mkdir()
    start = time.perf_counter()
    for i in range(count):
        (where / f"f{i}.yaml").write_bytes(b"x" * 500)
    return time.perf_counter() - start


@dataclass
class Run:
    """One range export: wall and CPU seconds, and what it wrote."""

    wall: float
    cpu: float
    commits: int
    files: int
    changes: int


def export_once(src: MemorySource, t1: int, t2: int, repo: Path, branch: str | None) -> Run:
    """Export the range into `repo` and time it."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    result = export_range(src, t1, t2, repo, branch=branch)
    wall = time.perf_counter() - start
    return Run(wall, cpu_seconds() - cpu, len(result.commits), result.counts.total, result.changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    src, t1, t2 = build(args.objects, args.changes)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        single = export_moment(src, t1, Path(tmp) / "single")
        one = time.perf_counter() - start
        print(
            f"moment export: {single.files} objects in {one:.2f}s "
            f"({single.files / one:.0f} files/s)"
        )
        created = create_files(Path(tmp) / "calibration")
        print(f"creating 1000 files of 500 bytes next to the repositories: {created * 1000:.0f} ms")

        runs = []
        for n in range(args.runs):
            repo = Path(tmp) / f"range-{n}"
            runs.append(export_once(src, t1, t2, repo, None))
            count = subprocess.run(
                ["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            assert int(count) == runs[-1].commits, (count, runs[-1].commits)
        one_run = runs[0]
        print(
            f"range export: {one_run.changes} changes -> {one_run.commits} commits, "
            f"{one_run.files} file writes, work tree checked out"
        )
        for r in runs:
            print(
                f"  {r.wall:.2f}s: {r.commits / r.wall:.0f} commits/s, "
                f"{r.files / r.wall:.0f} files/s, {r.changes / r.wall:.0f} changes/s; "
                f"{r.cpu:.2f} CPU s ({r.commits / r.cpu:.0f} commits per CPU second)"
            )

        # the same range into a bare repository: no work tree to check out afterwards (on a
        # slow disk, creating the range's files costs more than writing its commits)
        bare_runs = []
        for n in range(args.runs):
            bare = Path(tmp) / f"bare-{n}"
            subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
            bare_runs.append(export_once(src, t1, t2, bare, "main"))
        print("range export to a bare repository:")
        for r in bare_runs:
            print(
                f"  {r.wall:.2f}s: {r.commits / r.wall:.0f} commits/s; "
                f"{r.cpu:.2f} CPU s ({r.commits / r.cpu:.0f} commits per CPU second)"
            )

        def rates(values: list[float]) -> dict[str, int]:
            return {
                "median": round(statistics.median(values)),
                "min": round(min(values)),
                "max": round(max(values)),
            }

        work = rates([r.commits / r.wall for r in runs])
        print(
            json.dumps(
                {
                    "moment_files_per_s": round(single.files / one),
                    "range_commits_per_s": work["median"],
                    "range_commits_per_s_min_max": [work["min"], work["max"]],
                    "range_changes_per_s": round(
                        statistics.median(r.changes / r.wall for r in runs)
                    ),
                    "range_commits_per_cpu_s": round(
                        statistics.median(r.commits / r.cpu for r in runs)
                    ),
                    "bare_range_commits_per_s": round(
                        statistics.median(r.commits / r.wall for r in bare_runs)
                    ),
                    "bare_range_commits_per_cpu_s": round(
                        statistics.median(r.commits / r.cpu for r in bare_runs)
                    ),
                    "create_1000_files_ms": round(created * 1000),
                    "commits": one_run.commits,
                }
            )
        )


if __name__ == "__main__":
    main()

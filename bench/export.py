"""Range export throughput: commits/s and files/s over a history of a few thousand changes.

Run: python bench/export.py [--objects 1000] [--changes 3000]
The range is exported twice: into a new repository (its work tree checked out at the end, as a
user gets it) and into a bare one (commit writing alone).
The machine is shared: figures vary by tens of percent from run to run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=3000)
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

        repo = Path(tmp) / "range"
        start = time.perf_counter()
        result = export_range(src, t1, t2, repo)
        took = time.perf_counter() - start
        files = result.counts.total
        commits = len(result.commits)
        print(
            f"range export: {result.changes} changes -> {commits} commits, {files} file writes "
            f"in {took:.2f}s: {commits / took:.0f} commits/s, {files / took:.0f} files/s, "
            f"{result.changes / took:.0f} changes/s"
        )
        count = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"git rev-list --count HEAD: {count}")

        # the same range into a bare repository: no work tree to check out afterwards (on a
        # slow disk, creating the range's files costs more than writing its commits)
        bare = Path(tmp) / "bare"
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
        start = time.perf_counter()
        bare_result = export_range(src, t1, t2, bare, branch="main")
        bare_took = time.perf_counter() - start
        bare_commits = len(bare_result.commits)
        print(
            f"range export to a bare repository: {bare_commits} commits in {bare_took:.2f}s: "
            f"{bare_commits / bare_took:.0f} commits/s"
        )
        print(
            json.dumps(
                {
                    "moment_files_per_s": round(single.files / one),
                    "range_commits_per_s": round(commits / took),
                    "range_changes_per_s": round(result.changes / took),
                    "bare_range_commits_per_s": round(bare_commits / bare_took),
                    "commits": commits,
                }
            )
        )


if __name__ == "__main__":
    main()

"""Start-up of the command line: `python -X importtime -m khronoscope --help`, run N times.

    python bench/startup.py [--runs 9] [--args "--help"]

Prints, as medians over the runs, the time spent importing (the sum of the top-level modules'
cumulative import times), the wall time of the whole command and the number of modules
imported, and whether the heavy libraries (kubernetes_asyncio, aiohttp, textual) were among
them; ends with one JSON line. The code measured is this checkout's (the child runs here).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("kubernetes_asyncio", "aiohttp", "textual")


def one_run(argv: list[str]) -> tuple[float, float, set[str]]:
    """(import ms, wall ms, modules imported) of one start of khronoscope."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "khronoscope", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    wall = (time.perf_counter() - started) * 1000
    total_us = 0
    modules: set[str] = set()
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        modules.add(name.strip())
        if not name[1:].startswith(" "):  # a top-level import: its cumulative time counts once
            total_us += int(cumulative)
    return total_us / 1000, wall, modules


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--args", default="--help", help="khronoscope's arguments (one string)")
    opts = parser.parse_args()
    argv = shlex.split(opts.args)
    runs = [one_run(argv) for _ in range(opts.runs)]
    modules = runs[-1][2]
    result = {
        "command": "khronoscope " + opts.args,
        "runs": opts.runs,
        "import_ms_median": round(statistics.median(r[0] for r in runs), 1),
        "wall_ms_median": round(statistics.median(r[1] for r in runs), 1),
        "modules": len(modules),
        **{f"imports_{lib}": any(m.split(".")[0] == lib for m in modules) for lib in HEAVY},
    }
    print(f"khronoscope {opts.args}: median of {opts.runs} runs")
    print(f"  imports {result['import_ms_median']} ms, wall {result['wall_ms_median']} ms")
    print(
        f"  {result['modules']} modules; heavy: "
        + ", ".join(f"{lib}={'yes' if result[f'imports_{lib}'] else 'no'}" for lib in HEAVY)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

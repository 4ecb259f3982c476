"""The app's export dialog on a big moment: how long the export takes, and the event loop's
longest stall meanwhile (what a user feels as a frozen UI, and a live session as watchers
that stop feeding the TemporalMap).

Run: python bench/export_ui.py [--objects 1000] [--runs 3]
The app runs headless (Textual's test harness); a 5 ms ticker on its loop measures the stalls.
The machine is shared: figures vary by tens of percent from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from khronoscope.tui.app import create_app
from khronoscope.tui.settings import BrowserSettings
from tests import testing


def build(objects: int) -> testing.MemorySource:
    """The incident scenario plus `objects` ConfigMaps of ~500 bytes, there from T0 + 10 s."""
    src = testing.incident_source()
    for i in range(objects):
        meta = {"name": f"cfg-{i:05d}", "namespace": f"team-{i % 4}", "uid": str(i)}
        data = {"index": str(i), "settings.ini": f"[main]\nid = {i}\n" * 20}
        src.put(
            testing.at(10),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data},
        )
    return src


async def one_export(app, repo: Path) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Export from the dialog: (seconds until the result is shown, longest loop stall)."""
    longest, last = 0.0, time.perf_counter()

    async def tick() -> None:
        nonlocal longest, last
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    app.action_export()
    await asyncio.sleep(0.2)
    dialog = app.screen
    dialog.query_one("#export-repo").value = str(repo)
    ticker = asyncio.create_task(tick())
    start = time.perf_counter()
    dialog.start()
    while dialog.result is None and not dialog.error:
        await asyncio.sleep(0.005)
    took = time.perf_counter() - start
    ticker.cancel()
    # a stall that ended with the export has not been seen by the ticker yet
    longest = max(longest, time.perf_counter() - last)
    if dialog.error:
        raise SystemExit(f"export failed: {dialog.error}")
    dialog.dismiss()
    await asyncio.sleep(0.2)
    return took, longest


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = BrowserSettings(at=testing.at(140), tz=UTC, clock=lambda: testing.at(3600))
    app = create_app(build(args.objects), settings)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with app.run_test(size=(150, 40)):
            await asyncio.sleep(0.5)
            for n in range(args.runs):
                results.append(await one_export(app, Path(tmp) / f"repo-{n}"))
    for took, stall in results:
        print(
            f"in-app export of {args.objects}+ objects: {took:.2f}s, "
            f"longest loop stall {stall * 1000:.0f} ms"
        )
    took = statistics.median(r[0] for r in results)
    stall = statistics.median(r[1] for r in results)
    print(f"median: {took:.2f}s, longest loop stall {stall * 1000:.0f} ms")
    doc = {
        "objects": args.objects,
        "export_s_median": round(took, 3),
        "loop_stall_ms_median": round(stall * 1000, 1),
        "loop_stall_ms_max": round(max(r[1] for r in results) * 1000, 1),
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    asyncio.run(main())

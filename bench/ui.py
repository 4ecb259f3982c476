"""UI figures: the headless browser over a 10,000-pod cluster.

    python bench/ui.py [--pods 10000] [--history 60000] [--quick] [--no-gc-freeze]
    python bench/ui.py --sim [--pods 10000] [--churn 200]
    python bench/ui.py --pods 50000 --quick      (issue 17's figures at 50k pods)

Prints: time to the first full table after sync, time per repaint while live churn runs, time
to switch type, time to show the table at a random past t, memory. Targets (issue 5): first
table <= 1 s after sync, repaint <= 50 ms, switch type <= 200 ms, past t <= 100 ms.
Time travel (issue 9): frame time while playing at 64x (the app's 20 Hz play timer, so each
frame crosses 3.2 s of history) and while holding the step keys (`]` `[` over the pods in
view, `}` over one pod), each frame = cursor move + table update + table and timeline drawn;
target <= 50 ms. Also: the timeline's density pass, "what changed" over the whole past, and
one pod's history lines.
Issue 17, at 50k pods: switching to pods <= 200 ms, the YAML of one pod <= 50 ms. The YAML is
timed from the key to the first frame that shows it (the frame Textual hands to the terminal;
headless, it is composed but not written), next to Textual's floor: the same lines pushed as a
plain screen with nothing of ours in it. Pilot's `press` + `pause` are not used for it: they
wait for the app to be idle for 20 ms at least three times, a 60 ms floor that is no work of
the app. The switch is timed as the command plus the table's frame (ours), and from the
command to the screen's next frame (with Textual's compositor). The browser keeps the last views
left and moves them to t when shown again: the switch back to pods is timed as such (kept), after
a jump to a random past t while away (kept, crossing the changes), and after three other views
(no longer kept: opened as the first time).
Ends with one JSON line of the figures (medians, ms).

The default source is the synthetic scale scenario (tests.testing: objects written
straight into a TemporalMap, with a past of `--history` changes). `--sim` runs the real
thing: the simulated cluster's `scale` scenario over HTTP, watched by a ClusterSession (needs
khronoscope.sim and khronoscope.cluster), its churn live while the figures are taken.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.timefmt import NS, now_ns
from khronoscope.printers import row_for
from khronoscope.tui.app import create_app
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.travel import StepScope
from khronoscope.tui.versions import ObjectHistory
from khronoscope.tui.whatchanged import what_changed
from khronoscope.tui.widgets.table import ResourceTable
from khronoscope.tui.widgets.timeline import Timeline, densities
from tests import testing

SIZE = (160, 45)
GC_PAUSES: list[tuple[int, float]] = []
FIGURES: dict[str, float | int] = {}
_gc_start = [0.0]


def _gc_watch(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        GC_PAUSES.append((info["generation"], time.perf_counter() - _gc_start[0]))


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ms(seconds: float) -> str:
    """Seconds as milliseconds, aligned."""
    return f"{seconds * 1000:7.1f} ms"


def summary(values: list[float], name: str | None = None) -> str:
    """Median, p95 and max of timings (the median kept for the JSON line under `name`)."""
    values = sorted(values)
    if name is not None:
        FIGURES[name] = round(statistics.median(values) * 1000, 1)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {ms(statistics.median(values))}  p95 {ms(p95)}  max {ms(values[-1])}"


def frame(table: ResourceTable, timeline: Timeline | None = None) -> float:
    """Draw every visible line of the table (what a repaint costs the widget), and the
    timeline strip's two lines when given."""
    table._styles_cache.clear()
    started = time.perf_counter()
    table.render_lines(table.size.region)
    if timeline is not None:
        timeline.render_line(0)
        timeline.render_line(1)
    return time.perf_counter() - started


class PlainText(Screen[None]):
    """The YAML's lines as plain text on a screen of Textual's own widgets, with the detail
    screen's keys in its footer (the floor)."""

    BINDINGS = DetailScreen.BINDINGS

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """A title, the text in a scrolling container, a footer (the detail screen's shape)."""
        yield Static("plain")
        with VerticalScroll():
            yield Static(self.text, markup=False)
        yield Footer()


class FramePainted:
    """Wakes the bench when Textual hands a frame of a screen to the terminal (headless, the
    frame is composed but not written): what a user waits for after a key."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._display = app._display
        self._event = asyncio.Event()
        self._screen: Any = None
        app._display = self._spy

    def _spy(self, screen: Any, renderable: Any) -> None:
        self._display(screen, renderable)
        if renderable is None:
            return
        want = self._screen
        if (want is None and isinstance(screen, DetailScreen) and screen.text is not None) or (
            want is not None and screen is want
        ):
            self._event.set()

    async def next_frame(self, screen: Any) -> None:
        """Wait for the next frame of `screen`."""
        self._screen = screen
        self._event.clear()
        await asyncio.wait_for(self._event.wait(), 30)

    async def detail_shown(self) -> DetailScreen:
        """Wait for the first frame of a detail screen with its text; return that screen."""
        self._screen = None
        self._event.clear()
        await asyncio.wait_for(self._event.wait(), 30)
        self._event.clear()
        screen = self._app.screen
        assert isinstance(screen, DetailScreen)
        return screen


class Synthetic:
    """The synthetic scale scenario with a written past; churn is written on demand."""

    def __init__(self, pods: int, history: int) -> None:
        started = time.perf_counter()
        self.source = testing.scale_source(pods, live=True)
        self.sync_s = time.perf_counter() - started
        self.churn = testing.Churn(self.source, pods)
        span = 600 * NS
        batches = max(history // 100, 1)
        for b in range(batches):
            for _ in self.churn.step(testing.T0 + (b + 1) * span // batches, 100):
                pass
        self.past = (testing.T0, testing.T0 + span)
        self.now = [testing.T0 + span + NS]

    def clock(self) -> int:
        """The bench's now (moves only when told)."""
        return self.now[0]

    async def advance(self) -> None:
        """A quarter second of live churn: 50 changes (200 changes/s)."""
        self.now[0] += NS // 4
        for _ in self.churn.step(self.now[0], 50):
            pass

    async def close(self) -> None:
        """Nothing to stop."""


class Simulated:
    """The simulated cluster's scale scenario watched by a real ClusterSession."""

    def __init__(self, pods: int, churn: int) -> None:
        try:
            from khronoscope.cluster.options import ClusterOptions
            from khronoscope.cluster.session import ClusterSession
            from khronoscope.sim import SimClusterThread
        except ImportError as err:
            raise SystemExit(
                f"--sim needs khronoscope.sim and khronoscope.cluster ({err})"
            ) from None
        scenario = f"scale:pods={pods},nodes=50,namespaces=20,churn={churn}"
        self.sim = SimClusterThread(scenario=scenario, seed=1, speed=1.0, port=0).start()
        self.session: Any = ClusterSession(
            ClusterOptions(kubeconfig=str(self.sim.kubeconfig_path)), row_fn=row_for
        )
        self.source = self.session
        self.sync_s = 0.0
        self.past = (0, 0)

    async def start(self, settle: float) -> None:
        """Connect, wait for the initial list of every type, then let a past accumulate."""
        started = time.perf_counter()
        await self.session.start()
        await self.session.wait_synced(timeout=300)
        self.sync_s = time.perf_counter() - started
        begin = now_ns()
        await asyncio.sleep(settle)
        self.past = (begin, now_ns())

    def clock(self) -> int:
        """Real time."""
        return now_ns()

    async def advance(self) -> None:
        """A quarter second of the scenario's churn, arriving over the watches."""
        await asyncio.sleep(0.25)

    async def close(self) -> None:
        """Stop the session and the simulated cluster."""
        await self.session.close()
        self.sim.stop()


async def measure(
    source: Any,
    clock: Callable[[], int],
    advance: Callable[[], Awaitable[None]],
    past: tuple[int, int],
    pods: int,
    quick: bool,
    freeze: bool,
) -> None:
    """Open the app headless over `source` and time what a user waits for."""
    gc.callbacks.append(_gc_watch)
    app = create_app(source, BrowserSettings(clock=clock, refresh_hz=4, gc_freeze=freeze))
    t_app = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.browser
        table = screen.query_one(ResourceTable)
        deadline = time.perf_counter() + 60
        while table.model is None or len(table.model) < pods:
            if time.perf_counter() > deadline:
                raise SystemExit("the table never showed every pod")
            await pilot.pause(0.01)
        first = time.perf_counter() - t_app
        print(
            f"first full table: app start -> {pods} rows drawn  {ms(first)}  "
            f"(of which the view: cursor + model {screen.last_seek_ms:.1f} ms, "
            f"one frame {frame(table) * 1000:.1f} ms)"
        )

        # live churn coalesced by the 4 Hz tick: one update and one frame per tick
        updates: list[float] = []
        frames: list[float] = []
        changes: list[int] = []
        for _ in range(10 if quick else 40):
            before = source.tmap.change_count
            await advance()
            changes.append(source.tmap.change_count - before)
            t0 = time.perf_counter()
            screen.tick()
            updates.append(time.perf_counter() - t0)
            frames.append(frame(table))
        total = [u + f for u, f in zip(updates, frames, strict=True)]
        rate = statistics.mean(changes) * 4
        print(f"live repaint ({rate:.0f} changes/s, 4 Hz): update {summary(updates)}")
        print(f"                                    frame  {summary(frames)}")
        print(f"                                    total  {summary(total, 'live_repaint_ms')}")

        # switch type: pods -> services -> pods (the way back rebuilds every pod row)
        to_other: list[float] = []
        to_pods: list[float] = []
        for _ in range(3 if quick else 6):
            t0 = time.perf_counter()
            screen.run_command("svc")
            frame(table)
            to_other.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            screen.run_command("pods")
            frame(table)
            to_pods.append(time.perf_counter() - t0)
        print(f"switch type -> services (small):  {summary(to_other, 'switch_to_services_ms')}")
        print(f"switch type -> pods ({pods}, kept): {summary(to_pods, 'switch_to_pods_ms')}")
        # back to pods after a jump in time while away: the kept view crosses the changes since
        jumped: list[float] = []
        # back to pods after three other views: no longer kept, opened as the first time
        evicted: list[float] = []
        rng = random.Random(7)
        start, end = past
        for _ in range(3 if quick else 6):
            screen.run_command("svc")
            app.playback.seek(start + rng.randrange(max(end - start, 1)))
            t0 = time.perf_counter()
            screen.run_command("pods")
            frame(table)
            jumped.append(time.perf_counter() - t0)
            for other in ("svc", "deploy", "cm"):
                screen.run_command(other)
            t0 = time.perf_counter()
            screen.run_command("pods")
            frame(table)
            evicted.append(time.perf_counter() - t0)
        app.playback.go_live()
        screen.tick()
        print(f"  after a jump to a random past t: {summary(jumped, 'switch_to_pods_jumped_ms')}")
        print(f"  not kept (opened anew):          {summary(evicted, 'switch_to_pods_anew_ms')}")
        painted = FramePainted(app)
        on_screen: list[float] = []
        for _ in range(3 if quick else 6):
            screen.run_command("svc")
            await painted.next_frame(screen)
            t0 = time.perf_counter()
            screen.run_command("pods")
            await painted.next_frame(screen)
            on_screen.append(time.perf_counter() - t0)
        print(
            "  command -> frame on screen (Textual's compositor included): "
            f"{summary(on_screen, 'switch_to_pods_on_screen_ms')}"
        )

        # random past t: from wherever the cursor is, jump to a random moment of the past
        rng = random.Random(42)
        jumps: list[float] = []
        start, end = past
        for _ in range(10 if quick else 30):
            target = start + rng.randrange(max(end - start, 1))
            t0 = time.perf_counter()
            app.playback.seek(target)
            screen.tick()
            frame(table)
            jumps.append(time.perf_counter() - t0)
        print(f"table at a random past t:          {summary(jumps, 'past_t_ms')}")

        # small steps back in time (a scrub): one second at a time
        steps: list[float] = []
        t = (start + end) // 2
        for _ in range(20):
            t -= NS
            t0 = time.perf_counter()
            app.playback.seek(t)
            screen.tick()
            frame(table)
            steps.append(time.perf_counter() - t0)
        print(f"scrub back 1 s per step:           {summary(steps, 'scrub_ms')}")

        await time_travel(app, screen, table, source, past, quick)

        # YAML of one pod (the only place a full object is decoded): key -> first frame showing it
        app.playback.go_live()
        screen.tick()
        await pilot.pause()
        yaml_ms: list[float] = []
        text = ""
        for _ in range(4 if quick else 10):
            t0 = time.perf_counter()
            key = events.Key("y", "y")
            key.set_sender(app)  # as Pilot sends it, without its idle waits
            app.post_message(key)
            detail = await painted.detail_shown()
            yaml_ms.append(time.perf_counter() - t0)
            text = detail.text or ""
            await pilot.press("escape")
            await pilot.pause()
        first = yaml_ms.pop(0)
        print(f"YAML of the selected pod ({text.count(chr(10))} lines): key -> on screen")
        print(f"  first time (loads the lexer): {ms(first)}")
        print(f"  again:                           {summary(yaml_ms, 'yaml_one_pod_ms')}")
        floor: list[float] = []
        for _ in range(3 if quick else 10):
            t0 = time.perf_counter()
            app.push_screen(PlainText(text))
            await painted.next_frame(app.screen)
            floor.append(time.perf_counter() - t0)
            app.pop_screen()
            await pilot.pause()
        print(
            "  Textual's floor (the same lines as a plain screen, push -> on screen): "
            f"{summary(floor, 'yaml_textual_floor_ms')}"
        )
    gc.callbacks.remove(_gc_watch)
    full = [p for g, p in GC_PAUSES if g == 2]
    frozen = " (gc.freeze() once the first table was up)" if freeze else " (no gc.freeze())"
    print(
        f"GC while the UI ran: {len(GC_PAUSES)} collections, {len(full)} full, longest full "
        f"{max(full, default=0) * 1000:.1f} ms{frozen}"
    )


async def time_travel(
    app: Any, screen: Any, table: ResourceTable, source: Any, past: tuple[int, int], quick: bool
) -> None:
    """Frame times while playing at 64x and while holding the step keys."""
    timeline = screen.query_one(Timeline)
    tmap = source.tmap
    start, end = past
    wall = [0]
    app.playback.wall = lambda: wall[0]
    app.playback.seek(start + NS)
    screen.tick()
    app.playback.play(64.0)
    frames: list[float] = []
    crossed: list[int] = []
    for _ in range(40 if quick else 150):
        before = app.playback.t
        wall[0] += NS // 20  # the play timer runs at 20 Hz
        t0 = time.perf_counter()
        app.playback.advance()
        screen.tick()
        frame(table, timeline)
        frames.append(time.perf_counter() - t0)
        crossed.append(tmap.count_changes(before + 1, app.playback.t, "pods"))
        if not app.playback.playing:
            # a short past (--sim): start over, like a user replaying the same stretch
            app.playback.seek(start + NS)
            app.playback.play(64.0)
    print(
        f"play at 64x ({statistics.mean(crossed):.0f} changes crossed per frame, "
        f"{len(frames)} frames): {summary(frames, 'play_64x_frame_ms')}"
    )
    app.playback.pause()

    for label, direction in (("step ] (next change of pods)", 1), ("step [ (back)", -1)):
        app.playback.seek((start + end) // 2)
        screen.tick()
        steps: list[float] = []
        for _ in range(60 if quick else 200):
            t0 = time.perf_counter()
            app.time.action_time_step(direction)
            screen.tick()
            frame(table, timeline)
            steps.append(time.perf_counter() - t0)
        print(f"{label + ':':35}{summary(steps)}")

    # one pod that churned: `}` through its versions
    key = max(
        (r.key for r in tmap.changes(start, start + 60 * NS, "pods")),
        key=lambda k: len(tmap.version_times(k)),
    )
    app.playback.seek(start)
    screen.tick()
    table.select(key)
    steps = []
    for _ in range(min(len(tmap.version_times(key)), 100)):
        t0 = time.perf_counter()
        app.time.action_time_step_object(1)
        screen.tick()
        frame(table, timeline)
        steps.append(time.perf_counter() - t0)
    print(f"step }} (one pod, {len(tmap.version_times(key))} versions): {summary(steps)}")

    layout = timeline._layout
    t0 = time.perf_counter()
    densities(tmap, layout, StepScope("pods"))
    print(
        f"timeline density pass ({layout.n} bars, pods in all namespaces): "
        f"{ms(time.perf_counter() - t0)} (cached; live: at most once a second)"
    )
    t0 = time.perf_counter()
    changed = what_changed(tmap, start, end)
    print(
        f"what changed over the whole past ({changed.total} objects differ): "
        f"{ms(time.perf_counter() - t0)}"
    )
    history = ObjectHistory(tmap, key)
    t0 = time.perf_counter()
    for i in range(min(len(history), 40)):
        history.entry(i)
    spent = ms(time.perf_counter() - t0)
    print(f"history: 40 lines of one pod (decode + paths + managers): {spent}")
    app.playback.wall = time.monotonic_ns


async def run(args: argparse.Namespace) -> None:
    """Build the source, then measure."""
    print(f"khronoscope UI bench: {args.pods} pods, terminal {SIZE}")
    print("(2 shared cores: figures are noisy; run twice)")
    rss0 = rss_mb()
    freeze = not args.no_gc_freeze
    if args.sim:
        sim = Simulated(args.pods, args.churn)
        await sim.start(settle=5 if args.quick else 20)
        src: Any = sim
        print(f"sync (ClusterSession lists the simulated cluster)    {ms(sim.sync_s)}")
    else:
        history = 10_000 if args.quick else args.history
        src = Synthetic(args.pods, history)
        print(f"sync (ingest {args.pods} pods into the TemporalMap)      {ms(src.sync_s)}")
    gc.collect()
    rss1 = rss_mb()
    stats = src.source.tmap.memory_stats()
    print(
        f"store: {stats.versions} versions, {stats.stored_bytes / 1e6:.1f} MB compressed + "
        f"{stats.hot_bytes / 1e6:.1f} MB hot"
    )
    try:
        await measure(src.source, src.clock, src.advance, src.past, args.pods, args.quick, freeze)
    finally:
        await src.close()
    gc.collect()
    rss2 = rss_mb()
    print(
        f"memory: RSS {rss0:.0f} MB at start, {rss1:.0f} MB with the store "
        f"(+{rss1 - rss0:.0f}), {rss2:.0f} MB after the app ran (+{rss2 - rss1:.0f})"
    )
    print(json.dumps({"bench": "ui", "pods": args.pods, **FIGURES, "rss_mb": round(rss2)}))


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=60_000, help="past changes (synthetic)")
    parser.add_argument("--sim", action="store_true", help="the simulated cluster + a session")
    parser.add_argument("--churn", type=int, default=200, help="changes/s of the sim scenario")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="do not gc.freeze() once the table is up"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""A pod's captured log lines up to the playback cursor's t (live: following new lines).

The lines come from the source's LogStore (a live session's capture or a recording's): at each
tick only the lines between the previous t and the new one are added; a move back in time, a
late line stamped before what is shown, a new note or another container filter reload the pane
(the newest `MAX_LINES` lines up to t, with a note saying how many older ones there are).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.podspec import pod_containers
from khronoscope.core.safetext import safe_line
from khronoscope.core.source import FetchedLog, LogFetchSource, log_capture, log_fetcher, logs_of
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.telemetry.logstore import LogLine, LogNote
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.widgets.commandline import CommandLine
from khronoscope.tui.widgets.header import time_label
from khronoscope.tui.widgets.logview import Entry, LogView
from khronoscope.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from khronoscope.telemetry.logstore import LogStore

MAX_LINES = 50_000
FETCH_TAIL = 1000  # lines of each container instance `p` fetches


class LogsScreen(Screen[None]):
    """The log pane of one pod: lines up to t, container filter, search, wrap, follow."""

    KEYMAP_CONTEXT: ClassVar[str] = "logs"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("logs")  # type: ignore[assignment]

    DEFAULT_CSS = """
    LogsScreen #logs-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, key: ObjectKey, container: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.key = key
        self.container = container
        self._loaded_t: int | None = None
        self._loaded_count = 0
        self._sig: tuple[Any, ...] = ()
        self._matches: list[int] = []
        self.fetched: list[FetchedLog] = []

    @property
    def store(self) -> LogStore | None:
        """The source's log store (None: the source keeps no logs)."""
        return logs_of(self.ctx.source)

    def in_view(self) -> InView:
        """What the time keys act on: the object shown."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, the lines, the search prompt, footer."""
        yield Static(id="logs-title")
        yield LogView(self.ctx.settings.tz, id="logs-view")
        yield Timeline(self.ctx.time)
        yield CommandLine(lambda _text: None, id="logs-search")
        yield Footer()

    def on_mount(self) -> None:
        """Start capturing when live and not yet marked; draw; follow the cursor."""
        source = log_capture(self.ctx.source)
        marks = source.log_marks if source is not None else None
        if (
            self.ctx.source.is_live
            and source is not None
            and marks is not None
            and not marks.is_marked(self.key)
            and self._deleted_at() is None
        ):
            try:
                source.mark_logs(self.key)
                self.notify(f"capturing the logs of {self.key.name} from now on", timeout=4)
            except Exception as err:  # a source that cannot capture says why
                self.notify(str(err), severity="error")
        self.refresh_view()
        self.set_interval(1 / max(self.ctx.settings.refresh_hz, 0.5), self.refresh_view)
        view = self.query_one(LogView)
        view.focus()
        # the pane opens at the moment on screen (its last line), once it has a size to scroll
        self.call_after_refresh(self.action_follow)

    # --- content -----------------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Bring the pane to the cursor's t (adding lines, or reloading when needed)."""
        view = self.query_one(LogView)
        store = self.store
        t = self.ctx.playback.t
        self._title(t)
        if store is None:
            view.set_message("this source keeps no logs")
            return
        ns, pod, c = self.key.namespace, self.key.name, self.container
        total = store.count(ns, pod, t, c)
        notes = store.notes(ns, pod, c, until=t)
        dropped = store.dropped(ns, pod, c)
        sig = (c, len(notes), tuple(d.lines for d in dropped), len(store.containers(ns, pod)))
        loaded_t = self._loaded_t
        if (
            loaded_t is not None
            and not self.fetched
            and sig == self._sig
            and t >= loaded_t
            and store.count(ns, pod, loaded_t, c) == self._loaded_count
        ):
            if total > self._loaded_count:
                new = store.lines(ns, pod, c, after=loaded_t, until=t)
                view.append([Entry(ln.t, ln.container, ln.text) for ln in new])
            self._loaded_t, self._loaded_count = t, total
            self._update_message(view, total)
            return
        lines = store.tail(ns, pod, until=t, limit=MAX_LINES, container=c)
        entries = _with_notes(lines, notes)
        head: list[Entry] = []
        for d in dropped:
            when = format_clock(d.until, self.ctx.settings.tz)
            head.append(
                Entry(0, "", f"… {d.lines:,} older lines dropped ({d.reason}), up to {when}", True)
            )
        if total > len(lines):
            more = total - len(lines)
            head.append(Entry(0, "", f"… {more:,} older lines not shown (pane limit)", True))
        containers = store.containers(ns, pod)
        fetched = self._fetched_entries()
        view.set_entries(head + entries + fetched, show_container=c is None and len(containers) > 1)
        self._loaded_t, self._loaded_count, self._sig = t, total, sig
        if view.search:
            self._matches = view.matches()
        self._update_message(view, total)

    def _fetched_entries(self) -> list[Entry]:
        """Lines fetched on demand (`p`), each block under a note saying they were fetched now
        and not recorded at their time."""
        out: list[Entry] = []
        tz = self.ctx.settings.tz
        for f in self.fetched:
            if self.container is not None and f.container != self.container:
                continue
            which = "previous instance" if f.previous else "current instance"
            when = format_clock(f.fetched_at, tz)[11:19]
            head = f"fetched now ({when}), not recorded at its time: {f.container}, {which}"
            if f.error:
                head += f" — {f.error}"
            elif not f.lines:
                head += " — no lines"
            out.append(Entry(f.fetched_at, f.container, f"── {head} ──", True))
            out.extend(Entry(t, f.container, text) for t, text in f.lines)
        return out

    def _update_message(self, view: LogView, total: int) -> None:
        if total or view.entries:
            view.set_message("")
            return
        view.set_message(self._capture_text() or "no log lines up to this moment")

    def _capture_text(self) -> str:
        """How the capture of this pod stands (live sessions)."""
        source = log_capture(self.ctx.source)
        if source is None:
            return ""
        marks = source.log_marks
        status = source.log_status(self.key) if marks.is_marked(self.key) else None
        if not status:
            deleted = self._deleted_at()
            if deleted is not None:
                # the API serves no logs of a deleted pod: say so rather than wait forever
                when = format_clock(deleted, self.ctx.settings.tz)
                store = self.store
                if store is not None and store.containers(self.key.namespace, self.key.name):
                    return f"capture ended: the pod was deleted at {when}"
                return f"not captured: deleted at {when}, before capture (--logs captures early)"
        if not marks.is_marked(self.key):
            return "not captured (c on the pods view or --logs captures; p fetches them now)"
        if not status:
            return "capture starting…"
        parts = []
        for name, st in sorted(status.items()):
            if self.container is not None and name != self.container:
                continue
            reason = f" ({st.reason})" if st.reason else ""
            parts.append(f"{name}: {st.state}{reason}")
        text = "; ".join(parts)
        if not self.ctx.playback.live and text:
            # the capture's state is of now, not of the moment shown
            text = f"capture now: {text}"
        return text

    def _deleted_at(self) -> int | None:
        """When the pod was deleted, if its newest recorded change is its deletion."""
        history = self.ctx.source.tmap.history(self.key)
        if history and history[-1][1] is ChangeKind.DELETED:
            return history[-1][0]
        return None

    def _title(self, t: int) -> None:
        store = self.store
        containers = store.containers(self.key.namespace, self.key.name) if store else []
        which = self.container or ("all containers" if len(containers) != 1 else containers[0])
        view = self.query_one(LogView)
        line1 = Text.assemble(
            ("Logs", "bold"),
            "  ",
            (safe_line(f"{self.key.namespace}/{self.key.name}"), "bold cyan"),
            "  ",
            (f"[{safe_line(which)}]", "bold"),
            ("  wrap" if view.wrap else "", "dim"),
        )
        if view.search:
            search = safe_line(view.search)
            line1.append(f"  /{search}: {len(self._matches)} matches", style="yellow")
        line2 = Text("lines up to ")
        line2.append_text(time_label(self.ctx.playback, self.ctx.settings.tz))
        capture = self._capture_text()
        if capture:
            line2.append(f"  ·  {safe_line(capture)}", style="dim")  # the kubelet's reasons
        self.query_one("#logs-title", Static).update(Text("\n").join([line1, line2]))

    # --- actions (scope `logs`) --------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the table."""
        self.dismiss()

    def action_container(self) -> None:
        """Cycle the container filter: all, then each container."""
        store = self.store
        names = store.containers(self.key.namespace, self.key.name) if store else []
        pod = self.ctx.source.tmap.get(self.key, self.ctx.playback.t) or {}
        for c in (pod.get("spec") or {}).get("containers") or ():
            if c.get("name") and c["name"] not in names:
                names.append(c["name"])
        cycle: list[str | None] = [None, *names]
        i = cycle.index(self.container) if self.container in cycle else 0
        self.container = cycle[(i + 1) % len(cycle)]
        self._loaded_t = None
        self.refresh_view()

    def action_wrap(self) -> None:
        """Wrap long lines, or scroll them sideways."""
        view = self.query_one(LogView)
        view.set_wrap(not view.wrap)
        self._title(self.ctx.playback.t)

    def action_search(self) -> None:
        """Open the `/` search prompt."""
        self.query_one(CommandLine).open("/", self.query_one(LogView).search)

    @on(CommandLine.Submitted)
    def _search_submitted(self, event: CommandLine.Submitted) -> None:
        view = self.query_one(LogView)
        view.set_search(event.text)
        self._matches = view.matches()
        if self._matches:
            view.goto_entry(self._matches[-1])  # the newest match: nearest to t
        elif event.text:
            self.notify(f"no line matches {event.text!r}", severity="warning", timeout=3)
        self._title(self.ctx.playback.t)

    @on(CommandLine.Closed)
    def _search_closed(self) -> None:
        self.query_one(LogView).focus()

    def _step_match(self, direction: int) -> None:
        view = self.query_one(LogView)
        self._matches = view.matches()
        if not self._matches:
            return
        current = view.current_match
        if current is None:
            target = self._matches[-1] if direction < 0 else self._matches[0]
        elif direction > 0:
            later = [i for i in self._matches if i > current]
            target = later[0] if later else self._matches[0]
        else:
            earlier = [i for i in self._matches if i < current]
            target = earlier[-1] if earlier else self._matches[-1]
        view.goto_entry(target)

    def action_next_match(self) -> None:
        """The next line matching the search (down, wrapping)."""
        self._step_match(1)

    def action_previous_match(self) -> None:
        """The previous line matching the search (up, wrapping)."""
        self._step_match(-1)

    def action_fetch(self) -> None:
        """`p`: fetch the current and previous instance's logs of every container now (live
        only), shown below the captured lines and labelled as fetched now."""
        source = log_fetcher(self.ctx.source)
        if source is None or not self.ctx.source.is_live:
            self.notify("logs can be fetched from a live cluster only", severity="warning")
            return
        pod = self.ctx.source.tmap.get(self.key, self.ctx.playback.clock()) or {}
        names = pod_containers(pod)
        if not names:
            self.notify(f"{self.key.name} is not there now: nothing to fetch", severity="warning")
            return
        self.notify(f"fetching the logs of {self.key.name}…", timeout=2)
        self.run_worker(self._fetch(source, names), exclusive=True, group="fetch")

    async def _fetch(self, source: LogFetchSource, names: list[str]) -> None:
        got: list[FetchedLog] = []
        for name in names:
            for previous in (True, False):
                got.append(await source.fetch_logs(self.key, name, previous, FETCH_TAIL))
        self.fetched = got
        self._loaded_t = None
        self.refresh_view()
        self.action_follow()

    def action_follow(self) -> None:
        """Jump to the line at the cursor's time (the end) and keep following it."""
        view = self.query_one(LogView)
        view.follow = True
        view.current_match = None
        view.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_top(self) -> None:
        """The oldest line shown."""
        view = self.query_one(LogView)
        view.follow = False
        view.scroll_home(animate=False, immediate=True)

    def action_bottom(self) -> None:
        """The newest line shown."""
        self.action_follow()

    def on_mouse_scroll_up(self) -> None:
        """Scrolling up stops following (new lines would pull the view away)."""
        self.query_one(LogView).follow = False


def _with_notes(lines: list[LogLine], notes: list[LogNote]) -> list[Entry]:
    """Lines and notes merged by time (a note goes before the lines at its time)."""
    out: list[Entry] = []
    i = 0
    for ln in lines:
        while i < len(notes) and notes[i].t <= ln.t:
            n = notes[i]
            out.append(Entry(n.t, n.container, f"── {n.text} ──", True))
            i += 1
        out.append(Entry(ln.t, ln.container, ln.text))
    for n in notes[i:]:
        out.append(Entry(n.t, n.container, f"── {n.text} ──", True))
    return out

"""The diff of one object: at the cursor's t against its previous version, against live (the
end of a recording), against a bookmark, or between two fixed moments (from "what changed").

Unified YAML, coloured; resourceVersion, managedFields and heartbeat times hidden unless the
user asks (`a`); Secret values redacted. Follows the cursor, so stepping the object's changes
(`{` `}`) walks its diffs.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.provenance import RECONSTRUCTED, provenance_of
from khronoscope.core.safetext import safe_line
from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.core.writers import who_wrote
from khronoscope.printers.objdiff import NOISE_LABEL, ObjectDiff, object_diff
from khronoscope.temporal.reader import TemporalReader
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.travel import previous_bookmark
from khronoscope.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    pass

PREVIOUS, LIVE, BOOKMARK, FIXED = "previous", "live", "bookmark", "fixed"


def diff_text(lines: list[str]) -> Text:
    """Unified diff lines coloured as `git diff` does."""
    text = Text()
    for line in lines:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(safe_line(line) + "\n", style=style)  # a YAML line: cluster text
    return text


class DiffScreen(Screen[None]):
    """One object's diff between two moments chosen by `against` (see the module doc)."""

    KEYMAP_CONTEXT: ClassVar[str] = "diff"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("diff")  # type: ignore[assignment]

    DEFAULT_CSS = """
    DiffScreen #diff-title { height: 3; background: $panel; padding: 0 1; }
    DiffScreen #diff-scroll { height: 1fr; background: $surface; }
    DiffScreen #diff-body { width: auto; padding: 0 1; }
    """

    def __init__(
        self,
        ctx: ScreenContext,
        key: ObjectKey,
        against: str = PREVIOUS,
        t1: int | None = None,
        t2: int | None = None,
        bookmark: Bookmark | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.key = key
        self.against = against
        self.fixed = (t1, t2)
        self.bookmark = bookmark
        self.show_all = False
        self.result: ObjectDiff | None = None
        self.moments: tuple[int | None, int | None] = (None, None)
        self._shown: tuple[object, ...] | None = None
        self._who = ""

    def in_view(self) -> InView:
        """What the time keys act on: the object shown."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, scrollable diff, timeline, footer."""
        yield Static(id="diff-title")
        with VerticalScroll(id="diff-scroll"):
            yield Static(id="diff-body")
        yield Timeline(self.ctx.time)
        yield Footer()

    def on_mount(self) -> None:
        """Draw, then follow the cursor."""
        self.redraw()
        self.ctx.playback.listeners.append(self._moved)
        self.set_interval(1 / max(self.ctx.settings.refresh_hz, 0.5), self.redraw)
        self.query_one("#diff-scroll").focus()

    def on_unmount(self) -> None:
        """Stop following the cursor."""
        if self._moved in self.ctx.playback.listeners:
            self.ctx.playback.listeners.remove(self._moved)

    def _moved(self) -> None:
        self.call_after_refresh(self.redraw)

    # --- what is compared --------------------------------------------------------------------

    def _pair(self) -> tuple[int | None, int | None, str, str]:
        """(old moment, new moment, old label, new label); a None moment: not there."""
        ctx = self.ctx
        tz = ctx.settings.tz
        t = ctx.playback.t
        times = ctx.source.tmap.version_times(self.key)
        if self.against == FIXED:
            t1, t2 = self.fixed
            return t1, t2, _at(t1, tz), _at(t2, tz)
        if self.against == LIVE:
            end = ctx.playback.end() or t
            where = "live" if ctx.playback.live_available else "end of the record"
            return t, end, _at(t, tz) + " (cursor)", _at(end, tz) + f" ({where})"
        if self.against == BOOKMARK and self.bookmark is not None:
            b = self.bookmark
            return b.t, t, _at(b.t, tz) + f" (bookmark {b.label!r})", _at(t, tz) + " (cursor)"
        i = bisect_right(times, t) - 1
        if i < 0:
            return None, None, "", ""
        old = times[i - 1] if i > 0 else None
        old_label = _at(old, tz) + " (previous version)" if old is not None else "(not there)"
        return old, times[i], old_label, _at(times[i], tz) + " (version at the cursor)"

    def redraw(self) -> None:
        """Recompute the diff when the compared versions (or the noise setting) changed."""
        tmap = self.ctx.source.tmap
        old_t, new_t, old_label, new_label = self._pair()
        # versions, not moments, decide whether the diff changed (cheap while playing)
        stamp = (
            _version(tmap, self.key, old_t),
            _version(tmap, self.key, new_t),
            self.show_all,
            self.against,
            old_label,
            new_label,
        )
        self._title(old_label, new_label)
        if stamp == self._shown:
            return
        self._shown = stamp
        self.moments = (old_t, new_t)
        body = self.query_one("#diff-body", Static)
        if new_t is None and old_t is None:
            self.result = None
            body.update(
                Text(safe_line(f"{self.key} did not exist yet at the cursor"), style="italic")
            )
            return
        old = tmap.get(self.key, old_t) if old_t is not None else None
        new = tmap.get(self.key, new_t) if new_t is not None else None
        self.result = object_diff(self.key, old, new, old_label, new_label, self.show_all)
        self._who = self._who_made(tmap, new_t)
        self._title(old_label, new_label)
        if self.result.equal:
            what = "no difference"
            if self.result.hidden:
                what += f" (only {', '.join(self.result.hidden[:3])}: a shows them)"
            body.update(Text(safe_line(what), style="italic"))
        else:
            # the --- +++ header lines are in the title already
            body.update(diff_text(self.result.lines[2:]))

    def _title(self, old_label: str, new_label: str) -> None:
        modes = {
            PREVIOUS: "vs its previous version",
            LIVE: "vs live" if self.ctx.playback.live_available else "vs the end of the record",
            BOOKMARK: "vs a bookmark",
            FIXED: "between two moments",
        }
        line1 = Text.assemble(
            ("Diff", "bold"),
            "  ",
            (safe_line(str(self.key)), "bold cyan"),
            "  ",
            (modes.get(self.against, ""), "dim"),
        )
        # a label may quote a bookmark's
        line2 = Text.assemble(("--- ", "red"), safe_line(old_label) or "(nothing)", "   ")
        line2.append_text(Text.assemble(("+++ ", "green"), safe_line(new_label) or "(nothing)"))
        result = self.result
        line3 = Text(style="dim")
        if self._who:
            line3.append(safe_line(self._who) + "   ", style="cyan")  # an audit user, a note
        if result is not None and result.paths:
            line3.append("changed: " + safe_line(", ".join(result.paths[:6])))
            if len(result.paths) > 6:
                line3.append(f" +{len(result.paths) - 6}")
            line3.append("   ")
        line3.append(
            f"{NOISE_LABEL}: shown (a hides)" if self.show_all else f"hidden: {NOISE_LABEL} (a)"
        )
        for line in (line1, line2, line3):
            line.no_wrap = True
            line.overflow = "ellipsis"
        self.query_one("#diff-title", Static).update(Text("\n").join([line1, line2, line3]))

    def _who_made(self, tmap: TemporalReader, t: int | None) -> str:
        """`by alice (kubectl-edit)` for the version in force at t: the audit user where an
        audit log said, the field manager always; what is unknown or reconstructed says so."""
        vt = _version(tmap, self.key, t)
        if vt is None:
            return ""
        cur = tmap.get(self.key, vt)
        prev = tmap.get(self.key, vt - 1)
        who = who_wrote(provenance_of(self.ctx.source), self.key, vt, prev, cur)
        text = f"by {who.label()}"
        if who.origin == RECONSTRUCTED:
            text += " · reconstructed"
        if who.unknown:
            text += " · content not in the audit log"
        return text

    # --- actions (scope `diff`) --------------------------------------------------------------

    def action_back(self) -> None:
        """Back to where the diff was opened."""
        self.dismiss()

    def action_against(self, what: str) -> None:
        """Compare with the previous version, live, or a bookmark (again: the one before)."""
        if what == BOOKMARK:
            marks = self.ctx.source.bookmarks()
            if not marks:
                self.notify("no bookmarks yet: m bookmarks a moment", severity="warning")
                return
            before = self.bookmark.t if (self.against == BOOKMARK and self.bookmark) else None
            start = before if before is not None else self.ctx.playback.t + 1
            self.bookmark = previous_bookmark(marks, start) or marks[-1]
        self.against = what
        self.redraw()

    def action_toggle_noise(self) -> None:
        """Show or hide resourceVersion, managedFields and heartbeat times."""
        self.show_all = not self.show_all
        self.redraw()

    def action_top(self) -> None:
        """Scroll to the top."""
        self.query_one("#diff-scroll", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        """Scroll to the bottom."""
        self.query_one("#diff-scroll", VerticalScroll).scroll_end(animate=False)


def _at(t: int | None, tz: tzinfo | None) -> str:
    return format_clock(t, tz, millis=True) if t is not None else ""


def _version(tmap: TemporalReader, key: ObjectKey, t: int | None) -> int | None:
    """The time of the version in force at t (what decides whether a diff must be redrawn)."""
    return None if t is None else tmap.previous_change(t + 1, key=key)

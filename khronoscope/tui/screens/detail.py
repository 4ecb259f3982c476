"""One object at the playback cursor's t: its YAML (highlighted, Secrets redacted) or describe."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.provenance import is_unknown, reconstructed_note, unknown_reason
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.detailtext import describe_text, version_at, yaml_text
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.widgets.header import time_label
from khronoscope.tui.widgets.timeline import Timeline
from khronoscope.tui.widgets.usage import UsagePanel
from khronoscope.tui.yamlstyle import highlighted_yaml

if TYPE_CHECKING:
    pass


class DetailScreen(Screen[None]):
    """The selected object as of t; follows t (live or paused) and redraws when it changes."""

    KEYMAP_CONTEXT: ClassVar[str] = "detail"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("detail")  # type: ignore[assignment]

    DEFAULT_CSS = """
    DetailScreen #detail-title { height: 2; background: $panel; padding: 0 1; }
    DetailScreen #detail-scroll { height: 1fr; background: $surface; }
    DetailScreen #detail-body { width: auto; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, key: ObjectKey, mode: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.key = key
        self.mode = mode
        self.managed_fields = False
        self.text: str | None = None
        self._shown: tuple[object, ...] | None = None

    def in_view(self) -> InView:
        """What the time keys act on: the object shown."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, scrollable body, timeline, footer."""
        yield Static(id="detail-title")
        yield UsagePanel(self.ctx.source, self.key, self.ctx.settings.tz, id="detail-usage")
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-body")
        yield Timeline(self.ctx.time)
        yield Footer()

    def on_mount(self) -> None:
        """Draw, then follow the playback cursor."""
        self.redraw()
        self.set_interval(1 / max(self.ctx.settings.refresh_hz, 0.5), self.redraw)
        self.query_one("#detail-scroll").focus()

    def redraw(self) -> None:
        """Redraw when the object's version at t (or the mode) changed; describe ages also
        change with t, so a live describe redraws once a second."""
        playback = self.ctx.playback
        tmap = self.ctx.source.tmap
        t = playback.t
        version = version_at(tmap, self.key, t)
        tick = t // 1_000_000_000 if self.mode == "describe" else None
        stamp = (version, self.mode, self.managed_fields, tick)
        self._title(t)
        self.query_one(UsagePanel).show_at(t)
        if stamp == self._shown:
            return
        self._shown = stamp
        if self.mode == "yaml":
            text = yaml_text(tmap, self.key, t, self.managed_fields)
        else:
            text = describe_text(tmap, self.key, t, self.ctx.settings.tz)
        self.text = text
        body = self.query_one("#detail-body", Static)
        if text is None:
            first = tmap.version_times(self.key)
            when = format_clock(t, self.ctx.settings.tz)
            if first and first[0] > t:
                msg = f"{self.key} did not exist yet at {when}"
            else:
                msg = f"{self.key} did not exist at {when} (deleted)"
            body.update(Text(safe_line(msg), style="italic"))
        elif (banner := provenance_banner(tmap.get(self.key, t))) is not None:
            # a state nobody knows, or one rebuilt: said first, never shown as observed
            body.update(Text.assemble(banner, "\n\n", safe_block(text)))
        elif self.mode == "yaml":
            # YAML escapes most controls itself, but passes bidi controls and U+0085 on
            text = safe_block(text)
            body.update(highlighted_yaml(text))  # lexed once, not on every render
        else:
            # annotations, messages and condition texts are free text from the cluster
            body.update(Text(safe_block(text)))

    def _title(self, t: int) -> None:
        title = Text.assemble(
            (self.mode.upper() if self.mode == "yaml" else "Describe", "bold"),
            "  ",
            (safe_line(str(self.key)), "bold cyan"),
        )
        if self.mode == "yaml" and not self.managed_fields:
            title.append("  (managedFields hidden)", style="dim")
        line2 = Text("as of ")
        line2.append_text(time_label(self.ctx.playback, self.ctx.settings.tz))
        self.query_one("#detail-title", Static).update(Text("\n").join([title, line2]))

    # --- actions (scope `detail`) ------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the table."""
        self.dismiss()

    def action_show(self, mode: str) -> None:
        """Switch between YAML and describe: the other view opens at its top (the place in
        one says nothing about the other)."""
        changed = mode != self.mode
        self.mode = mode
        self.redraw()
        if changed:
            self.query_one("#detail-scroll", VerticalScroll).scroll_home(animate=False)

    def action_toggle_managed_fields(self) -> None:
        """Show or hide metadata.managedFields in the YAML."""
        self.managed_fields = not self.managed_fields
        self.redraw()

    def action_top(self) -> None:
        """Scroll to the top."""
        self.query_one("#detail-scroll", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        """Scroll to the bottom."""
        self.query_one("#detail-scroll", VerticalScroll).scroll_end(animate=False)


def provenance_banner(obj: dict | None) -> Text | None:
    """The line above an object whose state at t is unknown or reconstructed (else None)."""
    if is_unknown(obj):
        return Text("state unknown: " + safe_line(unknown_reason(obj)), style="bold yellow")
    note = reconstructed_note(obj)
    if note:
        return Text("reconstructed (not observed): " + safe_line(note), style="italic magenta")
    return None

"""The header: cluster, the moment shown, the view, and how the watches stand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from rich.text import Text
from textual.widgets import Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.source import TypeState, TypeStatus
from khronoscope.core.timefmt import format_clock, format_offset
from khronoscope.tui.playback import PlaybackCursor, speed_label


def time_label(playback: PlaybackCursor, tz: tzinfo | None) -> Text:
    """`● LIVE 09:02:35`, `⏸ PAUSED 2026-03-14 09:02:35 (-1h20m)`, `▶ PLAY 4x ...` or
    `◀ REWIND 2x ...`."""
    if playback.live:
        return Text.assemble(("● LIVE ", "bold green"), format_clock(playback.t, tz)[11:])
    if playback.playing:
        if playback.speed < 0:
            state = f"◀ REWIND {speed_label(-playback.speed)} "
        else:
            state = f"▶ PLAY {speed_label(playback.speed)} "
        return Text.assemble(
            (state, "bold cyan"),
            (format_clock(playback.t, tz), "bold"),
            f" ({format_offset(playback.offset)})",
        )
    return Text.assemble(
        ("⏸ PAUSED ", "bold yellow"),
        (format_clock(playback.t, tz), "bold"),
        f" ({format_offset(playback.offset)})",
    )


def watch_label(status: dict[str, TypeStatus]) -> Text:
    """`watch: 18 live · syncing: pods · retrying: x · forbidden: roles.rbac…`."""
    by_state: dict[TypeState, list[str]] = {}
    for name, st in sorted(status.items()):
        by_state.setdefault(st.state, []).append(name)
    text = Text("watch: ", style="dim")
    text.append(f"{len(by_state.get(TypeState.LIVE, []))} live")
    for state, style in (
        (TypeState.SYNCING, "yellow"),
        (TypeState.RETRYING, "bold red"),
        (TypeState.FORBIDDEN, "red"),
        (TypeState.GONE, "dim"),
    ):
        names = by_state.get(state)
        if names:
            shown = ", ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
            shown = safe_line(shown)  # type names come from the API server (or a recording)
            text.append(" · ")
            text.append(f"{state.value}: {shown}", style=style)
    return text


class HeaderBar(Static):
    """Three lines: who and when; what is shown; watch status and namespace favourites."""

    DEFAULT_CSS = """
    HeaderBar {
        height: 3;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    _last = ""
    _last_spans: list = []

    def show(
        self,
        *,
        cluster: str,
        context: str,
        playback: PlaybackCursor,
        tz: tzinfo | None,
        view: str,
        scope: str,
        shown: int,
        total: int,
        filter_label: str,
        sort_label: str,
        status: dict[str, TypeStatus],
        favourites: Sequence[str],
        namespaced: bool,
        source_label: str = "",
    ) -> None:
        """Redraw with the current state (cheap: three short lines). Every name in it comes
        from the cluster or a recording, so each is drawn through `safe_line`."""
        cluster, context, view, scope = map(safe_line, (cluster, context, view, scope))
        filter_label, sort_label = safe_line(filter_label), safe_line(sort_label)
        line1 = Text.assemble(
            ("khronoscope", "bold"),
            "  cluster ",
            (cluster, "bold"),
            (f" ({context})" if context and context != cluster else "", "dim"),
            "   ",
        )
        if source_label:
            style = "bold red" if "REC" in source_label else "bold magenta"
            line1.append(source_label, style=style)
            line1.append("  ")
        line1.append_text(time_label(playback, tz))
        line2 = Text.assemble((view, "bold cyan"), " ")
        line2.append(f"[{scope}]", style="cyan")
        line2.append(f"  {shown}" + (f"/{total}" if shown != total else "") + " rows")
        if filter_label:
            line2.append("  filter: ", style="dim")
            line2.append(filter_label, style="bold magenta")
        if sort_label:
            line2.append(f"  sort: {sort_label}", style="dim")
        line3 = watch_label(status)
        if namespaced:
            fav = Text("   ")
            fav.append("<0>", style="bold")
            fav.append(" all")
            for i, ns in enumerate(favourites[:9], start=1):
                fav.append(f"  <{i}>", style="bold")
                fav.append(f" {safe_line(ns)}")
            line3.append_text(fav)
        for line in (line1, line2, line3):
            line.no_wrap = True
            line.overflow = "ellipsis"
        text = Text("\n").join([line1, line2, line3])
        text.no_wrap = True
        text.overflow = "ellipsis"
        if text.plain != self._last or text.spans != self._last_spans:
            self._last, self._last_spans = text.plain, list(text.spans)
            self.update(text)

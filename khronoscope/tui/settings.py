"""Everything the browser can be told at start-up, in one object (the CLI and tests build it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo

from khronoscope.core.timefmt import now_ns
from khronoscope.tui.aliases import UserAliases
from khronoscope.tui.keymap import DEFAULT_KEYMAP, Keymap


@dataclass
class BrowserSettings:
    """Start-up options of the browser.

    `at` None starts live (or at the end of a recording); `tz` None prints local time; `clock`
    is injectable so tests and snapshots see a fixed now. `gc_freeze` moves what exists once
    the first table is up (the synced store) out of the cyclic GC's reach: a full collection
    over it paused the UI ~180 ms here (bench/ui.py). `source_label` is shown in the header.
    """

    keymap: Keymap = field(default_factory=lambda: DEFAULT_KEYMAP)
    aliases: UserAliases = field(default_factory=UserAliases)
    startup_messages: list[str] = field(default_factory=list)
    type_name: str = "pods"
    namespace: str | None = None
    at: int | None = None
    tz: tzinfo | None = None
    refresh_hz: float = 4.0
    favourites: list[str] = field(default_factory=list)
    clock: Callable[[], int] = now_ns
    wide: bool = False
    gc_freeze: bool = True
    # what the history is beside the time, in the header: "● REC" (live, recording),
    # "REPLAY" (a recording; live is unavailable), "FOLLOW" (a recording still being written)
    source_label: str = ""

"""What every screen is built with: the source it shows, the time control (and its playback
cursor), the settings, and the navigator (the app, seen as "open that screen", "say this").
Screens read these, never the app itself."""

from __future__ import annotations

from dataclasses import dataclass

from khronoscope.core.source import HistorySource
from khronoscope.tui.navigator import Navigator
from khronoscope.tui.playback import PlaybackCursor
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.timecontrol import TimeControl


@dataclass(frozen=True)
class ScreenContext:
    """A screen's view of the app."""

    source: HistorySource
    time: TimeControl
    settings: BrowserSettings
    nav: Navigator

    @property
    def playback(self) -> PlaybackCursor:
        """The moment every view shows."""
        return self.time.playback

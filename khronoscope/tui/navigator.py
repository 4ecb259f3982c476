"""What screens and the time control ask of the app: open another screen, ask a question, run
a `:` command, say something. The app implements it; screens receive it in their context, so a
screen never imports the app (or the screens it opens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from textual.notifications import SeverityLevel

from khronoscope.core.types import ObjectKey


class Navigator(Protocol):
    """The app as screens see it."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A notification (plain text, controls shown)."""

    def show_detail(self, key: ObjectKey, mode: str) -> None:
        """The YAML (`yaml`) or describe (`describe`) view of one object."""

    def show_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """The log pane of a pod."""

    def toggle_capture(self, key: ObjectKey) -> None:
        """Start or stop capturing a pod's logs."""

    def show_history(self, key: ObjectKey) -> None:
        """The versions of one object."""

    def show_diff(
        self,
        key: ObjectKey,
        against: str = "previous",
        t1: int | None = None,
        t2: int | None = None,
    ) -> None:
        """One object's diff (see screens/diff.py for `against`)."""

    def show_changes(self, t1: int, t2: int, origin: str = "") -> None:
        """What changed between two moments."""

    def show_bookmarks(self) -> None:
        """The bookmark list."""

    def show_related(self, key: ObjectKey) -> None:
        """Owners, children and Events over time of one object."""

    def ask_text(
        self,
        title: str,
        check: Callable[[str], Any],
        done: Callable[[Any], None],
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
    ) -> None:
        """Ask for one line; `check` turns it into the answer given to `done` (or raises
        ValueError, shown in the dialog); `done(None)` when cancelled."""

    def ask_bookmark(
        self,
        when: str,
        target: str | None,
        on_object: bool,
        done: Callable[[tuple[str, bool] | None], None],
    ) -> None:
        """Ask for a bookmark's label (and whether it is on the object `target`)."""

    def run_command(self, text: str) -> None:
        """Run a `:` command line."""

    def quit(self) -> None:
        """Leave khronoscope."""

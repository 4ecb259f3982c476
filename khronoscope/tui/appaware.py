"""`self.kapp`: the khronoscope app, typed, for the screens and widgets that talk to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khronoscope.tui.app import KhronoscopeApp


class AppAware:
    """Mixin for a Screen or Widget of the khronoscope app."""

    @property
    def kapp(self) -> KhronoscopeApp:
        """The app, typed."""
        return self.app  # type: ignore[attr-defined]

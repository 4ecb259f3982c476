"""Which screen is this: every screen of the app declares its keymap context (`KEYMAP_CONTEXT`,
a key of `keymap.CONTEXTS`); that one answer decides which bindings are active on it, what the
command palette lists there, and whether the time keys work there (a context with `time`)."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from khronoscope.tui.keymap import CONTEXTS

TIME_SCOPE = "time"


@runtime_checkable
class KeymapScreen(Protocol):
    """A screen of the app: the keymap context it answers to."""

    KEYMAP_CONTEXT: ClassVar[str]


def keymap_context(screen: object) -> str | None:
    """The keymap context of `screen` (None: not one of the app's screens, e.g. Textual's)."""
    return screen.KEYMAP_CONTEXT if isinstance(screen, KeymapScreen) else None


def shows_moment(screen: object) -> bool:
    """True when `screen` shows a moment, so the time keys work there."""
    context = keymap_context(screen)
    return context is not None and TIME_SCOPE in CONTEXTS[context]

"""Which screen is this, answered one way: every screen of the app declares its keymap context;
that context decides where the time keys work, and a screen where they work says what it has
in view."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.screen import Screen

import khronoscope.tui.screens
from khronoscope.tui.keymap import CONTEXTS
from khronoscope.tui.screenkind import keymap_context, shows_moment
from khronoscope.tui.timecontrol import ShowsMoment

from .conftest import SIZE


def screen_classes() -> list[type[Screen]]:
    """Every Screen class defined in khronoscope.tui.screens."""
    out = []
    for info in pkgutil.iter_modules(khronoscope.tui.screens.__path__):
        module = importlib.import_module(f"khronoscope.tui.screens.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                out.append(cls)
    return out


def test_every_keymapped_screen_declares_a_context_of_the_keymap():
    classes = screen_classes()
    assert len(classes) >= 15
    for cls in classes:
        context = cls.__dict__.get("KEYMAP_CONTEXT")
        bound = any(isinstance(b, Binding) and b.id for b in cls.BINDINGS)
        if context is None:
            # only the small dialogs (their own Escape/Enter) have no keymap context
            assert not bound, f"{cls.__name__} has keymap bindings but no KEYMAP_CONTEXT"
            continue
        assert context in CONTEXTS, cls.__name__


def test_the_time_keys_work_exactly_where_a_screen_says_what_is_in_view():
    for cls in screen_classes():
        context = cls.__dict__.get("KEYMAP_CONTEXT")
        has_time = context is not None and "time" in CONTEXTS[context]
        assert has_time == (callable(cls.__dict__.get("in_view"))), cls.__name__


async def test_the_app_asks_the_screen_on_top(make_app):
    app = make_app(155)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert keymap_context(app.screen) == "browser" and shows_moment(app.screen)
        assert isinstance(app.screen, ShowsMoment)
        await pilot.press("question_mark")
        await pilot.pause()
        assert keymap_context(app.screen) == "help" and not shows_moment(app.screen)
        assert not app.time.enabled()  # the time keys are off on the help screen

"""Small dialogs: a line of text checked as it is submitted (go to a time, rename a bookmark),
and the bookmark dialog (a label, optionally on the selected object).

A value the check rejects keeps the dialog open with the reason under the input, so a mistyped
time is fixed in place instead of being retyped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static

from khronoscope.core.safetext import safe_line
from khronoscope.tui.typeahead import PromptStaysOpen

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 40%; }}
{name} > Vertical {{
    width: 90; max-width: 100%; height: auto; max-height: 100%; overflow-y: auto;
    padding: 0 1; background: $panel; border: round $primary;
}}
{name} .title {{ text-style: bold; margin-bottom: 1; }}
{name} .hint {{ color: $text-muted; }}
{name} .error {{ color: $text-error; height: auto; }}
{name} Input {{ margin: 0; }}
"""


class TextPrompt(ModalScreen[Any]):
    """Ask for one line; `check(text)` returns the value to dismiss with or raises ValueError
    (its message is shown inline and the dialog stays)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]
    DEFAULT_CSS = DIALOG_CSS.format(name="TextPrompt")

    def __init__(
        self,
        title: str,
        check: Callable[[str], Any],
        value: str = "",
        placeholder: str = "",
        hint: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.check = check
        self.value = value
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        """Title, input, hint, error line."""
        with Vertical():
            yield Label(Text(safe_line(self.title_text)), classes="title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            if self.hint:
                yield Static(self.hint, classes="hint")
            yield Static("", classes="error", id="prompt-error")

    def on_mount(self) -> None:
        """Type straight away."""
        self.query_one(Input).focus()

    @property
    def error(self) -> str:
        """The reason shown for the last rejected value ("" if none)."""
        return str(self.query_one("#prompt-error", Static).render())

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = self.check(event.value)
        except ValueError as err:
            # a Text: the message quotes what was typed, which a str would parse as markup
            self.query_one("#prompt-error", Static).update(Text(safe_line(str(err))))
            self.post_message(PromptStaysOpen())
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        """Close without a value."""
        self.dismiss(None)


class BookmarkPrompt(ModalScreen[tuple[str, bool] | None]):
    """A label for a bookmark at `when`, and whether it is on `target` (an object)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+o", "toggle_object", "On the object", show=False),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="BookmarkPrompt")

    def __init__(self, when: str, target: str | None, on_object: bool, label: str = "") -> None:
        super().__init__()
        self.when = when
        self.target = target
        self.on_object = on_object and target is not None
        self.label = label

    def compose(self) -> ComposeResult:
        """Title, label input, the object checkbox."""
        with Vertical():
            yield Label(f"Bookmark {self.when}", classes="title")
            yield Input(self.label, placeholder="label (Enter: save, Esc: cancel)", id="label")
            if self.target is not None:
                label = Text(f"on {safe_line(self.target)}  (ctrl+o)")  # the object's name
                yield Checkbox(label, self.on_object, id="on-object")

    def on_mount(self) -> None:
        """Type the label straight away."""
        self.query_one(Input).focus()

    def action_toggle_object(self) -> None:
        """Bookmark the object too, or only the moment."""
        if self.target is not None:
            box = self.query_one(Checkbox)
            box.value = not box.value

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        on_object = self.target is not None and self.query_one(Checkbox).value
        self.dismiss((event.value.strip(), on_object))

    def action_cancel(self) -> None:
        """Close without a bookmark."""
        self.dismiss(None)

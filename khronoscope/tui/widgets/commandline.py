"""The bottom line where `:commands` and `/filters` are typed, with inline completion."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label


class TypeaheadApp(Protocol):
    """An app that holds keys typed while a prompt opens (KhronoscopeApp)."""

    def expect_typing(self) -> None:
        """Hold the keys that arrive until a text input has focus."""
        ...


class CompletionSuggester(Suggester):
    """Asks a function for the completed line (types first, then namespaces)."""

    def __init__(self, complete: Callable[[str], str | None]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._complete = complete

    async def get_suggestion(self, value: str) -> str | None:
        """The completion of `value`, if any."""
        return self._complete(value)


class PromptInput(Input):
    """An Input where Tab accepts the suggestion and Escape cancels (the footer says so while
    it has focus)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply"),
        Binding("tab", "accept_suggestion", "Complete"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def action_accept_suggestion(self) -> None:
        """Take the inline completion."""
        if self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)

    def action_cancel(self) -> None:
        """Close the prompt without doing anything."""
        parent = self.parent
        if isinstance(parent, CommandLine):
            parent.close(cancelled=True)


class CommandLine(Horizontal):
    """`:` or `/` prompt; posts Submitted(mode, text) on Enter."""

    DEFAULT_CSS = """
    CommandLine {
        height: 1;
        display: none;
        background: $boost;
    }
    CommandLine.-open { display: block; }
    CommandLine > Label { width: 2; padding: 0 0 0 1; color: $text-accent; text-style: bold; }
    CommandLine > PromptInput, CommandLine > PromptInput:focus {
        border: none; height: 1; padding: 0; background: $boost; width: 1fr;
    }
    """

    class Submitted(Message):
        """The user pressed Enter in mode `:` or `/`."""

        def __init__(self, mode: str, text: str) -> None:
            super().__init__()
            self.mode = mode
            self.text = text

    class Closed(Message):
        """The prompt was closed: by Enter, or cancelled by Escape."""

        def __init__(self, cancelled: bool = False) -> None:
            super().__init__()
            self.cancelled = cancelled

    class Changed(Message):
        """What is typed changed (a `/` filter applies as you type)."""

        def __init__(self, mode: str, text: str) -> None:
            super().__init__()
            self.mode = mode
            self.text = text

    def __init__(self, complete: Callable[[str], str | None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = ":"
        self._complete = complete

    def compose(self) -> ComposeResult:
        """Prompt label and input."""
        yield Label(":")
        yield PromptInput(suggester=CompletionSuggester(self._suggest), select_on_focus=False)

    def _suggest(self, value: str) -> str | None:
        return self._complete(value) if self.mode == ":" else None

    @property
    def is_open(self) -> bool:
        """True while the prompt is shown."""
        return self.has_class("-open")

    def open(self, mode: str, text: str = "") -> None:
        """Show the prompt in mode `:` or `/` with `text` already typed."""
        self.mode = mode
        self.query_one(Label).update(mode)
        field = self.query_one(PromptInput)
        field.value = text
        field.cursor_position = len(text)
        self.add_class("-open")
        cast("TypeaheadApp", self.app).expect_typing()
        field.focus()
        # a prompt that was hidden a moment ago cannot take focus until it is laid out again
        self.call_after_refresh(self._focus_field)

    def _focus_field(self) -> None:
        field = self.query_one(PromptInput)
        if self.is_open and not field.has_focus:
            field.focus()

    def close(self, cancelled: bool = False) -> None:
        """Hide the prompt."""
        self.remove_class("-open")
        self.post_message(self.Closed(cancelled))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.is_open:
            self.post_message(self.Changed(self.mode, event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        self.close()
        self.post_message(self.Submitted(self.mode, text))

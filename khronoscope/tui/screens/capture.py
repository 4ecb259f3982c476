"""Which containers of a pod to capture the logs of: all, one, or none any more."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from khronoscope.core.safetext import safe_line
from khronoscope.core.types import ObjectKey


class CaptureChoice(ModalScreen[str | None]):
    """A short list: "all containers", each container, "stop capturing" (when captured)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    CaptureChoice { align: center middle; }
    CaptureChoice > Vertical {
        width: 60; max-width: 100%; height: auto; max-height: 20; background: $panel;
        border: round $accent;
        padding: 0 1;
    }
    CaptureChoice OptionList { height: auto; max-height: 14; }
    """

    def __init__(self, key: ObjectKey, containers: list[str], current: frozenset[str] | None):
        super().__init__()
        self.key = key
        self.containers = containers
        self.current = current  # None: all containers are captured; empty: not captured

    def compose(self) -> ComposeResult:
        """The title and the choices."""
        options = [Option("all containers" + self._now(None), id="all")]
        for name in self.containers:
            # a str prompt would be read as markup: container names are the pod spec's text
            prompt = Text(f"only {safe_line(name)}" + self._now(name))
            options.append(Option(prompt, id=f"c:{name}"))
        if self.current is None or self.current:
            options.append(Option("stop capturing", id="stop"))
        with Vertical():
            yield Label(Text(f"Capture the logs of {safe_line(self.key.name)}"))
            yield OptionList(*options)

    def _now(self, name: str | None) -> str:
        if name is None:
            return "  (now)" if self.current is None else ""
        return "  (now)" if self.current is not None and name in self.current else ""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Return the choice: "all", a container name, or "stop"."""
        ident = event.option.id or ""
        self.dismiss(ident[2:] if ident.startswith("c:") else ident)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

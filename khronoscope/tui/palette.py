"""The command palette (ctrl+p): every keymap action and `:` command, found by what a k9s /
kubectl user types: a `:` command or one of its aliases (`goto`, `:t`), an action's name or id
(`step`, `time.step_next`), the key bound to it (`[`), or words of its description.

Textual's own provider matches a command's title only; ours matches each entry's terms with
Textual's fuzzy matcher and shows the title, so the palette keeps Textual's look and ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.screen import Screen

from khronoscope.tui.commands import CommandSpec
from khronoscope.tui.keymap import Action, Keymap, display_keys


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One command the palette offers: its title, help line, what it runs, and every term
    (besides the title) a query is matched against."""

    title: str
    help: str
    run: Callable[[], object]
    terms: tuple[str, ...] = ()

    @property
    def candidates(self) -> tuple[str, ...]:
        """The title first, then the other terms."""
        return (self.title, *self.terms)


def action_entry(action: Action, keymap: Keymap, run: Callable[[], object]) -> PaletteEntry:
    """A keymap action: its description, found also by its id, its Textual action and its keys."""
    keys = keymap.keys[action.id]
    return PaletteEntry(
        action.description,
        f"{keymap.display(action.id)}  ·  {action.id}",
        run,
        (action.id, action.action, *(display_keys((k,)) for k in keys)),
    )


def command_entry(spec: CommandSpec, run: Callable[[], object]) -> PaletteEntry:
    """A `:` command: its usage, found also by its name, its aliases (with or without `:`) and
    its description."""
    return PaletteEntry(
        f":{spec.usage}",
        spec.description,
        run,
        (spec.name, *spec.words, *(f":{w}" for w in spec.words), spec.description),
    )


class PaletteSource(Protocol):
    """The app whose commands the palette offers."""

    def palette_entries(self, screen: Screen) -> Iterable[PaletteEntry]:
        """The entries that apply on `screen`."""
        ...


def _highlight(matcher: Matcher, title: str) -> Content:
    """`title` with the letters the query matched in it highlighted (Matcher.highlight reads
    the title as markup, which drops `[NS]` from `:xray TYPE [NS]`)."""
    content = Content(title)
    score, offsets = matcher.fuzzy_search.match(matcher.query, title)
    if score:
        for offset in offsets:
            if not title[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


def _help_markup(text: str) -> str:
    # the palette reads help as markup: `[NS]` or a `[` key would be taken for a tag (Textual's
    # own escape() leaves upper-case tags alone)
    return text.replace("[", r"\[")


class KhronoscopeCommands(Provider):
    """The app's actions and `:` commands for Textual's command palette."""

    def _entries(self) -> list[PaletteEntry]:
        return list(cast(PaletteSource, self.app).palette_entries(self.screen))

    async def discover(self) -> Hits:
        """Everything, in title order, before anything is typed."""
        for entry in sorted(self._entries(), key=lambda e: e.title):
            yield DiscoveryHit(
                Content(entry.title), entry.run, text=entry.title, help=_help_markup(entry.help)
            )

    async def search(self, query: str) -> Hits:
        """Entries any of whose terms matches `query`, scored by the best of them."""
        matcher = self.matcher(query)
        for entry in self._entries():
            score = max(matcher.match(term) for term in entry.candidates)
            if score > 0:
                yield Hit(
                    score,
                    _highlight(matcher, entry.title),
                    entry.run,
                    text=entry.title,
                    help=_help_markup(entry.help),
                )

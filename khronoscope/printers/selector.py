"""Label selectors for the browser's filter (`-l app=web,tier!=db,env in (a,b),!legacy`).

Parsing is Kubernetes' own (khronoscope.core.selectors); matching works on a row's labels (a
tuple of pairs), so a selector filters a 10,000-pod table without decoding a single object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from khronoscope.core.selectors import (
    Requirement,
    SelectorError,
    parse_requirements,
)
from khronoscope.core.selectors import selector_from_match as selector_from_spec

__all__ = ["Selector", "SelectorError", "parse_selector", "selector_from_spec"]


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed label selector: all requirements must hold."""

    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Iterable[tuple[str, str]] | dict[str, str]) -> bool:
        """True when the labels (pairs or a dict) satisfy every requirement."""
        table = labels if isinstance(labels, dict) else dict(labels)
        return all(r.matches(table) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """Parse a label selector; raise SelectorError with a one-line reason."""
    if not text.strip():
        raise SelectorError("empty label selector")
    return Selector(text.strip(), tuple(parse_requirements(text)))

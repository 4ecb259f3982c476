"""Which pods' logs to capture: pods marked by the user and `--logs` selectors.

A selector marks every matching pod as it appears (so an incident is captured before anyone
looks); a mark is never taken back because a label changed later. Pure logic, no I/O.

`--logs` values:
  `-l app=web`        a label selector, every namespace (`app=web` works too: it has an operator)
  `shop`              every pod of namespace shop
  `shop/`             the same
  `shop/app=web`      a label selector in namespace shop (`shop/-l app` for a bare key)
  `shop/api-7d9f`     one pod by name
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.printers.selector import Selector, SelectorError, parse_selector

ALL = None  # a mark on every container of a pod
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_OPERATORS = re.compile(r"[=!()]|\s(in|notin)\s")


class LogSelectorError(ValueError):
    """A `--logs` value that cannot be read (the message is one line)."""


@dataclass(frozen=True, slots=True)
class LogSelector:
    """Pods to capture: in `namespace` (None: all), matching `selector`, or named `pod`."""

    text: str
    namespace: str | None = None
    selector: Selector | None = None
    pod: str | None = None

    def matches(self, key: ObjectKey, labels: Iterable[tuple[str, str]] | dict[str, str]) -> bool:
        """True when the pod `key` with `labels` is one to capture."""
        if self.namespace is not None and key.namespace != self.namespace:
            return False
        if self.pod is not None and key.name != self.pod:
            return False
        return self.selector is None or self.selector.matches(labels)


def parse_log_selector(text: str) -> LogSelector:
    """Read a `--logs` value (see the module's docstring); LogSelectorError when unreadable."""
    raw = text.strip()
    if not raw:
        raise LogSelectorError("--logs needs a namespace, a label selector or NAMESPACE/POD")
    namespace: str | None = None
    rest = raw
    if "/" in raw and not raw.startswith("-l"):
        namespace, _, rest = raw.partition("/")
        namespace = namespace.strip()
        if not _DNS.match(namespace):
            raise LogSelectorError(f"--logs {raw!r}: {namespace!r} is not a namespace name")
        rest = rest.strip()
        if not rest:
            return LogSelector(raw, namespace)
    elif not raw.startswith("-l") and not _OPERATORS.search(raw):
        if not _DNS.match(raw):
            raise LogSelectorError(
                f"--logs {raw!r}: not a namespace; use -l KEY=VALUE for a label selector"
            )
        return LogSelector(raw, raw)
    if rest.startswith("-l"):
        rest = rest[2:].lstrip(" =")
    elif namespace is not None and not _OPERATORS.search(rest):
        if not _DNS.match(rest):
            raise LogSelectorError(f"--logs {raw!r}: {rest!r} is not a pod name")
        return LogSelector(raw, namespace, pod=rest)
    try:
        selector = parse_selector(rest)
    except SelectorError as err:
        raise LogSelectorError(f"--logs {raw!r}: {err}") from None
    return LogSelector(raw, namespace, selector)


class LogMarks:
    """Marked pods (all containers, or a set of them) and the selectors that mark pods."""

    def __init__(self, selectors: Iterable[LogSelector] = ()) -> None:
        self.selectors: list[LogSelector] = list(selectors)
        self._marks: dict[ObjectKey, frozenset[str] | None] = {}
        self.version = 0

    def mark(self, key: ObjectKey, container: str | None = ALL) -> bool:
        """Mark a pod (every container, or one more container); True when it changed."""
        old = self._marks.get(key, frozenset())
        if container is ALL:
            new: frozenset[str] | None = None
        elif old is None:
            return False  # already every container
        else:
            new = old | {container}
        if key in self._marks and new == old:
            return False
        self._marks[key] = new
        self.version += 1
        return True

    def unmark(self, key: ObjectKey, container: str | None = ALL) -> bool:
        """Stop capturing a pod (or one of its containers); True when it changed."""
        if key not in self._marks:
            return False
        current = self._marks[key]
        if container is ALL or current is None or current == {container}:
            del self._marks[key]
        elif container in current:
            self._marks[key] = current - {container}
        else:
            return False
        self.version += 1
        return True

    def is_marked(self, key: ObjectKey) -> bool:
        """True when some container of the pod is marked."""
        return key in self._marks

    def containers(self, key: ObjectKey) -> frozenset[str] | None:
        """The marked containers of a pod (None: all of them); KeyError if not marked."""
        return self._marks[key]

    def wants(self, key: ObjectKey, container: str) -> bool:
        """True when this container's logs are to be captured."""
        if key not in self._marks:
            return False
        chosen = self._marks[key]
        return chosen is None or container in chosen

    def marked(self) -> dict[ObjectKey, frozenset[str] | None]:
        """Every mark."""
        return dict(self._marks)

    def apply_selectors(self, key: ObjectKey, labels: Iterable[tuple[str, str]] | dict) -> bool:
        """Mark the pod when a selector matches it; True when it became marked."""
        if key in self._marks or not self.selectors:
            return False
        table = labels if isinstance(labels, dict) else dict(labels)
        if any(s.matches(key, table) for s in self.selectors):
            return self.mark(key)
        return False

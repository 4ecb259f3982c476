"""The `:` command line: resource type aliases as kubectl and k9s accept them, and completion.

    :pods  :po  :deploy  :cm  :databases.example.com  :pods kube-system  :pods -A  :ns  :q

No UI here: `parse_command` returns what to do or raises CommandError with one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from khronoscope.core.safetext import is_safe
from khronoscope.core.types import ResourceType

QUIT_WORDS = frozenset({"q", "q!", "quit", "qa", "exit"})
ALL_NAMESPACES = frozenset({"-A", "--all-namespaces", "all", "*"})
# kubectl's preference when a short name is ambiguous (events vs events.events.k8s.io)
_GROUP_ORDER = ("", "apps", "batch", "networking.k8s.io", "autoscaling", "policy")


class CommandError(ValueError):
    """A command that cannot be run (unknown type, bad arguments): one line for the user."""


@dataclass(frozen=True)
class Command:
    """What a command line asks for: `view` a type (optionally a namespace) or `quit`."""

    kind: str
    type_name: str = ""
    namespace: str | None = None
    all_namespaces: bool = False


class Aliases:
    """Every name a type answers to: plural, singular, kind, short names, `plural.group`."""

    def __init__(self, types: Iterable[ResourceType], extra: Iterable[str] = ()) -> None:
        self._alias: dict[str, list[ResourceType | str]] = {}
        self.types: dict[str, ResourceType] = {}
        self._plurals: set[str] = set()
        for rt in types:
            self.types[rt.name] = rt
            self._plurals.add(rt.plural.lower())
            names = {rt.plural, rt.name, rt.kind.lower(), rt.singular, *rt.short_names}
            if rt.group:
                names.add(f"{rt.plural}.{rt.group}")
                names.add(f"{rt.kind.lower()}.{rt.group}")
            for n in names:
                if n:
                    self._alias.setdefault(n.lower(), []).append(rt)
        for name in extra:
            # types the store holds but discovery did not report (a recording's old CRDs)
            if name not in self.types:
                self._alias.setdefault(name.lower(), []).append(name)
                self._alias.setdefault(name.split(".", 1)[0].lower(), []).append(name)

    def resolve(self, word: str) -> str | None:
        """The type name an alias means, preferring core and well-known groups."""
        found = self._alias.get(word.lower())
        if not found:
            return None

        def rank(item: ResourceType | str) -> tuple[int, str]:
            if isinstance(item, str):
                return (len(_GROUP_ORDER) + 1, item)
            g = item.group
            return (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g)

        best = min(found, key=rank)
        return best if isinstance(best, str) else best.name

    def words(self) -> list[str]:
        """Every alias for completion: plurals first (`de` completes to `deployments`)."""
        return sorted(self._alias, key=lambda w: (w not in self._plurals, len(w), w))


def parse_command(text: str, aliases: Aliases) -> Command:
    """Read a command line (with or without the leading `:`)."""
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("empty command: try :pods, :deploy, :ns or :q")
    head, args = words[0], words[1:]
    if head.lower() in QUIT_WORDS:
        return Command("quit")
    type_name = aliases.resolve(head)
    if type_name is None:
        raise CommandError(f"unknown resource type {head!r} (try :pods, :deploy, :svc, :ns)")
    namespace: str | None = None
    all_ns = False
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word in ALL_NAMESPACES:
            all_ns = True
        elif word in ("-n", "--namespace"):
            if not rest:
                raise CommandError("-n needs a namespace")
            namespace = rest.pop(0)
        elif word.startswith("-"):
            raise CommandError(f"unknown option {word!r} (accepted: NAMESPACE, -n NAMESPACE, -A)")
        elif namespace is None:
            namespace = word
        else:
            raise CommandError(f"too many arguments: {' '.join(args)!r}")
    return Command("view", type_name, namespace, all_ns)


def complete(text: str, aliases: Aliases, namespaces: Iterable[str]) -> str | None:
    """The completed command line for what was typed so far, or None. A name holding
    control characters (a crafted recording) is never offered: the input would draw it raw."""
    if not text:
        return None
    if " " not in text:
        low = text.lower()
        for word in aliases.words():
            if word.startswith(low) and word != low and is_safe(word):
                return text + word[len(text) :]
        return None
    head, _, partial = text.rpartition(" ")
    if not partial or partial.startswith("-"):
        return None
    for ns in sorted(namespaces):
        if ns.startswith(partial) and ns != partial and is_safe(ns):
            return f"{head} {ns}"
    return None

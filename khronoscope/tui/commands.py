"""The `:` command line: one catalogue of commands that the parser, the help screen, completion
and the command palette all read (as the keymap's ACTIONS are for keys).

    :pods  :po kube-system  :dp -A  :sec  :pods /CrashLoop  :pods -l app=web  :goto -15m  :q

A word that is not a command is a resource type (see `aliases.py`). All of the grammar is
here, no UI: `parse_command` returns an Invocation whose arguments are already read (a speed,
an interval, a resolved type, a drift target...) or raises CommandError with one line; the app
maps each command name to its handler, which only acts.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from khronoscope.core.safetext import is_safe
from khronoscope.core.timefmt import TimeParseError
from khronoscope.tui.aliases import Aliases
from khronoscope.tui.playback import SPEEDS
from khronoscope.tui.travel import parse_interval

ALL_NAMESPACES = frozenset({"-A", "--all-namespaces", "all", "*"})


class CommandError(ValueError):
    """A command that cannot be run (unknown type, bad arguments): one line for the user."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One `:` command: its name (the handler's key), the words that call it, how it is used,
    what it does, and how many arguments it takes (`max_args` None: any number)."""

    name: str
    words: tuple[str, ...]
    usage: str
    description: str
    min_args: int = 0
    max_args: int | None = 0
    group: str = "app"

    @property
    def takes_args(self) -> bool:
        """True when it needs at least one argument (the palette opens the line for it)."""
        return self.min_args > 0


VIEW = CommandSpec(
    "view",
    (),
    "TYPE [NS | -n NS | -A] [/FILTER] [-l SELECTOR]",
    "show a resource type (any kubectl name, short name or k9s alias)",
    group="views",
)

COMMANDS: tuple[CommandSpec, ...] = (
    VIEW,
    CommandSpec("quit", ("q", "q!", "quit", "qa", "exit"), "q", "quit khronoscope", group="views"),
    CommandSpec("help", ("help", "h", "?"), "help", "every key and command", group="views"),
    CommandSpec("aliases", ("aliases", "alias", "a"), "aliases", "every type alias", group="views"),
    CommandSpec(
        "ctx",
        ("ctx", "context", "contexts"),
        "ctx [NAME]",
        "kubeconfig contexts; with a name: switch to it (live)",
        max_args=1,
        group="views",
    ),
    CommandSpec(
        "xray",
        ("xray", "x"),
        "xray TYPE [NS]",
        "owner tree at t: Deployment -> ReplicaSets -> Pods, with status",
        min_args=1,
        max_args=2,
        group="views",
    ),
    CommandSpec(
        "related",
        ("related", "rel", "owners"),
        "related",
        "the selected object's owners, children and events over time",
        group="views",
    ),
    CommandSpec(
        "drift",
        ("drift",),
        "drift DIR [--path SUBDIR] [--rev REV]",
        "this moment vs manifests in a Git directory",
        min_args=1,
        max_args=None,
        group="views",
    ),
    CommandSpec("export", ("export",), "export", "commit this moment to Git", group="views"),
    CommandSpec(
        "goto",
        ("goto", "go", "at", "t", "time"),
        "goto TIME",
        "go to 14:32, -15m, +30s, ISO 8601, start, end, now, a bookmark",
        min_args=1,
        max_args=None,
        group="time",
    ),
    CommandSpec("live", ("live", "now"), "live", "follow now again", group="time"),
    CommandSpec("start", ("start", "begin"), "start", "the start of the record", group="time"),
    CommandSpec("end", ("end",), "end", "the end of the record", group="time"),
    CommandSpec("pause", ("pause",), "pause", "stay at the moment shown", group="time"),
    CommandSpec(
        "play",
        ("play", "speed"),
        "play [SPEED]",
        "play at 1x, 4x, 0.5x, -2x (negative rewinds)",
        max_args=1,
        group="time",
    ),
    CommandSpec(
        "interval",
        ("interval",),
        "interval 5m",
        "what - and + jump by",
        min_args=1,
        max_args=1,
        group="time",
    ),
    CommandSpec(
        "trouble",
        ("trouble",),
        "trouble [next | prev]",
        "step to the next (previous) moment something went wrong in view",
        max_args=1,
        group="time",
    ),
    CommandSpec(
        "mark",
        ("mark", "bookmark"),
        "mark [LABEL]",
        "bookmark this moment",
        max_args=None,
        group="time",
    ),
    CommandSpec(
        "bookmarks", ("bookmarks", "marks"), "bookmarks", "the bookmark list", group="time"
    ),
    CommandSpec(
        "changes",
        ("changes", "changed", "whatchanged"),
        "changes [FROM [TO]]",
        "what changed from the last bookmark (or FROM) to the cursor (or TO)",
        max_args=2,
        group="time",
    ),
    CommandSpec(
        "history",
        ("history", "hist"),
        "history",
        "versions of the selected object",
        group="time",
    ),
    CommandSpec(
        "diff", ("diff",), "diff", "the selected object vs its previous version", group="time"
    ),
)

BY_NAME: dict[str, CommandSpec] = {c.name: c for c in COMMANDS}
_BY_WORD: dict[str, CommandSpec] = {w: c for c in COMMANDS for w in c.words}


@dataclass(frozen=True)
class DriftTarget:
    """`:drift`: where the manifests are (repository, directory inside it, revision)."""

    repo: str
    path: str = ""
    rev: str = "HEAD"


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: the command, its words, and its arguments as read (each field
    is set by the commands that take it)."""

    spec: CommandSpec
    args: tuple[str, ...] = ()
    raw_args: str = ""
    # a view, and :xray: the resolved type and where
    type_name: str = ""
    namespace: str | None = None
    all_namespaces: bool = False
    filter_text: str = ""
    text: str = ""  # :goto TIME, :mark LABEL, :ctx NAME (empty: none given)
    speed: float = 1.0  # :play
    direction: int = 1  # :trouble (next: 1, prev: -1)
    interval: int = 0  # :interval, ns
    times: tuple[str | None, str | None] = (None, None)  # :changes FROM TO (None: default)
    drift: DriftTarget | None = None

    @property
    def name(self) -> str:
        """The command's name (what the app's handler table is keyed by)."""
        return self.spec.name


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: words as typed
        return text.split()


def parse_command(text: str, aliases: Aliases, _depth: int = 0) -> Invocation:
    """Read a command line (with or without the leading `:`)."""
    body = text.strip().lstrip(":").strip()
    words = _split(body)
    if not words:
        raise CommandError("empty command: try :pods, :deploy, :ns, :aliases or :q")
    head, args = words[0], words[1:]
    spec = _BY_WORD.get(head.lower())
    if spec is not None:
        _check_count(spec, head, args)
        inv = Invocation(spec, tuple(args), body[len(head) :].strip())
        read = _READERS.get(spec.name)
        return read(inv, aliases) if read is not None else inv
    expanded = aliases.expand(head) if _depth == 0 else None
    if expanded is not None:
        # a user alias: its command line, then what was typed after it
        rest = body[len(head) :].strip()
        return parse_command(f"{expanded} {rest}".strip(), aliases, _depth + 1)
    type_name = aliases.resolve(head)
    if type_name is None:
        raise CommandError(
            f"unknown resource type {head!r} (:aliases lists them, :help the commands)"
        )
    return _view(type_name, args)


def _check_count(spec: CommandSpec, head: str, args: list[str]) -> None:
    if len(args) < spec.min_args:
        needed = " ".join(spec.usage.split()[1 : 1 + spec.min_args])
        raise CommandError(f":{head} needs {needed} (usage: :{spec.usage})")
    if spec.max_args is not None and len(args) > spec.max_args:
        if spec.max_args == 0:
            raise CommandError(f":{head} takes no arguments")
        raise CommandError(f"too many arguments for :{head} (usage: :{spec.usage})")


def _view(type_name: str, args: list[str]) -> Invocation:
    namespace: str | None = None
    all_ns = False
    filters: list[str] = []
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word in ALL_NAMESPACES:
            all_ns = True
        elif word in ("-n", "--namespace"):
            if not rest:
                raise CommandError("-n needs a namespace")
            namespace = rest.pop(0)
        elif word == "-l":
            if not rest:
                raise CommandError("-l needs a label selector, e.g. -l app=web")
            filters.append(f"-l {rest.pop(0)}")
        elif word.startswith("/"):
            filters.insert(0, word[1:])
        elif word.startswith("-"):
            raise CommandError(
                f"unknown option {word!r} (accepted: NAMESPACE, -n NAMESPACE, -A, /FILTER, -l SEL)"
            )
        elif namespace is None:
            namespace = word
        else:
            raise CommandError(f"too many arguments: {' '.join(args)!r}")
    return Invocation(
        VIEW, tuple(args), " ".join(args), type_name, namespace, all_ns, " ".join(filters)
    )


def _xray(inv: Invocation, aliases: Aliases) -> Invocation:
    """`:xray TYPE [NS]`: NS None is the browser's namespace; -A (all...) every namespace."""
    type_word = inv.args[0]
    type_name = aliases.resolve(type_word)
    if type_name is None:
        raise CommandError(f"unknown resource type {type_word!r} (:aliases lists them)")
    ns = inv.args[1] if len(inv.args) > 1 else None
    if ns in ALL_NAMESPACES:
        return replace(inv, type_name=type_name, all_namespaces=True)
    return replace(inv, type_name=type_name, namespace=ns)


def _text(inv: Invocation, aliases: Aliases) -> Invocation:
    return replace(inv, text=" ".join(inv.args))


def _play(inv: Invocation, aliases: Aliases) -> Invocation:
    if not inv.args:
        return inv
    text = inv.args[0]
    try:
        value = float(text.rstrip("xX"))
    except ValueError:
        raise CommandError(f"bad speed {text!r}: use 1, 4, 0.5, -2 (negative rewinds)") from None
    low, high = SPEEDS[0], SPEEDS[-1]
    if value == 0 or not low <= abs(value) <= high:
        raise CommandError(f"speed must be between {low:g} and {high:g} (or negative)")
    return replace(inv, speed=value)


def _interval(inv: Invocation, aliases: Aliases) -> Invocation:
    try:
        return replace(inv, interval=parse_interval(inv.args[0]))
    except TimeParseError as err:
        raise CommandError(str(err)) from None


def _trouble(inv: Invocation, aliases: Aliases) -> Invocation:
    word = inv.args[0].lower() if inv.args else "next"
    if word not in ("next", "prev", "previous"):
        raise CommandError("use :trouble, :trouble next or :trouble prev")
    return replace(inv, direction=1 if word == "next" else -1)


def _changes(inv: Invocation, aliases: Aliases) -> Invocation:
    start = inv.args[0] if inv.args else None
    end = inv.args[1] if len(inv.args) > 1 else None
    return replace(inv, times=(start, end))


def _drift(inv: Invocation, aliases: Aliases) -> Invocation:
    return replace(inv, drift=parse_drift_args(inv.raw_args))


def parse_drift_args(text: str) -> DriftTarget:
    """`DIR [--path SUBDIR] [--rev REV]` (the words after `:drift`)."""
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise CommandError(f":drift: {err}") from None
    repo, path, rev = "", "", "HEAD"
    while words:
        word = words.pop(0)
        if word in ("--path", "--rev"):
            if not words:
                raise CommandError(f":drift: {word} needs a value")
            value = words.pop(0)
            if word == "--path":
                path = value
            else:
                rev = value
        elif word.startswith("-"):
            raise CommandError(f":drift: unknown option {word!r} (accepted: --path, --rev)")
        elif not repo:
            repo = word
        else:
            raise CommandError(":drift takes one repository: :drift DIR [--path P] [--rev R]")
    if not repo:
        raise CommandError("usage: :drift DIR [--path SUBDIR] [--rev REV]")
    return DriftTarget(repo, path, rev)


# how each command's arguments are read (a command not here takes none, or only counts them)
_READERS: dict[str, Callable[[Invocation, Aliases], Invocation]] = {
    "xray": _xray,
    "ctx": _text,
    "goto": _text,
    "mark": _text,
    "play": _play,
    "interval": _interval,
    "trouble": _trouble,
    "changes": _changes,
    "drift": _drift,
}


def command_words() -> list[str]:
    """Every command word (for completion)."""
    return [w for c in COMMANDS for w in c.words if len(w) > 1 and w.isalpha()]


def complete(text: str, aliases: Aliases, namespaces: Iterable[str]) -> str | None:
    """The completed command line for what was typed so far, or None. A name holding
    control characters (a crafted recording) is never offered: the input would draw it raw."""
    if not text:
        return None
    if " " not in text:
        low = text.lower()
        for word in [*aliases.words(), *command_words()]:
            if word.startswith(low) and word != low and is_safe(word):
                return text + word[len(text) :]
        return None
    head, _, partial = text.rpartition(" ")
    if not partial or partial.startswith(("-", "/")):
        return None
    first = head.split()[0].lower() if head.split() else ""
    if first in _BY_WORD and first not in BY_NAME["xray"].words:
        return None  # a time, a label, a directory: nothing to offer
    for ns in sorted(namespaces):
        if ns.startswith(partial) and ns != partial and is_safe(ns):
            return f"{head} {ns}"
    return None


def help_lines() -> list[tuple[str, str]]:
    """(usage, description) of every command, views first, for the help screen."""
    out = []
    for spec in COMMANDS:
        words = [w for w in spec.words if w != spec.usage.split(" ", 1)[0]]
        usage = ":" + spec.usage + (f"  (also :{', :'.join(words)})" if words else "")
        out.append((usage, spec.description))
    return out

"""Key bindings: every action has an id; keybindings.toml holds the default keys; user files
override any of them; conflicts are reported and the conflicting change is not applied.

The catalogue below is the single list of actions: the widgets' BINDINGS, the help screen, the
footer and the command palette are all generated from it, so none can drift from the others.
"""

from __future__ import annotations

import itertools
import tomllib
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.binding import Binding

DEFAULT_FILE = "keybindings.toml"


@dataclass(frozen=True, slots=True)
class Action:
    """One bindable action: id (`table.yaml`), Textual action, description, shown in footer."""

    id: str
    action: str
    description: str
    footer: bool = False

    @property
    def scope(self) -> str:
        """`app`, `browser`, `table`, `detail`, `help`, `time`, `list`, or a screen's own."""
        return self.id.split(".", 1)[0]


ACTIONS: tuple[Action, ...] = (
    Action("app.command", "command_line", "Command", True),
    Action("app.help", "help", "Help", True),
    Action("app.palette", "command_palette", "Palette"),
    Action("app.quit", "quit", "Quit"),
    Action("app.export", "export", "Export this moment to Git"),
    Action("app.drift", "drift", "Drift: this moment vs a Git directory"),
    Action("browser.filter", "filter", "Filter", True),
    Action("browser.back", "back", "Back / clear filter"),
    Action("browser.wide", "toggle_wide", "Wide columns"),
    Action("browser.read_only", "read_only", "k9s's changing keys: say khronoscope is read-only"),
    Action("browser.quit", "quit_app", "Quit (q is Back on the other screens)"),
    Action("browser.ns_all", "namespace(0)", "All namespaces"),
    *(
        Action(f"browser.ns_{i}", f"namespace({i})", f"Favourite namespace {i}")
        for i in range(1, 10)
    ),
    Action("table.up", "cursor_up", "Up"),
    Action("table.down", "cursor_down", "Down"),
    Action("table.page_up", "page_up", "Page up"),
    Action("table.page_down", "page_down", "Page down"),
    Action("table.top", "top", "First row"),
    Action("table.bottom", "bottom", "Last row"),
    Action("table.left", "scroll_left", "Scroll left"),
    Action("table.right", "scroll_right", "Scroll right"),
    Action("table.open", "open", "Open", True),
    Action("table.describe", "describe", "Describe", True),
    Action("table.yaml", "yaml", "YAML", True),
    Action("table.sort_name", "sort('NAME')", "Sort by name"),
    Action("table.sort_namespace", "sort('NAMESPACE')", "Sort by namespace"),
    Action("table.sort_age", "sort('AGE')", "Sort by age"),
    Action("table.sort_status", "sort('STATUS')", "Sort by status"),
    Action("table.sort_ready", "sort('READY')", "Sort by ready"),
    Action("table.sort_restarts", "sort('RESTARTS')", "Sort by restarts"),
    Action("table.sort_node", "sort('NODE')", "Sort by node"),
    Action("table.sort_ip", "sort('IP')", "Sort by IP"),
    Action("table.sort_cpu", "sort('CPU')", "Sort by CPU usage"),
    Action("table.sort_memory", "sort('MEM')", "Sort by memory usage"),
    Action("table.capture_logs", "capture_logs", "Capture logs (mark / unmark)"),
    Action("table.logs", "logs", "Logs"),
    # time travel: bound on the app, active on the screens that show a moment
    Action("time.play", "time_play", "Play / pause", True),
    Action("time.slower", "time_slower", "Rewind / slower forward"),
    Action("time.faster", "time_faster", "Forward / slower rewind"),
    Action("time.step_prev", "time_step(-1)", "Previous change in view"),
    Action("time.step_next", "time_step(1)", "Next change in view"),
    Action("time.object_prev", "time_step_object(-1)", "Previous change of the selected object"),
    Action("time.object_next", "time_step_object(1)", "Next change of the selected object"),
    Action("time.trouble_next", "time_trouble(1)", "Next moment something went wrong in view"),
    Action("time.trouble_prev", "time_trouble(-1)", "Previous moment something went wrong"),
    Action("time.jump_back", "time_jump(-1)", "Jump back by the interval"),
    Action("time.jump_forward", "time_jump(1)", "Jump forward by the interval"),
    Action("time.interval", "time_interval", "Jump interval: 10s, 1m, 10m, 1h"),
    Action("time.zoom_in", "time_zoom_in", "Timeline: zoom in around the cursor"),
    Action("time.zoom_out", "time_zoom_out", "Timeline: zoom out (to the whole record)"),
    Action("time.goto", "time_goto", "Go to a time", True),
    Action("time.live", "time_live", "Back to live", True),
    Action("time.start", "time_start", "Start of the record"),
    Action("time.bookmark", "time_bookmark", "Bookmark this moment"),
    Action("time.bookmarks", "time_bookmarks", "Bookmarks (list, rename, delete)"),
    Action("time.bookmark_prev", "time_bookmark_step(-1)", "Previous bookmark"),
    Action("time.bookmark_next", "time_bookmark_step(1)", "Next bookmark"),
    Action("time.history", "time_history", "History of the selected object"),
    Action("time.diff", "time_diff", "Diff of the selected object"),
    Action("time.changes", "time_changes", "What changed since the last bookmark"),
    Action("time.related", "time_related", "Owners, children and events of the object"),
    Action("detail.back", "back", "Back", True),
    Action("detail.yaml", "show('yaml')", "YAML", True),
    Action("detail.describe", "show('describe')", "Describe", True),
    Action("detail.managed_fields", "toggle_managed_fields", "managedFields", True),
    Action("detail.top", "top", "Top"),
    Action("detail.bottom", "bottom", "Bottom"),
    Action("list.up", "cursor_up", "Up"),
    Action("list.down", "cursor_down", "Down"),
    Action("list.page_up", "page_up", "Page up"),
    Action("list.page_down", "page_down", "Page down"),
    Action("list.top", "top", "First line"),
    Action("list.bottom", "bottom", "Last line"),
    Action("history.back", "back", "Back", True),
    Action("history.diff", "diff", "Diff vs the version before", True),
    Action("history.yaml", "yaml", "YAML of this version", True),
    Action("diff.back", "back", "Back", True),
    Action("diff.previous", "against('previous')", "vs the previous version", True),
    Action("diff.live", "against('live')", "vs live (the end of a recording)", True),
    Action("diff.bookmark", "against('bookmark')", "vs a bookmark (again: the next one)", True),
    Action("diff.noise", "toggle_noise", "Show / hide noise", True),
    Action("diff.top", "top", "Top"),
    Action("diff.bottom", "bottom", "Bottom"),
    Action("bookmarks.back", "back", "Back", True),
    Action("bookmarks.go", "go", "Go there", True),
    Action("bookmarks.rename", "rename", "Rename", True),
    Action("bookmarks.delete", "delete", "Delete", True),
    Action("bookmarks.changes", "changes", "What changed from there to the cursor", True),
    Action("changes.back", "back", "Back", True),
    Action("changes.open", "open", "Diff of this object", True),
    Action("changes.noise", "toggle_noise", "Show / hide noise-only changes", True),
    Action("export.close", "close", "Close", True),
    Action("drift.back", "back", "Back", True),
    Action("drift.refresh", "refresh", "Compare again at the current moment", True),
    Action("logs.back", "back", "Back", True),
    Action("logs.search", "search", "Search", True),
    Action("logs.next_match", "next_match", "Next match"),
    Action("logs.previous_match", "previous_match", "Previous match"),
    Action("logs.container", "container", "Container", True),
    Action("logs.wrap", "wrap", "Wrap", True),
    Action("logs.follow", "follow", "Jump to t / follow", True),
    Action("logs.fetch", "fetch", "Fetch current + previous logs now (live)", True),
    Action("logs.top", "top", "Oldest line"),
    Action("logs.bottom", "bottom", "Newest line"),
    Action("help.close", "close", "Close", True),
    Action("aliases.back", "back", "Back", True),
    Action("aliases.open", "open", "Open the view", True),
    Action("contexts.back", "back", "Back", True),
    Action("contexts.switch", "switch", "Switch to this context", True),
    Action("xray.back", "back", "Back", True),
    Action("xray.open", "open", "Describe", True),
    Action("xray.yaml", "yaml", "YAML", True),
    Action("related.back", "back", "Back", True),
    Action("related.open", "open", "Describe", True),
    Action("related.yaml", "yaml", "YAML", True),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}

# Scopes whose bindings are active together (the app's bindings are active everywhere).
CONTEXTS: dict[str, tuple[str, ...]] = {
    "browser": ("app", "browser", "table", "time"),
    "detail": ("app", "detail", "time"),
    "help": ("app", "help"),
    "history": ("app", "history", "list", "time"),
    "diff": ("app", "diff", "time"),
    "bookmarks": ("app", "bookmarks", "list"),
    "changes": ("app", "changes", "list"),
    "export": ("app", "export"),
    "drift": ("app", "drift"),
    "logs": ("app", "logs", "time"),
    "aliases": ("app", "aliases", "list"),
    "contexts": ("app", "contexts", "list"),
    "xray": ("app", "xray", "list", "time"),
    "related": ("app", "related", "list", "time"),
}


class KeymapError(ValueError):
    """A keybindings file that cannot be read at all (one line, shown at start-up)."""


@dataclass
class Keymap:
    """Final keys per binding id, where each came from, and what was wrong with user files."""

    keys: dict[str, tuple[str, ...]]
    origin: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def bindings(self, scope: str) -> list[Binding]:
        """Textual bindings of one scope, with ids so `App.set_keymap` could remap them."""
        from textual.binding import Binding

        out = []
        for a in ACTIONS:
            if a.scope != scope:
                continue
            keys = self.keys[a.id]
            out.append(
                Binding(
                    ",".join(keys),
                    a.action,
                    a.description,
                    show=a.footer,
                    key_display=display_keys(keys[:1]),
                    id=a.id,
                    priority=a.id in ("app.quit", "app.palette"),
                )
            )
        return out

    def overrides(self) -> dict[str, str]:
        """Ids whose keys differ from the defaults, as Textual's keymap (`App.set_keymap`)."""
        defaults = default_keys()
        return {i: ",".join(k) for i, k in self.keys.items() if defaults.get(i) != k}

    def display(self, action_id: str) -> str:
        """The keys of one binding as the help screen prints them (`y`, `ctrl+c`, `esc, q`)."""
        return display_keys(self.keys[action_id])


def display_keys(keys: tuple[str, ...]) -> str:
    """Human text for Textual key names."""
    names = {
        "colon": ":",
        "slash": "/",
        "question_mark": "?",
        "escape": "esc",
        "exclamation_mark": "!",
        "comma": ",",
        "full_stop": ".",
        "less_than_sign": "<",
        "greater_than_sign": ">",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "left_curly_bracket": "{",
        "right_curly_bracket": "}",
        "left_parenthesis": "(",
        "right_parenthesis": ")",
        "minus": "-",
        "plus": "+",
        "equals_sign": "=",
        "apostrophe": "'",
    }
    return ", ".join(names.get(k, k) for k in keys)


# Textual's names for some characters (textual.keys.KEY_NAME_REPLACEMENTS); a test checks
# this agrees with Textual for every printable ASCII character
_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def _character_to_key(ch: str) -> str:
    # kept here, not imported from textual.keys, so reading the keymap does not import Textual
    if ch.isalnum():
        return ch
    try:
        name = unicodedata.name(ch).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return ch
    return _REPLACEMENTS.get(name, name)


def normalize_key(key: str) -> str:
    """A key as Textual names it: single characters become names (`?` -> `question_mark`)."""
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key.lower() if "+" in key else key


# Textual's names of the keys that are not characters (textual.keys.Keys; a test checks)
NAMED_KEYS = frozenset(
    {
        "escape", "enter", "return", "tab", "space", "backspace", "delete", "insert", "home",
        "end", "pageup", "pagedown", "up", "down", "left", "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def is_key(key: str) -> bool:
    """True if `key` (as normalize_key leaves it) names a key Textual can report: a character
    or its name (`y`, `G`, `question_mark`), a named key (`escape`, `f5`), with modifiers."""
    *mods, base = key.split("+") if key not in ("+", "plus") else [key]
    if any(m not in MODIFIERS for m in mods) or len(set(mods)) != len(mods) or not base:
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    if base in NAMED_KEYS or base in _REPLACEMENTS.values():
        return True
    return _character_named(base)


def _character_named(name: str) -> bool:
    # `less_than_sign` is the key of U+003C LESS-THAN SIGN: each `_` was a space or a `-`
    words = name.split("_")
    if len(words) > 8:
        return False
    for seps in itertools.product(" -", repeat=len(words) - 1):
        text = words[0] + "".join(sep + word for sep, word in zip(seps, words[1:], strict=True))
        try:
            ch = unicodedata.lookup(text)
        except KeyError:
            continue
        if _character_to_key(ch) == name:
            return True
    return False


def _parse_keys(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        # "," alone is the comma key; otherwise commas separate keys
        parts = [value] if value.strip() == "," else value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        return None
    keys = tuple(normalize_key(p) for p in parts if p.strip())
    return keys or None


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        name = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


def read_file(text: str, source: str) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Bindings in one TOML text: `[scope] name = "keys"` or `"scope.name" = "keys"`.

    Raises KeymapError when the text is not TOML; unknown ids and bad values are returned as
    problems (the rest of the file still applies).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise KeymapError(f"{source}: not valid TOML ({err})") from None
    found: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for action_id, value in _flatten(data).items():
        if action_id not in BY_ID:
            problems.append(f"{source}: unknown binding id {action_id!r} (ignored)")
            continue
        keys = _parse_keys(value)
        if keys is None:
            problems.append(
                f'{source}: {action_id} must be a key or keys like "y" or "ctrl+c,q" (ignored)'
            )
            continue
        bad = [k for k in keys if not is_key(k)]
        if bad:
            problems.append(
                f"{source}: {action_id} = {bad[0][:40]!r} is not a key: use a character, a name "
                'like "escape", "enter", "f5", "pageup", or "ctrl+"/"shift+"/"alt+" one (ignored)'
            )
            continue
        found[action_id] = keys
    return found, problems


_DEFAULTS: dict[str, tuple[str, ...]] | None = None


def default_text() -> str:
    """The packaged keybindings.toml."""
    return resources.files("khronoscope").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")


def default_keys() -> dict[str, tuple[str, ...]]:
    """Default keys of every action (from the packaged keybindings.toml)."""
    global _DEFAULTS
    if _DEFAULTS is None:
        found, problems = read_file(default_text(), DEFAULT_FILE)
        missing = [a.id for a in ACTIONS if a.id not in found]
        if problems or missing:
            raise KeymapError(f"packaged {DEFAULT_FILE} is broken: {problems or missing}")
        _DEFAULTS = found
    return dict(_DEFAULTS)


def user_file() -> Path:
    """The user's keymap in the XDG config dir."""
    from platformdirs import user_config_path

    return user_config_path("khronoscope") / DEFAULT_FILE


def conflicts(keys: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(key, id_a, id_b) for every key bound twice where both bindings are active together."""
    found: set[tuple[str, str, str]] = set()
    for scopes in CONTEXTS.values():
        seen: dict[str, str] = {}
        for a in ACTIONS:
            if a.scope not in scopes:
                continue
            for k in keys[a.id]:
                other = seen.get(k)
                if other is not None and other != a.id:
                    found.add((k, *sorted((other, a.id))))  # type: ignore[arg-type]
                else:
                    seen[k] = a.id
    return sorted(found)


def load_keymap(files: list[tuple[Path, bool]]) -> tuple[Keymap, list[str]]:
    """Defaults, then each file in order (path, required). Returns the keymap and start-up
    lines for files that could not be read (a missing optional file is not a problem).

    Raises KeymapError for a required file that does not exist.
    """
    keys = default_keys()
    origin = dict.fromkeys(keys, "default")
    problems: list[str] = []
    startup: list[str] = []
    changed: dict[str, str] = {}
    for path, required in files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if required:
                raise KeymapError(f"keymap file {path} does not exist") from None
            continue
        except (OSError, UnicodeDecodeError) as err:
            startup.append(f"keymap {path}: cannot read ({err}); using the defaults")
            continue
        try:
            found, file_problems = read_file(text, str(path))
        except KeymapError as err:
            startup.append(f"keymap {err}; using the defaults for this file")
            continue
        problems.extend(file_problems)
        for action_id, value in found.items():
            keys[action_id] = value
            origin[action_id] = str(path)
            changed[action_id] = str(path)
    defaults = default_keys()
    # a user change that collides with another active binding is reported, and undone
    while clash := [c for c in conflicts(keys) if c[1] in changed or c[2] in changed]:
        key, a, b = clash[0]
        culprit = a if a in changed else b
        other = b if culprit == a else a
        problems.append(
            f"{changed[culprit]}: {culprit} = {display_keys((key,))!r} conflicts with {other} "
            f"({display_keys(keys[other])}); kept {culprit} = {display_keys(defaults[culprit])!r}"
        )
        keys[culprit] = defaults[culprit]
        origin[culprit] = "default"
        del changed[culprit]
    return Keymap(keys, origin, problems), startup


DEFAULT_KEYMAP = Keymap(default_keys())
"""The defaults, from which the widgets' BINDINGS are made (user keys go through set_keymap)."""

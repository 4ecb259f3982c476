"""Start-up glue for the commands that open the browser: options, settings, running the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from khronoscope.core.safetext import safe_line
from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import TimeParseError, now_ns, parse_time
from khronoscope.errors import UsageError
from khronoscope.tui.aliases import read_user_aliases, user_aliases_file
from khronoscope.tui.keymap import KeymapError, load_keymap, user_file
from khronoscope.tui.settings import BrowserSettings

AT_HELP = (
    "start paused at this moment: ISO 8601 (2026-03-14T09:01:00Z), a clock time of today "
    "(14:32, 14:32:05) or relative to now (-15m, -2h30m)"
)


def add_browser_arguments(parser: argparse.ArgumentParser, at_help: str = AT_HELP) -> None:
    """Options every command that opens the browser accepts (the namespace shown first comes
    from the command's own `-n`: one watched namespace is the one shown). `live`, `demo` and
    `open` all call this, so `--at TIME` means the same everywhere (`open` passes its own help:
    relative times count from the recording's end there, see `build_settings(at_base=...)`)."""
    parser.add_argument("--at", metavar="TIME", default=None, help=at_help)
    parser.add_argument(
        "-c",
        "--command",
        dest="view_type",
        metavar="TYPE",
        default=None,  # None: pods (a recording without pods opens on pods without complaint)
        help="resource type to show first, as on the : line (default: pods)",
    )
    parser.add_argument(
        "--keymap",
        metavar="FILE",
        default=None,
        help="a keybindings.toml overriding the defaults (after the one in the XDG config dir)",
    )
    parser.add_argument("--utc", action="store_true", help="show times in UTC, not local time")


def build_settings(
    *,
    command: str = "pods",
    namespace: str | None = None,
    keymap: str | None = None,
    utc: bool = False,
    at: str | None = None,
    clock: Callable[[], int] = now_ns,
    user_keymap: Path | None = None,
    at_base: int | None = None,
    user_aliases: Path | None = None,
) -> BrowserSettings:
    """Settings from start-up options; bad options raise UsageError (one line).

    `at` is read like the go-to dialog reads a time, relative to `at_base` (default now; a
    recording passes its end) and in UTC with `utc`.
    """
    files: list[tuple[Path, bool]] = [(user_keymap or user_file(), False)]
    if keymap:
        files.append((Path(keymap).expanduser(), True))
    try:
        km, startup = load_keymap(files)
    except KeymapError as err:
        raise UsageError(str(err)) from None
    start = None
    if at:
        try:
            start = parse_time(at, clock() if at_base is None else at_base, UTC if utc else None)
        except TimeParseError as err:
            raise UsageError(f"--at: {err}") from None
    for line in startup:
        print(f"khronoscope: {safe_line(line)}", file=sys.stderr)
    aliases = read_user_aliases(user_aliases or user_aliases_file())
    return BrowserSettings(
        keymap=km,
        aliases=aliases,
        startup_messages=[*startup, *aliases.problems],
        type_name=command,
        namespace=namespace,
        at=start,
        tz=UTC if utc else None,
        clock=clock,
    )


def settings_from_args(args: argparse.Namespace, at_base: int | None = None) -> BrowserSettings:
    """Settings from the options `add_browser_arguments` declared (absent ones default, so a
    command without them can open the browser too); `at_base` as for build_settings."""
    namespace = getattr(args, "namespace", None)
    if isinstance(namespace, list | tuple):
        # `-n a -n b` watches two namespaces: show all; `-n a` shows a
        names = [n for item in namespace for n in str(item).split(",") if n]
        namespace = names[0] if len(names) == 1 else None
    return build_settings(
        command=getattr(args, "view_type", None) or "pods",
        namespace=namespace,
        keymap=getattr(args, "keymap", None),
        utc=bool(getattr(args, "utc", False)),
        at=getattr(args, "at", None),
        at_base=at_base,
    )


def run_app(
    source: HistorySource, settings: BrowserSettings | None = None, **options: object
) -> int:
    """Run the browser over `source` until the user quits; `options` as for build_settings."""
    from khronoscope.tui.app import create_app

    if settings is None:
        settings = build_settings(**options)  # type: ignore[arg-type]
    create_app(source, settings).run()
    return 0


async def run_app_async(
    source: HistorySource, settings: BrowserSettings | None = None, **options: object
) -> int:
    """The same inside a running event loop: a live session started on that loop first (so
    its one-line errors come before the screen is taken over) keeps feeding the app."""
    from khronoscope.tui.app import create_app

    if settings is None:
        settings = build_settings(**options)  # type: ignore[arg-type]
    await create_app(source, settings).run_async()
    return 0

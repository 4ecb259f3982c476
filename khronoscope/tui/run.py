"""Start-up glue for the commands that open the browser: options, settings, running the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import TimeParseError, now_ns, parse_time
from khronoscope.errors import UsageError
from khronoscope.tui.keymap import KeymapError, load_keymap, user_file
from khronoscope.tui.settings import BrowserSettings


def add_browser_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every command that opens the browser accepts (the namespace shown first comes
    from the command's own `-n`: one watched namespace is the one shown)."""
    parser.add_argument(
        "-c",
        "--command",
        dest="view_type",
        metavar="TYPE",
        default="pods",
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
) -> BrowserSettings:
    """Settings from start-up options; bad options raise UsageError (one line)."""
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
            start = parse_time(at, clock())
        except TimeParseError as err:
            raise UsageError(str(err)) from None
    for line in startup:
        print(f"khronoscope: {line}", file=sys.stderr)
    return BrowserSettings(
        keymap=km,
        startup_messages=startup,
        type_name=command,
        namespace=namespace,
        at=start,
        tz=UTC if utc else None,
        clock=clock,
    )


def settings_from_args(args: argparse.Namespace) -> BrowserSettings:
    """Settings from the options `add_browser_arguments` declared (absent ones default, so a
    command without them, like `demo`, can open the browser too)."""
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

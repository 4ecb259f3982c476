"""Shared by `history` and `diff`: opening a recording, naming objects, printing changes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from khronoscope.commands._history import (
    namespace_list,
    parse_moment,
    scope_filters,
    split_list,
)
from khronoscope.core.safetext import safe_json
from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.errors import UsageError
from khronoscope.export.scope import resolve_types
from khronoscope.printers.objdiff import ObjectDiff, object_diff
from khronoscope.recording.loss import ReportsLoss
from khronoscope.recording.opening import open_any


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --json, --show-secrets and namespace/type filters (cli.py reads `-15m` as a value)."""
    parser.add_argument("file", metavar="FILE", help="a recording")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        metavar="NS",
        help="only these namespaces (repeatable)",
    )
    parser.add_argument(
        "-t",
        "--type",
        action="append",
        metavar="TYPE",
        help="only these types (repeatable: pods, deploy, Deployment)",
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print Secret values the recording kept (redacted by default)",
    )
    from khronoscope.commands._cache import add_cache_argument

    add_cache_argument(parser)


def open_file(path: str, cache_mb: int | None = None) -> Any:
    """The recording (read lazily when segmented; a v0.1 file with its whole history loaded);
    damage is reported on stderr, once, in one block: the damaged bytes and times, and per type
    what cannot be read."""
    source = open_any(path, cache_mb=cache_mb)
    if isinstance(source, ReportsLoss):
        report = source.loss_report()
        if report.damaged:
            print(report.warning(path), file=sys.stderr)
    return source


def moment(text: str, source: HistorySource, what: str) -> int:
    """A time the user typed; relative times count back from the recording's end."""
    if source.start_t is None or source.end_t is None:
        raise UsageError(f"{what} {text[:60]}: the recording holds no readable change")
    return parse_moment(text, source, what)


def resolve_object(text: str, source: HistorySource, namespace: str | None) -> ObjectKey:
    """`TYPE/NAME` or `TYPE/NAMESPACE/NAME` (kubectl-like type names) as a recorded key."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"object {text!r}: use TYPE/NAME or TYPE/NAMESPACE/NAME (pods/web-1)")
    known = source.resource_types()
    types = resolve_types([parts[0]], known)
    ns = parts[1] if len(parts) == 3 else namespace
    name = parts[-1]
    found = source.tmap.keys_named(name, types, ns)
    if not found:
        where = f" in namespace {ns}" if ns else ""
        raise UsageError(f"{text}: no such object{where} in the recording")
    if len(found) > 1:
        spaces = ", ".join(sorted(k.namespace or "(cluster)" for k in found))
        raise UsageError(f"{text} exists in several namespaces ({spaces}): say which, -n NS")
    return found[0]


def key_filter(args: argparse.Namespace, source: HistorySource) -> Callable[[ObjectKey], bool]:
    """The --type and --namespace filters as a predicate on keys; a type or a namespace the
    recording does not know is a UsageError (a typo must not print "no changes")."""
    spaces, types = scope_filters(source, namespace_list(args.namespace), split_list(args.type))

    def wanted(key: ObjectKey) -> bool:
        if types is not None and key.type not in types:
            return False
        return spaces is None or key.namespace in spaces

    return wanted


def object_change(
    key: ObjectKey,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    t1: int,
    t2: int,
    show_all: bool,
    show_secrets: bool,
    by: str = "",
) -> ObjectDiff:
    """The diff of two versions as the app's diff screen makes it (printers.objdiff), labelled
    with the object and the times; `by` (who made the new one) goes in its header."""
    to = f"{key} {format_iso(t2)}" + (f" by {by}" if by and by != "-" else "")
    return object_diff(
        key, old, new, f"{key} {format_iso(t1)}", to, show_all, show_secrets=show_secrets
    )


def diff_text(diff: ObjectDiff) -> str:
    """The unified diff as text (empty when nothing shown differs)."""
    return "".join(line + "\n" for line in diff.lines)


def key_dict(key: ObjectKey) -> dict[str, str]:
    """A key as JSON fields."""
    return {"type": key.type, "namespace": key.namespace, "name": key.name}


def write_json(value: Any, out: TextIO) -> None:
    """One JSON document and a newline (the same values, but nothing a terminal would obey:
    `history --json` is also read on screens)."""
    out.write(safe_json(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()) + "\n")

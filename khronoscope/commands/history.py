"""`khronoscope history FILE [TYPE/NAME]`: the changes of a recording (or of one object)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from khronoscope.commands._changes import (
    add_common_arguments,
    key_dict,
    key_filter,
    moment,
    open_file,
    resolve_object,
    shown,
    write_json,
    yaml_diff,
)
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.temporal.diff import changed_paths

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope history`."""
    add_common_arguments(parser)
    parser.add_argument(
        "object",
        nargs="?",
        metavar="TYPE/NAME",
        help="one object (pods/web-1, deploy/prod/api); default: every change",
    )
    parser.add_argument("--since", metavar="T", help="from T (ISO 8601, 14:32, -15m from the end)")
    parser.add_argument("--until", metavar="T", help="up to T")
    parser.add_argument("--diff", action="store_true", help="print each change as a YAML diff")


def run(args: argparse.Namespace) -> int:
    """Print the changes, oldest first."""
    source = open_file(args.file, args.cache_mb)
    tmap = source.tmap
    start = moment(args.since, source, "--since") if args.since else None
    end = moment(args.until, source, "--until") if args.until else None
    key = resolve_object(args.object, source, _one(args.namespace)) if args.object else None
    wanted = key_filter(args, source.resource_types())
    if key is not None:
        refs = [r for r in tmap.changes(start, end, key.type, key.namespace) if r.key == key]
    else:
        refs = [r for r in tmap.changes(start, end) if wanted(r.key)]
    previous: dict[ObjectKey, dict[str, Any] | None] = {}
    entries = []
    for ref in refs:
        before = previous[ref.key] if ref.key in previous else tmap.get(ref.key, ref.t - 1)
        after = tmap.get(ref.key, ref.t)
        previous[ref.key] = after
        paths = changed_paths(before, after) if ref.kind == ChangeKind.MODIFIED else []
        entry: dict[str, Any] = {
            "t": ref.t,
            "time": format_iso(ref.t),
            "change": ref.kind.name,
            **key_dict(ref.key),
            "paths": paths,
        }
        if args.diff:
            a = shown(ref.key, before, args.show_secrets)
            b = shown(ref.key, after, args.show_secrets)
            entry["diff"] = yaml_diff(ref.key, a, b, ref.t - 1, ref.t)
        entries.append(entry)
    if args.json:
        write_json(entries, sys.stdout)
        return 0
    out = sys.stdout
    for e in entries:
        what = ObjectKey(e["type"], e["namespace"], e["name"])
        paths = ", ".join(e["paths"])
        out.write(f"{e['time']}  {e['change']:<8}  {what}{'  ' + paths if paths else ''}\n")
        if args.diff and e["diff"]:
            out.write(e["diff"])
    if not entries:
        print("no changes in the range asked", file=sys.stderr)
    return 0


def _one(namespaces: list[str] | None) -> str | None:
    return namespaces[0] if namespaces else None

"""`khronoscope diff FILE T1 T2 [TYPE/NAME]`: what changed between two moments of a recording."""

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
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.recording.loss import LossReport
from khronoscope.temporal.diff import changed_paths

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope diff`."""
    add_common_arguments(parser)
    parser.add_argument("t1", metavar="T1", help="from (ISO 8601, 14:32, -15m from the end)")
    parser.add_argument("t2", metavar="T2", help="to (same forms; `end` or `now`: the end)")
    parser.add_argument("object", nargs="?", metavar="TYPE/NAME", help="only this object")


def run(args: argparse.Namespace) -> int:
    """Print objects added, deleted and modified between T1 and T2; exit 1 if any, like diff."""
    try:
        return _run(args)
    except KhronoscopeError as err:
        # 1 means "differences" here, so every error is 2, as diff does
        raise KhronoscopeError(str(err), exit_code=2) from None


def _run(args: argparse.Namespace) -> int:
    source = open_file(args.file, args.cache_mb)
    tmap = source.tmap
    first, last = source.start_t, source.end_t
    if first is None or last is None:
        raise UsageError(f"{args.file} holds no readable change: nothing to compare")
    t1 = _moment(args.t1, source, "T1")
    t2 = _moment(args.t2, source, "T2")
    lo, hi = min(t1, t2), max(t1, t2)
    for t, name in ((t1, "T1"), (t2, "T2")):
        if not first - 1 <= t <= last:
            raise UsageError(
                f"{name} {format_iso(t)} is outside the recording "
                f"({format_iso(first)} .. {format_iso(last)})"
            )
    key = (
        resolve_object(args.object, source, args.namespace[0] if args.namespace else None)
        if args.object
        else None
    )
    wanted = key_filter(args, source)
    if key is not None:
        keys = {r.key for r in tmap.changes(lo + 1, hi, key.type, key.namespace) if r.key == key}
    else:
        keys = {r.key for r in tmap.changes(lo + 1, hi) if wanted(r.key)}
    added, deleted, modified = [], [], []
    loss = source.loss_report()
    for k in sorted(keys, key=str):
        a, b = tmap.get(k, t1), tmap.get(k, t2)
        if a == b:
            continue  # changed and changed back
        if a is None:
            added.append(k)
        elif b is None:
            deleted.append(k)
        else:
            sa, sb = shown(k, a, args.show_secrets), shown(k, b, args.show_secrets)
            modified.append((k, changed_paths(a, b), yaml_diff(k, sa, sb, t1, t2)))
    if args.json:
        doc: dict[str, Any] = {
            "from": format_iso(t1),
            "to": format_iso(t2),
            "added": [key_dict(k) for k in added],
            "deleted": [key_dict(k) for k in deleted],
            "modified": [{**key_dict(k), "paths": p, "diff": d} for k, p, d in modified],
        }
        write_json(doc, sys.stdout)
    else:
        out = sys.stdout
        out.write(
            f"{format_iso(t1)} .. {format_iso(t2)}: {len(added)} added, "
            f"{len(deleted)} deleted, {len(modified)} modified\n"
        )
        # names, paths and YAML are the cluster's text: shown, never obeyed by the terminal
        for k in added:
            out.write(safe_line(f"+ {k}{_damaged(loss, k)}") + "\n")
        for k in deleted:
            out.write(safe_line(f"- {k}{_damaged(loss, k)}") + "\n")
        for k, paths, text in modified:
            out.write(safe_line(f"~ {k}: {', '.join(paths)}{_damaged(loss, k)}") + "\n")
            out.write(safe_block(text))
    return 1 if added or deleted or modified else 0


def _damaged(loss: LossReport, key: ObjectKey) -> str:
    """A note on an object some of whose versions the damaged recording cannot give."""
    if key in loss.lost_objects or key in loss.restored or key in loss.corrected:
        return "  (damaged recording: some of its versions cannot be read)"
    return ""


def _moment(text: str, source: Any, what: str) -> int:
    if text.strip().lower() in ("end", "now", "live"):
        return source.end_t
    if text.strip().lower() == "start":
        return source.start_t
    return moment(text, source, what)

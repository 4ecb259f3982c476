"""`khronoscope diff FILE T1 T2 [TYPE/NAME]`: what changed between two moments of a recording."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from khronoscope.commands._changes import (
    add_common_arguments,
    diff_text,
    key_dict,
    key_filter,
    moment,
    object_change,
    open_file,
    resolve_object,
    write_json,
)
from khronoscope.commands._history import clamp_moment
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.printers.objdiff import ADDED, DELETED, MODIFIED, NOISE_LABEL, ObjectDiff
from khronoscope.recording.loss import LossReport

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope diff`."""
    add_common_arguments(parser)
    parser.add_argument("t1", metavar="T1", help="from (ISO 8601, 14:32, -15m from the end)")
    parser.add_argument("t2", metavar="T2", help="to (same forms; `end` or `now`: the end)")
    parser.add_argument("object", nargs="?", metavar="TYPE/NAME", help="only this object")
    parser.add_argument(
        "--all-fields",
        action="store_true",
        help=f"also show what every write changes ({NOISE_LABEL}), hidden by default",
    )


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
    t1 = clamp_moment(_moment(args.t1, source, "T1"), source, "T1")
    t2 = clamp_moment(_moment(args.t2, source, "T2"), source, "T2")
    lo, hi = min(t1, t2), max(t1, t2)
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
    added: list[ObjectKey] = []
    deleted: list[ObjectKey] = []
    modified: list[tuple[ObjectKey, ObjectDiff]] = []
    noise_only: list[ObjectKey] = []
    loss = source.loss_report()
    for k in sorted(keys, key=str):
        a, b = tmap.get(k, t1), tmap.get(k, t2)
        if a == b:
            continue  # changed and changed back
        # the app's diff screen makes the same diff (printers.objdiff): same paths, redaction
        change = object_change(k, a, b, t1, t2, args.all_fields, args.show_secrets)
        if change.change == ADDED:
            added.append(k)
        elif change.change == DELETED:
            deleted.append(k)
        elif change.change == MODIFIED:
            modified.append((k, change))
        else:
            noise_only.append(k)
    if args.json:
        doc: dict[str, Any] = {
            "from": format_iso(t1),
            "to": format_iso(t2),
            "added": [key_dict(k) for k in added],
            "deleted": [key_dict(k) for k in deleted],
            "modified": [
                {**key_dict(k), "paths": d.paths, "hidden": d.hidden, "diff": diff_text(d)}
                for k, d in modified
            ],
            "noise_only": [key_dict(k) for k in noise_only],
        }
        write_json(doc, sys.stdout)
    else:
        out = sys.stdout
        out.write(
            f"{format_iso(t1)} .. {format_iso(t2)}: {len(added)} added, "
            f"{len(deleted)} deleted, {len(modified)} modified"
            + (
                f" ({len(noise_only)} more changed only in {NOISE_LABEL}: --all-fields shows them)"
                if noise_only
                else ""
            )
            + "\n"
        )
        # names, paths and YAML are the cluster's text: shown, never obeyed by the terminal
        for k in added:
            out.write(safe_line(f"+ {k}{_damaged(loss, k)}") + "\n")
        for k in deleted:
            out.write(safe_line(f"- {k}{_damaged(loss, k)}") + "\n")
        for k, d in modified:
            out.write(safe_line(f"~ {k}: {', '.join(d.paths)}{_damaged(loss, k)}") + "\n")
            out.write(safe_block(diff_text(d)))
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

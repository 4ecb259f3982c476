"""`khronoscope history FILE [TYPE/NAME]`: the changes of a recording (or of one object)."""

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
from khronoscope.core.provenance import RECONSTRUCTED, Provenance, is_unknown
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import NS, format_iso
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.core.writers import WhoWrote, who_wrote
from khronoscope.printers.objdiff import NOISE_LABEL, is_noise, path_rank
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
    parser.add_argument(
        "--all-fields",
        action="store_true",
        help=f"also name the fields every write changes ({NOISE_LABEL}), hidden by default",
    )


def run(args: argparse.Namespace) -> int:
    """Print the changes, oldest first."""
    source = open_file(args.file, args.cache_mb)
    tmap = source.tmap
    start = moment(args.since, source, "--since") if args.since else None
    end = moment(args.until, source, "--until") if args.until else None
    key = resolve_object(args.object, source, _one(args.namespace)) if args.object else None
    wanted = key_filter(args, source)
    if key is not None:
        refs = [r for r in tmap.changes(start, end, key.type, key.namespace) if r.key == key]
    else:
        refs = [r for r in tmap.changes(start, end) if wanted(r.key)]
    store = source.provenance
    previous: dict[ObjectKey, dict[str, Any] | None] = {}
    # versions a damaged file could only read back from a keyframe: their change is not known
    loss = source.loss_report()
    entries = []
    for ref in refs:
        before = previous[ref.key] if ref.key in previous else tmap.get(ref.key, ref.t - 1)
        after = tmap.get(ref.key, ref.t)
        previous[ref.key] = after
        who = who_wrote(store, ref.key, ref.t, before, after)
        modified = (
            ref.kind == ChangeKind.MODIFIED
            and not who.unknown
            and not who.after_rebuilt
            and not is_unknown(before)
        )
        paths = changed_paths(before, after) if modified else []
        hidden = [] if args.all_fields else [p for p in paths if is_noise(p)]
        paths = sorted((p for p in paths if p not in hidden), key=path_rank)
        entry: dict[str, Any] = {
            "t": ref.t,
            "time": format_iso(ref.t),
            "change": "RESTORED" if loss.marked(ref.key, ref.t) else ref.kind.name,
            **key_dict(ref.key),
            "paths": paths,
            "hidden_paths": hidden,
            **who_dict(who),
        }
        if args.diff:
            # every field, as history lists every version (the noise a filter would hide too)
            change = object_change(
                ref.key, before, after, ref.t - 1, ref.t, True, args.show_secrets, who.label()
            )
            entry["diff"] = diff_text(change)
        entries.append(entry)
    if key is not None:
        entries += [mark_dict(m) for m in store.marks(key) if _within(m.t, start, end)]
        entries.sort(key=lambda e: (e["t"], e["change"] == "MARK"))
    if args.json:
        write_json(entries, sys.stdout)
        return 0
    out = sys.stdout
    digits = max((fraction_digits(e["t"]) for e in entries), default=0)
    for e in entries:
        e["time"] = aligned_iso(e["t"], digits)
        # names, paths, users and YAML are the cluster's text: shown, never obeyed
        out.write(safe_line(history_line(e)) + "\n")
        if args.diff and e.get("diff"):
            out.write(safe_block(e["diff"]))
    if not entries:
        print("no changes in the range asked", file=sys.stderr)
    return 0


def who_dict(who: WhoWrote) -> dict[str, Any]:
    """Who made a version, as JSON fields: `user` (the audit user, or null) beside `manager`
    (the field managers), the rest of the audit identity, the origin, and whether the content
    is known."""
    prov = who.provenance
    actor = prov.actor if prov is not None else None
    return {
        "user": who.user or None,
        "manager": ", ".join(who.managers) or None,
        "groups": list(actor.groups) if actor else [],
        "user_agent": actor.user_agent if actor else None,
        "source_ips": list(actor.source_ips) if actor else [],
        "origin": who.origin,
        "content": "unknown" if who.unknown else "known",
        "note": who.note or None,
    }


def mark_dict(m: Provenance) -> dict[str, Any]:
    """A mark (a note at a time, not a version) as a history entry."""
    return {
        "t": m.t,
        "time": format_iso(m.t),
        "change": "MARK",
        **key_dict(m.key),
        "paths": [],
        "user": m.user or None,
        "manager": None,
        "groups": list(m.actor.groups) if m.actor else [],
        "user_agent": m.actor.user_agent if m.actor else None,
        "source_ips": list(m.actor.source_ips) if m.actor else [],
        "origin": m.origin,
        "content": "known",
        "note": m.note or None,
    }


def history_line(e: dict[str, Any]) -> str:
    """One entry as a line of text."""
    what = ObjectKey(e["type"], e["namespace"], e["name"])
    line = f"{e['time']}  {e['change']:<8}  {what}"
    if e["change"] == "MARK":
        return f"{line}  [{e['origin']}] {e['note'] or ''}"
    by = e["user"] or ""
    if e["manager"]:
        by = f"{by} ({e['manager']})" if by else e["manager"]
    if by:
        line += f"  by {by}"
    if e["origin"] == RECONSTRUCTED:
        line += f"  [reconstructed{': ' + e['note'] if e['note'] else ''}]"
    elif e["content"] == "unknown":
        line += "  (content not in the audit log)"
    elif e["paths"]:
        line += "  " + ", ".join(e["paths"])
    elif e.get("hidden_paths"):
        line += f"  (only {NOISE_LABEL})"
    return line


def fraction_digits(t: int) -> int:
    """How many digits of t's fraction of a second are not trailing zeros."""
    frac = t % NS
    return len(f"{frac:09d}".rstrip("0")) if frac else 0


def aligned_iso(t: int, digits: int) -> str:
    """ISO 8601 in UTC with exactly `digits` fraction digits (t's own are never cut), so the
    times of one listing line up; still exact and accepted by --since/--at."""
    text = format_iso(t)
    if digits == 0:
        return text
    base, _, frac = text[:-1].partition(".")
    return f"{base}.{frac.ljust(digits, '0')}Z"


def _within(t: int, start: int | None, end: int | None) -> bool:
    return (start is None or t >= start) and (end is None or t <= end)


def _one(namespaces: list[str] | None) -> str | None:
    return namespaces[0] if namespaces else None

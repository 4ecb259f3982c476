"""`khronoscope import audit FILE... -o RECORDING | --into RECORDING|s3://...`: history from audit
logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from khronoscope.audit.importer import ImportStats, import_new
from khronoscope.audit.join import describe_join, import_into
from khronoscope.audit.segjoin import import_into_url
from khronoscope.commands._recording import StatusLine
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.errors import UsageError
from khronoscope.recording.remote import is_remote
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.segments.source import is_segmented

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`import audit` and its options."""
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    audit = sub.add_parser(
        "audit",
        help="kube-apiserver audit logs (JSON lines, rotated, .gz, managed-cluster exports)",
        description="Import kube-apiserver audit logs: every write they logged becomes a "
        "version with who made it (user, groups, user agent, source IPs). Writes logged "
        "without their body (Metadata level) are kept as 'changed by USER, content unknown'. "
        "Secret values are redacted as when recording.",
    )
    audit.add_argument("files", nargs="+", metavar="FILE", help="audit log files, in any order")
    target = audit.add_mutually_exclusive_group(required=True)
    target.add_argument("-o", "--output", metavar="RECORDING", help="write a new recording")
    target.add_argument(
        "--into",
        metavar="RECORDING",
        help="add the history before RECORDING began (a path or s3://BUCKET/PREFIX; written "
        "beside it, the recording itself is never rewritten) and attribute its versions",
    )
    audit.add_argument("--cluster", default="", help="the cluster's name (with -o)")
    audit.add_argument("-q", "--quiet", action="store_true", help="no progress")


def run(args: argparse.Namespace) -> int:
    """Import, showing progress; a summary on stderr."""
    paths = [Path(f) for f in args.files]
    status = StatusLine(interval=10.0)
    progress = None if args.quiet else _progress(status)
    if args.output is not None:
        from khronoscope.commands.record import new_recording_path

        out = new_recording_path(args.output)  # `-o ""` or `-o DIR/`: one line, exit 2
        if out.exists() or out.is_symlink():
            raise UsageError(f"{out} already exists: choose a new file (never overwritten)")
        stats = import_new(paths, out, cluster=args.cluster, progress=progress)
        where = str(out)
    elif is_remote(args.into):
        url = str(args.into).rstrip("/")
        stats = import_into_url(paths, url, progress=progress)
        where = f"{url} (history before it in {url}/{AUDIT_COMPANION})"
    else:
        into = Path(args.into)
        segmented = is_segmented(into)
        if not segmented and not into.is_file():
            raise UsageError(f"--into {into}: no such recording")
        stats = import_into(paths, into, progress=progress)
        part = f"{into}/{AUDIT_COMPANION}" if segmented else f"{into.name}.audit"
        where = f"{into} (history before it in {part})"
    status.clear()
    _summary(stats, where, bool(args.into))
    return 0


def _progress(status: StatusLine):  # type: ignore[no-untyped-def]
    def show(stats: ImportStats) -> None:
        r = stats.read
        pct = f"{100 * r.bytes_read / r.bytes_total:3.0f}% " if r.bytes_total else ""
        status.show(
            f"importing: {pct}{r.entries:,} entries, {stats.changes:,} changes, "
            f"{stats.rate:,.0f} entries/s"
        )

    return show


def _summary(stats: ImportStats, where: str, into: bool) -> None:
    r = stats.read
    span = ""
    if stats.first_t is not None and stats.last_t is not None:
        span = f", {format_iso(stats.first_t)} .. {format_iso(stats.last_t)}"
    _say(
        f"khronoscope: imported {r.entries:,} audit entries into {where}: "
        f"{stats.versions:,} versions, {stats.deletes:,} deletes, {stats.unknown:,} changes "
        f"with content not in the audit log{span}"
    )
    if into:
        _say(f"khronoscope: {describe_join(stats)}")
    skipped = dict(stats.skipped)
    if stats.stale:
        skipped["older than a version already imported"] = stats.stale
    if skipped:
        listed = ", ".join(f"{n:,} {why}" for why, n in sorted(skipped.items()))
        _say(f"khronoscope: skipped entries: {listed}")
    if r.garbage or r.truncated:
        _say(
            f"khronoscope: warning: {r.garbage:,} lines that are not audit entries and "
            f"{r.truncated:,} cut short were skipped"
        )
        for example in r.examples:
            _say(f"khronoscope:   {example}")


def _say(line: str) -> None:
    """One summary line on stderr: it quotes the audit log's own text (reasons, examples)."""
    sys.stderr.write(safe_line(line) + "\n")

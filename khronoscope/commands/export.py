"""`khronoscope export`: commit a moment (or a range, as history) of the cluster to Git."""

from __future__ import annotations

import argparse
import sys
import time

from khronoscope.commands._history import (
    add_source_arguments,
    check_live_moment,
    moment_in_range,
    namespace_list,
    open_source,
    scope_filters,
    split_list,
)
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.errors import UsageError
from khronoscope.export import ExportScope, Identity, SecretsMode, export_moment, export_range
from khronoscope.export.git import check_branch_name
from khronoscope.export.layout import normalize_prefix
from khronoscope.export.target import recorded_range

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope export`."""
    when = parser.add_argument_group("moment (default: the last recorded moment)")
    when.add_argument("--at", metavar="T", help="the moment: ISO 8601, 14:32, -15m (from the end)")
    when.add_argument("--from", dest="start", metavar="T1", help="export a range from T1 ...")
    when.add_argument("--to", dest="end", metavar="T2", help="... to T2 (default: the end)")
    parser.add_argument(
        "--repo", required=True, metavar="DIR", help="Git repository (created when missing)"
    )
    parser.add_argument("--branch", metavar="B", help="branch to commit to (default: HEAD's)")
    parser.add_argument(
        "--prefix", default="", metavar="DIR", help="directory inside the repository"
    )
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        metavar="NS",
        help="only these namespaces (live: also the only ones watched)",
    )
    parser.add_argument("-t", "--type", action="append", metavar="TYPE", help="only these types")
    parser.add_argument(
        "--include-skipped",
        action="store_true",
        help="also export owned objects (pods, replicasets...), events, endpoints, leases, nodes",
    )
    parser.add_argument(
        "--secrets",
        choices=[m.value for m in SecretsMode],
        default=SecretsMode.REDACT.value,
        help="redact values (default), omit Secrets, or write values in plain text",
    )
    parser.add_argument(
        "--author", metavar="'NAME <EMAIL>'", help="commit author (default: khronoscope)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the commit id")
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Export and print what was committed."""
    if args.at and (args.start or args.end):
        raise UsageError("give either --at T or --from T1 [--to T2], not both")
    if args.end and not args.start:
        raise UsageError("--to needs --from")
    identity = Identity.parse(args.author) if args.author else None
    secrets_mode = SecretsMode(args.secrets)
    # every check of what was typed comes before anything is read, connected or written
    prefix = normalize_prefix(args.prefix, "--prefix")
    namespaces = namespace_list(args.namespace)
    types = split_list(args.type)
    if args.branch is not None:
        check_branch_name(args.branch)
    if not args.recording:
        if args.start:
            raise UsageError(
                "--from/--to export a recorded range: a live cluster only has now "
                "(record it with khronoscope record -o FILE, then use --recording FILE)"
            )
        check_live_moment(args.at)
    # a live session redacts Secret values at ingest unless plain text was asked for
    source = open_source(args, keep_secret_values=secrets_mode is SecretsMode.PLAINTEXT)
    if secrets_mode is SecretsMode.PLAINTEXT:
        print(
            "khronoscope: warning: --secrets plaintext writes Secret values into Git history",
            file=sys.stderr,
        )
    known_spaces, known_kinds = scope_filters(source, namespaces, types)
    scope = ExportScope(
        namespaces=known_spaces,
        types=known_kinds,
        include_skipped=args.include_skipped,
        secrets=secrets_mode,
        prefix=prefix,
    )
    if args.start:
        return _range(args, source, scope, identity)
    t = moment_in_range(args.at, source) if args.at else recorded_range(source)[1]
    result = export_moment(source, t, args.repo, branch=args.branch, scope=scope, identity=identity)
    c = result.counts
    if args.quiet:
        if result.commit:
            print(result.commit)
    elif result.commit:
        # the cluster's name is the recording's (or the kubeconfig's) text
        print(
            safe_line(
                f"exported {source.info.cluster} @ {format_iso(t)} to {result.repo} "
                f"branch {result.branch}: commit {result.commit} "
                f"(+{c.added} ~{c.modified} -{c.deleted}, {result.files} objects)"
            )
        )
    else:
        print(
            safe_line(
                f"nothing changed: branch {result.branch} of {result.repo} already holds "
                f"{source.info.cluster} @ {format_iso(t)} (no commit)"
            )
        )
    return 0


def _range(args, source, scope, identity) -> int:  # type: ignore[no-untyped-def]
    t1 = moment_in_range(args.start, source, "--from")
    t2 = moment_in_range(args.end, source, "--to") if args.end else recorded_range(source)[1]
    progress = _ProgressLine() if not args.quiet else None
    try:
        result = export_range(
            source,
            t1,
            t2,
            args.repo,
            args.branch,
            scope,
            identity,
            progress=progress,
            checkout_progress=progress.files if progress else None,
        )
    finally:
        if progress:
            progress.close()
    if args.quiet:
        for _, commit in result.commits:
            print(commit)
        return 0
    c = result.counts
    resumed = (
        f", resumed after the export of {format_iso(result.resumed_from)}"
        if result.resumed_from is not None
        else ""
    )
    print(
        safe_line(
            f"exported {source.info.cluster} {format_iso(t1)} .. {format_iso(t2)} to "
            f"{result.repo} branch {result.branch}: {len(result.commits)} commits from "
            f"{result.changes} changes (+{c.added} ~{c.modified} -{c.deleted}){resumed}"
        )
    )
    return 0


class _ProgressLine:
    """`callback(done, total)` drawn as one self-erasing line on stderr (only on a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        self._draw(done, total, "exporting", "changes")

    def files(self, done: int, total: int) -> None:
        """The files written to the branch's checked-out work tree after the commits."""
        self._draw(done, total, "updating the work tree", "files")

    def _draw(self, done: int, total: int, what: str, unit: str) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        pct = 100 * done // total if total else 100
        sys.stderr.write(f"\r\033[K{what}: {done}/{total} {unit} ({pct}%)")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

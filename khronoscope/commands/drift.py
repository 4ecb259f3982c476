"""`khronoscope drift`: compare a moment of the cluster with manifests in Git (exit 0/1/2)."""

from __future__ import annotations

import argparse

from khronoscope.cluster.options import check_namespace
from khronoscope.commands._history import (
    add_source_arguments,
    check_live_moment,
    moment_in_range,
    namespace_list,
    open_source,
    scope_filters,
    split_list,
)
from khronoscope.core.safetext import safe_block
from khronoscope.errors import KhronoscopeError
from khronoscope.export import CompareMode, ExportScope, SecretsMode, compute_drift, format_report
from khronoscope.export.layout import normalize_prefix
from khronoscope.export.target import recorded_range

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope drift`."""
    parser.add_argument("--repo", required=True, metavar="DIR", help="Git repository of manifests")
    parser.add_argument("--rev", default="HEAD", help="commit, branch or tag (default HEAD)")
    parser.add_argument("--path", default="", metavar="DIR", help="directory inside the repository")
    parser.add_argument(
        "--at", metavar="T", help="the moment (default: the recording's end, or now when live)"
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
        "--compare",
        choices=[m.value for m in CompareMode],
        default=CompareMode.AUTO.value,
        help="exact (an export), declared (only fields in Git), auto (default)",
    )
    parser.add_argument(
        "--default-namespace",
        default="default",
        help="namespace of manifests that name none (default: default)",
    )
    parser.add_argument("--no-diff", action="store_true", help="field paths only, no YAML diff")
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print the drift report; 0 no drift, 1 drift, 2 error (like diff)."""
    try:
        # every check of what was typed comes before anything is read or connected
        path = normalize_prefix(args.path, "--path")
        namespaces, types = namespace_list(args.namespace), split_list(args.type)
        check_namespace(args.default_namespace, "--default-namespace")
        if not args.recording:
            check_live_moment(args.at)
        source = open_source(args)
        t = moment_in_range(args.at, source) if args.at else recorded_range(source)[1]
        scope = None
        if namespaces or types:
            known_spaces, known_kinds = scope_filters(source, namespaces, types)
            scope = ExportScope(
                namespaces=known_spaces, types=known_kinds, secrets=SecretsMode.REDACT
            )
        report = compute_drift(
            source,
            t,
            args.repo,
            rev=args.rev,
            path=path,
            scope=scope,
            mode=CompareMode(args.compare),
            default_namespace=args.default_namespace,
        )
    except KhronoscopeError as err:
        # 1 means "drift" here, so every error is 2, as diff does
        raise KhronoscopeError(str(err), exit_code=2) from None
    # names and YAML lines in the report are the cluster's (and Git's) text
    print(safe_block(format_report(report, with_diff=not args.no_diff)), end="")
    return report.exit_status

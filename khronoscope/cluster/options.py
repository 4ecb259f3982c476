"""Connection and filter options shared by every command that talks to a cluster."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from dataclasses import dataclass

from khronoscope.argtypes import number


@dataclass(frozen=True)
class ClusterOptions:
    """Which cluster to connect to and what to watch in it (the defaults: everything)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    exclude_namespaces: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keep_secret_values: bool = False
    logs: tuple[str, ...] = ()
    metrics_interval: float = 15.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClusterOptions:
        """Build from the namespace `add_cluster_arguments` filled; UsageError (one line, exit
        2) for a namespace that cannot exist or options that contradict each other."""
        options = cls(
            kubeconfig=getattr(args, "kubeconfig", None),
            context=getattr(args, "context", None),
            namespaces=_split(getattr(args, "namespace", None), "-n/--namespace"),
            exclude_namespaces=_split(
                getattr(args, "exclude_namespace", None), "--exclude-namespace"
            ),
            include=_split(getattr(args, "include", None), "--include"),
            exclude=_split(getattr(args, "exclude", None), "--exclude"),
            keep_secret_values=bool(getattr(args, "keep_secret_values", False)),
            logs=_log_selectors(getattr(args, "logs", None)),
            metrics_interval=_interval(getattr(args, "metrics_interval", None)),
        )
        options.check()
        return options

    def check(self) -> None:
        """Refuse what would silently watch nothing, or something other than what was asked."""
        from khronoscope.errors import UsageError

        for name in self.namespaces:
            check_namespace(name, "-n/--namespace")
        for name in self.exclude_namespaces:
            check_namespace(name, "--exclude-namespace")
        both = [n for n in self.namespaces if n in self.exclude_namespaces]
        if both:
            raise UsageError(
                f"namespace {both[0]!r} is given to both -n and --exclude-namespace: "
                "give it to only one"
            )
        for option, names in (("--include", self.include), ("--exclude", self.exclude)):
            for name in names:
                if not _TYPE_NAME.match(name):
                    raise UsageError(f"{option} {name[:60]!r} is not a resource type name")
        lowered = {n.lower() for n in self.exclude}
        both = [n for n in self.include if n.lower() in lowered]
        if both:
            raise UsageError(
                f"type {both[0]!r} is given to both --include and --exclude: give it to only one"
            )
        if self.context is not None and not self.context.strip():
            raise UsageError(
                "--context is empty: give a context name (kubectl config get-contexts)"
            )


# a namespace is a DNS-1123 label (what the API server accepts): one that is not can only be a
# typo, and watching it would silently show nothing
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# a type as typed (pods, po, Deployment, deployments.apps, deployments.v1.apps)
_TYPE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")


def check_namespace(name: str, what: str = "namespace") -> str:
    """`name` if it is a valid namespace name (a DNS-1123 label), else UsageError (exit 2)."""
    from khronoscope.errors import UsageError

    if len(name) > 63 or not _DNS_LABEL.match(name):
        shown = name if len(name) <= 63 else name[:60] + "..."
        raise UsageError(
            f"{what} {shown!r} is not a namespace name (lower-case letters, digits and '-', "
            "at most 63, starting and ending with a letter or digit)"
        )
    return name


def add_cluster_arguments(parser: argparse.ArgumentParser, namespace: bool = True) -> None:
    """Declare --kubeconfig, --context, -n/--namespace, --exclude-namespace, --include,
    --exclude, --keep-secret-values, --logs and --metrics-interval on `parser`.

    `namespace=False` leaves -n/--namespace to the command (export and drift declare it as
    their filter, repeatable into the same `namespace` list: it then also limits the watch)."""
    group = parser.add_argument_group("cluster")
    group.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config, "
        "then the in-cluster service account)",
    )
    group.add_argument(
        "--context", metavar="NAME", help="kubeconfig context (default: the current context)"
    )
    if namespace:
        group.add_argument(
            "-n",
            "--namespace",
            action="append",
            metavar="NS",
            help="watch only this namespace (repeatable, or comma-separated; default: all)",
        )
    group.add_argument(
        "--exclude-namespace",
        action="append",
        metavar="NS",
        help="do not watch this namespace (repeatable, or comma-separated)",
    )
    group.add_argument(
        "--include",
        action="append",
        metavar="TYPE",
        help="watch only these resource types: name, short name or plural.group "
        "(repeatable, or comma-separated; default: every type you may list and watch)",
    )
    group.add_argument(
        "--exclude",
        action="append",
        metavar="TYPE",
        help="do not watch these resource types (repeatable, or comma-separated)",
    )
    group.add_argument(
        "--keep-secret-values",
        action="store_true",
        help="keep Secret values as they are (default: each value is replaced by a short "
        "fingerprint at ingest, so a change stays visible but the value never is)",
    )
    group.add_argument(
        "--logs",
        action="append",
        metavar="SELECTOR",
        help="capture the logs of every matching pod as it appears (repeatable): a namespace "
        "(shop), a label selector ('-l app=web', or shop/app=web in one namespace) or "
        "NAMESPACE/POD",
    )
    group.add_argument(
        "--metrics-interval",
        type=number(0, 86400),
        metavar="SECONDS",
        help="poll metrics.k8s.io every SECONDS (default 15; 0: do not poll)",
    )


def _log_selectors(values: Iterable[str] | None) -> tuple[str, ...]:
    """--logs values, checked now so a typo is one line before anything connects."""
    from khronoscope.errors import UsageError
    from khronoscope.telemetry.marks import LogSelectorError, parse_log_selector

    out: list[str] = []
    for value in values or ():
        try:
            parse_log_selector(value)
        except LogSelectorError as err:
            raise UsageError(str(err)) from None
        if value.strip() not in out:
            out.append(value.strip())
    return tuple(out)


def _interval(value: float | None) -> float:
    from khronoscope.errors import UsageError

    if value is None:
        return 15.0
    if value < 0 or value != value:
        raise UsageError("--metrics-interval must be 0 (off) or a number of seconds")
    return float(value)


def _split(values: Iterable[str] | None, what: str = "an option") -> tuple[str, ...]:
    """Flatten repeated and comma-separated values, dropping blanks and duplicates (in order);
    a value that is blank as a whole (`-n ""`) is a UsageError, never "no filter"."""
    from khronoscope.errors import UsageError

    out: list[str] = []
    for value in values or ():
        if not value.replace(",", "").strip():
            raise UsageError(f"{what} is empty: give a name, or omit the option")
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)

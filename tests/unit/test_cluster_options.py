"""The cluster options as a user types them on the command line."""

from __future__ import annotations

import argparse

from khronoscope.cluster.options import ClusterOptions, add_cluster_arguments


def _parse(*argv: str) -> ClusterOptions:
    parser = argparse.ArgumentParser()
    add_cluster_arguments(parser)
    return ClusterOptions.from_args(parser.parse_args(list(argv)))


def test_defaults_watch_everything_with_secrets_redacted():
    opts = _parse()
    assert opts == ClusterOptions()
    assert not opts.namespaces and not opts.include and not opts.keep_secret_values


def test_repeated_and_comma_separated_values_are_flattened_in_order():
    opts = _parse(
        "-n", "a", "--namespace", "b,c", "-n", "a",
        "--include", "po,deploy", "--include", "cm",
        "--exclude", "events", "--exclude-namespace", "kube-system,kube-public",
        "--kubeconfig", "/tmp/k", "--context", "prod", "--keep-secret-values",
    )  # fmt: skip
    assert opts.namespaces == ("a", "b", "c")
    assert opts.include == ("po", "deploy", "cm")
    assert opts.exclude == ("events",)
    assert opts.exclude_namespaces == ("kube-system", "kube-public")
    assert (opts.kubeconfig, opts.context, opts.keep_secret_values) == ("/tmp/k", "prod", True)

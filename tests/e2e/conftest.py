"""Session fixtures for the end-to-end tier: real kube-apiservers, started once, always stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import kube


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[kube.KubeAPIServer]:
    """etcd + kube-apiserver + kube-controller-manager, watch cache on (as in production)."""
    server = kube.start()
    try:
        yield server
    finally:
        kube.stop(server.state)


@pytest.fixture(scope="session")
def kube_apiserver_nocache() -> Iterator[kube.KubeAPIServer]:
    """A second control plane with --watch-cache=false: a watch from a compacted
    resourceVersion then answers 410 Gone (used for relist/reconcile tests)."""
    server = kube.start(flags="--watch-cache=false", controller_manager=False)
    try:
        yield server
    finally:
        kube.stop(server.state)

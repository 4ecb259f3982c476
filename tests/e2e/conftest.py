"""Session fixtures for the end-to-end tier: real kube-apiservers, started once, always stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e import kube, s3


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


@pytest.fixture(scope="session")
def rgw() -> Iterator[s3.RGW]:
    """A real S3 server (Ceph RGW, memstore), its own state dir per test session."""
    server = s3.start()
    try:
        yield server
    finally:
        s3.stop(server)


@pytest.fixture
def s3_env(rgw: s3.RGW, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment pointed at the RGW (and nowhere else)."""
    env = rgw.client_env()
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    return env

"""The e2e tier's own sanity: the real server answers and the unprivileged user is refused."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_admin_lists_namespaces_and_user_is_forbidden(kube_apiserver):
    names = {
        ns["metadata"]["name"]
        for ns in json.loads(kube_apiserver.kubectl("get", "namespaces", "-o", "json"))["items"]
    }
    assert {"default", "kube-system"} <= names
    refused = kube_apiserver.run_kubectl("get", "pods", "-A", user=True)
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr.lower()

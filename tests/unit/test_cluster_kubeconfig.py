"""Finding and loading the user's kubeconfig the way kubectl does, never writing it back."""

from __future__ import annotations

import os

import pytest
import yaml

from khronoscope.cluster import kubeconfig as kc
from khronoscope.cluster.kubeconfig import kubeconfig_paths, load_credentials, merged_config
from khronoscope.errors import KhronoscopeError


def _config(path, contexts, current=None, token="t0", server="https://10.0.0.1:6443", **user):
    creds = {"token": token, **user} if token else user
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"c-{c}", "cluster": {"server": server}} for c in contexts],
        "users": [{"name": f"u-{c}", "user": creds} for c in contexts],
        "contexts": [
            {"name": c, "context": {"cluster": f"c-{c}", "user": f"u-{c}", "namespace": f"ns-{c}"}}
            for c in contexts
        ],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_explicit_path_then_kubeconfig_variable_then_default(tmp_path, monkeypatch):
    a = _config(tmp_path / "a", ["a"], "a")
    b = _config(tmp_path / "b", ["b"], "b")
    missing = str(tmp_path / "missing")
    env = {"KUBECONFIG": os.pathsep.join([missing, b, a, b])}
    assert kubeconfig_paths(a, env) == [a]
    assert kubeconfig_paths(None, env) == [b, a]  # missing entries skipped, duplicates once
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    default = _config(tmp_path / ".kube" / "config", ["d"], "d")
    assert kubeconfig_paths(None, {}) == [default]
    # a KUBECONFIG naming only missing files is used exclusively, as kubectl does
    assert kubeconfig_paths(None, {"KUBECONFIG": missing}) == []
    with pytest.raises(KhronoscopeError, match="kubeconfig not found: /nope"):
        kubeconfig_paths("/nope", env)


def test_merge_first_file_wins(tmp_path):
    first = _config(tmp_path / "1", ["shared", "one"], "one", token="first")
    second = _config(tmp_path / "2", ["shared", "two"], "two", token="second")
    merged = merged_config([first, second])
    assert merged.config.value["current-context"] == "one"
    names = [getattr(c, "value", c)["name"] for c in merged.config.value["contexts"]]
    assert sorted(names) == ["one", "shared", "two"]


async def test_load_context_and_its_credentials(tmp_path, monkeypatch):
    first = _config(tmp_path / "1", ["shared", "one"], "one", token="first")
    second = _config(tmp_path / "2", ["two"], "two", token="second", server="https://h2:443/")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second]))
    creds = await load_credentials(None, None)
    assert (creds.context, creds.cluster, creds.namespace) == ("one", "c-one", "ns-one")
    assert await creds.authorization() == "Bearer first"
    two = await load_credentials(None, "two")
    assert two.host == "https://h2:443" and await two.authorization() == "Bearer second"
    with pytest.raises(KhronoscopeError, match=r"context 'prod' not found .*available: shared"):
        await load_credentials(None, "prod")


async def test_token_file_is_reread_on_refresh_and_files_are_never_written(tmp_path):
    token = tmp_path / "token"
    token.write_text("old")
    path = _config(tmp_path / "cfg", ["c"], "c", token=None, tokenFile=str(token))
    before = (tmp_path / "cfg").read_bytes()
    creds = await load_credentials(path, None)
    assert await creds.authorization() == "Bearer old"
    assert await creds.refresh() is False  # nothing new: a retry would fail the same way
    token.write_text("new")
    assert await creds.refresh() is True
    assert await creds.authorization() == "Bearer new"
    assert (tmp_path / "cfg").read_bytes() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not a kubeconfig"),
        ("a: [1\n", "cannot read kubeconfig"),
        ("apiVersion: v1\nkind: Config\n", "has no current context"),
    ],
)
async def test_broken_kubeconfigs_are_one_line(tmp_path, text, message):
    (tmp_path / "cfg").write_text(text)
    with pytest.raises(KhronoscopeError, match=message) as info:
        await load_credentials(str(tmp_path / "cfg"), None)
    assert "\n" not in str(info.value)


async def test_no_kubeconfig_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KhronoscopeError, match="no kubeconfig found"):
        await load_credentials(None, None)


async def test_in_cluster_service_account(tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_text("not really a certificate")
    (sa / "namespace").write_text("monitoring")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(kc, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(kc, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    monkeypatch.setattr(kc, "_ssl_context", lambda cfg: None)
    creds = await load_credentials(None, None)
    assert creds.host == "https://10.0.0.1:443"
    assert creds.namespace == "monitoring"
    assert await creds.authorization() == "Bearer sa-token"


async def test_the_service_account_dir_can_be_pointed_elsewhere(tmp_path, monkeypatch):
    """As the e2e tier runs the recorder 'in a pod': only KUBERNETES_SERVICE_HOST/PORT and the
    service account's files, from a directory named by KHRONOSCOPE_SERVICEACCOUNT_DIR."""
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token-2")
    (sa / "ca.crt").write_text("not really a certificate")
    (sa / "namespace").write_text("khronoscope")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    monkeypatch.setenv("KHRONOSCOPE_SERVICEACCOUNT_DIR", str(sa))
    monkeypatch.setattr(kc, "_ssl_context", lambda cfg: None)
    creds = await load_credentials(None, None)
    assert creds.host == "https://127.0.0.1:6443"
    assert creds.namespace == "khronoscope"
    assert creds.context == kc.IN_CLUSTER
    assert creds.configuration.ssl_ca_cert == str(sa / "ca.crt")
    assert await creds.authorization() == "Bearer sa-token-2"

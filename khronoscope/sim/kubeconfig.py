"""Kubeconfig files for the clients of the simulated cluster (bearer token, HTTPS with its CA)."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from khronoscope.core.files import replace_file


def kubeconfig_text(
    server: str, token: str, user: str, context: str, namespace: str = "", ca_pem: bytes = b""
) -> str:
    """A one-context kubeconfig as YAML (with the CA that signed the server's certificate)."""
    ctx: dict[str, str] = {"cluster": context, "user": user}
    if namespace:
        ctx["namespace"] = namespace
    cluster: dict[str, str] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_kubeconfig(
    path: Path,
    server: str,
    token: str,
    user: str,
    context: str,
    namespace: str = "",
    ca_pem: bytes = b"",
) -> Path:
    """Write a kubeconfig readable only by its owner (it holds a token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, kubeconfig_text(server, token, user, context, namespace, ca_pem).encode())
    return path

"""What comes from the kubeconfig, its credential plugin and the server is bounded: an alias bomb
is refused (not 6 GB), a plugin that hangs is killed after a timeout, and no error line shows a
credential (a proxy echoing the Authorization header, a plugin printing its token)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from khronoscope.cluster.kubeconfig import (
    MAX_KUBECONFIG_NODES,
    check_kubeconfig_file,
    expanded_nodes,
)
from khronoscope.cluster.scrub import scrub
from khronoscope.errors import KhronoscopeError

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kJ8sd7f6g5h4j3k2l1QWERTYuiopASDFGHzxcv"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _kubeconfig(path: Path, server: str, user: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f'clusters: [{{name: c, cluster: {{server: "{server}"}}}}]\n'
        f"users: [{{name: u, user: {user}}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    return path


def _khronoscope(
    *argv: str, tmp: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    def limit_memory() -> None:  # an unbounded load must fail here, not take the machine
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))

    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
        preexec_fn=limit_memory,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp),
            "KUBECONFIG": "",
            **(env or {}),
        },
    )


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_in_one_line_and_little_memory(tmp_path):
    path = tmp_path / "bomb.yaml"
    _kubeconfig(path, "https://127.0.0.1:9", "{token: t, extra: *a9}")
    path.write_text(_bomb() + path.read_text())
    assert path.stat().st_size < 2000  # 10^10 strings once expanded
    started = time.monotonic()
    proc = _khronoscope("record", "-o", "r.khr", "--kubeconfig", str(path), tmp=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "alias" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "r.khr").exists()


def test_alias_expansion_is_counted_without_expanding():
    root = yaml.compose(_bomb(6))
    assert expanded_nodes(root, 10**9) > 10**6
    assert expanded_nodes(root, MAX_KUBECONFIG_NODES) > MAX_KUBECONFIG_NODES  # stops early
    assert expanded_nodes(yaml.compose("a: &x [1, 2]\nb: *x\n"), 100) == 9
    assert expanded_nodes(yaml.compose("a: &x [1, *x]\n"), 100) < 10  # recursive: once


def test_a_large_real_kubeconfig_is_accepted_and_a_huge_file_refused(tmp_path):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": f"c{i}",
                "cluster": {
                    "server": f"https://10.0.{i // 250}.{i % 250}:6443",
                    "certificate-authority-data": "QUJD" * 400,
                },
            }
            for i in range(1000)
        ],
        "users": [{"name": f"u{i}", "user": {"token": f"t{i}" * 20}} for i in range(1000)],
        "contexts": [
            {"name": f"x{i}", "context": {"cluster": f"c{i}", "user": f"u{i}"}} for i in range(1000)
        ],
        "current-context": "x0",
    }
    doc["clusters"][0]["cluster"]["tls-server-name"] = "*.example.com"  # not an alias, a star
    big = tmp_path / "big"
    big.write_text(yaml.safe_dump(doc))
    check_kubeconfig_file(str(big))  # a thousand contexts with their CA: fine
    huge = tmp_path / "huge"
    huge.write_bytes(b"# padding\n" * (2 * 1024 * 1024))
    with pytest.raises(KhronoscopeError, match="larger than 16 MiB"):
        check_kubeconfig_file(str(huge))


def _plugin(tmp_path: Path, body: str) -> str:
    script = tmp_path / "plugin.py"
    script.write_text(f"import os, sys, time\n{body}\n")
    return (
        "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
        f'command: "{sys.executable}", args: ["{script}"]}}}}'
    )


def test_a_credential_plugin_that_hangs_is_killed_after_the_timeout(tmp_path):
    pid_file = tmp_path / "plugin.pid"
    user = _plugin(
        tmp_path, f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)"
    )
    kc = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:9", user)
    started = time.monotonic()
    try:
        proc = _khronoscope(
            "record", "-o", "r.khr", "--kubeconfig", str(kc),
            tmp=tmp_path, env={"KHRONOSCOPE_EXEC_TIMEOUT": "1"}, timeout=30,
        )  # fmt: skip
        took = time.monotonic() - started
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert (
            "did not answer within 1 s" in proc.stderr and "KHRONOSCOPE_EXEC_TIMEOUT" in proc.stderr
        )
        assert took < 20
        pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed, not left behind
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_failing_plugin_never_shows_the_token_it_printed(tmp_path):
    user = _plugin(
        tmp_path,
        f"sys.stderr.write('refresh failed for token {JWT} (Authorization: Bearer {TOKEN})\\n')\n"
        "sys.exit(3)",
    )
    kc = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:9", user)
    proc = _khronoscope("record", "-o", "r.khr", "--kubeconfig", str(kc), tmp=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "exited with status 3" in proc.stderr
    _no_credential(proc.stderr)


def _no_credential(text: str) -> None:
    for secret in (TOKEN, JWT):
        for i in range(0, len(secret) - 8):
            assert secret[i : i + 8] not in text, (secret[i : i + 8], text)


@pytest.fixture
def echoing_server() -> Iterator[str]:
    """An HTTP server that answers every request with an error echoing its Authorization
    header: in a plain body (a proxy's error page) and in a Status message."""

    async def handler(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if request.path == "/version":
            body = f"<html><body>502 from proxy; request GET /version, {auth}" + " " * 300
            return web.Response(status=502, text=body + auth[7:] + "</body></html>")
        status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": f"no: {auth}"}
        return web.json_response(status, status=403)

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_an_error_body_echoing_the_token_is_cut_and_masked(tmp_path, echoing_server):
    kc = _kubeconfig(tmp_path / "kc", echoing_server, f'{{token: "{TOKEN}"}}')
    proc = _khronoscope("record", "-o", "r.khr", "--kubeconfig", str(kc), tmp=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "502" in proc.stderr and "proxy" in proc.stderr
    assert len(proc.stderr) < 500
    _no_credential(proc.stderr)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"Authorization: Bearer {TOKEN}", "Authorization"),
        (f"token {JWT} expired", "expired"),
        ("proxy http://bob:hunter2@proxy:3128 refused", "proxy:3128"),
        ("token=abcdefgh12345678 password: 'p4ssw0rd!'", "token="),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- x", "x"),
        ("bootstrap abcdef.0123456789abcdef joined", "joined"),
    ],
)
def test_scrub_masks_what_looks_like_a_credential(text, kept):
    out = scrub(text)
    assert kept in out and "\n" not in out
    for secret in (
        "hunter2",
        TOKEN,
        JWT[:20],
        "abcdefgh12345678",
        "p4ssw0rd",
        "MIIEow",
        "0123456789abcdef",
    ):
        assert secret not in out, out


def test_scrub_masks_a_fragment_of_a_known_secret_and_keeps_the_rest():
    text = f'cut here: ...{TOKEN[5:17]}... and pods is forbidden: User "system:admin"'
    out = scrub(text, [TOKEN])
    assert TOKEN[5:17] not in out and "***" in out
    assert 'pods is forbidden: User "system:admin"' in out
    assert len(scrub("x" * 10_000)) <= 300

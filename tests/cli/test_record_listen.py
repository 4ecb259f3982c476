"""`khronoscope record --listen`: health, readiness and Prometheus metrics of a running recorder."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from khronoscope import cli
from khronoscope.sim import SimClusterThread
from tests.cli.procs import Proc, configmap, synced, term

pytestmark = pytest.mark.timeout(90)
TYPES = "pods,deployments,configmaps,namespaces,nodes"


@pytest.fixture
def sim() -> Iterator[SimClusterThread]:
    with SimClusterThread(scenario="default", autorun=False, bookmark_interval=0.5) as s:
        s.advance(60)
        yield s


def _get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_recorder_serves_health_readiness_and_metrics(sim, tmp_path):
    path = tmp_path / "r.khr"
    p = Proc(
        "record", "-o", str(path), "--kubeconfig", str(sim.kubeconfig_path),
        "--include", TYPES, "--status-every", "0.3", "--listen", "127.0.0.1:0",
    )  # fmt: skip
    try:
        line = p.wait_line(lambda ln: "serving /healthz" in ln)
        port = int(re.search(r"port (\d+)", line).group(1))
        assert _get(port, "/healthz")[0] == 200
        p.wait_line(synced)
        status, _ctype, body = _get(port, "/readyz")
        assert (status, body) == (200, "ready\n")
        sim.call(sim.sim.store.create, "configmaps", configmap("during", v="1"))
        sim.advance(30)  # the bad rollout: pods change
        p.wait_line(lambda ln: synced(ln) and "changes/s" in ln)
        status, ctype, text = _get(port, "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        m = _samples(text)
        assert m[("khronoscope_changes_total", (("type", "configmaps"),))] >= 1
        assert m[("khronoscope_changes_total", (("type", "pods"),))] >= 10
        for t in ("pods", "configmaps", "namespaces"):
            assert m[("khronoscope_watch_live", (("type", t),))] == 1.0
        assert m[("khronoscope_objects", (("type", "namespaces"),))] >= 1
        assert m[("khronoscope_recording_bytes", ())] > 0
        assert ("khronoscope_watch_lag_seconds", (("type", "pods"),)) in m
        assert 0 <= m[("khronoscope_watch_lag_seconds", (("type", "pods"),))] < 60
        assert ("khronoscope_segments_uploaded_total", ()) in m
        assert _get(port, "/nope")[0] == 404
        code, _out, err = term(p)
    finally:
        p.kill()
    assert code == 0, err
    assert "Traceback" not in err


def test_readyz_says_what_it_waits_for_until_every_type_is_listed(sim, tmp_path):
    sim.sim.faults.delay(10.0, match=r"/pods")  # the pods list is slow to come
    p = Proc(
        "record", "-o", str(tmp_path / "r.khr"), "--kubeconfig", str(sim.kubeconfig_path),
        "--include", TYPES, "--status-every", "0.3", "--listen", "127.0.0.1:0",
    )  # fmt: skip
    try:
        line = p.wait_line(lambda ln: "serving /healthz" in ln)
        port = int(re.search(r"port (\d+)", line).group(1))
        seen = set()
        deadline = time.monotonic() + 9.0
        while time.monotonic() < deadline:  # the other types are listed; pods are not yet
            status, _ctype, body = _get(port, "/readyz")
            assert status == 503 and body.startswith("syncing: ")
            seen.add(body)
            if body == "syncing: 1 types not listed yet (pods)\n":
                break
            time.sleep(0.1)
        assert "syncing: 1 types not listed yet (pods)\n" in seen, seen
        assert _get(port, "/healthz")[0] == 200  # alive while syncing: no restart wanted
        sim.sim.faults.clear()
        p.wait_line(synced)
        assert _get(port, "/readyz")[0] == 200
        term(p)
    finally:
        p.kill()


def test_a_port_in_use_is_one_line_and_no_file_is_left(sim, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        p = Proc(
            "record", "-o", str(tmp_path / "r.khr"), "--kubeconfig", str(sim.kubeconfig_path),
            "--include", TYPES, "--listen", f"127.0.0.1:{port}",
        )  # fmt: skip
        p.p.wait(timeout=60)
        code, _out, err = p.stop()
    finally:
        taken.close()
    assert code == 1
    assert err.splitlines()[-1].startswith(f"khronoscope: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "needle"),
    [("8080", "use ADDR:PORT"), ("::1:80", "brackets"), ("h:99999", "use ADDR:PORT")],
)
def test_a_bad_listen_address_is_refused_before_connecting(tmp_path, value, needle):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["record", "-o", str(tmp_path / "r.khr"), "--listen", value])
    assert code == 2
    assert needle in err.getvalue()
    assert not (tmp_path / "r.khr").exists()

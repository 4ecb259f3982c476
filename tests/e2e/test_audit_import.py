"""Audit logs of a real kube-apiserver, imported: checked against an independent witness.

A kubectl story (create, scale, set image, patch, a CRD with custom resources, a ConfigMap and
a Secret edited by another user) runs against a control plane writing an audit log with a
managed-cluster-like policy (Secrets and ConfigMaps at Metadata level), while `kubectl get
--watch` processes record what happened, independently. Then:

- `import audit -o`: the state at several moments equals the witness's; users and user agents
  are in `history --json`; Metadata-only changes say their content is unknown; no Secret value
  anywhere;
- `record` started half-way (a segmented recording, as `record` writes now), then `import
  audit --into` it: one timeline, no seam at the join; the recording's own objects untouched.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from khronoscope.core.provenance import is_unknown
from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.source import open_recording
from tests.audit.test_join import snapshot
from tests.cli.procs import Proc
from tests.e2e import kube

pytestmark = pytest.mark.e2e

NS = "story"
ROOT = Path(__file__).resolve().parents[2]
SECRET_1 = "correct-horse-battery-staple-17"
SECRET_2 = "tr0ub4dor-and-3-more-words-42"
SCRIPT_AGENT = "story-script/1.0"
CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


class Witness:
    """`kubectl get TYPE --watch -o json --output-watch-events`: what happened, independently
    of khronoscope, each event stamped when it arrived."""

    def __init__(self, server: kube.KubeAPIServer, type_: str) -> None:
        self.type = type_
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.proc = subprocess.Popen(
            [
                "kubectl",
                "--kubeconfig",
                str(server.kubeconfig),
                "get",
                type_,
                "-n",
                NS,
                "--watch",
                "-o",
                "json",
                "--output-watch-events",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder = json.JSONDecoder()
        buf = ""
        while True:
            chunk = self.proc.stdout.readline()
            if not chunk:
                return
            buf += chunk
            while True:
                buf = buf.lstrip()
                try:
                    doc, end = decoder.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                self.events.append((time.time_ns(), doc["type"], doc["object"]))

    def state_at(self, t: int) -> dict[str, dict[str, Any]]:
        """Name -> object as the witness saw it at t."""
        out: dict[str, dict[str, Any]] = {}
        for at, kind, obj in list(self.events):
            if at > t:
                break
            name = obj["metadata"]["name"]
            if kind == "DELETED":
                out.pop(name, None)
            else:
                out[name] = obj
        return out

    def last(self) -> int:
        return self.events[-1][0] if self.events else 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def settle(witnesses: list[Witness], quiet: float = 1.2, timeout: float = 30.0) -> int:
    """Wait until no witness saw anything for `quiet` s; a moment inside that quiet time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        last = max(w.last() for w in witnesses)
        if time.time_ns() - last >= quiet * 1e9:
            return time.time_ns() - int(quiet * 1e9 / 3)
    raise AssertionError("the cluster did not settle")


def khronoscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )


def curl_patch(server: kube.KubeAPIServer, path: str, body: dict[str, Any]) -> None:
    """A write from a client of our own (its user agent shows in the audit log)."""
    out = subprocess.run(
        [
            "curl",
            "-sSk",
            "-X",
            "PATCH",
            "-H",
            f"Authorization: Bearer {server.token}",
            "-H",
            "Content-Type: application/merge-patch+json",
            "-A",
            SCRIPT_AGENT,
            "--data",
            json.dumps(body),
            f"{server.url}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and '"kind":"Status"' not in out.stdout.replace(" ", ""), out


def rvs(state: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: obj["metadata"]["resourceVersion"] for name, obj in state.items()}


def imported_rvs(tmap: Any, type_: str, t: int) -> dict[str, str]:
    return {
        k.name: obj["metadata"].get("resourceVersion", "")
        for k, obj in tmap.state_at(t, type_, NS).items()
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Run the story once; yield what the tests check."""
    work = tmp_path_factory.mktemp("audit-story")
    server = kube.start(audit=True)
    witnesses: list[Witness] = []
    record: Proc | None = None
    try:
        k = server.kubectl
        k("create", "namespace", NS)
        k("create", "rolebinding", "user-edit", "--clusterrole=edit", "--user=kapi-user", "-n", NS)
        for type_ in ("deployments", "configmaps", "secrets"):
            witnesses.append(Witness(server, type_))
        time.sleep(1.0)
        moments: dict[str, int] = {}
        k("-n", NS, "create", "deployment", "web", "--image=nginx:1.19")
        moments["created"] = settle(witnesses)
        k("-n", NS, "scale", "deployment", "web", "--replicas=3")
        moments["scaled"] = settle(witnesses)
        k("-n", NS, "set", "image", "deployment/web", "nginx=nginx:1.20")
        moments["image"] = settle(witnesses)
        curl_patch(
            server,
            f"/apis/apps/v1/namespaces/{NS}/deployments/web",
            {"metadata": {"labels": {"team": "payments"}}},
        )
        moments["patched"] = settle(witnesses)

        # half-way: a recorder starts
        rec = work / "half.khr"
        record = Proc(
            "record",
            "-o",
            str(rec),
            "--kubeconfig",
            str(server.kubeconfig),
            "-n",
            NS,
            "--status-every",
            "0.5",
        )
        record.wait_line(lambda line: "recording context" in line, timeout=60)
        record.wait_line(lambda line: "syncing" not in line and "khronoscope" not in line, 90)

        k("apply", "-f", "-", input=CRD)
        k("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=60s")
        time.sleep(1.0)
        witnesses.append(Witness(server, "widgets.example.com"))
        time.sleep(1.0)
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w1", "namespace": NS},
            "spec": {"size": 1},
        }
        k("apply", "-f", "-", input=json.dumps(widget))
        k("-n", NS, "patch", "widget", "w1", "--type=merge", "-p", '{"spec":{"size":2}}')
        moments["widget"] = settle(witnesses)
        k("-n", NS, "create", "configmap", "cfg", "--from-literal=mode=blue")
        server.kubectl(
            "-n", NS, "patch", "configmap", "cfg", "-p", '{"data":{"mode":"green"}}', user=True
        )
        moments["configmap"] = settle(witnesses)
        k("-n", NS, "create", "secret", "generic", "db", f"--from-literal=password={SECRET_1}")
        patch = json.dumps({"stringData": {"password": SECRET_2}})
        server.kubectl("-n", NS, "patch", "secret", "db", "-p", patch, user=True)
        moments["secret"] = settle(witnesses)
        k("-n", NS, "delete", "deployment", "web")
        k("-n", NS, "delete", "widget", "w1")
        moments["deleted"] = settle(witnesses)
        code, _, err = record.stop()
        assert code == 0, err
        record = None
        audit = work / "audit.log"
        audit.write_bytes((server.state / "audit.log").read_bytes())
        yield {"work": work, "audit": audit, "half": rec, "moments": moments, "w": witnesses}
    finally:
        for w in witnesses:
            w.stop()
        if record is not None:
            record.kill()
        kube.stop(server.state)


def test_the_imported_history_matches_the_witness(story):
    out = story["work"] / "imported.khr"
    done = khronoscope("import", "audit", str(story["audit"]), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stderr
    src = open_recording(out)
    witness = {w.type: w for w in story["w"]}
    for label, t in story["moments"].items():
        for type_, name in (("deployments", "deployments.apps"),):
            assert imported_rvs(src.tmap, name, t) == rvs(witness[type_].state_at(t)), label
        if "widgets.example.com" in witness and label in ("widget", "configmap", "deleted"):
            got = imported_rvs(src.tmap, "widgets.example.com", t)
            assert got == rvs(witness["widgets.example.com"].state_at(t)), label
        # Secrets and ConfigMaps are logged without bodies: the same objects exist, and their
        # state is said to be unknown rather than invented
        for type_ in ("configmaps", "secrets"):
            seen = witness[type_].state_at(t)
            state = src.tmap.state_at(t, type_, NS)
            assert {k.name for k in state} == set(seen), (label, type_)
            assert all(is_unknown(obj) for obj in state.values()), (label, type_)
    # the image and the replicas, as the witness saw them, at their moments
    web = ObjectKey("deployments.apps", NS, "web")
    assert src.tmap.get(web, story["moments"]["scaled"])["spec"]["replicas"] == 3
    image = src.tmap.get(web, story["moments"]["image"])["spec"]["template"]["spec"]
    assert image["containers"][0]["image"] == "nginx:1.20"


def test_who_did_it_users_and_user_agents(story):
    out = story["work"] / "imported-who.khr"
    assert khronoscope("import", "audit", str(story["audit"]), "-o", str(out), "-q").returncode == 0
    done = khronoscope("history", str(out), f"deployments.apps/{NS}/web", "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert entries[0]["change"] == "ADDED" and entries[0]["user"] == "kapi-admin"
    assert entries[0]["user_agent"].startswith("kubectl/")
    assert entries[0]["manager"] == "kubectl-create"
    agents = {e["user_agent"].split("/")[0] for e in entries}
    assert {"kubectl", "kube-controller-manager", SCRIPT_AGENT.split("/")[0]} <= agents
    scripted = [e for e in entries if e["user_agent"] == SCRIPT_AGENT]
    assert scripted and "metadata.labels.team" in scripted[0]["paths"]
    assert entries[-1]["change"] == "DELETED"

    cm = khronoscope("history", str(out), f"configmaps/{NS}/cfg", "--json")
    cm_entries = json.loads(cm.stdout)
    assert [e["user"] for e in cm_entries] == ["kapi-admin", "kapi-user"]
    assert all(e["content"] == "unknown" for e in cm_entries)
    text = khronoscope("history", str(out), f"configmaps/{NS}/cfg").stdout
    assert "by kapi-user  (content not in the audit log)" in text


def test_no_secret_value_anywhere(story):
    out = story["work"] / "imported-secrets.khr"
    assert khronoscope("import", "audit", str(story["audit"]), "-o", str(out), "-q").returncode == 0
    joined = story["work"] / "joined-secrets.khr"
    shutil.copytree(story["half"], joined)
    assert (
        khronoscope("import", "audit", str(story["audit"]), "--into", str(joined)).returncode == 0
    )
    outputs = []
    for rec in (out, joined):
        for args in (["history", str(rec), "--json", "--diff"], ["history", str(rec), "--diff"]):
            done = khronoscope(*args)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout.encode() + done.stderr.encode())
    recorded = snapshot(joined)
    assert AUDIT_COMPANION in recorded
    blobs = [out.read_bytes(), *recorded.values(), *outputs]
    for value in (SECRET_1, SECRET_2):
        for form in (value, base64.b64encode(value.encode()).decode()):
            for blob in blobs:
                assert form.encode() not in blob


def test_a_recording_started_half_way_and_the_audit_log_are_one_timeline(story):
    rec = story["work"] / "joined.khr"
    shutil.copytree(story["half"], rec)
    assert rec.is_dir()  # what `record` writes: a segmented recording
    before = snapshot(rec)
    done = khronoscope("import", "audit", str(story["audit"]), "--into", str(rec))
    assert done.returncode == 0, done.stderr
    after = snapshot(rec)
    # the recording itself is untouched: one object more, its imported history
    assert set(after) - set(before) == {AUDIT_COMPANION}
    assert all(after[name] == data for name, data in before.items())
    src = open_any(rec)
    # no seam: nothing at the join disagrees
    assert not [g for g in src.gaps() if "disagree" in g.reason], src.gaps()
    witness = {w.type: w for w in story["w"]}
    for label, t in story["moments"].items():
        got = imported_rvs(src.tmap, "deployments.apps", t)
        assert got == rvs(witness["deployments"].state_at(t)), label
    # the deployment's history runs from the audit log into the recording without a step: the
    # version listed when recording began is the audit's last one, not a second copy
    web = ObjectKey("deployments.apps", NS, "web")
    start = src.header["start"]
    times = [t for t, _ in src.tmap.history(web)]
    before_start = [t for t in times if t < start]
    assert before_start and times[0] < story["moments"]["created"]
    assert src.provenance.version(web, times[0]).origin == "audit"  # exact, not rebuilt
    last_audit = src.tmap.get(web, before_start[-1])
    assert last_audit["metadata"]["labels"]["team"] == "payments"
    versions = [src.tmap.get(web, t) for t in times]
    listed = [v["metadata"]["resourceVersion"] for v in versions if v is not None]
    assert len(listed) == len(set(listed))  # no version twice: the join has no copy, no step
    prov = src.provenance.version(web, before_start[-1])
    assert prov is not None and prov.user == "kapi-admin"
    # the recording's own versions are attributed: the Secret edit by kapi-user, matched by time
    db = ObjectKey("secrets", NS, "db")
    users = [src.provenance.version(db, t) for t, _ in src.tmap.history(db)]
    assert [p.user if p else None for p in users][:2] == ["kapi-admin", "kapi-user"]
    assert not any(is_unknown(src.tmap.get(db, t)) for t, _ in src.tmap.history(db))
    listed = khronoscope("history", str(rec), f"secrets/{NS}/db", "--json")
    assert [e["user"] for e in json.loads(listed.stdout)][:2] == ["kapi-admin", "kapi-user"]

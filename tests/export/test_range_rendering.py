"""A range export writes YAML only for manifests that changed: the files it skips are exactly
those a full render of the moment would have left as they were. Each commit's tree is checked
against an export of that moment alone (every object rendered again, the slow way)."""

from __future__ import annotations

import copy

from khronoscope.core.timefmt import NS
from khronoscope.export import export_moment, export_range, yamlfmt
from tests.export.conftest import all_blobs, git
from tests.export.scenario import T0, MemorySource, b64, configmap, deployment, secret


def tricky_history() -> tuple[MemorySource, list[int]]:
    """Changes a cache of rendered files could get wrong, one moment each."""
    src = MemorySource()
    web = deployment("web:1")
    cfg = configmap("settings", {"mode": "a"})
    src.put(T0, web)
    cfg_key = src.put(T0, cfg)
    moments = [T0]

    def at(n: int) -> int:
        t = T0 + n * 10 * NS
        moments.append(t)
        return t

    def web_with(**spec: object) -> dict:
        obj = copy.deepcopy(web)
        obj["spec"].update(spec)
        obj["metadata"]["resourceVersion"] = str(len(moments))
        return obj

    # values equal in Python (1 == True == 1.0) but written differently in YAML
    src.put(at(1), web_with(paused=1))
    src.put(at(2), web_with(paused=True))
    src.put(at(3), web_with(paused=1.0))
    src.put(at(4), web_with(paused=1))
    # a status-only change: the file stays as it is
    status_only = web_with(paused=1)
    status_only["status"] = {"replicas": 9}
    src.put(at(5), status_only)
    # back to a manifest seen before
    src.put(at(6), web_with(paused=True))
    # removed, then back with the very manifest it had
    src.delete(at(7), cfg_key)
    src.put(at(8), copy.deepcopy(cfg))
    # owned by a controller (not exported), then released with the same manifest
    owned = copy.deepcopy(cfg)
    owned["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Thing", "name": "x", "uid": "u", "controller": True}
    ]
    src.put(at(9), owned)
    src.put(at(10), copy.deepcopy(cfg))
    # two objects at the same moment, one of them only in status
    t = at(11)
    src.put(t, configmap("settings", {"mode": "b"}))
    src.put(t, status_only)
    # a Secret as a session records it (values replaced by fingerprints), rotated and back
    for n, print_ in enumerate((FIRST, SECOND, FIRST), start=12):
        creds = secret({})
        creds["data"] = {"password": print_, "user": PLAIN}
        src.put(at(n), creds)
    return src, moments


FIRST, SECOND = "<redacted:0123456789ab>", "<redacted:ba9876543210>"
PLAIN = b64("admin-user")


def test_every_commit_has_the_tree_an_export_of_its_moment_alone_gives(tmp_path):
    src, moments = tricky_history()
    repo = tmp_path / "range"
    result = export_range(src, moments[0], moments[-1], repo)
    committed = dict(result.commits)
    # the status-only change makes no commit; every other moment does
    assert sorted(committed) == [t for i, t in enumerate(moments) if i != 5]
    for i, t in enumerate(moments):
        single = tmp_path / f"single-{i}"
        export_moment(src, t, single)
        expected = git(single, "rev-parse", "HEAD^{tree}")
        # a moment without a commit keeps the tree of the commit before it
        commit = committed.get(t) or committed[moments[i - 1]]
        assert git(repo, "rev-parse", f"{commit}^{{tree}}") == expected, f"moment {i}"
    shown = git(repo, "show", f"{committed[moments[3]]}:app/deployments.apps/web.yaml")
    assert "  paused: 1.0\n" in shown
    # each rotation is a commit showing the fingerprint; the plain value never reaches Git
    for i, print_ in ((12, FIRST), (13, SECOND), (14, FIRST)):
        creds = git(repo, "show", f"{committed[moments[i]]}:app/secrets/db-creds.yaml")
        assert f"password: {print_}" in creds.replace("'", "")
    assert PLAIN.encode() not in b"".join(all_blobs(repo))


def test_a_change_only_in_status_writes_no_yaml(tmp_path, monkeypatch):
    src = MemorySource()
    web = deployment("web:1")
    src.put(T0, web)
    for n in range(1, 6):
        again = copy.deepcopy(web)
        again["metadata"]["resourceVersion"] = str(1000 + n)
        again["status"] = {"readyReplicas": n}
        src.put(T0 + n * NS, again)
    changed = copy.deepcopy(web)
    changed["spec"]["replicas"] = 5
    src.put(T0 + 10 * NS, changed)
    written = []
    real = yamlfmt.dump

    def counting(obj, **kwargs):
        if isinstance(obj, dict) and "kind" in obj:
            written.append(obj["spec"]["replicas"])
        return real(obj, **kwargs)

    monkeypatch.setattr(yamlfmt, "dump", counting)
    result = export_range(src, T0, T0 + 10 * NS, tmp_path / "r")
    # the state at t1, then only the change a user sees in the file
    assert written == [2, 5]
    assert [t for t, _ in result.commits] == [T0, T0 + 10 * NS]

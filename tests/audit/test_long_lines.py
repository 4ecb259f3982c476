"""Long lines that are skipped without parsing their bodies (reads answered with a list,
unfinished stages) are counted exactly as if parsed, and no line that could be a change, a
garbage line or a truncated one is ever taken for one of them."""

from __future__ import annotations

import json

import pytest

from khronoscope.audit.files import HEAD_ONLY_MIN
from khronoscope.audit.importer import import_new
from khronoscope.recording.source import open_recording
from tests.audit.lines import deployment, event, line, pod
from tests.audit.test_entries import WEB

# a list of pods as a read of them answers: long enough to be looked at before it is parsed
PODS = {
    "kind": "PodList",
    "apiVersion": "v1",
    "metadata": {"resourceVersion": "99"},
    "items": [pod(f"web-{i}", 100 + i, labels={"pad": "x" * 200}) for i in range(80)],
}


def long(ev: dict) -> bytes:
    out = line(ev)
    assert len(out) > HEAD_ONLY_MIN
    return out


def a_read(second: float, verb: str = "list") -> dict:
    return event(second, verb, "pods", "" if verb == "list" else "web-1", response=PODS)


def web(second: float, rv: int, verb: str = "create", **kw) -> dict:
    d = deployment("web", rv, replicas=rv - 9, pad="y" * HEAD_ONLY_MIN)
    return event(second, verb, "deployments", "web", group="apps", request=d, response=d, **kw)


def replicas(out) -> list[int]:
    src = open_recording(out)
    return [src.tmap.get(WEB, t)["spec"]["replicas"] for t, _ in src.tmap.history(WEB)]


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_long_reads_and_unfinished_stages_are_counted_as_skipped(tmp_path, worker):
    lines = [
        long(a_read(1)),
        long(web(2, 10)),
        long(a_read(3, "get")),
        long(web(4, 11, verb="update", stage="ResponseStarted")),
        long(a_read(5, "watch")).replace(b"\n", b"\r\n"),
        long(web(6, 12, verb="update")),
    ]
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(lines))
    stats = import_new([log], tmp_path / "r.khr", worker=worker)
    assert stats.read.entries == 6 and stats.read.garbage == 0
    assert stats.skipped == {"read": 3, "other stage": 1}
    assert replicas(tmp_path / "r.khr") == [1, 3]


def _tamper(ev: dict, old: bytes, new: bytes) -> bytes:
    raw = long(ev)
    assert raw.count(old) == 1
    return raw.replace(old, new)


def adversarial() -> list[tuple[str, bytes]]:
    """Changes whose lines say `get` or another stage somewhere other than where the API
    server's layout puts the verb and stage of the entry."""
    body = deployment("web", 11, replicas=2, pad="y" * HEAD_ONLY_MIN)
    body["spec"]["template"]["metadata"]["annotations"] = {"verb": "get", "stage": "Panic"}
    in_body = event(2, "update", "deployments", "web", group="apps", request=body, response=body)
    uri = '/apis/apps/v1/namespaces/shop/deployments/web?x=","verb":"get","y":"'
    in_uri = web(2, 11, verb="update", uri=uri)
    later_verb = web(2, 11, verb="update")
    later_stage = web(2, 11, verb="update")
    escaped = web(2, 11, verb="update")
    return [
        ("a body with keys verb and stage", long(in_body)),
        ("a URI with the bytes of a read's head", long(in_uri)),
        (
            "a verb given twice (the last one counts)",
            _tamper(later_verb, b'"verb":"update"', b'"verb":"get","x":1,"verb":"update"'),
        ),
        (
            "a stage given twice",
            _tamper(
                later_stage, b'"verb":"update"', b'"verb":"update","stage":"ResponseComplete"'
            ).replace(b'"stage":"ResponseComplete"', b'"stage":"Panic"', 1),
        ),
        (
            "a verb key spelt with an escape",
            _tamper(escaped, b'"verb":"update"', b'"verb":"get","ver\\u0062":"update"'),
        ),
    ]


@pytest.mark.parametrize("what,change", adversarial(), ids=[w for w, _ in adversarial()])
def test_a_change_is_never_taken_for_a_read(tmp_path, what, change):
    assert json.loads(change)["verb"] == "update"
    log = tmp_path / "audit.log"
    log.write_bytes(long(web(1, 10)) + change)
    stats = import_new([log], tmp_path / "r.khr", worker=False)
    assert stats.skipped == {} and stats.read.garbage == 0
    assert replicas(tmp_path / "r.khr") == [1, 2]


def test_a_long_read_cut_short_is_still_counted_as_truncated(tmp_path):
    log = tmp_path / "audit.log"
    cut = long(a_read(2))[:-30] + b"}"  # ends like a whole line, has no newline
    log.write_bytes(long(web(1, 10)) + cut)
    stats = import_new([log], tmp_path / "r.khr", worker=False)
    assert stats.read.truncated == 1 and stats.skipped == {}


def test_a_long_read_run_into_by_the_next_line_is_garbage_and_reported(tmp_path):
    # a writer that died mid-line, and the next entry written after it on the same line
    log = tmp_path / "audit.log"
    spliced = long(a_read(2))[:-500] + long(web(3, 11, verb="update"))
    log.write_bytes(long(web(1, 10)) + spliced + long(web(4, 12, verb="update")))
    stats = import_new([log], tmp_path / "r.khr", worker=False)
    assert stats.read.garbage == 1 and stats.skipped == {}
    assert f"{log}:2: not JSON" in "\n".join(stats.read.examples)
    assert replicas(tmp_path / "r.khr") == [1, 3]

"""The worker process: what it sends is what the in-process reading makes, Secrets redacted."""

from __future__ import annotations

import base64

from khronoscope.audit.importer import import_new
from khronoscope.audit.pipeline import _Encoder
from khronoscope.core.types import ObjectKey
from khronoscope.recording import records as rec
from khronoscope.recording.source import open_recording
from tests.audit.lines import event, secret, write
from tests.audit.test_entries import at


def test_secret_values_are_redacted_by_the_worker_as_in_process(tmp_path):
    value = "hunter2-very-secret"
    s1, s2 = secret("db", 11, value), secret("db", 12, "swordfish-also-secret")
    events = [
        event(1, "create", "secrets", "db", request=s1, response=s1),
        event(2, "update", "secrets", "db", request=s2, response=s2),
    ]
    log = write(tmp_path / "audit.log", events)
    key = ObjectKey("secrets", "shop", "db")
    got = {}
    for worker in (False, True):
        out = tmp_path / f"{worker}.khr"
        import_new([log], out, worker=worker)
        raw = out.read_bytes()
        for secret_value in (value, "swordfish-also-secret"):
            for form in (secret_value, base64.b64encode(secret_value.encode()).decode()):
                assert form.encode() not in raw
        src = open_recording(out)
        got[worker] = [src.tmap.get(key, at(s)) for s in (1, 2)]
    for worker in (False, True):
        a, b = (v["data"]["password"] for v in got[worker])
        assert a.startswith("<redacted:") and b.startswith("<redacted:") and a != b
    # the same objects but for the fingerprints (salted afresh by each reader)
    for v in (*got[False], *got[True]):
        v["data"] = {}
    assert got[True] == got[False]


def test_an_object_the_fast_packer_refuses_is_packed_as_always():
    # orjson makes only exact dicts, lists and strings; anything else takes the general way
    obj = {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"ports": (80, 443)}}
    assert _Encoder()._pack(obj) == rec.pack(obj)
    plain = {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"ports": [80, 443]}}
    assert _Encoder()._pack(plain) == rec.pack(plain)

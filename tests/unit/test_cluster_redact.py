"""Secret values are replaced at ingest by fingerprints: a change stays visible, a value never."""

from __future__ import annotations

import copy
import json

from khronoscope.cluster.redact import LAST_APPLIED, SecretRedactor, is_redacted

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "db",
        "namespace": "prod",
        "annotations": {LAST_APPLIED: '{"stringData":{"password":"hunter2"}}', "team": "a"},
    },
    "type": "Opaque",
    "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
    "stringData": {"token": "plain-token"},
}


def test_values_become_fingerprints_and_nothing_else_changes():
    before = copy.deepcopy(SECRET)
    out = SecretRedactor(b"k" * 16)(SECRET)
    assert before == SECRET  # the input is not modified
    assert sorted(out["data"]) == ["password", "user"]
    assert all(is_redacted(v) for v in out["data"].values())
    assert is_redacted(out["stringData"]["token"])
    assert is_redacted(out["metadata"]["annotations"][LAST_APPLIED])
    assert out["metadata"]["annotations"]["team"] == "a"
    assert out["type"] == "Opaque" and out["metadata"]["name"] == "db"
    dumped = json.dumps(out)
    for plain in ("aHVudGVyMg==", "YWRtaW4=", "plain-token", "hunter2"):
        assert plain not in dumped


def test_a_changed_value_changes_its_fingerprint_an_unchanged_one_keeps_it():
    redact = SecretRedactor(b"k" * 16)
    rotated = copy.deepcopy(SECRET)
    rotated["data"]["password"] = "bmV3LXBhc3N3b3Jk"
    a, b = redact(SECRET), redact(rotated)
    assert a["data"]["password"] != b["data"]["password"]
    assert a["data"]["user"] == b["data"]["user"]


def test_fingerprints_are_keyed_so_a_recording_cannot_test_guesses():
    assert SecretRedactor(b"a" * 16).fingerprint("x") != SecretRedactor(b"b" * 16).fingerprint("x")
    assert not is_redacted("aHVudGVyMg==")


def test_a_secret_without_data_is_left_alone():
    bare = {"kind": "Secret", "metadata": {"name": "empty"}}
    assert SecretRedactor()(bare) == bare


def test_an_annotation_or_label_quoting_a_value_is_fingerprinted_at_ingest():
    quoted = copy.deepcopy(SECRET)
    quoted["metadata"]["annotations"]["backup.example.com/copy"] = "password=hunter2"
    quoted["metadata"]["labels"] = {"token": "plain-token", "app": "db"}
    out = SecretRedactor(b"k" * 16)(quoted)
    assert is_redacted(out["metadata"]["annotations"]["backup.example.com/copy"])
    assert is_redacted(out["metadata"]["labels"]["token"])
    assert out["metadata"]["labels"]["app"] == "db"
    dumped = json.dumps(out)
    assert "hunter2" not in dumped and "plain-token" not in dumped


def test_every_session_of_a_user_gives_a_value_the_same_fingerprint(tmp_path, monkeypatch):
    # a live export and a later drift (two sessions) saw every Secret "changed": each session
    # keyed its fingerprints with its own random salt
    import os
    import stat

    from khronoscope.cluster.redact import KEY_FILE, fingerprint_key

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, second = SecretRedactor(), SecretRedactor()
    assert not (tmp_path / "state").exists()  # made with the first Secret, not before
    assert first.fingerprint("hunter2") == second.fingerprint("hunter2")
    assert first.fingerprint("hunter2") != first.fingerprint("hunter3")
    key = next((tmp_path / "state").rglob(KEY_FILE))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    # another user (another state dir) has another key: guesses need the key, not a recording
    other = tmp_path / "other"
    assert fingerprint_key(other) != fingerprint_key(key.parent)
    assert fingerprint_key(other) == fingerprint_key(other)
    # a planted symlink is never followed nor trusted: a key of the session's own
    victim = tmp_path / "victim"
    victim.write_bytes(b"v" * 32)
    planted = tmp_path / "planted"
    planted.mkdir()
    os.symlink(victim, planted / KEY_FILE)
    assert fingerprint_key(planted) != b"v" * 32 and victim.read_bytes() == b"v" * 32

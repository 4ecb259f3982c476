"""Time travel without the UI: the playback state machine, steps, typed times, attribution,
diffs and "what changed" (plain functions over a TemporalMap)."""

from __future__ import annotations

from datetime import UTC

import pytest

from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import NS, TimeParseError
from khronoscope.core.types import ObjectKey
from khronoscope.printers.objdiff import object_diff
from khronoscope.temporal import TemporalMap
from khronoscope.tui.playback import Mode, PlaybackCursor
from khronoscope.tui.travel import (
    StepScope,
    next_bookmark,
    next_step,
    parse_interval,
    parse_target,
    previous_bookmark,
    previous_step,
)
from khronoscope.tui.versions import ObjectHistory, covers, writers
from khronoscope.tui.whatchanged import ADDED, DELETED, MODIFIED, what_changed
from tests import testing

T = testing.at


class Wall:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def cursor(live: bool = False, t: float = 50) -> tuple[PlaybackCursor, Wall]:
    wall = Wall()
    pb = PlaybackCursor(
        clock=lambda: T(1000),
        live_available=live,
        t=T(t),
        wall=wall,
        bounds=lambda: (T(0), T(150)),
    )
    return pb, wall


def test_jog_dial_speeds_both_ways():
    pb, _ = cursor()
    speeds = []
    for _ in range(10):
        pb.faster()
        speeds.append(pb.speed)
    assert speeds == [1, 2, 4, 8, 16, 32, 64, 64, 64, 64]
    assert not pb.faster()  # as fast as it goes
    pb.play(1.0)
    seen = []
    for _ in range(5):
        pb.slower()
        seen.append(pb.speed if pb.playing else "pause")
    assert seen == [0.5, 0.25, "pause", -1, -2]
    pb.faster()
    assert pb.speed == -1
    pb.faster(), pb.faster(), pb.faster()
    assert pb.mode is Mode.PAUSED


def test_playing_moves_t_by_speed_and_stops_at_the_ends():
    pb, wall = cursor(t=100)
    pb.play(4.0)
    wall.now += 2 * NS
    pb.advance()
    assert pb.t == T(108) and pb.playing
    wall.now += 60 * NS  # past the last change of a recording: stops there, paused
    pb.advance()
    assert pb.t == T(150) and pb.mode is Mode.PAUSED
    pb.play(-64.0)
    wall.now += 10 * NS
    pb.advance()
    assert pb.t == T(0) and pb.mode is Mode.PAUSED  # the start of the record


def test_playing_forward_into_now_turns_live_and_space_pauses():
    pb, wall = cursor(live=True, t=990)
    pb.play(8.0)
    wall.now += 2 * NS
    pb.advance()
    assert pb.live
    pb.toggle()  # live -> paused at now
    assert pb.mode is Mode.PAUSED and pb.t == T(1000)
    pb.toggle()  # paused -> playing at the last speed
    assert pb.playing and pb.speed == 8.0


def test_seek_while_playing_keeps_playing_only_when_asked():
    pb, wall = cursor()
    pb.play(2.0)
    pb.seek(T(10), keep_playing=True)
    wall.now += NS
    pb.advance()
    assert pb.playing and pb.t == T(12)
    pb.seek(T(20))
    assert pb.mode is Mode.PAUSED and pb.t == T(20)


@pytest.fixture(scope="module")
def incident() -> testing.MemorySource:
    return testing.incident_source()


def test_steps_visit_every_change_of_the_scope_both_ways(incident):
    tmap = incident.tmap
    scope = StepScope("pods", "shop")
    truth = sorted({r.t for r in tmap.changes(type="pods", namespace="shop")})
    t = T(-1)
    forward = []
    while (nxt := next_step(tmap, t, scope)) is not None:
        forward.append(nxt)
        t = nxt
    assert forward == truth
    backward = []
    while (prev := previous_step(tmap, t, scope)) is not None:
        backward.append(prev)
        t = prev
    assert backward == truth[-2::-1]  # each step back undoes the change shown


def test_a_filtered_step_skips_changes_of_rows_the_filter_hides(incident):
    from khronoscope.tui.filters import parse_filter

    tmap = incident.tmap
    flt = parse_filter("api")
    scope = StepScope("pods", None, None, flt.matches)
    api = ObjectKey("pods", "shop", "api-7f8b9-x2x4q")
    truth = tmap.version_times(api)
    t = T(-1)
    seen = []
    while (nxt := next_step(tmap, t, scope)) is not None:
        seen.append(nxt)
        t = nxt
    assert seen == truth
    assert previous_step(tmap, t, scope) == truth[-2]


def test_typed_times():
    cursor_t = T(100)  # 2026-03-14 09:01:40 UTC
    marks = [Bookmark(T(45), "config edit", None, 1)]
    read = lambda s: parse_target(s, cursor_t, T(0), T(150), UTC, marks)  # noqa: E731
    assert read("09:00:30").t == T(30)  # a clock time of the cursor's day
    assert read("09:00:30.5").t == T(30.5)
    assert read("-15s").t == T(85)  # relative to the cursor
    assert read("+1m").t == T(160)
    assert read("2026-03-14T09:00:10Z").t == T(10)
    assert read("start").t == T(0) and read("end").t == T(150)
    assert read("now").live
    assert read("Config Edit").t == T(45)
    for bad in ("25:00", "yesterday", "", "-15x"):
        with pytest.raises(TimeParseError):
            read(bad)
    assert parse_interval("5m") == 300 * NS
    with pytest.raises(TimeParseError):
        parse_interval("0s")


def test_bookmark_neighbours():
    marks = [Bookmark(T(10), "a", None, 1), Bookmark(T(50), "b", None, 2)]
    assert next_bookmark(marks, T(10)).label == "b"
    assert previous_bookmark(marks, T(50)).label == "a"
    assert next_bookmark(marks, T(50)) is None and previous_bookmark(marks, T(10)) is None


def test_writers_and_fields_v1_attribution(incident):
    tmap = incident.tmap
    key = ObjectKey("deployments.apps", "shop", "api")
    history = ObjectHistory(tmap, key)
    by_t = {history.entry(i).t: history.entry(i) for i in range(len(history))}
    set_image = by_t[T(58)]
    assert set_image.managers == ["kubectl-set"]
    assert set_image.paths == ["spec.template.spec.containers[api].image"]
    status = by_t[T(60)]
    assert status.managers == ["kube-controller-manager (status)"]
    assert status.paths == ["status.availableReplicas", "status.readyReplicas"]
    cm = ObjectHistory(tmap, ObjectKey("configmaps", "shop", "web-config"))
    edit = cm.entry(1)
    assert (edit.t, edit.managers, edit.paths) == (T(45), ["kubectl-edit"], ["data.LOG_LEVEL"])

    # two writers in one version (a watch that missed the write in between): each field goes
    # to the manager whose fieldsV1 covers it
    before = tmap.get(key, T(32))
    after = tmap.get(key, T(60))
    wrote = writers(before, after)
    assert sorted(e["manager"] for e in wrote) == ["kube-controller-manager", "kubectl-set"]
    image = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"))
    item = ("item", {"name": "api", "image": testing.API_IMAGE_RC}, -1)
    owners = {e["manager"]: covers(e["fieldsV1"], (*image, item, ("f", "image"))) for e in wrote}
    assert owners == {"kubectl-set": True, "kube-controller-manager": False}


def test_a_diff_hides_noise_and_secret_values_unless_asked(incident):
    tmap = incident.tmap
    key = ObjectKey("configmaps", "shop", "web-config")
    old, new = tmap.get(key, T(44)), tmap.get(key, T(45))
    d = object_diff(key, old, new, "a", "b")
    changed = [x for x in d.lines if x[:1] in "+-" and not x.startswith(("+++", "---"))]
    assert changed == ["-  LOG_LEVEL: info", "+  LOG_LEVEL: debug"]
    assert "metadata.resourceVersion" in d.hidden
    everything = object_diff(key, old, new, "a", "b", show_all=True)
    assert any("resourceVersion" in x for x in everything.lines)
    assert any("kubectl-edit" in x for x in everything.lines)

    secret = ObjectKey("secrets", "shop", "db-credentials")
    obj = tmap.get(secret, T(0))
    changed_secret = dict(obj, data={"password": "bmV3LXBhc3N3b3Jk"})
    text = "\n".join(object_diff(secret, obj, changed_secret, "a", "b", True).lines)
    assert "bmV3" not in text and "aHVudGVy" not in text


def test_what_changed_ignores_changed_and_changed_back():
    tmap = TemporalMap()
    a, b, c = (ObjectKey("pods", "ns", n) for n in "abc")
    tmap.put(a, 10, {"v": 1})
    tmap.put(b, 10, {"v": 1})
    tmap.put(a, 20, {"v": 2})
    tmap.put(b, 20, {"v": 2})
    tmap.put(b, 30, {"v": 1})  # back as it was at 10
    tmap.put(c, 25, {"v": 1})
    tmap.delete(a, 35)
    got = what_changed(tmap, 10, 40)
    assert [(m.key.name, m.how) for m in got.by_type["pods"]] == [("c", ADDED), ("a", DELETED)]
    got = what_changed(tmap, 10, 26)
    assert [(m.key.name, m.how) for m in got.by_type["pods"]] == [
        ("c", ADDED),
        ("a", MODIFIED),
        ("b", MODIFIED),
    ]
    assert got.counts("pods") == {ADDED: 1, MODIFIED: 2, DELETED: 0}


def test_a_write_within_the_same_second_is_attributed_as_a_guess():
    from khronoscope.tui.versions import likely_writers

    entry = {"manager": "kubelet", "operation": "Update", "subresource": "status", "time": "x"}
    older = {"metadata": {"managedFields": [entry]}, "status": {"phase": "Pending"}}
    newer = {"metadata": {"managedFields": [entry]}, "status": {"phase": "Running"}}
    assert likely_writers(older, newer) == ["kubelet (status)?"]
    moved = {"metadata": {"managedFields": [dict(entry, time="y")]}, "status": {}}
    assert likely_writers(older, moved) == ["kubelet (status)"]


def test_field_lists_put_what_changed_before_the_condition_timestamps_that_moved_with_it():
    # the history's WHAT column is cut at the screen's edge: the replica count must not be
    # pushed out of sight by timestamps that move with every status write
    from khronoscope.core.types import ObjectKey
    from khronoscope.printers.objdiff import meaningful_paths

    def deploy(replicas: int, stamp: str) -> dict:
        cond = {"type": "Available", "status": "True", "lastUpdateTime": stamp}
        return {
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"replicas": 2},
            "status": {"conditions": [cond], "replicas": replicas},
        }

    key = ObjectKey("deployments.apps", "shop", "api")
    paths = meaningful_paths(key, deploy(3, "08:53:32"), deploy(2, "08:53:33"))
    assert paths == ["status.replicas", "status.conditions[0].lastUpdateTime"]


def test_zoom_levels_and_the_window_around_t():
    from khronoscope.tui.travel import zoom_in, zoom_out, zoom_window

    week, hour = 7 * 86400 * NS, 3600 * NS
    assert zoom_in(None, week) == 86400 * NS
    assert zoom_in(86400 * NS, week) == 6 * hour
    assert zoom_in(None, 90 * 60 * NS) == hour  # the widest span narrower than the record
    assert zoom_in(60 * NS, week) == 60 * NS  # the closest
    assert zoom_out(hour, week) == 6 * hour
    assert zoom_out(86400 * NS, week) is None  # wider than a day: the whole record
    assert zoom_out(hour, 90 * 60 * NS) is None
    first, last = 0, week
    start, end = zoom_window(3 * 86400 * NS + 123, hour, first, last)
    assert end - start == hour and start <= 3 * 86400 * NS + 123 < end
    assert start % (hour // 4) == 0  # moves in quarter steps, not every frame
    assert zoom_window(10, hour, first, last) == (0, hour)  # kept inside the record
    assert zoom_window(week - 10, hour, first, last) == (week - hour, week)

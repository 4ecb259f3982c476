"""The timeline's trouble marks are found a slice per frame, also on a big first sync."""

from __future__ import annotations

from khronoscope.core.timefmt import NS
from khronoscope.core.types import ObjectKey
from khronoscope.tui.trouble import TroubleIndex, TroubleScope
from tests.testing import T0, scale_pod, scale_source

PODS = 3000


def test_a_first_sync_of_thousands_of_pods_is_scanned_a_slice_at_a_time():
    # a session's first list puts every pod at the same moment: switching to pods used to
    # read all their rows in one frame (4 s at 50,000 pods)
    src = scale_source(PODS)
    src.put(T0, scale_pod(1234, T0, state="crashloop", restarts=3))  # in trouble from the start
    later = T0 + 60 * NS
    src.put(later, scale_pod(77, T0, state="crashloop", restarts=1))
    tmap = src.tmap
    index = TroubleIndex(tmap, TroubleScope.for_view("pods", None, None))
    before = tmap.rows_computed
    index.advance(budget_s=0)
    assert tmap.rows_computed - before <= 2 * 64  # one slice, not every pod
    assert not index.complete
    slices = 1
    while not index.complete:
        index.advance(budget_s=0)
        slices += 1
        assert slices < 2 * PODS
    assert slices > 10
    assert index.times == [T0, later]  # each moment marked once, in order


def test_one_objects_marks_are_its_own_trouble_moments():
    src = scale_source(PODS)
    pod = scale_pod(5, T0)
    key = ObjectKey("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
    src.put(T0 + 30 * NS, scale_pod(5, T0, state="crashloop", restarts=1))
    src.put(T0 + 40 * NS, scale_pod(9, T0, state="crashloop", restarts=1))  # another pod
    tmap = src.tmap
    index = TroubleIndex(tmap, TroubleScope(key=key))
    index.advance(budget_s=10)
    assert index.complete
    assert index.times == [T0 + 30 * NS]  # not the other pod's crash at 40 s

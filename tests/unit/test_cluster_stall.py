"""The stall detector: a loop that did not run for seconds is a gap of every type."""

from __future__ import annotations

from khronoscope.cluster.stall import StallDetector
from khronoscope.core.source import Gap

S = 1_000_000_000


class Clocks:
    """A monotonic clock (s) and a wall clock (ns) moved by hand."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = 1_700_000_000 * S

    def move(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += int(seconds * S)


def test_a_stall_longer_than_the_limit_is_one_gap_of_every_type_ending_after_the_resume():
    gaps: list[Gap] = []
    c = Clocks()
    d = StallDetector(gaps.append, stall_after=5.0, tick=1.0, clock=lambda: c.mono,
                      wall=lambda: c.wall)  # fmt: skip
    for _ in range(3):
        c.move(1.02)  # a loaded but running loop
        d.observe()
    assert gaps == []
    before = c.wall
    c.move(46.0)  # SIGSTOP for 45 s
    d.observe()
    resumed = c.wall
    c.move(1.0)
    d.observe()  # one tick later: what the server held back has been read and stamped
    (gap,) = gaps
    assert gap.type == "*" and gap.start == before and gap.end == resumed + S
    assert "did not run for 45 s" in gap.reason
    c.move(4.0)  # late by 3 s: under the limit
    d.observe()
    assert len(gaps) == 1


def test_a_stall_seen_just_before_closing_is_not_lost():
    gaps: list[Gap] = []
    c = Clocks()
    d = StallDetector(gaps.append, stall_after=5.0, tick=1.0, clock=lambda: c.mono,
                      wall=lambda: c.wall)  # fmt: skip
    c.move(10.0)
    d.observe()
    d.finish(c.wall + 5)
    assert [g.end for g in gaps] == [c.wall + 5]

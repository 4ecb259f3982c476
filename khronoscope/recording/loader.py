"""Loading a whole recording into a TemporalMap in file order (the simple, complete path).

`RecordingSource` opens faster (newest moment first, history filled newest window first); this
forward load is what the tests compare it with, and what needs everything at once uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from khronoscope.recording import format as fmt
from khronoscope.recording.damage import lost_runs
from khronoscope.recording.loss import LossReport, LossTally
from khronoscope.recording.reader import Problem, RecordingReader
from khronoscope.recording.replay import (
    Extras,
    ObjectReplay,
    apply_block,
    read_keyframe,
    resync_gaps,
)
from khronoscope.temporal.map import TemporalMap

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class LoadResult:
    """What a load found: counts, damage, and everything besides objects."""

    changes: int
    lost_versions: int
    problems: list[Problem]
    extras: Extras
    objects: ObjectReplay
    loss: LossReport


def load_into(
    reader: RecordingReader,
    tmap: TemporalMap,
    progress: Progress | None = None,
    extras: Extras | None = None,
) -> LoadResult:
    """Replay every readable block into `tmap`; `progress(done, total)` after each block.

    Damage is skipped: a lost block becomes a gap, and the next keyframe brings objects whose
    versions were lost back in line with the recorded state; `loss` says exactly what could not
    be read.
    """
    extras = extras if extras is not None else Extras()
    tally = LossTally()
    objects = ObjectReplay(on_put=tmap.put_raw, on_delete=tmap.delete, tally=tally)
    total = reader.change_count
    damage_at = sorted(p.start for p in reader.problems)
    # a file may start with a keyframe (after retention): until one is seen, the state is only
    # trusted if data came first, so the first keyframe is always checked (a no-op when intact)
    damaged = True
    keyframes = {kf.blocks[-1].offset: kf for kf in reader.keyframes()}
    data_seen = False  # a keyframe before any data is where the state starts, not a recovery
    for i, b in enumerate(reader.blocks):
        while damage_at and damage_at[0] < b.offset:
            damage_at.pop(0)
            damaged = True
        if b.type == fmt.DATA:
            data_seen = True
            if not apply_block(reader, i, objects, extras):
                damaged = True
            if progress is not None:
                progress(objects.changes, total)
        elif b.type == fmt.KEYFRAME and b.offset in keyframes and (damaged or objects.broken):
            kf = keyframes[b.offset]
            entries = read_keyframe(reader, kf, extras)
            if entries is not None:
                objects.resync(kf.t, entries, initial=not data_seen and kf.changes_before == 0)
                damaged = False
                data_seen = True
    for gap in resync_gaps(reader):
        extras.add_gap(gap)
    for run in lost_runs(reader):
        tally.lost_run(run)
    problems = reader.report()
    loss = tally.report(problems)
    return LoadResult(objects.changes, loss.versions, problems, extras, objects, loss)

"""The corrupt-recording corpus: every damage is read back exactly, reported exactly, and
invents nothing (see tests/recording/corpus.py for the oracle)."""

from __future__ import annotations

import random

import pytest

from khronoscope.temporal.codec import TypeCodec
from tests.recording.corpus import damages, judge, make_recording


@pytest.fixture(autouse=True)
def _no_dictionary_training(monkeypatch):
    # the maps these tests build train a zstd dictionary per type, which is most of their time
    # and nothing this corpus is about
    monkeypatch.setattr(TypeCodec, "TRAIN_AFTER", 10**9)


@pytest.mark.parametrize(
    ("closed", "compacted"),
    [(True, False), (False, False), (True, True)],
    ids=["closed", "crashed", "compacted"],
)
def test_every_damage_is_read_and_reported_exactly(tmp_path, closed, compacted, capsys):
    orig = make_recording(
        tmp_path / "orig.khr", seed=5, count=900, closed=closed, compacted=compacted
    )
    cases = list(damages(orig, random.Random(7), sample=3 if compacted else 5))
    verdicts = [judge(orig, d, tmp_path / f"d{n}.khr") for n, d in enumerate(cases)]
    failed = [v for v in verdicts if v.failures]
    exact = sum(1 for v in verdicts if v.exact and not v.refused)
    lossy = sum(1 for v in verdicts if v.lost)
    with capsys.disabled():
        print(
            f"\ncorpus ({'compacted' if compacted else 'closed' if closed else 'crashed'} "
            f"recording): {len(verdicts)} damage "
            f"cases, {len(verdicts) - len(failed)} pass; {lossy} lose versions; {exact} "
            f"reported to the object, the rest with what the file cannot say marked as such"
        )
    assert len(verdicts) >= (50 if compacted else 80)
    assert not failed, "\n".join(f"{v.name}: {'; '.join(v.failures[:3])}" for v in failed)
    # the corpus damages something that matters: most cases lose versions, and most of
    # those are reported down to the object
    assert lossy >= len(verdicts) // 3
    assert exact >= len(verdicts) * 2 // 3

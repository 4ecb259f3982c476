"""The two halves of an export and a comparison: reading the source (in steps) and the rest,
which must never touch the source (the app runs it in a thread while the map keeps changing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from khronoscope.export import (
    ExportScope,
    compute_drift,
    compute_drift_async,
    export_moment,
    export_moment_async,
    export_range,
    format_report,
    read_moment,
    write_moment,
)
from khronoscope.export import steps as steps_mod
from khronoscope.export.lock import exclusive
from khronoscope.export.target import ExportError
from tests.export.conftest import git


class Poisoned:
    """Stands in for the TemporalMap while the off-loop half runs: any use of it fails."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the TemporalMap was used off the loop: {name}")


def poisoning(src):
    """An offload that runs its function with the source's map unusable, as a thread would
    see a map it must not touch."""

    async def offload(fn, /, *args):
        tmap, src.tmap = src.tmap, Poisoned()
        try:
            return fn(*args)
        finally:
            src.tmap = tmap

    return offload


def tree(repo) -> str:
    return git(repo, "rev-parse", "HEAD^{tree}").strip()


def test_what_is_read_is_a_private_copy(scenario):
    src, t = scenario
    state = read_moment(src, t["base"], ExportScope())
    key, obj = next(iter(state.objects.items()))
    obj["metadata"]["name"] = "changed"
    obj.setdefault("spec", {})["injected"] = True
    again = read_moment(src, t["base"], ExportScope())
    assert again.objects[key]["metadata"]["name"] == key.name
    assert "injected" not in (again.objects[key].get("spec") or {})
    assert src.tmap.get(key, t["base"]) == again.objects[key]


def test_the_async_export_reads_in_steps_and_writes_without_the_source(
    scenario, tmp_path, monkeypatch
):
    src, t = scenario
    export_moment(src, t["image"], tmp_path / "sync")
    monkeypatch.setattr(steps_mod, "CHUNK", 2)
    pauses = 0
    real_sleep = asyncio.sleep

    async def counting_sleep(delay: float, *args: Any) -> Any:
        nonlocal pauses
        pauses += delay == 0
        return await real_sleep(delay, *args)

    monkeypatch.setattr(steps_mod.asyncio, "sleep", counting_sleep)
    seen: list[tuple[int, int]] = []
    result = asyncio.run(
        export_moment_async(
            src,
            t["image"],
            tmp_path / "async",
            progress=lambda done, total: seen.append((done, total)),
            offload=poisoning(src),
        )
    )
    assert result.commit and tree(tmp_path / "async") == tree(tmp_path / "sync")
    total = seen[-1][1]
    assert pauses >= total // 2 > 1
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_async_drift_compares_without_the_source_off_the_loop(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    for moment in ("base", "image", "event"):
        sync = compute_drift(src, t[moment], repo)
        off = asyncio.run(compute_drift_async(src, t[moment], repo, offload=poisoning(src)))
        assert format_report(off) == format_report(sync)


def test_one_export_per_repository_at_a_time(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    state = read_moment(src, t["base"], ExportScope())
    with exclusive(repo):
        for attempt in (
            lambda: export_moment(src, t["base"], repo),
            lambda: write_moment(state, tmp_path / "r" / ".." / "r"),
            lambda: export_range(src, t["base"], t["image"], repo),
            lambda: asyncio.run(export_moment_async(src, t["base"], repo)),
        ):
            with pytest.raises(ExportError, match="still running"):
                attempt()
        # another repository is not held
        assert export_moment(src, t["base"], tmp_path / "other").commit
    assert write_moment(state, repo).commit  # released, also after the refusals
    with pytest.raises(ExportError), exclusive(repo):
        raise ExportError("failed inside")
    assert write_moment(state, repo).commit is None  # released after an error, too

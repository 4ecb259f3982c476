"""Reading the TemporalMap in steps, so a caller on an event loop can let others run between them.

The map is not thread-safe and a live session writes to it from the app's event loop, so the
reading half of an export or a comparison runs there; written as a generator that yields after
every chunk, the same code runs straight through on the command line (`run_steps`) and with a
pause per chunk in the app (`run_steps_async`). What it returns is private to the caller:
`TemporalMap.get` decodes a fresh dict from msgpack on every call, sharing nothing with the map.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar

from khronoscope.core.types import ObjectKey
from khronoscope.temporal.reader import TemporalReader

T = TypeVar("T")

Steps = Generator[None, None, T]
"""A computation that yields whenever it is fine to pause, and returns its value at the end."""

Progress = Callable[[int, int], None]
"""`progress(done, total)`, called as the work goes (from the thread doing it)."""

# objects decoded between two pauses: a few milliseconds of the loop at most
CHUNK = 200


class Offload(Protocol):
    """Runs `fn(*args)` away from the event loop and awaits it (`asyncio.to_thread`'s shape)."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]:
        """Start `fn(*args)` in another thread; the awaitable gives its result."""
        ...


def run_steps(steps: Steps[T]) -> T:
    """Run `steps` to the end without pausing."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


async def run_steps_async(steps: Steps[T]) -> T:
    """Run `steps` to the end, letting the event loop run other tasks at every step."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)


def objects_at(
    tmap: TemporalReader,
    t: int,
    type_names: Iterable[str],
    namespaces: set[str] | None,
    wants_key: Callable[[ObjectKey], bool],
    wants: Callable[[ObjectKey, dict[str, Any]], bool],
) -> Steps[dict[ObjectKey, dict[str, Any]]]:
    """The objects of these types (and namespaces, None: all) at t that pass both filters.

    `wants_key` is checked before an object is decoded, `wants` after; a step per chunk.
    """
    out: dict[ObjectKey, dict[str, Any]] = {}
    for type_name in type_names:
        keys = [k for k in tmap.keys_at(t, type_name, namespaces) if wants_key(k)]
        for start in range(0, len(keys), CHUNK):
            _decode_into(out, tmap, t, keys[start : start + CHUNK], wants)
            yield
    return out


def lookup(tmap: TemporalReader, t: int, keys: Iterable[ObjectKey]) -> Steps[dict[ObjectKey, Any]]:
    """`tmap.get(key, t)` of each key (None for one that did not exist), a step per chunk."""
    out: dict[ObjectKey, Any] = {}
    keys = list(keys)
    for start in range(0, len(keys), CHUNK):
        for key in keys[start : start + CHUNK]:
            out[key] = tmap.get(key, t)
        yield
    return out


def _decode_into(
    out: dict[ObjectKey, dict[str, Any]],
    tmap: TemporalReader,
    t: int,
    keys: list[ObjectKey],
    wants: Callable[[ObjectKey, dict[str, Any]], bool],
) -> None:
    # decoded objects are trees without cycles: the collector would only rescan them as they
    # pile up (as in TemporalMap.state_at)
    paused = gc.isenabled()
    gc.disable()
    try:
        for key in keys:
            obj = tmap.get(key, t)
            # None: a late write removed it since keys_at, between two steps of a live session
            if obj is not None and wants(key, obj):
                out[key] = obj
    finally:
        if paused:
            gc.enable()

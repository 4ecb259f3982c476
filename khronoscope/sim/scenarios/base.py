"""Scenarios: seeded, deterministic scripts of cluster life.

A scenario yields `Op`s: at an offset in seconds from its start, an action (create, patch or
delete an object, write a log line, restart a container's log, record a usage sample). The
same seed always yields the same sequence (`Scenario.ops()`), which is the ground truth tests
compare against. Object timestamps are not in the ops: the string `NOW` inside an object or
patch is replaced by the wall-clock time at which the op is applied, so the objects' own times
agree with the moment clients receive them.

Scenarios are written as discrete-event simulations (`Script`): callbacks scheduled at times
emit ops and schedule more callbacks, so a scenario can be infinite and state-dependent
(a crash-looping pod's restarts, a cron job every minute) while staying deterministic.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

NOW = "<now>"  # replaced by the apply time (RFC 3339) wherever it appears as a value


@dataclass(frozen=True, slots=True)
class Create:
    """Create an object of a type (version-free name, e.g. `deployments.apps`)."""

    type: str
    obj: dict[str, Any]
    manager: str = "kube-controller-manager"


@dataclass(frozen=True, slots=True)
class Patch:
    """JSON-merge-patch an object (spec and status alike, as controllers and kubelets do)."""

    type: str
    namespace: str
    name: str
    patch: dict[str, Any]
    manager: str = "kube-controller-manager"


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete an object."""

    type: str
    namespace: str
    name: str
    manager: str = "kube-controller-manager"


@dataclass(frozen=True, slots=True)
class Log:
    """A container writes one log line."""

    namespace: str
    pod: str
    container: str
    text: str


@dataclass(frozen=True, slots=True)
class RestartLog:
    """A container restarts: its log becomes the previous instance's."""

    namespace: str
    pod: str
    container: str


@dataclass(frozen=True, slots=True)
class PodUsage:
    """A metrics sample of a pod: (container, CPU nanocores, memory bytes) each."""

    namespace: str
    pod: str
    containers: tuple[tuple[str, int, int], ...]


Action = Create | Patch | Delete | Log | RestartLog | PodUsage


@dataclass(frozen=True, slots=True)
class Op:
    """An action at `at` seconds after the scenario's start."""

    at: float
    action: Action


class Script:
    """A deterministic discrete-event timeline: schedule callbacks, collect the ops they emit."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._out: list[Op] = []

    def at(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        """Run fn(*args) at offset t (seconds)."""
        heapq.heappush(self._queue, (max(t, self.now), next(self._seq), fn, args))

    def after(self, dt: float, fn: Callable[..., None], *args: Any) -> None:
        """Run fn(*args) dt seconds from now."""
        self.at(self.now + dt, fn, *args)

    def every(
        self, period: float, fn: Callable[[], None], start: float = 0.0, jitter: float = 0.0
    ) -> None:
        """Run fn() every `period` seconds (± jitter) from `start`, forever."""

        def tick() -> None:
            fn()
            step = period + (self.rng.uniform(-jitter, jitter) if jitter else 0.0)
            self.after(max(0.001, step), tick)

        self.at(start, tick)

    def emit(self, action: Action) -> None:
        """Emit an action at the current time."""
        self._out.append(Op(self.now, action))

    def run(self) -> Iterator[Op]:
        """The ops in time order (infinite if a callback keeps rescheduling itself)."""
        while self._queue:
            t, _, fn, args = heapq.heappop(self._queue)
            self.now = t
            fn(*args)
            if self._out:
                out, self._out = self._out, []
                yield from out


class ScenarioOptionError(ValueError):
    """An option a scenario does not take, or a value out of its range (one line)."""


@dataclass(frozen=True, slots=True)
class ScenarioOption:
    """One option a scenario takes: its default and the range of values that make sense."""

    default: float
    low: float
    high: float
    integer: bool = True

    def read(self, scenario: str, key: str, value: Any) -> float:
        """`value` (a string from the command line, or a number) checked against the range."""
        kind = "a whole number" if self.integer else "a number"
        try:
            number = int(str(value), 10) if self.integer else float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise ScenarioOptionError(
                f"scenario {scenario}: option {key} must be {kind} from {_number(self.low)} "
                f"to {_number(self.high)}, not {str(value)[:40]!r}"
            )
        return number


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


class Scenario(ABC):
    """A named, seeded script of cluster life; `ops()` is its deterministic timed sequence."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options_help: ClassVar[str] = ""
    option_specs: ClassVar[dict[str, ScenarioOption]] = {}
    """The options the scenario takes; any other is refused when it is built."""

    def __init__(self, seed: int = 1, **options: Any) -> None:
        self.seed = seed
        self.options = self.read_options(options)

    @classmethod
    def read_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Every option checked (ScenarioOptionError), with the defaults of those not given."""
        unknown = sorted(set(options) - set(cls.option_specs))
        if unknown:
            takes = (
                f"its options are {', '.join(cls.option_specs)}"
                if cls.option_specs
                else "it takes no options"
            )
            raise ScenarioOptionError(
                f"scenario {cls.name}: unknown option {unknown[0][:40]!r} ({takes})"
            )
        return {
            key: spec.read(cls.name, key, options[key]) if key in options else spec.default
            for key, spec in cls.option_specs.items()
        }

    @abstractmethod
    def build(self, script: Script) -> None:
        """Schedule the scenario's first callbacks on `script`."""

    def ops(self, until: float | None = None) -> Iterator[Op]:
        """The timed operations from the start (up to offset `until` seconds if given)."""
        script = Script(self.seed)
        self.build(script)
        it = script.run()
        if until is None:
            return it
        return itertools.takewhile(lambda op: op.at <= until, it)


def substitute_now(value: Any, now: str) -> Any:
    """A copy of `value` with every `NOW` string replaced by `now` (shares untouched parts)."""
    if value == NOW:
        return now
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            nv = substitute_now(v, now) if isinstance(v, dict | list | str) else v
            if nv is not v:
                if out is None:
                    out = dict(value)
                out[k] = nv
        return value if out is None else out
    if isinstance(value, list):
        changed = False
        items = []
        for v in value:
            nv = substitute_now(v, now) if isinstance(v, dict | list | str) else v
            changed = changed or nv is not v
            items.append(nv)
        return items if changed else value
    return value

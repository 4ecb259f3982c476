"""Named scenarios of cluster life; `get_scenario("default", seed=1)` builds one.

A name may carry options: `scale:nodes=10,pods=500,churn=50`.
"""

from __future__ import annotations

from typing import Any

from khronoscope.sim.scenarios.base import (
    NOW,
    Create,
    Delete,
    Log,
    Op,
    Patch,
    PodUsage,
    RestartLog,
    Scenario,
    Script,
)
from khronoscope.sim.scenarios.default import DefaultScenario
from khronoscope.sim.scenarios.quiet import QuietScenario
from khronoscope.sim.scenarios.scale import ScaleScenario

SCENARIOS: dict[str, type[Scenario]] = {
    DefaultScenario.name: DefaultScenario,
    ScaleScenario.name: ScaleScenario,
    QuietScenario.name: QuietScenario,
}

__all__ = [
    "NOW",
    "SCENARIOS",
    "Create",
    "Delete",
    "Log",
    "Op",
    "Patch",
    "PodUsage",
    "RestartLog",
    "Scenario",
    "Script",
    "get_scenario",
    "parse_scenario_spec",
]


class UnknownScenario(ValueError):
    """A scenario name that is not defined (or options it does not take)."""


def parse_scenario_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """`"scale:pods=100,churn=5"` -> ("scale", {"pods": "100", "churn": "5"})."""
    name, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise UnknownScenario(f"bad scenario option {part!r}: use NAME:key=value,key=value")
        options[key.strip()] = value.strip()
    return name.strip(), options


def get_scenario(spec: str, seed: int = 1, **options: Any) -> Scenario:
    """Build the scenario named by `spec` (with its `:options`) for a seed."""
    name, parsed = parse_scenario_spec(spec)
    cls = SCENARIOS.get(name)
    if cls is None:
        known = ", ".join(sorted(SCENARIOS))
        raise UnknownScenario(f"unknown scenario {name!r} (known: {known})")
    parsed.update(options)
    return cls(seed=seed, **parsed)

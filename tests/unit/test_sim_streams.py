"""The scenarios' op streams are pinned: a refactor of the simulator changes no byte of them.

Every op (object created, patched or deleted, log line, log restart, usage sample) of a
scenario run for a fixed simulated time with a fixed seed is encoded in order and hashed; the
digests were recorded from the simulator before its `World` was split into kubelet, controllers
and nodes. A deliberate change of a scenario's story updates them:
`PYTHONPATH=$PWD python -m tests.unit.test_sim_streams --write`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import pytest

from khronoscope.sim.scenarios import Op, get_scenario

PINNED = Path(__file__).with_name("sim_streams.json")

# (scenario spec, seed, simulated seconds): the default story past its event expiry (3630 s),
# another seed, quiet with its defaults and an option, scale small with churn and at its defaults
CASES: list[tuple[str, int, float]] = [
    ("default", 1, 4000.0),
    ("default", 7, 900.0),
    ("quiet", 1, 600.0),
    ("quiet:period=5", 3, 300.0),
    ("scale:nodes=5,pods=200,namespaces=3,churn=50", 2, 300.0),
    ("scale", 1, 1.5),
]


def _encode(op: Op) -> bytes:
    # key order kept (not sorted): the simulated API server serves objects in this order
    fields = {f.name: getattr(op.action, f.name) for f in dataclasses.fields(op.action)}
    return json.dumps([repr(op.at), type(op.action).__name__, fields]).encode()


def stream_digest(spec: str, seed: int, until: float) -> dict[str, object]:
    """The number of ops, of each action kind, and the SHA-256 of them all in order."""
    digest = hashlib.sha256()
    kinds: dict[str, int] = {}
    for op in get_scenario(spec, seed=seed).ops(until=until):
        digest.update(_encode(op) + b"\n")
        name = type(op.action).__name__
        kinds[name] = kinds.get(name, 0) + 1
    return {
        "ops": sum(kinds.values()),
        "kinds": dict(sorted(kinds.items())),
        "sha256": digest.hexdigest(),
    }


def _key(spec: str, seed: int, until: float) -> str:
    return f"{spec} seed={seed} until={until:g}"


@pytest.mark.parametrize(("spec", "seed", "until"), CASES, ids=[_key(*c) for c in CASES])
def test_scenario_stream_is_unchanged(spec: str, seed: int, until: float) -> None:
    pinned = json.loads(PINNED.read_text())[_key(spec, seed, until)]
    got = stream_digest(spec, seed, until)
    assert got == pinned, (
        f"the op stream of {_key(spec, seed, until)} changed; if the story changed on purpose, "
        "rewrite the pins: python -m tests.unit.test_sim_streams --write"
    )


def test_the_digest_sees_one_changed_byte() -> None:
    # the pin is only worth something if a single different value anywhere changes it
    spec, seed, until = CASES[2]
    ops = list(get_scenario(spec, seed=seed).ops(until=until))
    whole = hashlib.sha256(b"".join(_encode(op) + b"\n" for op in ops)).hexdigest()
    assert whole == stream_digest(spec, seed, until)["sha256"]
    last = ops[-1]
    nudged = dataclasses.replace(last, at=last.at + 1e-9)
    changed = hashlib.sha256(
        b"".join(_encode(op) + b"\n" for op in [*ops[:-1], nudged])
    ).hexdigest()
    assert changed != whole


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.unit.test_sim_streams --write")
    pins = {_key(*case): stream_digest(*case) for case in CASES}
    PINNED.write_text(json.dumps(pins, indent=2) + "\n")
    print(f"wrote {len(pins)} pins to {PINNED}")

"""The quiet scenario: one namespace, one node, one pod, and a ConfigMap edited now and then.

For tests that want a nearly empty cluster whose only changes they cause themselves (plus one
tick every `period` seconds, default 30, so that a watcher still sees life).
"""

from __future__ import annotations

from typing import ClassVar

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import (
    Create,
    Log,
    Patch,
    Scenario,
    ScenarioOption,
    Script,
)


class QuietScenario(Scenario):
    """A nearly empty cluster (for tests that make their own changes)."""

    name = "quiet"
    summary = "one node, one namespace, one pod; a ConfigMap tick every 30 s (options: period)"
    options_help = "period=30"
    option_specs: ClassVar[dict[str, ScenarioOption]] = {
        "period": ScenarioOption(30.0, 0.0, 86400.0, integer=False)  # 0: no ticks
    }

    def build(self, script: Script) -> None:
        """Create the few objects, then tick."""
        self.s = script
        self.period = float(self.options["period"])
        self.ticks = 0
        script.at(0.0, self._bootstrap)
        if self.period > 0:
            script.every(self.period, self._tick, start=self.period)

    def _bootstrap(self) -> None:
        e = self.s.emit
        for ns in ("default", "kube-system", "demo"):
            e(Create("namespaces", o.namespace(ns)))
        e(Create("nodes", o.node("node-1", "10.0.0.11", "zone-a"), manager="kubelet"))
        spec = o.pod_template({"app": "hello"}, [o.container("hello", "hello:1.0", 8080)])["spec"]
        spec["nodeName"] = "node-1"
        pod = o.pod("demo", "hello", {"app": "hello"}, spec, None)
        pod["status"] = {
            "phase": "Running",
            "podIP": "10.244.0.5",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": "<now>",
                }
            ],
            "containerStatuses": [
                {
                    "name": "hello",
                    "ready": True,
                    "restartCount": 0,
                    "image": "hello:1.0",
                    "imageID": "",
                    "started": True,
                    "state": {"running": {"startedAt": "<now>"}},
                }
            ],
        }
        e(Create("pods", pod, manager="kubelet"))
        e(Create("configmaps", o.configmap("demo", "settings", {"tick": "0"})))
        e(Log("demo", "hello", "hello", "hello: listening on :8080"))

    def _tick(self) -> None:
        self.ticks += 1
        self.s.emit(Patch("configmaps", "demo", "settings", {"data": {"tick": str(self.ticks)}}))
        self.s.emit(Log("demo", "hello", "hello", f"hello: tick {self.ticks}"))

"""What a pod's spec says about its containers (shared by log capture and the views)."""

from __future__ import annotations

from typing import Any


def pod_containers(pod: dict[str, Any]) -> list[str]:
    """Names of a pod's containers in the order they run: init containers (a failing
    migration or config fetch is often what an incident is about), then the regular ones."""
    spec = pod.get("spec") or {}
    init = [c.get("name", "") for c in spec.get("initContainers") or ()]
    return init + [c.get("name", "") for c in spec.get("containers") or ()]

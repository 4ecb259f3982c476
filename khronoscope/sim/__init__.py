"""A simulated Kubernetes cluster: an aiohttp server on loopback speaking the Kubernetes HTTP API.

kubectl, kubernetes_asyncio and khronoscope cannot tell it from a real API server for what it
serves: discovery, get/list/watch with resourceVersions, pagination, selectors, bookmarks and
410 Expired, create/update/patch/delete, pods/log, metrics.k8s.io, per-token 403s. A seeded
scenario plays cluster life (see `khronoscope.sim.scenarios`), and tests inject faults.

Modules: cluster (SimCluster), thread (SimClusterThread), api (HTTP), store (objects, RVs,
event logs), registry/discovery (types), selectors, patch, logs, metrics, faults, auth,
kubeconfig, tables (server-side printing), quantity, scenarios/ (default, scale, quiet).
"""

from khronoscope.sim.cluster import SimCluster, SimError
from khronoscope.sim.scenarios import SCENARIOS, get_scenario
from khronoscope.sim.thread import SimClusterThread

__all__ = ["SCENARIOS", "SimCluster", "SimClusterThread", "SimError", "get_scenario"]

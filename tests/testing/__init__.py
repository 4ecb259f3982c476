"""What tests and benches share: an in-memory HistorySource over a deterministic synthetic past.

`incident_source()` tells a small story at known times (incident.py); `scale_source(n)` holds n
pods for benchmarks and `Churn` keeps changing them (scale.py); objects.py builds the objects,
memsource.py holds them. `python -m tests.testing.browse` opens the app over them. Never
imported by the product (`khronoscope/`): these are fakes.
"""

from tests.testing.incident import END, incident_source
from tests.testing.memsource import RESOURCE_TYPES, T0, MemorySource, at, new_source
from tests.testing.objects import (
    API_IMAGE_RC,
    DATABASE_CRD,
    SECRET_PASSWORD,
    api_deployment,
    database,
    deployment,
    event,
    namespace,
    node,
    pod,
    replicaset,
    secret,
    web_config,
)
from tests.testing.scale import Churn, scale_pod, scale_source

__all__ = [
    "API_IMAGE_RC",
    "DATABASE_CRD",
    "END",
    "RESOURCE_TYPES",
    "SECRET_PASSWORD",
    "T0",
    "Churn",
    "MemorySource",
    "api_deployment",
    "at",
    "database",
    "deployment",
    "event",
    "incident_source",
    "namespace",
    "new_source",
    "node",
    "pod",
    "replicaset",
    "scale_pod",
    "scale_source",
    "secret",
    "web_config",
]

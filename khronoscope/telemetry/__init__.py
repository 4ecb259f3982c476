"""Pod logs and resource metrics, kept in their own time-indexed stores (no I/O, no UI).

Logs and metrics are not object versions: the Go tool stored every log line as a new version of
its pod, which grows quadratically. Here `LogStore` keeps each container's lines in compressed
chunks indexed by the server's timestamps and `MetricStore` keeps usage samples in arrays, both
queried "as of t" like the TemporalMap. `quantity` parses Kubernetes quantities (`500m`, `1Gi`).
The capture side lives in `khronoscope.cluster` (logs.py, metrics.py); recordings fill the same
stores when opened.
"""

from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.metricstore import MetricStore

__all__ = ["LogStore", "MetricStore"]

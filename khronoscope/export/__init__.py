"""Git export of any moment, a range as history, and drift against manifests in Git.

The command line calls `export_moment(source, t, repo, branch=..., scope=ExportScope(...))` and
`compute_drift(source, t, repo, rev, path)`; the app calls their `_async` twins, which run the
same steps but read the source on its event loop (in steps) and do the rest in a thread.
"""

from khronoscope.export.drift import (
    CompareMode,
    DriftItem,
    DriftReport,
    compute_drift,
    compute_drift_async,
    format_report,
)
from khronoscope.export.git import GitError, Identity
from khronoscope.export.moment import (
    ExportResult,
    export_moment,
    export_moment_async,
    write_moment,
)
from khronoscope.export.plan import Counts
from khronoscope.export.range import RangeResult, export_range
from khronoscope.export.scope import ExportScope
from khronoscope.export.secrets import SecretsMode
from khronoscope.export.snapshot import MomentState, read_moment
from khronoscope.export.target import ExportError

__all__ = [
    "CompareMode",
    "Counts",
    "DriftItem",
    "DriftReport",
    "ExportError",
    "ExportResult",
    "ExportScope",
    "GitError",
    "Identity",
    "MomentState",
    "RangeResult",
    "SecretsMode",
    "compute_drift",
    "compute_drift_async",
    "export_moment",
    "export_moment_async",
    "export_range",
    "format_report",
    "read_moment",
    "write_moment",
]

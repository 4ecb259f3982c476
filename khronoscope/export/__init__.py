"""Git export of any moment, a range as history, and drift against manifests in Git.

The app calls `export_moment(source, t, repo, branch=..., scope=ExportScope(...))` and
`compute_drift(source, t, repo, rev, path)`; the command line calls the same functions.
"""

from khronoscope.export.drift import (
    CompareMode,
    DriftItem,
    DriftReport,
    compute_drift,
    format_report,
)
from khronoscope.export.git import GitError, Identity
from khronoscope.export.moment import ExportResult, export_moment
from khronoscope.export.plan import Counts
from khronoscope.export.range import RangeResult, export_range
from khronoscope.export.scope import ExportScope
from khronoscope.export.secrets import SecretsMode
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
    "RangeResult",
    "SecretsMode",
    "compute_drift",
    "export_moment",
    "export_range",
    "format_report",
]

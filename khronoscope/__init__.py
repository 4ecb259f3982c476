"""khronoscope: record a Kubernetes cluster and travel through its past."""

__version__ = "0.1.0"

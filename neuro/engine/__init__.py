"""The event-driven engine (its simulator lands with the engine issue).

For now this package holds the explicit backend registry that ``neuro info`` reports: each
entry names its requirements and probes whether they are met here. No global "active
backend" exists; callers pass ``backend=`` explicitly.
"""

from neuro.engine.backends import BACKENDS, BackendInfo, probe_backends

__all__ = ["BACKENDS", "BackendInfo", "probe_backends"]

"""The event-driven engine: simulate IR graphs by touching only what is active.

``run(graph, inputs, dt, backend="numba")`` returns a :class:`Result` with the spikes per node,
the outputs, optional state traces and exact activity counts. Backends live in an explicit
registry (:data:`BACKENDS`): ``numpy`` (a plain reference) and ``numba`` (compiled loops, the
default); no global "active backend" exists.
"""

from neuro.engine.backends import BACKENDS, BackendInfo, probe_backends
from neuro.engine.counts import Counts, NodeCounts
from neuro.engine.inputs import PoissonInput
from neuro.engine.run import Result, run
from neuro.engine.signals import Events

__all__ = ["BACKENDS", "BackendInfo", "Counts", "Events", "NodeCounts", "PoissonInput", "Result", "probe_backends", "run"]

r"""Leaky integrate-and-fire neuron (NIR ``LIF``).

Continuous time (SI units: ``tau`` in s, voltages in V, ``r`` in ohm, ``x`` in A):

.. math::

    \tau \dot v = (v_{leak} - v) + r\,x, \qquad
    z = H(v - v_{threshold}), \qquad \text{on a spike: reset}

Discrete time (``x`` held over each step, coefficients as in :mod:`neuro.core.neurons.li`):

.. math::

    v' = a\,v + b\,v_{leak} + b\,r\,x, \quad z = H(v' - v_{threshold}), \quad
    v \leftarrow \mathrm{reset}(v', z)

The reset is a strategy (:class:`~neuro.core.reset.ResetToValue` sets ``v_reset``, NIR's
semantics; :class:`~neuro.core.reset.ResetSubtract` removes ``v_threshold``). A neuron
spikes at most once per step.

Example:
    >>> import numpy as np
    >>> from neuro.core.neurons import lif
    >>> from neuro.core.ops import NUMPY_OPS
    >>> p = lif.Params(tau=0.02, r=20.0, v_threshold=1.0)
    >>> c = lif.discretize(p, dt=1e-3)
    >>> s = lif.MODEL.init_state(p, shape=(2,))
    >>> z, s = lif.update(np.array([0.0, 30.0]), s, c, NUMPY_OPS)
    >>> z
    array([0., 1.])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from neuro.core.neurons._common import (
    AbstractParams,
    check_step,
    decay_coefficients,
    leaky_integrate,
    reset_membrane,
    value_default,
)
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops
from neuro.core.reset import Reset

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """LIF parameters: ``tau`` (s), ``r`` (ohm), ``v_leak``, ``v_threshold``, ``v_reset`` (V)."""

    tau: Any
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: Reset = field(default_factory=value_default)

    node_type = "LIF"
    positive = ("tau",)


class State(NamedTuple):
    v: Any


class Coeffs(NamedTuple):
    decay: Any
    bias: Any
    gain: Any
    v_threshold: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients of the discrete update for time step ``dt`` (s)."""
    return lif_coefficients(params, check_step(dt, method, METHODS, "LIF"), method)


def lif_coefficients(params: Any, dt: float, method: str) -> Coeffs:
    """The LIF coefficients of any params with LIF's fields (shared by ALIF and MultiSpikeLIF)."""
    a, b = decay_coefficients(params.tau, dt, method)
    return Coeffs(
        decay=a,
        bias=b * params.v_leak,
        gain=b * params.r,
        v_threshold=params.v_threshold,
        v_reset=params.v_reset,
        reset_keep=params.reset.keep,
        reset_subtract=params.reset.subtract,
    )


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    """One step: integrate, spike, reset."""
    v = leaky_integrate(state.v, x, c)
    z = ops.spike(v - c.v_threshold)
    v = reset_membrane(v, z, c.v_threshold, c, ops)
    return z, State(v=v)


def rest(params: Params) -> tuple[Any, ...]:
    """The membrane rests at ``v_leak``."""
    return (params.v_leak,)


MODEL = NeuronModel("LIF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

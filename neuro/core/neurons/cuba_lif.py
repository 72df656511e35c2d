r"""Current-based LIF neuron (NIR ``CubaLIF``).

.. math::

    \tau_{syn} \dot i = -i + w_{in}\,x, \quad
    \tau_{mem} \dot v = (v_{leak} - v) + r\,i, \quad
    z = H(v - v_{threshold}), \quad \text{on a spike: reset } v

The sub-threshold step is :func:`neuro.core.neurons.cuba_li.cuba_integrate` (its docstring
gives both discretisations); spike and reset follow :mod:`neuro.core.neurons.lif`. The
synaptic current is not reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from neuro.core.neurons._common import AbstractParams, check_step, reset_membrane, value_default
from neuro.core.neurons.cuba_li import State, cuba_coefficients, cuba_integrate
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops
from neuro.core.reset import Reset

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """CubaLIF parameters (SI): ``tau_syn``, ``tau_mem``, ``r``, ``v_leak``, ``v_threshold``,
    ``v_reset``, ``w_in`` and the reset strategy."""

    tau_syn: Any
    tau_mem: Any
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    w_in: Any = 1.0
    reset: Reset = field(default_factory=value_default)

    node_type = "CubaLIF"
    positive = ("tau_syn", "tau_mem")


class Coeffs(NamedTuple):
    decay_syn: Any
    gain_syn: Any
    decay: Any
    bias: Any
    gain_vi: Any
    gain_vx: Any
    v_threshold: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    sub = cuba_coefficients(params, check_step(dt, method, METHODS, "CubaLIF"), method)
    return Coeffs(
        *sub,
        v_threshold=params.v_threshold,
        v_reset=params.v_reset,
        reset_keep=params.reset.keep,
        reset_subtract=params.reset.subtract,
    )


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    v, i = cuba_integrate(state.v, state.i, x, c)
    z = ops.spike(v - c.v_threshold)
    v = reset_membrane(v, z, c.v_threshold, c, ops)
    return z, State(v=v, i=i)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_leak, 0.0)


MODEL = NeuronModel("CubaLIF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

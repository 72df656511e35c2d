r"""Integer multi-spike LIF (the I-LIF of Spike-driven Transformer V3, Yao et al. 2025).

The membrane follows :mod:`neuro.core.neurons.lif`; the output is an integer spike count

.. math:: z = \mathrm{round}\big(\mathrm{clip}(v / v_{threshold}, 0, D)\big)
            = \sum_{k=1}^{D} H\big(v - (k - \tfrac12)\,v_{threshold}\big)

with ``D = max_spikes``. Written as a sum of ``D`` Heaviside steps, the count uses only the
``spike`` primitive, and with the straight-through surrogate of width ``v_threshold`` the
summed surrogate gradient is the window indicator of ``[0, D v_threshold]``, the I-LIF's STE.
Ties (``v`` exactly half-way) round down. At inference the count unrolls into ``D`` binary
virtual time steps. Reset by subtraction (the default) removes ``z * v_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from neuro.core.neurons._common import (
    AbstractParams,
    check_step,
    leaky_integrate,
    reset_membrane,
    subtract_default,
)
from neuro.core.neurons.lif import State, lif_coefficients
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops
from neuro.core.reset import Reset

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """Multi-spike LIF parameters: those of LIF plus ``max_spikes`` (D, an integer >= 1)."""

    tau: Any
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    max_spikes: int = 4
    reset: Reset = field(default_factory=subtract_default)

    node_type = "MultiSpikeLIF"
    positive = ("tau", "v_threshold")
    integers = ("max_spikes",)


class Coeffs(NamedTuple):
    decay: Any
    bias: Any
    gain: Any
    v_threshold: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float
    max_spikes: int


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "MultiSpikeLIF")
    return Coeffs(*lif_coefficients(params, dt, method), max_spikes=params.max_spikes)


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    v = leaky_integrate(state.v, x, c)
    z = ops.spike(v - 0.5 * c.v_threshold)
    for k in range(1, c.max_spikes):
        z = z + ops.spike(v - (k + 0.5) * c.v_threshold)
    v = reset_membrane(v, z, c.v_threshold, c, ops)
    return z, State(v=v)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_leak,)


MODEL = NeuronModel(
    "MultiSpikeLIF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True
)

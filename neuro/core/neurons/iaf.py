r"""Integrate-and-fire neuron without leak (NIR ``IF``).

.. math:: \dot v = r\,x, \qquad z = H(v - v_{threshold}), \qquad \text{on a spike: reset}

Discrete: ``v' = v + dt r x`` (exact under a zero-order hold; both methods agree), then spike
and reset: the update is :func:`neuro.core.neurons.lif.update` with decay 1 and no bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro.core.neurons import lif
from neuro.core.neurons._common import AbstractParams, check_step, value_default
from neuro.core.neurons.model import NeuronModel
from neuro.core.reset import Reset

METHODS = ("exact", "euler")
State = lif.State
Coeffs = lif.Coeffs
update = lif.update


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """IF parameters: ``r``, ``v_threshold`` and ``v_reset`` (V)."""

    r: Any = 1.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    reset: Reset = field(default_factory=value_default)

    node_type = "IF"


def discretize(params: Params, dt: float, method: str = "exact") -> lif.Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "IF")
    return lif.Coeffs(
        decay=np.ones_like(params.r),
        bias=np.zeros_like(params.r),
        gain=dt * params.r,
        v_threshold=params.v_threshold,
        v_reset=params.v_reset,
        reset_keep=params.reset.keep,
        reset_subtract=params.reset.subtract,
    )


def rest(params: Params) -> tuple[Any, ...]:
    return (0.0,)


MODEL = NeuronModel("IF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

r"""Perfect integrator (NIR ``I``): :math:`\dot v = r\,x`, output ``z = v``.

With ``x`` held over a step both methods give the exact ``v' = v + dt\,r\,x``: the update is
:func:`neuro.core.neurons.li.update` with decay 1 and no bias. (``r`` has units of V/(A s);
NIR defines ``I`` and ``IF`` without a time constant.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.core.neurons import li
from neuro.core.neurons._common import AbstractParams, check_step
from neuro.core.neurons.model import NeuronModel

METHODS = ("exact", "euler")
State = li.State
Coeffs = li.Coeffs
update = li.update


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """Integrator parameter ``r``."""

    r: Any = 1.0

    node_type = "I"


def discretize(params: Params, dt: float, method: str = "exact") -> li.Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "I")
    return li.Coeffs(decay=np.ones_like(params.r), bias=np.zeros_like(params.r), gain=dt * params.r)


def rest(params: Params) -> tuple[Any, ...]:
    return (0.0,)


MODEL = NeuronModel("I", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=False)

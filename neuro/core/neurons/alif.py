r"""Adaptive-threshold LIF neuron (ALIF, Bellec et al. 2018).

Continuous time (SI units; ``b`` in V is the threshold's adaptation):

.. math::

    \tau \dot v = (v_{leak} - v) + r\,x, \qquad
    \tau_{adapt} \dot b = -b + \beta_{adapt}\,\tau_{adapt} \sum_k \delta(t - t_k), \qquad
    z = H(v - v_{threshold} - b)

so each spike raises the threshold by ``beta_adapt`` (V), which then relaxes with
``tau_adapt``. Discrete time:

.. math::

    v' = a\,v + b_v + g\,x, \quad \vartheta = v_{threshold} + b, \quad z = H(v' - \vartheta),
    \quad v \leftarrow \mathrm{reset}(v', z, \vartheta), \quad b \leftarrow \rho\,b + \beta_{adapt} z

with ``a`` and ``rho`` from :func:`~neuro.core.neurons._common.decay_coefficients` for ``tau``
and ``tau_adapt``. Reset by subtraction removes the adapted threshold ``theta``.
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
from neuro.core.neurons.lif import lif_coefficients
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops
from neuro.core.reset import Reset

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """ALIF parameters (SI): ``tau``, ``tau_adapt`` (s), ``r``, ``v_leak``, ``v_threshold``,
    ``v_reset``, ``beta_adapt`` (V per spike) and the reset strategy."""

    tau: Any
    tau_adapt: Any
    r: Any = 1.0
    v_leak: Any = 0.0
    v_threshold: Any = 1.0
    v_reset: Any = 0.0
    beta_adapt: Any = 0.1
    reset: Reset = field(default_factory=value_default)

    node_type = "ALIF"
    positive = ("tau", "tau_adapt")


class State(NamedTuple):
    v: Any
    b: Any


class Coeffs(NamedTuple):
    decay: Any
    bias: Any
    gain: Any
    v_threshold: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float
    decay_adapt: Any
    beta_adapt: Any


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "ALIF")
    rho, _ = decay_coefficients(params.tau_adapt, dt, method, "tau_adapt")
    return Coeffs(*lif_coefficients(params, dt, method), decay_adapt=rho, beta_adapt=params.beta_adapt)


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    v = leaky_integrate(state.v, x, c)
    theta = c.v_threshold + state.b
    z = ops.spike(v - theta)
    v = reset_membrane(v, z, theta, c, ops)
    b = c.decay_adapt * state.b + c.beta_adapt * z
    return z, State(v=v, b=b)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_leak, 0.0)


MODEL = NeuronModel("ALIF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

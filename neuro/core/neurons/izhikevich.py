r"""Izhikevich neuron in its dimensional form (Izhikevich 2007, *Dynamical Systems in
Neuroscience*, eqs. 8.5-8.6), SI units throughout.

.. math::

    C\,\dot v = k\,(v - v_{rest})(v - v_{threshold}) - u + x, \qquad
    \dot u = a\,\big(b\,(v - v_{rest}) - u\big)

    \text{if } v \ge v_{peak}: \quad v \leftarrow v_{reset}, \quad u \leftarrow u + d

``x`` is an input current (A). The defaults are the regular-spiking cortical neuron of the
book (C = 100 pF, k = 0.7 pA/mV^2, v_rest = -60 mV, v_threshold = -40 mV, v_peak = 35 mV,
a = 0.03 /ms, b = -2 nS, v_reset = -50 mV, d = 100 pA).

The model is nonlinear, so there is no exact discretisation. Both methods advance ``v`` by
forward Euler from the old state and differ in ``u``, which is linear in itself:

* ``"euler"``: ``u' = (1 - a dt) u + a b dt (v - v_rest)``;
* ``"exp_euler"``: ``u' = e^{-a dt} u + (1 - e^{-a dt}) b (v - v_rest)`` (exact for ``u`` with
  ``v`` held over the step).

Both are first order. The spike is detected on the new membrane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.neurons._common import AbstractParams, check_step, decay_coefficients, reset_membrane
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops

METHODS = ("euler", "exp_euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """Izhikevich parameters (SI): ``c_m`` (F), ``k`` (A/V^2), ``v_rest``, ``v_threshold``,
    ``v_peak``, ``v_reset`` (V), ``a`` (1/s), ``b`` (A/V), ``d`` (A)."""

    c_m: Any = 100e-12
    k: Any = 0.7e-6
    v_rest: Any = -60e-3
    v_threshold: Any = -40e-3
    v_peak: Any = 35e-3
    a: Any = 30.0
    b: Any = -2e-9
    v_reset: Any = -50e-3
    d: Any = 100e-12

    node_type = "Izhikevich"
    positive = ("c_m", "a")

    def __post_init__(self) -> None:
        super().__post_init__()
        if np.any(self.v_reset >= self.v_peak):
            raise ParameterError("Izhikevich.v_reset must lie below v_peak", "v_reset")


class State(NamedTuple):
    v: Any
    u: Any


class Coeffs(NamedTuple):
    h: Any
    k: Any
    v_rest: Any
    v_threshold: Any
    v_peak: Any
    decay_u: Any
    gain_u: Any
    d: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float


def discretize(params: Params, dt: float, method: str = "euler") -> Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "Izhikevich")
    decay_u, g = decay_coefficients(1.0 / params.a, dt, "exact" if method == "exp_euler" else "euler", "1/a")
    return Coeffs(
        h=dt / params.c_m,
        k=params.k,
        v_rest=params.v_rest,
        v_threshold=params.v_threshold,
        v_peak=params.v_peak,
        decay_u=decay_u,
        gain_u=g * params.b,
        d=params.d,
        v_reset=params.v_reset,
        reset_keep=0.0,
        reset_subtract=0.0,
    )


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    v, u = state.v, state.u
    v_new = v + c.h * (c.k * (v - c.v_rest) * (v - c.v_threshold) - u + x)
    u = c.decay_u * u + c.gain_u * (v - c.v_rest)
    z = ops.spike(v_new - c.v_peak)
    v_new = reset_membrane(v_new, z, c.v_peak, c, ops)
    return z, State(v=v_new, u=u + c.d * z)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_rest, 0.0)


MODEL = NeuronModel("Izhikevich", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

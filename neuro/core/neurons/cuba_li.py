r"""Current-based leaky integrator (NIR ``CubaLI``): a synaptic current filters the input.

Continuous time (``tau_syn``, ``tau_mem`` in s; ``i`` in A; ``v`` in V; ``r`` in ohm):

.. math::

    \tau_{syn} \dot i = -i + w_{in}\,x, \qquad
    \tau_{mem} \dot v = (v_{leak} - v) + r\,i

Discrete time, ``x`` held over each step, both updates from the old state:

.. math::

    i' = a_s\,i + g_s\,x, \qquad v' = a_m\,v + b_v + c_{vi}\,i + c_{vx}\,x

``"exact"`` (zero-order hold, exact solution of the linear system):
``a = exp(-dt/tau)``, ``g_s = (1 - a_s) w_in``, ``b_v = (1 - a_m) v_leak``,
``c_vi = r k``, ``c_vx = r w_in (1 - a_m - k)`` with
``k = a_m (dt/tau_mem) expm1(d)/d``, ``d = dt (1/tau_mem - 1/tau_syn)`` (``k`` is continuous at
``tau_syn = tau_mem``). ``"euler"``: ``a = 1 - dt/tau``, ``g_s = w_in dt/tau_syn``,
``b_v = v_leak dt/tau_mem``, ``c_vi = r dt/tau_mem``, ``c_vx = 0``.
The output ``z`` is the membrane ``v``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from neuro.core.neurons._common import AbstractParams, check_step, decay_coefficients
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """CubaLI parameters: ``tau_syn``, ``tau_mem`` (s), ``r`` (ohm), ``v_leak`` (V), ``w_in``."""

    tau_syn: Any
    tau_mem: Any
    r: Any = 1.0
    v_leak: Any = 0.0
    w_in: Any = 1.0

    node_type = "CubaLI"
    positive = ("tau_syn", "tau_mem")


class State(NamedTuple):
    v: Any
    i: Any


class Coeffs(NamedTuple):
    decay_syn: Any
    gain_syn: Any
    decay: Any
    bias: Any
    gain_vi: Any
    gain_vx: Any


def cuba_coefficients(params: Any, dt: float, method: str) -> Coeffs:
    """The two-compartment coefficients shared by CubaLI and CubaLIF."""
    a_s, b_s = decay_coefficients(params.tau_syn, dt, method, "tau_syn")
    a_m, b_m = decay_coefficients(params.tau_mem, dt, method, "tau_mem")
    if method == "exact":
        d = dt * (1.0 / params.tau_mem - 1.0 / params.tau_syn)
        safe = np.where(d == 0.0, 1.0, d)
        ratio = np.where(d == 0.0, 1.0, np.expm1(safe) / safe)
        k = a_m * (dt / params.tau_mem) * ratio
        gain_vx = params.r * params.w_in * (b_m - k)
    else:
        k = b_m
        gain_vx = np.zeros(np.broadcast_shapes(k.shape, np.shape(params.w_in)))
    return Coeffs(
        decay_syn=a_s,
        gain_syn=b_s * params.w_in,
        decay=a_m,
        bias=b_m * params.v_leak,
        gain_vi=params.r * k,
        gain_vx=gain_vx,
    )


def cuba_integrate(v: Any, i: Any, x: Any, c: Any) -> tuple[Any, Any]:
    """One step of the two-compartment dynamics; returns ``(v', i')``."""
    return c.decay * v + c.bias + c.gain_vi * i + c.gain_vx * x, c.decay_syn * i + c.gain_syn * x


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients for time step ``dt`` (s)."""
    return cuba_coefficients(params, check_step(dt, method, METHODS, "CubaLI"), method)


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    v, i = cuba_integrate(state.v, state.i, x, c)
    return v, State(v=v, i=i)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_leak, 0.0)


MODEL = NeuronModel("CubaLI", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=False)

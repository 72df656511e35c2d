r"""Leaky integrator (NIR ``LI``): a membrane without a spike.

Continuous time (SI units: ``tau`` in s, ``v`` and ``v_leak`` in V, ``r`` in ohm, ``x`` in A):

.. math:: \tau \dot v = (v_{leak} - v) + r\,x

Discrete time, with ``x`` held constant over each step of ``dt`` (see
:func:`~neuro.core.neurons._common.decay_coefficients`):

.. math:: v[t+1] = a\,v[t] + b\,v_{leak} + b\,r\,x[t]

with ``a = exp(-dt/tau), b = 1 - a`` (``"exact"``) or ``a = 1 - dt/tau, b = dt/tau``
(``"euler"``). The output ``z`` is the membrane ``v`` itself (a readout layer).

Example:
    >>> import numpy as np
    >>> from neuro.core.neurons import li
    >>> from neuro.core.ops import NUMPY_OPS
    >>> p = li.Params(tau=0.01)
    >>> c = li.discretize(p, dt=1e-3, method="exact")
    >>> z, s = li.update(np.ones(3), li.State(v=np.zeros(3)), c, NUMPY_OPS)
    >>> np.round(z, 4)
    array([0.0952, 0.0952, 0.0952])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from neuro.core.neurons._common import AbstractParams, check_step, decay_coefficients, leaky_integrate
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """LI parameters: ``tau`` (s), ``r`` (ohm), ``v_leak`` (V)."""

    tau: Any
    r: Any = 1.0
    v_leak: Any = 0.0

    node_type = "LI"
    positive = ("tau",)


class State(NamedTuple):
    v: Any


class Coeffs(NamedTuple):
    decay: Any
    bias: Any
    gain: Any


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients of the discrete update for time step ``dt`` (s)."""
    dt = check_step(dt, method, METHODS, "LI")
    a, b = decay_coefficients(params.tau, dt, method)
    return Coeffs(decay=a, bias=b * params.v_leak, gain=b * params.r)


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    """One step; returns the membrane as output."""
    v = leaky_integrate(state.v, x, c)
    return v, State(v=v)


def rest(params: Params) -> tuple[Any, ...]:
    """The membrane rests at ``v_leak``."""
    return (params.v_leak,)


MODEL = NeuronModel("LI", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=False)

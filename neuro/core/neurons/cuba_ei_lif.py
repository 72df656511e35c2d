r"""LIF neuron with separate excitatory and inhibitory synaptic currents and an absolute
refractory period (``CubaEILIF``, a non-NIR extension): the neuron of the Vogels-Abbott CUBA
benchmark (Brette et al. 2007, benchmark 2).

Continuous time (SI units: ``tau_*`` and ``t_refrac`` in s, voltages in V, ``r`` in ohm,
currents in A):

.. math::

    \tau_{mem} \dot v = (v_{leak} - v) + r\,(i_{exc} + i_{inh})
        \quad\text{(held at } v_{reset} \text{ while refractory)}, \\
    \tau_{syn,exc} \dot i_{exc} = -i_{exc} + \tau_{syn,exc} \textstyle\sum_k x_{exc,k}\,\delta(t - t_k),
    \qquad
    \tau_{syn,inh} \dot i_{inh} = -i_{inh} + \tau_{syn,inh} \textstyle\sum_k x_{inh,k}\,\delta(t - t_k), \\
    z = H(v - v_{threshold}) \text{ when not refractory}; \text{ on a spike: reset } v,
    \text{ refractory for } t_{refrac}

An input is a jump of the current: ``x_exc`` (A) is added to ``i_exc`` (Brian2's
``on_pre='ge += w'``). With ``r = 1`` the currents are in volts, as Brian2's CUBA writes
``g_e`` and ``g_i``.

**Two input channels.** ``x`` is the pair ``(x_exc, x_inh)``: a population of ``n`` neurons
receives ``2 n`` inputs, excitatory ones at ``0 .. n - 1`` and inhibitory ones at
``n .. 2 n - 1`` (input shape ``(2 n,)``, the flat form of ``(2, n)``; a SparseLinear with
``n_out = 2 n`` routes an excitatory synapse onto neuron ``j`` to ``j`` and an inhibitory one to
``n + j``). Multi-dimensional populations take ``(2, *shape)``. The sign of a weight does not
tell the channels apart.

Discrete time, one step of ``dt``, inputs at the start of the step:

.. math::

    i_e = i_{exc} + x_{exc}, \quad i_i = i_{inh} + x_{inh}, \quad
    v' = a_m v + (1 - a_m) v_{leak} + k_e\,i_e + k_i\,i_i \text{ (not refractory; else } v' = v), \\
    z = H(v' - v_{threshold}) \text{ (not refractory)}, \quad v \leftarrow \mathrm{reset}(v', z),
    \quad i_{exc} \leftarrow a_e\,i_e, \quad i_{inh} \leftarrow a_i\,i_i

``"exact"``: ``a_x = exp(-dt/tau_x)`` and ``k_x = r a_m (dt/tau_mem) expm1(d)/d`` with
``d = dt (1/tau_mem - 1/tau_x)``, i.e. ``r tau_x / (tau_x - tau_mem) (a_x - a_m)``: the
analytic contribution of the decaying current over the step, as Brian2's ``method='exact'``
integrates the coupled linear system (continuous at ``tau_x = tau_mem``; shared with
:mod:`~neuro.core.neurons.cuba_li`). ``"euler"``: ``a_x = 1 - dt/tau_x``,
``k_x = r dt/tau_mem``.

**Refractoriness** (Brian2's ``timestep`` semantics): ``refrac`` counts the steps the membrane
is still held. A spike at step ``s`` sets it to ``round(t_refrac/dt) - 1``; the membrane is
then held for steps ``s + 1 .. s + round(t_refrac/dt) - 1`` and integrates again at
``s + round(t_refrac/dt)``, exactly when Brian2's ``not_refractory = timestep(t - lastspike,
dt) >= timestep(refractory, dt)`` turns true. The currents keep decaying and integrating
their input while the membrane is held.

Example:
    >>> import numpy as np
    >>> from neuro.core.neurons import cuba_ei_lif
    >>> from neuro.core.ops import NUMPY_OPS
    >>> p = cuba_ei_lif.Params(v_leak=-0.06)  # CUBA's values otherwise; v_leak below threshold
    >>> c = cuba_ei_lif.discretize(p, dt=1e-4)
    >>> s = cuba_ei_lif.MODEL.init_state(p, shape=(2,))
    >>> x = (np.array([0.0, 3.0]), np.zeros(2))  # (excitatory, inhibitory) jumps, volts (r = 1)
    >>> z, s = cuba_ei_lif.update(x, s, c, NUMPY_OPS)
    >>> z, s.refrac
    (array([0., 1.]), array([ 0., 49.]))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from neuro.core.errors import ParameterError, ShapeError
from neuro.core.neurons._common import AbstractParams, Shape, check_step, decay_coefficients, reset_membrane, value_default
from neuro.core.neurons.cuba_li import cuba_coefficients
from neuro.core.neurons.model import NeuronModel
from neuro.core.ops import Ops
from neuro.core.reset import Reset

METHODS = ("exact", "euler")


@dataclass(frozen=True, eq=False, repr=False)
class Params(AbstractParams):
    """CubaEILIF parameters (SI). Defaults are the CUBA benchmark's (Vogels & Abbott 2005):
    ``tau_mem`` 20 ms, ``tau_syn_exc`` 5 ms, ``tau_syn_inh`` 10 ms, ``r`` 1 ohm,
    ``v_leak`` -49 mV, ``v_threshold`` -50 mV, ``v_reset`` -60 mV, ``t_refrac`` 5 ms."""

    tau_mem: Any = 20e-3
    tau_syn_exc: Any = 5e-3
    tau_syn_inh: Any = 10e-3
    r: Any = 1.0
    v_leak: Any = -49e-3
    v_threshold: Any = -50e-3
    v_reset: Any = -60e-3
    t_refrac: Any = 5e-3
    reset: Reset = field(default_factory=value_default)

    node_type = "CubaEILIF"
    positive = ("tau_mem", "tau_syn_exc", "tau_syn_inh")
    input_channels: ClassVar[int] = 2
    """The input has a leading channel axis: 0 excitatory, 1 inhibitory."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if np.any(np.asarray(self.t_refrac) < 0):
            raise ParameterError("CubaEILIF.t_refrac must be >= 0 s", "t_refrac")

    def output_shape(self, input_shape: Shape) -> Shape:
        """Input ``(2 n,)`` gives output ``(n,)``; input ``(2, *shape)`` gives ``shape``.

        The flat form is what a SparseLinear or Linear with ``2 n`` outputs delivers:
        excitatory inputs at ``0 .. n - 1``, inhibitory ones at ``n .. 2 n - 1``.

        Raises:
            ShapeError: the input cannot be split into two channels, or its population shape
                differs from the parameters' shape.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) == 1 and input_shape[0] % 2 == 0:
            return super().output_shape((input_shape[0] // 2,))
        if len(input_shape) >= 2 and input_shape[0] == 2:
            return super().output_shape(input_shape[1:])
        raise ShapeError(
            f"CubaEILIF expects input of shape (2 n,) or (2, *population) (channel 0 excitatory, 1 "
            f"inhibitory), got {input_shape}"
        )


class State(NamedTuple):
    v: Any
    i_exc: Any
    i_inh: Any
    refrac: Any  # steps the membrane is still held (0 when free)


class Coeffs(NamedTuple):
    decay: Any
    bias: Any
    gain_exc: Any
    gain_inh: Any
    decay_exc: Any
    decay_inh: Any
    v_threshold: Any
    v_reset: Any
    reset_keep: float
    reset_subtract: float
    refrac_steps: Any


class _Compartments(NamedTuple):
    """The fields :func:`~neuro.core.neurons.cuba_li.cuba_coefficients` reads."""

    tau_syn: Any
    tau_mem: Any
    r: Any
    v_leak: Any
    w_in: Any


def discretize(params: Params, dt: float, method: str = "exact") -> Coeffs:
    """Coefficients for time step ``dt`` (s); ``refrac_steps = max(round(t_refrac/dt) - 1, 0)``."""
    dt = check_step(dt, method, METHODS, "CubaEILIF")
    exc = cuba_coefficients(_Compartments(params.tau_syn_exc, params.tau_mem, params.r, params.v_leak, 1.0), dt, method)
    inh = cuba_coefficients(_Compartments(params.tau_syn_inh, params.tau_mem, params.r, params.v_leak, 1.0), dt, method)
    a_m, b_m = decay_coefficients(params.tau_mem, dt, method, "tau_mem")
    return Coeffs(
        decay=a_m,
        bias=b_m * params.v_leak,
        gain_exc=exc.gain_vi,
        gain_inh=inh.gain_vi,
        decay_exc=exc.decay_syn,
        decay_inh=inh.decay_syn,
        v_threshold=params.v_threshold,
        v_reset=params.v_reset,
        reset_keep=params.reset.keep,
        reset_subtract=params.reset.subtract,
        refrac_steps=np.maximum(np.rint(np.asarray(params.t_refrac) / dt) - 1.0, 0.0),
    )


def update(x: Any, state: State, c: Coeffs, ops: Ops) -> tuple[Any, State]:
    """One step; ``x`` is the pair ``(x_exc, x_inh)`` of current jumps."""
    x_exc, x_inh = x[0], x[1]
    i_e = state.i_exc + x_exc
    i_i = state.i_inh + x_inh
    free = state.refrac < 0.5
    v = ops.where(free, c.decay * state.v + c.bias + c.gain_exc * i_e + c.gain_inh * i_i, state.v)
    z = ops.where(free, ops.spike(v - c.v_threshold), 0.0 * state.refrac)
    v = reset_membrane(v, z, c.v_threshold, c, ops)
    refrac = ops.where(z > 0, c.refrac_steps + 0.0 * v, ops.where(free, 0.0 * state.refrac, state.refrac - 1.0))
    return z, State(v=v, i_exc=c.decay_exc * i_e, i_inh=c.decay_inh * i_i, refrac=refrac)


def rest(params: Params) -> tuple[Any, ...]:
    return (params.v_leak, 0.0, 0.0, 0.0)


MODEL = NeuronModel("CubaEILIF", Params, State, Coeffs, METHODS, discretize, update, rest, spiking=True)

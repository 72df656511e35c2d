r"""Hand-fused multi-step kernel for the LIF step (used by LIF and IF).

The generic path runs the model's ``update`` once per time step and autograd records about
fifteen nodes per step. This kernel is one :class:`torch.autograd.Function` over the whole
sequence with few tensor operations per step on ``(B, ...)`` slices and no whole-sequence
temporaries (allocating those costs more than the arithmetic they would save). It is an
optimisation of :func:`neuro.core.neurons.lif.update` and nothing else: the tests run both
paths on the same input and require identical spikes and gradients equal to rounding
(float64), and a sentinel counts the calls of this kernel.

Forward (coefficients of :func:`~neuro.core.neurons.lif.lif_coefficients`):

.. math::

    u_t = a v_{t-1} + b + g x_t, \quad z_t = [u_t > \vartheta], \quad
    v_t = z_t\,(\kappa u_t - \sigma \vartheta + (1 - \kappa) v_r) + (1 - z_t)\, u_t

(:func:`~neuro.core.neurons._common.reset_membrane` with at most one spike). Backward, with the
surrogate derivative :math:`s'_t = s'(u_t - \vartheta)`, exactly what autograd computes through
the generic ``update`` (the generic ``where`` passes the gradient of :math:`z` only through the
spiking branch, hence the factor :math:`z_t` in :math:`R_t`):

.. math::

    \bar u_t = \bar z_t s'_t + \bar v_t R_t, \quad
    R_t = s'_t\,(-\sigma \vartheta z_t) + z_t \kappa + 1 - z_t, \quad
    \bar x_t = g \bar u_t, \quad \bar v_{t-1} = a \bar u_t.
"""

from __future__ import annotations

from typing import Any

import torch

from neuro.core.neurons import lif
from neuro.core.neurons.model import NeuronModel
from neuro.core.surrogate import Surrogate
from neuro.torch.ops import _TorchPrimitives

CALLS = {"fused_lif": 0}
"""How often the fused kernel ran (a sentinel for tests that the fast path was taken)."""


def supports(model: NeuronModel) -> bool:
    """Whether ``model`` advances with the LIF step (LIF, IF)."""
    return model.update is lif.update


def _reset(u: torch.Tensor, spiked: torch.Tensor, c: Any) -> torch.Tensor:
    if c.reset_keep == 1.0 and c.reset_subtract == 1.0:
        return torch.where(spiked, u - c.v_threshold, u)
    if c.reset_keep == 0.0 and c.reset_subtract == 0.0:
        return torch.where(spiked, c.v_reset, u)
    fired = c.reset_keep * u - c.reset_subtract * c.v_threshold + (1.0 - c.reset_keep) * c.v_reset
    return torch.where(spiked, fired, u)


class _FusedLIF(torch.autograd.Function):
    # Work step by step on (B, ...) slices: whole-sequence temporaries are large enough that
    # allocating them costs more (fresh pages from the OS) than the arithmetic they save.
    @staticmethod
    def forward(ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, coeffs: Any, surrogate: Surrogate) -> Any:
        c = coeffs
        decay = torch.as_tensor(c.decay, dtype=x_seq.dtype, device=x_seq.device)
        gain = torch.as_tensor(c.gain, dtype=x_seq.dtype, device=x_seq.device)
        bias = torch.as_tensor(c.bias, dtype=x_seq.dtype, device=x_seq.device)
        # (a v + b) + g x in the generic update's order and without fused multiply-add, so both
        # paths round identically; with b = 0 the sum a v + g x is the same number.
        has_bias = bool((bias != 0).any())
        u_seq = torch.empty_like(x_seq)
        z_seq = torch.empty_like(x_seq)
        drive = torch.empty_like(x_seq[0])
        v = v0
        for t in range(x_seq.shape[0]):
            u = torch.mul(v, decay, out=u_seq[t])
            if has_bias:
                u.add_(bias)
            u.add_(torch.mul(x_seq[t], gain, out=drive))
            spiked = u > c.v_threshold
            z_seq[t].copy_(spiked)
            v = _reset(u, spiked, c)
        ctx.save_for_backward(u_seq, z_seq)
        ctx.coeffs = c
        ctx.surrogate = surrogate
        ctx.v0_shape = v0.shape
        CALLS["fused_lif"] += 1
        return z_seq, v

    @staticmethod
    def backward(ctx: Any, grad_z: torch.Tensor, grad_v: torch.Tensor) -> Any:
        u_seq, z_seq = ctx.saved_tensors
        c = ctx.coeffs
        decay = torch.as_tensor(c.decay, dtype=u_seq.dtype, device=u_seq.device)
        gain = torch.as_tensor(c.gain, dtype=u_seq.dtype, device=u_seq.device)
        g_v = grad_v if grad_v is not None else torch.zeros_like(u_seq[0])
        grad_x = torch.empty_like(u_seq)
        for t in range(u_seq.shape[0] - 1, -1, -1):
            z = z_seq[t]
            s = ctx.surrogate.derivative(u_seq[t] - c.v_threshold, _TorchPrimitives)
            if c.reset_keep == 1.0 and c.reset_subtract == 1.0:
                r = 1 - (z * s) * c.v_threshold
            elif c.reset_keep == 0.0 and c.reset_subtract == 0.0:
                r = 1 - z
            else:
                r = s * (-c.reset_subtract * c.v_threshold * z) + z * c.reset_keep + (1 - z)
            g_u = g_v * r
            if grad_z is not None:
                g_u = torch.addcmul(g_u, grad_z[t], s)
            torch.mul(g_u, gain, out=grad_x[t])
            g_v = g_u * decay
        return grad_x, _sum_to(g_v, ctx.v0_shape), None, None


def _sum_to(grad: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Reduce a broadcast gradient back to ``shape``."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(i, keepdim=True)
    return grad


def run(model: NeuronModel, x_seq: torch.Tensor, state: Any, coeffs: Any, surrogate: Surrogate) -> tuple[torch.Tensor, Any]:
    """``(z_seq, state)`` of a LIF-step model over ``x_seq`` in one autograd node."""
    v0 = state.v.to(x_seq.dtype).expand(x_seq.shape[1:])
    z_seq, v = _FusedLIF.apply(x_seq, v0, coeffs, surrogate)
    return z_seq, model.state(v=v)

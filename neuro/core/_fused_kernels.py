r"""Loops of the fused multi-step LIF kernel, compiled by :mod:`neuro.core.jit`.

These are plain Python functions over numpy arrays (they also run, slowly, uncompiled);
:func:`neuro.core.jit.fused_lif_forward` and :func:`~neuro.core.jit.fused_lif_backward` compile
them with Numba, replacing ``prange`` by ``numba.prange``. Nothing here imports Numba.

The arrays are ``x``/``u``/``z`` of shape ``(T, B, M)`` (time, batch, flattened features in
memory order) and coefficients of shape ``(M,)``, already broadcast over the features. Each
parallel job advances a block of neurons of one batch row over the whole sequence, so the
membrane of the block stays in cache. The equations are those of :mod:`neuro.torch.fused`:
``u = (a v + b) + g x`` in the generic update's order (no fused multiply-add), ``z = [u > theta]``
and the reset of :func:`~neuro.core.neurons._common.reset_membrane`; ``mode`` 0 is
``ResetSubtract`` (``v = u - theta``), 1 is ``ResetToValue`` (``v = v_reset``), 2 the general
``(keep u - subtract theta) + (1 - keep) v_reset``.
"""

from __future__ import annotations

prange = range  # numba.prange once compiled
derivative = None  # the surrogate's compiled derivative, bound per surrogate class when compiled
Ops = None  # the ops NamedTuple class, and its primitives exp/where/spike, bound when compiled
exp = where = spike = None

BLOCK = 512
"""Neurons per parallel job."""


def lif_forward(x, v0, decay, bias, gain, theta, v_reset, keep, subtract, one_minus_keep, mode, u_seq, z_seq, v_out):
    """Forward recurrence; writes ``u_seq``, ``z_seq`` ``(T, B, M)`` and the final ``v_out`` ``(B, M)``."""
    n_steps, batch, m = x.shape
    n_blocks = (m + BLOCK - 1) // BLOCK
    for job in prange(batch * n_blocks):
        b = job // n_blocks
        lo = (job % n_blocks) * BLOCK
        hi = min(lo + BLOCK, m)
        v = v0[b, lo:hi].copy()
        a, c, g, th, vr = decay[lo:hi], bias[lo:hi], gain[lo:hi], theta[lo:hi], v_reset[lo:hi]
        # One branch-free inner loop per reset (the compiler vectorises these) over 1-D slices.
        for t in range(n_steps):
            xt, ut, zt = x[t, b, lo:hi], u_seq[t, b, lo:hi], z_seq[t, b, lo:hi]
            if mode == 0:
                for i in range(hi - lo):
                    u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
                    ut[i] = u
                    spiked = u > th[i]
                    zt[i] = spiked
                    v[i] = u - th[i] if spiked else u
            elif mode == 1:
                for i in range(hi - lo):
                    u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
                    ut[i] = u
                    spiked = u > th[i]
                    zt[i] = spiked
                    v[i] = vr[i] if spiked else u
            else:
                for i in range(hi - lo):
                    u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
                    ut[i] = u
                    spiked = u > th[i]
                    zt[i] = spiked
                    v[i] = (keep * u - subtract * th[i]) + one_minus_keep * vr[i] if spiked else u
        v_out[b, lo:hi] = v


def lif_backward(u_seq, grad_z, grad_v, decay, gain, theta, keep, subtract, mode, surrogate, grad_x, grad_v0):
    """Backward recurrence; writes ``grad_x`` ``(T, B, M)`` and ``grad_v0`` ``(B, M)``.

    ``derivative(surrogate, x, ops)`` is the compiled ``derivative`` method of the surrogate
    strategy, bound as a global when the loop is compiled for that strategy (so the compiler
    inlines and vectorises it), and ``surrogate`` a tuple of its fields. The gradient through the reset is
    ``r = 1 - s theta`` (subtract), ``0`` (to value) or ``keep - s subtract theta`` on a spike
    and ``1`` otherwise.
    """
    n_steps, batch, m = u_seq.shape
    n_blocks = (m + BLOCK - 1) // BLOCK
    for job in prange(batch * n_blocks):
        ops = Ops(exp, where, spike)
        b = job // n_blocks
        lo = (job % n_blocks) * BLOCK
        hi = min(lo + BLOCK, m)
        gv = grad_v[b, lo:hi].copy()
        a, g, th = decay[lo:hi], gain[lo:hi], theta[lo:hi]
        for t in range(n_steps - 1, -1, -1):
            ut, gzt, gxt = u_seq[t, b, lo:hi], grad_z[t, b, lo:hi], grad_x[t, b, lo:hi]
            if mode == 0:
                for i in range(hi - lo):
                    d = ut[i] - th[i]
                    s = derivative(surrogate, d, ops)
                    g_u = gv[i] * (1 - s * th[i] if d > 0 else 1.0) + gzt[i] * s
                    gxt[i] = g_u * g[i]
                    gv[i] = g_u * a[i]
            elif mode == 1:
                for i in range(hi - lo):
                    d = ut[i] - th[i]
                    s = derivative(surrogate, d, ops)
                    g_u = gv[i] * (0.0 if d > 0 else 1.0) + gzt[i] * s
                    gxt[i] = g_u * g[i]
                    gv[i] = g_u * a[i]
            else:
                for i in range(hi - lo):
                    d = ut[i] - th[i]
                    s = derivative(surrogate, d, ops)
                    g_u = gv[i] * (s * (-subtract * th[i]) + keep if d > 0 else 1.0) + gzt[i] * s
                    gxt[i] = g_u * g[i]
                    gv[i] = g_u * a[i]
        grad_v0[b, lo:hi] = gv

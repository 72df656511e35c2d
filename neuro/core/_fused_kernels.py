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
``(keep u - subtract theta) + (1 - keep) v_reset``. The step and its gradient are written once
(:func:`lif_step`, :func:`lif_grad_step`) and inlined into every loop.

:func:`lif_pool_forward` and :func:`lif_pool_backward` fuse the LIF with the 2-D max pooling
that follows it (``torch.nn.MaxPool2d``, dilation 1): the spikes of a step are pooled while
they are in cache, so the spike sequence never exists in memory (the position of each maximum
is kept as one byte per pooled output, and the membrane before the reset for the backward). The
pooling keeps torch's choice of the maximum (the first in window order, padding never wins),
:func:`window_argmax`, so the gradient goes to the same neuron.
"""

from __future__ import annotations

import numpy as np

prange = range  # numba.prange once compiled
derivative = None  # the surrogate's compiled derivative, bound per surrogate class when compiled
# When compiled, the helpers lif_step, lif_grad_step and window_argmax are bound to compiled twins.
Ops = None  # the ops NamedTuple class, and its primitives exp/where/spike, bound when compiled
exp = where = spike = None

BLOCK = 512
"""Neurons per parallel job."""


def lif_step(xt, v, a, c, g, th, vr, keep, subtract, one_minus_keep, mode, ut, zt):
    """One step of the LIF for a 1-D slab of neurons: ``v`` advanced in place, ``u`` written to
    ``ut`` and the spikes to ``zt``. One branch-free loop per reset (the compiler vectorises them)."""
    n = xt.shape[0]
    if mode == 0:
        for i in range(n):
            u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
            ut[i] = u
            spiked = u > th[i]
            zt[i] = spiked
            v[i] = u - th[i] if spiked else u
    elif mode == 1:
        for i in range(n):
            u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
            ut[i] = u
            spiked = u > th[i]
            zt[i] = spiked
            v[i] = vr[i] if spiked else u
    else:
        for i in range(n):
            u = (a[i] * v[i] + c[i]) + g[i] * xt[i]
            ut[i] = u
            spiked = u > th[i]
            zt[i] = spiked
            v[i] = (keep * u - subtract * th[i]) + one_minus_keep * vr[i] if spiked else u


def lif_grad_step(ut, gzt, gv, a, g, th, keep, subtract, mode, surrogate, ops, gxt):
    """The gradient of one step for a 1-D slab: from the membrane ``ut``, the gradient of the
    spikes ``gzt`` and of the next membrane ``gv`` (updated in place to that of the previous
    one), writes the gradient of the input to ``gxt`` (which may be ``ut`` itself).

    The gradient through the reset is ``r = 1 - s theta`` (subtract), ``0`` (to value) or
    ``keep - s subtract theta`` on a spike and ``1`` otherwise."""
    n = ut.shape[0]
    if mode == 0:
        for i in range(n):
            d = ut[i] - th[i]
            s = derivative(surrogate, d, ops)
            g_u = gv[i] * (1 - s * th[i] if d > 0 else 1.0) + gzt[i] * s
            gxt[i] = g_u * g[i]
            gv[i] = g_u * a[i]
    elif mode == 1:
        for i in range(n):
            d = ut[i] - th[i]
            s = derivative(surrogate, d, ops)
            g_u = gv[i] * (0.0 if d > 0 else 1.0) + gzt[i] * s
            gxt[i] = g_u * g[i]
            gv[i] = g_u * a[i]
    else:
        for i in range(n):
            d = ut[i] - th[i]
            s = derivative(surrogate, d, ops)
            g_u = gv[i] * (s * (-subtract * th[i]) + keep if d > 0 else 1.0) + gzt[i] * s
            gxt[i] = g_u * g[i]
            gv[i] = g_u * a[i]


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
        for t in range(n_steps):
            lif_step(
                x[t, b, lo:hi], v, a, c, g, th, vr, keep, subtract, one_minus_keep, mode, u_seq[t, b, lo:hi], z_seq[t, b, lo:hi]
            )
        v_out[b, lo:hi] = v


def lif_backward(u_seq, grad_z, grad_v, decay, gain, theta, keep, subtract, mode, surrogate, grad_x, grad_v0):
    """Backward recurrence; writes ``grad_x`` ``(T, B, M)`` and ``grad_v0`` ``(B, M)``.

    ``derivative(surrogate, x, ops)`` is the compiled ``derivative`` method of the surrogate
    strategy, bound as a global when the loop is compiled for that strategy (so the compiler
    inlines and vectorises it), and ``surrogate`` a tuple of its fields.
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
            gxt = grad_x[t, b, lo:hi]
            lif_grad_step(u_seq[t, b, lo:hi], grad_z[t, b, lo:hi], gv, a, g, th, keep, subtract, mode, surrogate, ops, gxt)
        grad_v0[b, lo:hi] = gv


def window_argmax(z, geometry, oh, ow, best, arg):
    """Maximum ``best[c]`` of the pooling window ``(oh, ow)`` of each channel in the slab ``z``,
    and its position ``arg[c]`` in the window (``i * kernel_w + j``): the first maximum in window
    order (rows, then columns), as torch's max pooling picks it; positions in the padding are
    skipped (they never win). Branch-free, so the channel loop vectorises.

    ``geometry`` is ``(C, H, W, stride_c, stride_h, stride_w, H_out, W_out, out_stride_c,
    out_stride_h, out_stride_w, kernel_h, kernel_w, step_h, step_w, pad_h, pad_w)``, strides
    in elements of the slab."""
    n_c, height, width, sc, sh, sw = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    kh, kw, step_h, step_w, pad_h, pad_w = geometry[11], geometry[12], geometry[13], geometry[14], geometry[15], geometry[16]
    for c in range(n_c):
        best[c] = -np.inf
        arg[c] = 0
    for i in range(kh):
        h = oh * step_h - pad_h + i
        for j in range(kw):
            w = ow * step_w - pad_w + j
            if 0 <= h < height and 0 <= w < width:
                base = h * sh + w * sw
                k = i * kw + j
                if sc == 1:  # channels last: a contiguous run the compiler vectorises
                    zr = z[base : base + n_c]
                    for c in range(n_c):
                        better = zr[c] > best[c]
                        best[c] = zr[c] if better else best[c]
                        arg[c] = k if better else arg[c]
                else:
                    for c in range(n_c):
                        val = z[base + c * sc]
                        better = val > best[c]
                        best[c] = val if better else best[c]
                        arg[c] = k if better else arg[c]


def row_argmax(z, geometry, oh, best, arg, vm, vk):
    """:func:`window_argmax` for every window of the output row ``oh`` when the windows are 2 x 2
    with stride 2 and no padding over a channels-last slab (``stride_c == 1``, ``stride_w == C``)
    whose outputs ``best`` and ``arg`` (``W_out * C`` each) are contiguous. First the two input
    rows are compared element by element over their whole contiguous length (``vm``, ``vk``:
    the larger and its window row, the upper one on a tie), then each window's left and right
    halves; the position kept is the first maximum in window order, as in :func:`window_argmax`.
    Both loops are long and branch-free, so they vectorise."""
    n_c, sh, w_out = geometry[0], geometry[4], geometry[7]
    top = 2 * oh * sh
    row = 2 * w_out * n_c
    upper, lower = z[top : top + row], z[top + sh : top + sh + row]
    for q in range(row):
        down = lower[q] > upper[q]
        vm[q] = lower[q] if down else upper[q]
        vk[q] = 2 if down else 0
    for ow in range(w_out):
        p = 2 * ow * n_c
        left, right, left_k = vm[p : p + n_c], vm[p + n_c : p + 2 * n_c], vk[p : p + n_c]
        right_k = vk[p + n_c : p + 2 * n_c]
        br, ar = best[ow * n_c : ow * n_c + n_c], arg[ow * n_c : ow * n_c + n_c]
        for c in range(n_c):
            k = right_k[c] + 1
            take = right[c] > left[c] or (right[c] == left[c] and k < left_k[c])
            br[c] = right[c] if take else left[c]
            ar[c] = k if take else left_k[c]


def lif_pool_forward(
    x, v0, decay, bias, gain, theta, v_reset, keep, subtract, one_minus_keep, mode, geometry, pooled, argmax, u_seq, v_out
):  # fmt: skip
    """LIF then max pooling; writes the pooled spikes ``pooled`` ``(T, B, M_out)``, the position
    of each maximum in its window ``argmax`` (same layout), the membrane before the reset
    ``u_seq`` ``(T, B, M)`` (both for the backward) and ``v_out``.

    Each parallel job advances one batch row over the whole sequence, pooling each step's
    spikes (a slab of ``M`` values in cache) at once."""
    n_steps, batch, m = x.shape
    n_c, h_out, w_out, oc, o_h, o_w = geometry[0], geometry[6], geometry[7], geometry[8], geometry[9], geometry[10]
    pool2 = geometry[3] == 1 and geometry[5] == n_c and geometry[11:] == (2, 2, 2, 2, 0, 0)
    for b in prange(batch):
        v = v0[b].copy()
        z = np.empty(m, dtype=x.dtype)
        best = np.empty(n_c, dtype=x.dtype)
        arg = np.empty(n_c, dtype=argmax.dtype)
        vm = np.empty(2 * w_out * n_c, dtype=x.dtype)  # row_argmax's scratch
        vk = np.empty(2 * w_out * n_c, dtype=argmax.dtype)
        for t in range(n_steps):
            lif_step(x[t, b], v, decay, bias, gain, theta, v_reset, keep, subtract, one_minus_keep, mode, u_seq[t, b], z)
            out, out_arg = pooled[t, b], argmax[t, b]
            for oh in range(h_out):
                if pool2 and oc == 1 and o_w == n_c:  # 2 x 2, stride 2, channels last: a whole output row
                    lo = oh * o_h
                    row_argmax(z, geometry, oh, out[lo : lo + w_out * n_c], out_arg[lo : lo + w_out * n_c], vm, vk)
                    continue
                for ow in range(w_out):
                    o = oh * o_h + ow * o_w
                    if oc == 1:  # channels last: the window's outputs are contiguous, written in place
                        window_argmax(z, geometry, oh, ow, out[o : o + n_c], out_arg[o : o + n_c])
                    else:
                        window_argmax(z, geometry, oh, ow, best, arg)
                        for c in range(n_c):
                            out[o + c * oc] = best[c]
                            out_arg[o + c * oc] = arg[c]
        v_out[b] = v


def lif_pool_backward(
    u_seq, argmax, grad_pooled, grad_v, decay, gain, theta, keep, subtract, mode, surrogate, geometry, grad_strides, grad_x,
    grad_v0,
):  # fmt: skip
    """Backward of :func:`lif_pool_forward` from its ``u_seq`` and ``argmax``; writes ``grad_x``
    ``(T, B, M)`` and ``grad_v0``.

    ``grad_strides`` are the strides of ``grad_pooled`` (``argmax`` has those of the forward's
    output, in ``geometry``). Per batch row the steps run backwards: the pooled gradient goes to
    each window's maximum, then through the step."""
    n_steps, batch, m = u_seq.shape
    n_c, sc, sh, sw = geometry[0], geometry[3], geometry[4], geometry[5]
    h_out, w_out, oc, o_h, o_w = geometry[6], geometry[7], geometry[8], geometry[9], geometry[10]
    kh, kw, step_h, step_w, pad_h, pad_w = geometry[11], geometry[12], geometry[13], geometry[14], geometry[15], geometry[16]
    g_c, g_h, g_w = grad_strides
    for b in prange(batch):
        ops = Ops(exp, where, spike)
        offset = np.empty(kh * kw, dtype=np.int64)  # window position -> offset from the window's corner
        for k in range(kh * kw):
            offset[k] = (k // kw) * sh + (k % kw) * sw
        z = np.empty(m, dtype=u_seq.dtype)
        gv = grad_v[b].copy()
        for t in range(n_steps - 1, -1, -1):
            ut, gp, arg = u_seq[t, b], grad_pooled[t, b], argmax[t, b]
            z[:] = 0.0  # the gradient of the spikes
            for oh in range(h_out):
                for ow in range(w_out):
                    corner = (oh * step_h - pad_h) * sh + (ow * step_w - pad_w) * sw
                    o, g = oh * o_h + ow * o_w, oh * g_h + ow * g_w
                    for c in range(n_c):
                        z[corner + offset[arg[o + c * oc]] + c * sc] += gp[g + c * g_c]
            lif_grad_step(ut, z, gv, decay, gain, theta, keep, subtract, mode, surrogate, ops, grad_x[t, b])
        grad_v0[b] = gv

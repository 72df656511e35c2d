r"""A 2-D convolution and its weight gradient from the non-zero inputs, compiled by :mod:`neuro.core.jit`.

For a stride-1 convolution :math:`y[n, o, i, j] = b_o + \sum_{c, k, l} w[o, c, k, l]\,
x[n, c, i + k - p_h, j + l - p_w]` the weight gradient is

.. math::

    \frac{\partial L}{\partial w[o, c, k, l]} = \sum_{n, i', j'} x[n, c, i', j']\,
    \bar y[n, o, i' - k + p_h, j' - l + p_w],

a sum over the inputs, of which a spiking network's are mostly zero (spikes, event counts): each
non-zero input adds its value times a window of the output gradient, and the zeros add nothing.
In channels-last order the output gradients of one input row under one kernel row are one
contiguous run of ``kw * C_out`` values (output columns in order), which is added to one
contiguous run of the weight gradient stored with the kernel columns reversed, so the inner loop
is long and vectorises. Its cost is proportional to the number of non-zero inputs instead of the
number of output positions. The convolution itself (:func:`conv2d_forward`) is the same walk in
the other direction: each non-zero input adds its value times one row of the (column-reversed)
kernel to one contiguous run of the output per kernel row.

A plain Python function over numpy arrays (it also runs, slowly, uncompiled); nothing here
imports Numba.
"""

from __future__ import annotations


def row_span(ix, pad_w, kw, w_out, n_o):
    """The output columns an input in column ``ix`` reaches, ``ix + pad_w - l`` for ``l = kw - 1
    .. 0`` clipped to ``[0, w_out)``: ``(first output column, first reversed kernel column,
    number of values)`` of the contiguous run (``n_o`` values per column)."""
    lo = ix + pad_w - kw + 1
    hi = min(ix + pad_w + 1, w_out)
    first = 0
    if lo < 0:
        first = -lo
        lo = 0
    return lo, first, (hi - lo) * n_o


def walk(x, rows, kernel_rows, kh, kw, pad_h, pad_w, forward):
    """Visit every non-zero input and, for each kernel row ``k`` that reaches an output row,
    the contiguous runs it connects: ``rows[n, oy, lo * C_out :]`` of the channels-last output
    ``(N, H_out, W_out * C_out)`` and ``kernel_rows[c, k, first * C_out :]`` of the
    column-reversed kernel ``(C, kh, kw * C_out)``. ``forward`` adds value times the kernel run
    to the output run (the convolution); otherwise value times the output run (its gradient)
    to the kernel run (the weight gradient)."""
    n_batch, height, width, n_c = x.shape
    h_out = rows.shape[1]
    n_o = kernel_rows.shape[2] // kw
    w_out = rows.shape[2] // n_o
    for n in range(n_batch):
        x_n, r_n = x[n], rows[n]
        for iy in range(height):
            for ix in range(width):
                lo, first, length = row_span(ix, pad_w, kw, w_out, n_o)
                if length <= 0:
                    continue
                pixel = x_n[iy, ix]
                for c in range(n_c):
                    value = pixel[c]
                    if value == 0:
                        continue
                    for k in range(kh):
                        oy = iy + pad_h - k
                        if oy < 0 or oy >= h_out:
                            continue
                        out_run = r_n[oy, lo * n_o : lo * n_o + length]
                        kernel_run = kernel_rows[c, k, first * n_o : first * n_o + length]
                        dst, src = (out_run, kernel_run) if forward else (kernel_run, out_run)
                        if value == 1:  # spikes: no multiplication
                            for q in range(length):
                                dst[q] += src[q]
                        else:
                            for q in range(length):
                                dst[q] += value * src[q]


def conv2d_weight_grad(x, grad, out, kh, kw, pad_h, pad_w):
    """Accumulate the weight gradient into ``out`` (zeroed here).

    ``x`` is the input ``(N, H, W, C)`` and ``grad`` the output gradient ``(N, H_out, W_out *
    C_out)``, both channels-last; ``out`` is ``(C, kh, kw * C_out)`` with the kernel columns
    reversed: ``out[c, k, (kw - 1 - l) * C_out + o]`` is the gradient of ``w[o, c, k, l]``.
    Stride 1, dilation 1, one group, zero padding ``(pad_h, pad_w)``."""
    out[:] = 0
    walk(x, grad, out, kh, kw, pad_h, pad_w, False)


def conv2d_forward(x, weight, out, kh, kw, pad_h, pad_w):
    """Add the convolution of ``x`` into ``out`` (which holds the bias or zeros).

    ``x`` is ``(N, H, W, C)`` and ``out`` ``(N, H_out, W_out * C_out)``, channels-last;
    ``weight`` is ``(C, kh, kw * C_out)`` with the kernel columns reversed (as ``out`` of
    :func:`conv2d_weight_grad`). Stride 1, dilation 1, one group, zero padding."""
    walk(x, out, weight, kh, kw, pad_h, pad_w, True)

"""Compiled event kernels of the ``numba`` backend: touch only what is active.

Every kernel walks the events of each frame (``f = t * B + b``, see
:class:`~neuro.engine.signals.Events`) and scatters into a zero-initialised output:

* :func:`dense_events`: add the weight column of each active input (``wt`` is the transposed,
  contiguous ``(n_in, n_out)`` weight), times its value for non-binary events;
* :func:`conv_events`: scatter one kernel per input event into a channels-last output;
* :func:`pool_events`: add each event to the pooling windows that contain it;
* :func:`sparse_events`: walk the CSR row of each active input, with per-synapse delays
  delivering into later frames.

``weighted`` says whether ``val`` holds the event values (False: every value is ``val[0]``,
which the caller sets to 1 in the output's dtype). The projection kernels also return the
effective synaptic operations, the sum of ``fanout[j]`` (non-zero weights reached by input
``j``) over the events. The functions are cached on disk by Numba (``cache=True``).
"""

from __future__ import annotations

import numba


@numba.njit(cache=True)
def dense_events(ptr, idx, val, weighted, wt, fanout, out):  # pragma: no cover - compiled
    n_frames = ptr.shape[0] - 1
    n_out = wt.shape[1]
    synops = 0
    for f in range(n_frames):
        for k in range(ptr[f], ptr[f + 1]):
            j = idx[k]
            synops += fanout[j]
            if weighted:
                a = val[k]
                for o in range(n_out):
                    out[f, o] += a * wt[j, o]
            else:
                for o in range(n_out):
                    out[f, o] += wt[j, o]
    return synops


@numba.njit(cache=True)
def conv_events(ptr, idx, val, weighted, wk, cin_g, height, width, geometry, fanout, out):  # pragma: no cover
    """``wk[c, ky, kx, o]`` is the weight from input channel ``c`` to output channel
    ``(c // cin_g) * cout_g + o``; ``geometry = (sy, sx, py, px, dy, dx)``; ``out`` is
    ``(F, Ho, Wo, C_out)``."""
    sy, sx, py, px, dy, dx = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    kh, kw, cout_g = wk.shape[1], wk.shape[2], wk.shape[3]
    ho, wo = out.shape[1], out.shape[2]
    hw = height * width
    n_frames = ptr.shape[0] - 1
    synops = 0
    for f in range(n_frames):
        for k in range(ptr[f], ptr[f + 1]):
            j = idx[k]
            synops += fanout[j]
            c = j // hw
            r = j - c * hw
            y = r // width
            x = r - y * width
            a = val[k] if weighted else val[0]
            g0 = (c // cin_g) * cout_g
            if sy == 1 and sx == 1:
                # unit stride: the valid taps form ranges, no division per tap
                ky0 = max(0, (y + py - ho + dy) // dy)
                ky1 = min(kh - 1, (y + py) // dy)
                kx0 = max(0, (x + px - wo + dx) // dx)
                kx1 = min(kw - 1, (x + px) // dx)
                for ky in range(ky0, ky1 + 1):
                    oy = y + py - ky * dy
                    for kx in range(kx0, kx1 + 1):
                        ox = x + px - kx * dx
                        for o in range(cout_g):
                            out[f, oy, ox, g0 + o] += a * wk[c, ky, kx, o]
                continue
            for ky in range(kh):
                ny = y + py - ky * dy
                if ny < 0 or ny % sy != 0:
                    continue
                oy = ny // sy
                if oy >= ho:
                    continue
                for kx in range(kw):
                    nx = x + px - kx * dx
                    if nx < 0 or nx % sx != 0:
                        continue
                    ox = nx // sx
                    if ox >= wo:
                        continue
                    for o in range(cout_g):
                        out[f, oy, ox, g0 + o] += a * wk[c, ky, kx, o]
    return synops


@numba.njit(cache=True)
def pool_events(ptr, idx, val, weighted, height, width, geometry, out):  # pragma: no cover
    """Window sums; ``geometry = (kh, kw, sy, sx, py, px)``; ``out`` is ``(F, C, Ho, Wo)``."""
    kh, kw, sy, sx, py, px = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    ho, wo = out.shape[2], out.shape[3]
    hw = height * width
    n_frames = ptr.shape[0] - 1
    for f in range(n_frames):
        for k in range(ptr[f], ptr[f + 1]):
            j = idx[k]
            c = j // hw
            r = j - c * hw
            y = r // width + py
            x = r - (r // width) * width + px
            a = val[k] if weighted else val[0]
            oy0 = max(0, (y - kh + sy) // sy)
            oy1 = min(ho - 1, y // sy)
            ox0 = max(0, (x - kw + sx) // sx)
            ox1 = min(wo - 1, x // sx)
            for oy in range(oy0, oy1 + 1):
                for ox in range(ox0, ox1 + 1):
                    out[f, c, oy, ox] += a


@numba.njit(cache=True)
def sparse_events(ptr, idx, val, weighted, indptr, indices, weights, delay_steps, batch, fanout, out):  # pragma: no cover
    """CSR over inputs; ``delay_steps`` (per synapse, or empty for none) shifts delivery by
    ``d * batch`` frames; deliveries past the last frame are dropped."""
    n_frames = ptr.shape[0] - 1
    delayed = delay_steps.shape[0] > 0
    synops = 0
    for f in range(n_frames):
        for k in range(ptr[f], ptr[f + 1]):
            j = idx[k]
            synops += fanout[j]
            a = val[k] if weighted else val[0]
            for s in range(indptr[j], indptr[j + 1]):
                g = f
                if delayed:
                    g = f + delay_steps[s] * batch
                    if g >= n_frames:
                        continue
                out[g, indices[s]] += a * weights[s]
    return synops

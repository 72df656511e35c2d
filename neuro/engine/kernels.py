"""Compiled event kernels of the ``numba`` backend: touch only what is active.

Every kernel walks the events of each frame (``f = t * B + b``, see
:class:`~neuro.engine.signals.Events`) and scatters into a zero-initialised output:

* :func:`dense_events`: add the weight column of each active input (``wt`` is the transposed,
  contiguous ``(n_in, n_out)`` weight), times its value for non-binary events;
* :func:`conv_events`: scatter one kernel per input event into a channels-last scratch per
  frame, written out as ``(F, C, Ho, Wo)`` with the bias added;
* :func:`pool_events`: add each event to the pooling windows that contain it, and emit the
  window sums as events;
* :func:`sparse_events`: walk the CSR row of each active input, with per-synapse delays
  delivering into later frames;
* :func:`dense_to_events` and :func:`events_to_dense`: dense frames to events and back;
* :func:`axpy8`, :func:`axpy4`, :func:`nonzero_mask8`: explicit vector operations they use.

``weighted`` says whether ``val`` holds the event values (False: every value is ``val[0]``,
which the caller sets to 1 in the output's dtype). The projection kernels also return the
effective synaptic operations, the sum of ``fanout[j]`` (non-zero weights reached by input
``j``) over the events. The functions are cached on disk by Numba (``cache=True``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir as llir
from numba import types
from numba.extending import intrinsic

# Explicit vector operations. Numba's loop vectoriser leaves short runs (the few dozen
# contiguous outputs one convolution event reaches in one kernel row) in scalar code: the
# runtime alias checks and the scalar remainder cost more than the run itself. axpy8/axpy4
# emit the vector operation directly (LLVM <w x T> load, fmul, fadd, store; unaligned), with
# the same two roundings per element as the scalar ``y[i] += a * x[j]`` (no fused
# multiply-add), so results are bitwise those of the scalar loop. Callers keep the ranges
# within the arrays (no bounds checks, as in Numba's indexing). They live in this file so
# that Numba's cache, keyed on this file, never keeps kernels compiled with an older version.


def _axpy(width: int) -> Any:
    @intrinsic
    def axpy(typingctx: Any, y: Any, i: Any, x: Any, j: Any, a: Any) -> Any:  # pragma: no cover - compiled
        sig = types.void(y, types.intp, x, types.intp, y.dtype)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            y_val, i_val, x_val, j_val, a_val = args
            elt = context.get_data_type(signature.args[0].dtype)
            vec = llir.VectorType(elt, width)
            y_arr = context.make_array(signature.args[0])(context, builder, y_val)
            x_arr = context.make_array(signature.args[2])(context, builder, x_val)
            y_ptr = builder.bitcast(builder.gep(y_arr.data, [i_val]), vec.as_pointer())
            x_ptr = builder.bitcast(builder.gep(x_arr.data, [j_val]), vec.as_pointer())
            align = context.get_abi_sizeof(elt)
            lanes = builder.insert_element(llir.Constant(vec, llir.Undefined), a_val, llir.Constant(llir.IntType(32), 0))
            zeros = llir.Constant(llir.VectorType(llir.IntType(32), width), [0] * width)
            splat = builder.shuffle_vector(lanes, llir.Constant(vec, llir.Undefined), zeros)
            product = builder.fmul(splat, builder.load(x_ptr, align=align))
            builder.store(builder.fadd(builder.load(y_ptr, align=align), product), y_ptr, align=align)
            return context.get_dummy_value()

        return sig, codegen

    return axpy


axpy8 = _axpy(8)
"""``y[i:i + 8] += a * x[j:j + 8]`` (1-D C-contiguous float arrays of one dtype, ``a`` of it)."""

axpy4 = _axpy(4)
"""``y[i:i + 4] += a * x[j:j + 4]``."""


def _nonzero_mask(width: int) -> Any:
    @intrinsic
    def nonzero_mask(typingctx: Any, x: Any, i: Any) -> Any:  # pragma: no cover - compiled
        sig = types.uint32(x, types.intp)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            x_val, i_val = args
            elt = context.get_data_type(signature.args[0].dtype)
            vec = llir.VectorType(elt, width)
            x_arr = context.make_array(signature.args[0])(context, builder, x_val)
            x_ptr = builder.bitcast(builder.gep(x_arr.data, [i_val]), vec.as_pointer())
            lanes = builder.load(x_ptr, align=context.get_abi_sizeof(elt))
            if isinstance(elt, llir.IntType):  # integer or boolean arrays
                nonzero = builder.icmp_unsigned("!=", lanes, llir.Constant(vec, None))
            else:
                nonzero = builder.fcmp_unordered("!=", lanes, llir.Constant(vec, None))  # NaN counts, as in z != 0
            bits = builder.bitcast(nonzero, llir.IntType(width))
            return builder.zext(bits, llir.IntType(32))

        return sig, codegen

    return nonzero_mask


@intrinsic
def iadd8(typingctx: Any, y: Any, i: Any, x: Any, j: Any, a: Any) -> Any:  # pragma: no cover - compiled
    """``y[i:i + 8] = x[j:j + 8] + a`` (1-D C-contiguous int32 or uint32 arrays, one vector operation)."""
    if not (y.dtype in (types.int32, types.uint32) and x.dtype in (types.int32, types.uint32)):
        return None
    sig = types.void(y, types.intp, x, types.intp, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        y_val, i_val, x_val, j_val, a_val = args
        i32 = llir.IntType(32)
        vec = llir.VectorType(i32, 8)
        y_arr = context.make_array(signature.args[0])(context, builder, y_val)
        x_arr = context.make_array(signature.args[2])(context, builder, x_val)
        y_ptr = builder.bitcast(builder.gep(y_arr.data, [i_val]), vec.as_pointer())
        x_ptr = builder.bitcast(builder.gep(x_arr.data, [j_val]), vec.as_pointer())
        lanes = builder.insert_element(llir.Constant(vec, llir.Undefined), builder.trunc(a_val, i32), llir.Constant(i32, 0))
        splat = builder.shuffle_vector(lanes, llir.Constant(vec, llir.Undefined), llir.Constant(vec, [0] * 8))
        builder.store(builder.add(builder.load(x_ptr, align=4), splat), y_ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


nonzero_mask8 = _nonzero_mask(8)
"""Bit ``b`` set where ``x[i + b] != 0`` for ``b < 8`` (a 1-D C-contiguous array of floats,
integers or booleans)."""

nonzero_mask16 = _nonzero_mask(16)
"""Bit ``b`` set where ``x[i + b] != 0`` for ``b < 16``."""


_BYTE_BITS = np.zeros((256, 8), np.int32)
_BYTE_COUNT = np.zeros(256, np.int64)
for _b in range(256):
    _bits = [k for k in range(8) if _b >> k & 1]
    _BYTE_BITS[_b, : len(_bits)] = _bits
    _BYTE_COUNT[_b] = len(_bits)
_BYTE_BITS = _BYTE_BITS.reshape(-1)  # row b: the set bits of byte value b in increasing order


@numba.njit(cache=True, forceinline=True)
def nonzero_list(x, start, stop, out, s):  # pragma: no cover - compiled
    """Append the indices of the non-zero entries of ``x[start:stop]`` (a 1-D C-contiguous float
    array; NaN counts) in increasing order to the int32 or uint32 ``out`` from entry ``s``;
    returns the new ``s``. ``out`` needs room for ``s + (stop - start) + 8`` entries (the tail of
    the last write is scratch).

    Without a branch per entry or per set bit: 16 entries at a time as a bit mask, each byte of
    it turned into its indices by a table row and one 8-wide vector store (:func:`iadd8`), the
    write position advanced by the byte's number of set bits."""
    end16 = stop - (stop - start) % 16
    for i0 in range(start, end16, 16):
        mask = nonzero_mask16(x, i0)
        lo = mask & 255
        iadd8(out, s, _BYTE_BITS, lo * 8, i0)
        s += _BYTE_COUNT[lo]
        hi = mask >> 8
        iadd8(out, s, _BYTE_BITS, hi * 8, i0 + 8)
        s += _BYTE_COUNT[hi]
    for i in range(end16, stop):
        out[s] = i
        s += 1 if x[i] != 0 else 0
    return s


@numba.njit(cache=True)
def dense_to_events(x):  # pragma: no cover - compiled
    """The non-zero entries of a C-contiguous ``(F, N)`` array, frame by frame:
    ``(ptr, idx, val, binary)`` as :meth:`Events.from_dense <neuro.engine.signals.Events.from_dense>`
    builds them (``val`` in ``x``'s dtype; ``binary`` when every value is 1)."""
    n_frames, n = x.shape
    flat = x.reshape(-1)
    count = 0
    for j in range(n_frames * n):  # a vectorised count first, to size the output
        count += 1 if flat[j] != 0 else 0
    ptr = np.zeros(n_frames + 1, np.int64)
    idx = np.empty(count + 8, np.int32)  # nonzero_list's slack
    val = np.empty(count, x.dtype)
    n_ones = 0
    k = 0
    for f in range(n_frames):
        base = f * n
        s = nonzero_list(flat[base : base + n], 0, n, idx[k:], 0)  # no branch per entry
        for q in range(k, k + s):
            v = flat[base + idx[q]]
            val[q] = v
            n_ones += 1 if v == 1 else 0
        k += s
        ptr[f + 1] = k
    return ptr, idx[:k], val, n_ones == k


@numba.njit(cache=True)
def events_to_dense(ptr, idx, val, weighted, out):  # pragma: no cover - compiled
    """Write the entries into the zero-initialised ``(F, N)`` array ``out`` (the inverse of
    :func:`dense_to_events`)."""
    for f in range(ptr.shape[0] - 1):
        for k in range(ptr[f], ptr[f + 1]):
            out[f, idx[k]] = val[k] if weighted else val[0]


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
def contiguous_conv(geometry, cout_g, c_out):  # pragma: no cover
    """Unit stride and dilation and one group (``geometry = (sy, sx, py, px, dy, dx)``): the
    outputs of one event's kernel row are one contiguous run of the channels-last scratch."""
    return geometry[0] == 1 and geometry[1] == 1 and geometry[4] == 1 and geometry[5] == 1 and cout_g == c_out


@numba.njit(cache=True)
def conv_events(ptr, idx, val, weighted, wk, wrow, cin_g, cyx, geometry, fanout, bias, out):  # pragma: no cover
    """``wk[c, ky, kx, o]`` is the weight from input channel ``c`` to output channel
    ``(c // cin_g) * cout_g + o``; ``wrow[c, ky, m * cout_g + o] = wk[c, ky, kw - 1 - m, o]`` (the
    kernel rows flipped, for the contiguous path); ``cyx[j]`` is the ``(channel, y, x)`` of flat
    input ``j`` (a table, no division per event); ``geometry = (sy, sx, py, px, dy, dx)``;
    ``out`` is ``(F, C_out, Ho, Wo)`` and receives ``bias[o]`` plus the correlation.

    Each frame is accumulated in a channels-last scratch ``(Ho, Wo, C_out)`` (cache-resident,
    :func:`conv_scatter`), then written out channel by channel with the bias added.
    """
    c_out, ho, wo = out.shape[1], out.shape[2], out.shape[3]
    kh, kw = wk.shape[1], wk.shape[2]
    rowlen = wo * c_out
    scratch = np.zeros(ho * rowlen, out.dtype)
    synops = 0
    contiguous = contiguous_conv(geometry, wk.shape[3], c_out)
    for f in range(ptr.shape[0] - 1):
        synops += conv_scatter(
            ptr, idx, val, weighted, f, wk, wrow, cin_g, cyx, geometry, fanout, scratch, ho, wo, c_out, kh, kw, contiguous
        )
        for o in range(c_out):
            b = bias[o]
            for oy in range(ho):
                for ox in range(wo):
                    out[f, o, oy, ox] = scratch[oy * rowlen + ox * c_out + o] + b
        scratch[:] = 0
    return synops


@numba.njit(cache=True, forceinline=True)
def add_rows(scratch, s0, rowlen, wflat, w0, kwc, n, rows, a):  # pragma: no cover
    """``scratch[s0 - r * rowlen + i] += a * wflat[w0 + r * kwc + i]`` for ``r < rows``, ``i < n``:
    the contiguous runs of one event's kernel rows, in vectors of 8 and 4 (:func:`axpy8`,
    :func:`axpy4`: bitwise the scalar result)."""
    n8 = n - n % 8
    n4 = n - n % 4
    for r in range(rows):
        s = s0 - r * rowlen
        w = w0 + r * kwc
        for i in range(0, n8, 8):
            axpy8(scratch, s + i, wflat, w + i, a)
        if n4 > n8:
            axpy4(scratch, s + n8, wflat, w + n8, a)
        for i in range(n4, n):
            scratch[s + i] += a * wflat[w + i]


@numba.njit(cache=True, forceinline=True)
def conv_scatter(
    ptr, idx, val, weighted, f, wk, wrow, cin_g, cyx, geometry, fanout, scratch, ho, wo, c_out, kh, kw, contiguous
):  # pragma: no cover
    """Add the kernels of frame ``f``'s events to the channels-last ``scratch`` (``Ho * Wo * C_out``,
    the arguments as in :func:`conv_events`, ``kh, kw`` the kernel size); returns the effective
    synaptic operations.

    ``contiguous`` (unit stride and dilation, one group): the outputs an event reaches in one
    kernel row are one contiguous run of the scratch (``kw * C_out`` values at most, cut at the
    borders once per event), added by :func:`add_rows`. An event away from the borders adds the
    whole kernel, ``kh`` runs of ``kw * C_out``: a caller that passes ``kh``, ``kw``, ``c_out``
    and ``contiguous`` as constants (the generated loops of :mod:`neuro.engine.fused`, into which
    this function is inlined) gets that case compiled for its sizes, fully unrolled.
    """
    sy, sx, py, px, dy, dx = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    cout_g = wk.shape[3]
    unit = sy == 1 and sx == 1
    rowlen = wo * c_out
    wflat = wrow.reshape(-1)
    kwc = kw * c_out
    synops = 0
    for k in range(np.uint64(ptr[f]), np.uint64(ptr[f + 1])):  # unsigned: no test for negative indices
        j = np.uint64(idx[k])
        synops += fanout[j]
        c, y, x = cyx[j, 0], cyx[j, 1], cyx[j, 2]
        a = val[k] if weighted else val[0]
        if contiguous:
            base = x + px - (kw - 1)  # output column of the last kernel column
            m0 = max(0, -base)
            m1 = min(kw - 1, wo - 1 - base)
            ky0 = max(0, y + py - ho + 1)
            ky1 = min(kh - 1, y + py)
            s0 = (y + py - ky0) * rowlen + (base + m0) * c_out
            w0 = (c * kh + ky0) * kwc + m0 * c_out
            if m0 == 0 and m1 == kw - 1 and ky0 == 0 and ky1 == kh - 1:
                add_rows(scratch, s0, rowlen, wflat, w0, kwc, kwc, kh, a)
            else:
                add_rows(scratch, s0, rowlen, wflat, w0, kwc, max(0, (m1 + 1 - m0) * c_out), ky1 + 1 - ky0, a)
            continue
        g0 = (c // cin_g) * cout_g
        if unit:
            # unit stride: the valid taps form ranges, no division per tap
            ky0 = max(0, (y + py - ho + dy) // dy)
            ky1 = min(kh - 1, (y + py) // dy)
            kx0 = max(0, (x + px - wo + dx) // dx)
            kx1 = min(kw - 1, (x + px) // dx)
            for ky in range(ky0, ky1 + 1):
                oy = y + py - ky * dy
                for kx in range(kx0, kx1 + 1):
                    s0 = oy * rowlen + (x + px - kx * dx) * c_out + g0
                    for o in range(cout_g):
                        scratch[s0 + o] += a * wk[c, ky, kx, o]
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
                s0 = oy * rowlen + ox * c_out + g0
                for o in range(cout_g):
                    scratch[s0 + o] += a * wk[c, ky, kx, o]
    return synops


@numba.njit(cache=True)
def pool_events(ptr, idx, val, weighted, tptr, tidx, n_out, scale):  # pragma: no cover
    """Window sums, times ``scale``, as events: ``(ptr, idx, val, binary)`` over the ``n_out``
    flat outputs (``val`` in ``val``'s dtype; ``binary`` when every value is 1). Input ``j``
    lies in the windows ``tidx[tptr[j]:tptr[j + 1]]`` (a table made once per node: no
    division per event). Each frame is summed in a dense scratch and read out by
    :func:`pool_emit`."""
    n_frames = ptr.shape[0] - 1
    windows = 0
    for j in range(tptr.shape[0] - 1):
        windows = max(windows, tptr[j + 1] - tptr[j])
    cap = min(n_frames * n_out, idx.shape[0] * windows) + 8  # pool_emit's slack
    optr = np.zeros(n_frames + 1, np.int64)
    oidx = np.empty(cap, np.int32)
    oval = np.empty(cap, val.dtype)
    scratch = np.zeros(n_out, val.dtype)
    m = 0
    n_ones = 0
    for f in range(n_frames):
        for k in range(ptr[f], ptr[f + 1]):
            j = idx[k]
            a = val[k] if weighted else val[0]
            for s in range(tptr[j], tptr[j + 1]):
                scratch[tidx[s]] += a
        m, ones = pool_emit(scratch, scale, oidx, oval, m)
        n_ones += ones
        optr[f + 1] = m
    return optr, oidx[:m].copy(), oval[:m].copy(), n_ones == m


@numba.njit(cache=True)
def pool_emit(scratch, scale, oidx, oval, m):  # pragma: no cover
    """Append the non-zero window sums of ``scratch`` times ``scale`` to ``oidx``/``oval`` from
    entry ``m`` in increasing order and clear the scratch; returns the new ``m`` and how many
    of the appended values are 1. ``oidx`` must have room for ``m + len(scratch) + 8`` entries.
    The non-zero sums are listed by :func:`nonzero_list` (no branch per entry), and only they
    are visited."""
    s = nonzero_list(scratch, 0, scratch.shape[0], oidx[m:], 0)
    n_ones = 0
    for q in range(m, m + s):
        o = oidx[q]
        v = scratch[o] * scale
        scratch[o] = 0
        oidx[m] = o
        oval[m] = v
        n_ones += 1 if v == 1 else 0
        m += 1 if v != 0 else 0
    return m, n_ones


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


def _prefetch_typer(typingctx, arr, idx):  # pragma: no cover - compiled
    from llvmlite import ir
    from numba.core import cgutils, types

    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
        )
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


prefetch = numba.extending.intrinsic(_prefetch_typer)
"""``prefetch(a, i)`` in compiled code: ask the CPU to load the cache line of ``a[i]`` (no
bounds test; a prefetch never faults). The recurrent loops fetch the CSR rows of the next
spiking input while they deliver the current one."""

"""Event kernels of the ``cuda`` backend: dense, conv, pool and sparse (with per-synapse delays).

Each projection has three accumulation strategies, chosen per call (the ``accumulate`` argument):

* :class:`Gather` (the default): one thread per output element ``(frame, output)`` sums its
  contributions in a fixed order, the order in which the ``numba`` kernels
  (:mod:`neuro.engine.kernels`) add them. No atomics, deterministic, and in float64 bitwise
  equal to the CPU backend under the simulator (on a device, NVVM contracts ``acc + a * w``
  into fused multiply-adds, so values agree to rounding; see docs/engine.md). Dense
  projections loop over the frame's events (coalesced reads of a weight row); conv, pool and
  sparse read a dense copy of the input frames built by one scatter of the events
  (:func:`densify`), and sparse walks the synapses of each target sorted by (delay
  descending, source, synapse), which is the CPU order.
* :class:`Scatter`: one thread per (event, output of its row or kernel) adds into the output
  with atomic adds: work proportional to the events only, no dense copy, but the order of the
  additions into one element is not fixed (float results may differ in the last bits from run
  to run).
* :class:`SortReduce`: sort-then-segment-reduce. One thread per (event, output of its row or
  kernel) writes a ``(key, value)`` pair (key: the flat output element, value: ``a * w``), the
  pairs are sorted by key with a stable sort, and one thread per run of equal keys adds the run
  in order. Work proportional to the events, no dense copy and no atomics; the pairs are written
  event by event, and within an event in the order its targets are visited, so the stable sort
  leaves each element's contributions in the gather order: in float64 bitwise equal to
  :class:`Gather` under the simulator. (On a device the gather kernels' ``acc + a * w`` becomes
  a fused multiply-add while here the product is rounded before it is stored, so the two agree
  to rounding there.) It costs two passes over the pairs (written, sorted) and memory for them:
  ``8 + itemsize`` bytes per contribution, ``2 * (8 + itemsize)`` during the sort.

Which is faster depends on density and sizes; the issue asks to choose by measurement on a
GPU, which has not been done (``benchmarks/bench_gpu.py`` measures the three on the CUBA
network, docs/engine.md). Every kernel takes the events as device arrays
``ptr`` (int64, ``F + 1``), ``idx`` (int32) and ``val`` (the values, or one value 1 when
``weighted`` is False), with frames ``f = t * B + b`` (:class:`~neuro.engine.signals.Events`).
Effective synaptic operations are not counted here: the ops count them from the input
(:meth:`neuro.engine.ops.Projection.counts`), the same for every backend.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.core.errors import SimulationInputError
from neuro.engine.cuda import arrays
from neuro.engine.signals import Events


@dataclass(frozen=True)
class Gather:
    """One thread per output element, contributions summed in the CPU order (deterministic)."""


@dataclass(frozen=True)
class Scatter:
    """One thread per (event, target) with atomic adds (order of additions not fixed)."""


@dataclass(frozen=True)
class SortReduce:
    """(key, value) pairs per (event, target), stably sorted by key, each run of equal keys
    summed by one thread in order (deterministic, the gather order)."""


Accumulation = Gather | Scatter | SortReduce


def _kernels() -> Any:
    """The kernel module, imported once the backend is known to be usable."""
    arrays.require()
    from neuro.engine.cuda import _device

    return _device


def _sorted_kernels() -> Any:
    """The pair and segment kernels of :class:`SortReduce`."""
    arrays.require()
    from neuro.engine.cuda import _sorted_device

    return _sorted_device


def _check(accumulate: Any) -> None:
    if not isinstance(accumulate, Gather | Scatter | SortReduce):
        raise SimulationInputError(
            f"accumulate must be Gather(), Scatter() or SortReduce() of neuro.engine.cuda.kernels, got {accumulate!r}",
            "accumulate",
        )


def _pairs(n_slots: int, size: int, dtype: Any) -> tuple[Any, Any]:
    """Device ``(keys, vals)`` for ``n_slots`` pairs, every key the filler ``size`` (sorts last)."""
    xp = arrays.xp()
    return xp.full(n_slots, size, np.int64), xp.zeros(n_slots, dtype)


def segment_reduce(name: str, keys: Any, vals: Any, out: Any) -> None:
    """Add the ``(keys, vals)`` pairs into the flat elements of ``out`` (contiguous): stable sort
    by key, then one thread per run of equal keys adds the run's values in their order."""
    xp = arrays.xp()
    if keys.shape[0] == 0:
        return
    order = xp.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), keys[1:] != keys[:-1])))
    arrays.launch(name, _sorted_kernels().segment_sum, int(starts.shape[0]), starts, keys, vals, out.reshape(-1))


# --- host side: device copies of the weights (once per op), launches --------------------------

_WEIGHTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _device_weights(op: Any, build: Any) -> dict[str, Any]:
    """The op's weights laid out for the kernels on the device, made once per op (ops are
    prepared once per graph and settings, so the weights cross to the device once)."""
    cached = _WEIGHTS.get(op)
    if cached is None:
        cached = {k: arrays.to_device(v) for k, v in build().items()}
        _WEIGHTS[op] = cached
    return cached


def device_events(ev: Events, dtype: Any) -> tuple[Any, Any, Any, bool]:
    """``(ptr, idx, val, weighted)`` of ``ev`` on the device."""
    weighted = ev.val is not None
    val = ev.val if weighted else np.ones(1, dtype)
    return arrays.to_device(ev.ptr, np.int64), arrays.to_device(ev.idx, np.int32), arrays.to_device(val, dtype), weighted


def densify(ptr: Any, idx: Any, val: Any, weighted: bool, n_frames: int, size: int, dtype: Any) -> Any:
    """The ``(F, size)`` dense device array of events."""
    xd = arrays.zeros((n_frames, size), dtype)
    arrays.launch("densify", _kernels().densify, int(idx.shape[0]), ptr, idx, val, weighted, xd)
    return xd


def dense(op: Any, ev: Events, accumulate: Accumulation = Gather()) -> Any:
    """Linear/Affine without bias: the ``(F, n_out)`` device array (``op``: a DenseOp)."""
    _check(accumulate)
    w = _device_weights(op, lambda: {"wt": op.wt})
    ptr, idx, val, weighted = device_events(ev, op.dtype)
    n_frames, n_out = ev.n_steps * ev.batch, op.wt.shape[1]
    out = arrays.zeros((n_frames, n_out), op.dtype)
    if isinstance(accumulate, Gather):
        arrays.launch("dense_gather", _kernels().dense_gather, n_frames * n_out, ptr, idx, val, weighted, w["wt"], out)
    elif isinstance(accumulate, SortReduce):
        keys, vals = _pairs(len(ev) * n_out, out.size, op.dtype)
        pairs = _sorted_kernels().dense_pairs
        arrays.launch("dense_pairs", pairs, len(ev) * n_out, ptr, idx, val, weighted, w["wt"], keys, vals)
        segment_reduce("dense_segment_sum", keys, vals, out)
    else:
        arrays.launch("dense_scatter", _kernels().dense_scatter, len(ev) * n_out, ptr, idx, val, weighted, w["wt"], out)
    return out


def conv(op: Any, ev: Events, accumulate: Accumulation = Gather()) -> Any:
    """Conv2d/Conv1d without bias: the ``(F, C_out, Ho, Wo)`` device array (``op``: a ConvOp)."""
    _check(accumulate)
    w = _device_weights(op, lambda: {"wk": op.wk, "geometry": np.array([*op.stride, *op.padding, *op.dilation], np.int64)})
    ptr, idx, val, weighted = device_events(ev, op.dtype)
    n_frames = ev.n_steps * ev.batch
    c_in, height, width = op.in2
    c_out, ho, wo = op.out2
    out = arrays.zeros((n_frames, ho, wo, c_out), op.dtype)
    k = _kernels()
    if isinstance(accumulate, Gather):
        xd = densify(ptr, idx, val, weighted, n_frames, c_in * height * width, op.dtype)
        arrays.launch("conv_gather", k.conv_gather, out.size, xd, w["wk"], op.cin_g, height, width, w["geometry"], out)
    elif isinstance(accumulate, SortReduce):
        kh, kw = op.wk.shape[1], op.wk.shape[2]
        keys, vals = _pairs(len(ev) * op.cout_g * kh * kw, out.size, op.dtype)
        arrays.launch(
            "conv_pairs", _sorted_kernels().conv_pairs, len(ev) * op.cout_g,
            ptr, idx, val, weighted, w["wk"], op.cin_g, height, width, w["geometry"], ho, wo, keys, vals,
        )  # fmt: skip
        segment_reduce("conv_segment_sum", keys, vals, out)
    else:
        arrays.launch(
            "conv_scatter", k.conv_scatter, len(ev) * op.cout_g,
            ptr, idx, val, weighted, w["wk"], op.cin_g, height, width, w["geometry"], out,
        )  # fmt: skip
    return arrays.xp().ascontiguousarray(out.transpose(0, 3, 1, 2))


def pool(op: Any, ev: Events, accumulate: Accumulation = Gather()) -> Any:
    """SumPool2d/AvgPool2d window sums (unscaled): the ``(F, C, Ho, Wo)`` device array."""
    _check(accumulate)
    w = _device_weights(op, lambda: {"geometry": np.array([*op.kernel, *op.stride, *op.padding], np.int64)})
    ptr, idx, val, weighted = device_events(ev, op.dtype)
    n_frames = ev.n_steps * ev.batch
    c, height, width = op.in_shape
    out = arrays.zeros((n_frames, *op.out_shape), op.dtype)
    k = _kernels()
    if isinstance(accumulate, Gather):
        xd = densify(ptr, idx, val, weighted, n_frames, c * height * width, op.dtype)
        arrays.launch("pool_gather", k.pool_gather, out.size, xd, height, width, w["geometry"], out)
    elif isinstance(accumulate, SortReduce):
        ho, wo = op.out_shape[1], op.out_shape[2]
        keys, vals = _pairs(len(ev) * op.kernel[0] * op.kernel[1], out.size, op.dtype)
        arrays.launch(
            "pool_pairs", _sorted_kernels().pool_pairs, len(ev),
            ptr, idx, val, weighted, c, height, width, w["geometry"], ho, wo, keys, vals,
        )  # fmt: skip
        segment_reduce("pool_segment_sum", keys, vals, out)
    else:
        arrays.launch("pool_scatter", k.pool_scatter, len(ev), ptr, idx, val, weighted, height, width, w["geometry"], out)
    return out


def _sparse_layout(op: Any) -> dict[str, np.ndarray]:
    n_in, n_out = op.node.shape[1], op.node.shape[0]
    rows = np.repeat(np.arange(n_in, dtype=np.int64), np.diff(op.indptr))
    syn = np.arange(len(op.indices), dtype=np.int64)
    delays = op.delay_steps if len(op.delay_steps) else np.zeros(len(op.indices), np.int64)
    order = np.lexsort((syn, rows, -delays, op.indices))
    col_ptr = np.zeros(n_out + 1, np.int64)
    np.cumsum(np.bincount(op.indices, minlength=n_out), out=col_ptr[1:])
    return {
        "indptr": op.indptr.astype(np.int64), "indices": op.indices, "weights": op.weights, "delays": delays,
        "col_ptr": col_ptr, "col_syn": syn[order], "col_pre": rows[order],
    }  # fmt: skip


def sparse(op: Any, ev: Events, accumulate: Accumulation = Gather()) -> Any:
    """SparseLinear with per-synapse delays: the ``(F, n_out)`` device array (``op``: a SparseOp)."""
    _check(accumulate)
    w = _device_weights(op, lambda: _sparse_layout(op))
    ptr, idx, val, weighted = device_events(ev, op.dtype)
    n_frames, n_out = ev.n_steps * ev.batch, op.node.shape[0]
    out = arrays.zeros((n_frames, n_out), op.dtype)
    k = _kernels()
    if isinstance(accumulate, Gather):
        xd = densify(ptr, idx, val, weighted, n_frames, op.node.shape[1], op.dtype)
        arrays.launch(
            "sparse_gather", k.sparse_gather, n_frames * n_out,
            xd, w["col_ptr"], w["col_syn"], w["col_pre"], w["weights"], w["delays"], ev.batch, out,
        )  # fmt: skip
    elif isinstance(accumulate, SortReduce):
        xp = arrays.xp()
        offsets = xp.zeros(len(ev) + 1, np.int64)
        xp.cumsum(w["indptr"][idx + 1] - w["indptr"][idx], out=offsets[1:])
        keys, vals = _pairs(int(offsets[-1]), out.size, op.dtype)
        arrays.launch(
            "sparse_pairs", _sorted_kernels().sparse_pairs, len(ev),
            ptr, idx, val, weighted, offsets, w["indptr"], w["indices"], w["weights"], w["delays"], ev.batch,
            n_frames, n_out, keys, vals,
        )  # fmt: skip
        segment_reduce("sparse_segment_sum", keys, vals, out)
    else:
        arrays.launch(
            "sparse_scatter", k.sparse_scatter, len(ev),
            ptr, idx, val, weighted, w["indptr"], w["indices"], w["weights"], w["delays"], ev.batch, out,
        )  # fmt: skip
    return out

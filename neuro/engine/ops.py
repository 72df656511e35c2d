"""One engine operation per IR node of a feed-forward graph, with both backends and its counts.

An op turns the signal arriving at its node (the sum of its predecessors' outputs) into the
node's output over the whole sequence in one call: projections consume
:class:`~neuro.engine.signals.Events` and produce dense ``(T, B, *shape)`` currents; neuron
populations consume dense currents and produce events. ``run(signal, backend)`` dispatches to
the compiled kernels (``"numba"``, :mod:`neuro.engine.kernels`), the device kernels (``"cuda"``,
:mod:`neuro.engine.cuda.kernels`; Flatten, Scale, Delay and Threshold stay on the host) or to a
plain numpy reference (``"numpy"``); :meth:`counts` computes the exact NeuroBench counts from
the input, the same for every backend.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import UnsupportedNodeError
from neuro.core.neurons import MODELS
from neuro.engine.counts import NodeCounts
from neuro.engine.populations import POPULATION_RUNNERS, coefficient_arrays
from neuro.engine.signals import Events, compiled_kernels

Signal = Events | np.ndarray


@dataclass(slots=True)
class Step:
    """What one op produced in a run: its output, its counts, and for neurons the final state
    (``(B, N)`` arrays, or ``(B, *shape)`` views) and the recorded traces."""

    out: Signal
    counts: NodeCounts
    state: tuple[np.ndarray, ...] | None = None
    traces: dict[str, np.ndarray] = field(default_factory=dict)


def as_events(signal: Signal, backend: str = "numpy") -> Events:
    return signal if isinstance(signal, Events) else Events.from_dense(signal, compiled=backend == "numba")


def as_dense(signal: Signal, dtype: Any, backend: str = "numpy") -> np.ndarray:
    if isinstance(signal, Events):
        return signal.to_dense(dtype, compiled=backend == "numba")
    return np.ascontiguousarray(signal, dtype=dtype)


def _values(ev: Events, dtype: Any) -> tuple[np.ndarray, bool]:
    """``(val, weighted)`` as the kernels take them."""
    if ev.val is None:
        return np.ones(1, dtype), False
    return np.ascontiguousarray(ev.val, dtype=dtype), True


class Op:
    """Base: ``kind`` for counts; ``in_shape``/``out_shape`` per frame."""

    kind = "other"

    def __init__(self, name: str, node: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...], dtype: Any):
        self.name, self.node, self.in_shape, self.out_shape, self.dtype = name, node, in_shape, out_shape, dtype

    def run(self, signal: Signal, backend: str) -> Signal:
        raise NotImplementedError

    def step(self, signal: Signal, backend: str, n_steps: int, batch: int, record: tuple[str, ...] = ()) -> Step:
        """Run over the whole sequence and count."""
        return Step(self.run(signal, backend), self.counts(signal, n_steps, batch))

    def counts(self, signal: Signal, n_steps: int, batch: int) -> NodeCounts:
        n_in = len(signal) if isinstance(signal, Events) else int(np.count_nonzero(signal))
        return self._counts(n_in, n_steps, batch)

    def _counts(self, n_in: int, n_steps: int, batch: int) -> NodeCounts:
        return NodeCounts(self.kind, self.in_size, self.out_size, n_steps, batch, in_events=n_in)

    @functools.cached_property
    def in_size(self) -> int:
        return _size(self.in_shape)

    @functools.cached_property
    def out_size(self) -> int:
        return _size(self.out_shape)


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


class Projection(Op):
    """Weighted projections: exact effective and dense synop counts from fan-out tables."""

    kind = "dense"
    nnz_fanout: np.ndarray  # per input element: non-zero weights it reaches
    dense_fanout: int  # connections of one frame, zero weights included

    def project(self, ev: Events, backend: str) -> tuple[np.ndarray, int | None]:
        """The output and, from the compiled kernels, the effective synop count (else None)."""
        raise NotImplementedError

    def run(self, signal: Signal, backend: str) -> np.ndarray:
        return self.project(as_events(signal, backend), backend)[0]

    def step(self, signal: Signal, backend: str, n_steps: int, batch: int, record: tuple[str, ...] = ()) -> Step:
        ev = as_events(signal, backend)
        out, effective = self.project(ev, backend)
        return Step(out, self.counts(ev, n_steps, batch, effective))

    def counts(self, signal: Signal, n_steps: int, batch: int, effective: int | None = None) -> NodeCounts:
        ev = as_events(signal)
        if effective is None:
            per_input = np.bincount(ev.idx, minlength=self.in_size)
            effective = int(per_input @ self.nnz_fanout)
        binary = ev.val is None
        return NodeCounts(
            self.kind, self.in_size, self.out_size, n_steps, batch, in_events=len(ev.idx), synops=effective if binary else 0,
            macs=0 if binary else effective, synops_dense=self.dense_fanout * n_steps * batch, binary_input=binary,
        )  # fmt: skip


class DenseOp(Projection):
    """Linear and Affine: add the weight columns of active inputs (Affine adds its bias)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        w = np.asarray(self.node.weight, dtype=self.dtype)
        self.weight = w
        self.wt = np.ascontiguousarray(w.T)
        self.bias = np.asarray(getattr(self.node, "bias", None) if isinstance(self.node, ir.Affine) else 0, self.dtype)
        self.nnz_fanout = np.count_nonzero(w, axis=0).astype(np.int64)
        self.dense_fanout = w.size

    def project(self, ev: Events, backend: str) -> tuple[np.ndarray, int | None]:
        synops = None
        frames = ev.n_steps * ev.batch
        if backend == "numba":
            out = np.zeros((frames, self.wt.shape[1]), self.dtype)
            val, weighted = _values(ev, self.dtype)
            synops = compiled_kernels().dense_events(ev.ptr, ev.idx, val, weighted, self.wt, self.nnz_fanout, out)
        elif backend == "cuda":
            from neuro.engine.cuda import arrays
            from neuro.engine.cuda import kernels as cuda_kernels

            out = arrays.to_host(cuda_kernels.dense(self, ev))
        else:
            out = ev.to_dense(self.dtype).reshape(frames, -1) @ self.wt
        out += self.bias
        return out.reshape(ev.n_steps, ev.batch, *self.out_shape), synops


def _conv_padding(node: Any, kernel: tuple[int, ...]) -> tuple[int, ...]:
    if node.padding == "valid":
        return (0,) * len(kernel)
    if node.padding == "same":  # stride 1: torch pads (total // 2) before
        return tuple(d * (k - 1) // 2 for k, d in zip(kernel, node.dilation, strict=True))
    return tuple(int(p) for p in node.padding)


class ConvOp(Projection):
    """Conv1d and Conv2d (Conv1d runs as a Conv2d of height 1): one kernel per input event."""

    kind = "conv"

    def __init__(self, *args: Any):
        super().__init__(*args)
        node = self.node
        w = np.asarray(node.weight, dtype=self.dtype)
        one_d = w.ndim == 3
        if one_d:
            w = w[:, :, None, :]
        pad = _conv_padding(node, tuple(node.weight.shape[2:]))
        as2 = (lambda v: (1, int(v[0]))) if one_d else (lambda v: (int(v[0]), int(v[1])))
        self.stride, self.dilation = as2(node.stride), as2(node.dilation)
        self.padding = (0, pad[0]) if one_d else pad
        self.groups = node.groups
        c_out, cin_g, kh, kw = w.shape
        self.cout_g = c_out // self.groups
        self.cin_g = cin_g
        self.in2 = (self.in_shape[0], 1, self.in_shape[1]) if one_d else self.in_shape
        self.out2 = (self.out_shape[0], 1, self.out_shape[1]) if one_d else self.out_shape
        self.weight = w
        self.bias = np.asarray(node.bias, self.dtype)
        # wk[c, ky, kx, o] = w[group(c) * cout_g + o, c % cin_g, ky, kx]
        c_in = cin_g * self.groups
        wk = np.empty((c_in, kh, kw, self.cout_g), self.dtype)
        for c in range(c_in):
            g = c // cin_g
            wk[c] = w[g * self.cout_g : (g + 1) * self.cout_g, c % cin_g].transpose(1, 2, 0)
        self.wk = wk
        self.wrow = np.ascontiguousarray(wk[:, :, ::-1, :].reshape(c_in, kh, kw * self.cout_g))
        self.geometry = np.array([*self.stride, *self.padding, *self.dilation], np.int64)
        self.cyx = np.indices(self.in2).reshape(3, -1).T.copy()  # (channel, y, x) per flat input
        self.nnz_fanout = self._fanout(np.count_nonzero(wk, axis=3))
        self.dense_fanout = int(self._fanout(np.full(wk.shape[:3], self.cout_g)).sum())

    def _fanout(self, per_tap: np.ndarray) -> np.ndarray:
        """Per input element, the sum of ``per_tap[c, ky, kx]`` over the taps that land on an
        output (borders and strides included): the exact connection count."""
        c_in, h, w = self.in2
        _, ho, wo = self.out2
        sy, sx = self.stride
        py, px = self.padding
        dy, dx = self.dilation
        fan = np.zeros((c_in, h, w), np.int64)
        for ky in range(per_tap.shape[1]):
            ys = np.arange(ho) * sy - py + ky * dy
            ys = ys[(ys >= 0) & (ys < h)]
            for kx in range(per_tap.shape[2]):
                xs = np.arange(wo) * sx - px + kx * dx
                xs = xs[(xs >= 0) & (xs < w)]
                fan[:, ys[:, None], xs[None, :]] += per_tap[:, ky, kx][:, None, None]
        return fan.reshape(-1)

    def project(self, ev: Events, backend: str) -> tuple[np.ndarray, int | None]:
        synops = None
        frames = ev.n_steps * ev.batch
        c_out, ho, wo = self.out2
        if backend == "numba":
            val, weighted = _values(ev, self.dtype)
            out = np.empty((frames, c_out, ho, wo), self.dtype)
            synops = compiled_kernels().conv_events(
                ev.ptr, ev.idx, val, weighted, self.wk, self.wrow, self.cin_g, self.cyx, self.geometry, self.nnz_fanout,
                self.bias, out,
            )  # fmt: skip
            return out.reshape(ev.n_steps, ev.batch, *self.out_shape), synops
        if backend == "cuda":
            from neuro.engine.cuda import arrays
            from neuro.engine.cuda import kernels as cuda_kernels

            out = arrays.to_host(cuda_kernels.conv(self, ev))
        else:
            out = self._numpy(ev.to_dense(self.dtype).reshape(frames, *self.in2))
        out = out + self.bias[:, None, None]
        return np.ascontiguousarray(out, dtype=self.dtype).reshape(ev.n_steps, ev.batch, *self.out_shape), synops

    def _numpy(self, x: np.ndarray) -> np.ndarray:
        """Reference correlation: a sum over kernel taps of strided slices."""
        c_out, ho, wo = self.out2
        sy, sx = self.stride
        py, px = self.padding
        dy, dx = self.dilation
        frames, _c_in, h, w = x.shape
        kh, kw = self.weight.shape[2:]
        pad_y = max(0, (ho - 1) * sy + (kh - 1) * dy + 1 - h - py)
        pad_x = max(0, (wo - 1) * sx + (kw - 1) * dx + 1 - w - px)
        xp = np.pad(x, ((0, 0), (0, 0), (py, pad_y), (px, pad_x)))
        out = np.zeros((frames, c_out, ho, wo), self.dtype)
        for g in range(self.groups):
            xs_g = xp[:, g * self.cin_g : (g + 1) * self.cin_g]
            w_g = self.weight[g * self.cout_g : (g + 1) * self.cout_g]
            for ky in range(kh):
                for kx in range(kw):
                    y0, x0 = ky * dy, kx * dx
                    patch = xs_g[:, :, y0 : y0 + (ho - 1) * sy + 1 : sy, x0 : x0 + (wo - 1) * sx + 1 : sx]
                    out[:, g * self.cout_g : (g + 1) * self.cout_g] += np.einsum("fchw,oc->fohw", patch, w_g[:, :, ky, kx])
        return out


class PoolOp(Op):
    """SumPool2d and AvgPool2d (padding counts as zeros, as in torch's count_include_pad)."""

    kind = "pool"

    def __init__(self, *args: Any):
        super().__init__(*args)
        node = self.node
        self.kernel = tuple(int(k) for k in node.kernel_size)
        self.stride = tuple(int(s) for s in node.stride)
        self.padding = tuple(int(p) for p in node.padding)
        self.scale = 1.0 / (self.kernel[0] * self.kernel[1]) if isinstance(node, ir.AvgPool2d) else 1.0
        self.tptr, self.tidx = self._windows()

    def _windows(self) -> tuple[np.ndarray, np.ndarray]:
        """Per flat input element, the flat outputs whose windows hold it (CSR, int64/int32)."""
        c_in, h, w = self.in_shape
        c, ho, wo = self.out_shape
        (kh, kw), (sy, sx), (py, px) = self.kernel, self.stride, self.padding
        oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
        src, dst = [], []
        for ky in range(kh):
            for kx in range(kw):
                y, x = oy * sy - py + ky, ox * sx - px + kx
                ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
                for ch in range(c):
                    src.append(((ch * h + y) * w + x)[ok])
                    dst.append(((ch * ho + oy) * wo + ox)[ok])
        j, o = np.concatenate(src), np.concatenate(dst)
        order = np.lexsort((o, j))
        tptr = np.zeros(c_in * h * w + 1, np.int64)
        np.cumsum(np.bincount(j, minlength=c_in * h * w), out=tptr[1:])
        return tptr, o[order].astype(np.int32)

    def step(self, signal: Signal, backend: str, n_steps: int, batch: int, record: tuple[str, ...] = ()) -> Step:
        """On ``numba`` the output is the kernel's events, which the next projection takes as they are."""
        out = self._events(as_events(signal, backend)) if backend == "numba" else self.run(signal, backend)
        return Step(out, self.counts(signal, n_steps, batch))

    def _events(self, ev: Events) -> Events:
        val, weighted = _values(ev, self.dtype)
        ptr, idx, val, binary = compiled_kernels().pool_events(
            ev.ptr, ev.idx, val, weighted, self.tptr, self.tidx, self.out_size, self.dtype.type(self.scale)
        )
        return Events(ptr, idx, None if binary else val, ev.n_steps, ev.batch, self.out_shape)

    def run(self, signal: Signal, backend: str) -> np.ndarray:
        ev = as_events(signal)
        frames = ev.n_steps * ev.batch
        c, ho, wo = self.out_shape
        if backend == "numba":
            return self._events(ev).to_dense(self.dtype)
        if backend == "cuda":
            from neuro.engine.cuda import arrays
            from neuro.engine.cuda import kernels as cuda_kernels

            out = arrays.to_host(cuda_kernels.pool(self, ev))
        else:
            x = ev.to_dense(self.dtype).reshape(frames, *self.in_shape)
            (kh, kw), (sy, sx), (py, px) = self.kernel, self.stride, self.padding
            xp = np.pad(x, ((0, 0), (0, 0), (py, py + kh), (px, px + kw)))
            out = np.zeros((frames, c, ho, wo), self.dtype)
            for ky in range(kh):
                for kx in range(kw):
                    out += xp[:, :, ky : ky + (ho - 1) * sy + 1 : sy, kx : kx + (wo - 1) * sx + 1 : sx]
        if self.scale != 1.0:
            out *= self.dtype.type(self.scale)
        return out.reshape(ev.n_steps, ev.batch, *self.out_shape)


class SparseOp(Projection):
    """SparseLinear: CSR rows of active inputs; per-synapse delays shift delivery."""

    kind = "sparse"

    def __init__(self, *args: Any, dt: float):
        super().__init__(*args)
        node = self.node
        self.indptr = np.asarray(node.indptr, np.int32)
        self.indices = np.asarray(node.indices, np.int32)
        self.weights = np.asarray(node.weights, self.dtype)
        self.delay_steps = (
            np.zeros(0, np.int64) if node.delays is None else np.rint(np.asarray(node.delays) / dt).astype(np.int64)
        )
        nz = (self.weights != 0).astype(np.int64)
        rows = np.repeat(np.arange(node.shape[1]), np.diff(self.indptr))
        self.nnz_fanout = np.bincount(rows, weights=nz, minlength=node.shape[1]).astype(np.int64)
        self.dense_fanout = len(self.indices)

    def project(self, ev: Events, backend: str) -> tuple[np.ndarray, int | None]:
        synops = None
        frames = ev.n_steps * ev.batch
        out = np.zeros((frames, self.node.shape[0]), self.dtype)
        if backend == "numba":
            val, weighted = _values(ev, self.dtype)
            synops = compiled_kernels().sparse_events(
                ev.ptr, ev.idx, val, weighted, self.indptr, self.indices, self.weights, self.delay_steps, ev.batch,
                self.nnz_fanout, out,
            )  # fmt: skip
        elif backend == "cuda":
            from neuro.engine.cuda import arrays
            from neuro.engine.cuda import kernels as cuda_kernels

            out = arrays.to_host(cuda_kernels.sparse(self, ev))
        else:
            x = ev.to_dense(self.dtype).reshape(frames, -1)
            rows = np.repeat(np.arange(self.node.shape[1]), np.diff(self.indptr))
            delays = self.delay_steps if len(self.delay_steps) else np.zeros(len(rows), np.int64)
            for d in np.unique(delays):
                sel = delays == d
                w = np.zeros((self.node.shape[1], self.node.shape[0]), self.dtype)
                np.add.at(w, (rows[sel], self.indices[sel]), self.weights[sel])
                shift = int(d) * ev.batch
                if shift < frames:
                    out[shift:] += x[: frames - shift] @ w
        return out.reshape(ev.n_steps, ev.batch, *self.out_shape), synops


class ElementwiseOp(Op):
    """Flatten (a reshape of flat indices), Scale (values times the scale) and Delay (a shift
    in time by ``round(delay / dt)`` steps per element)."""

    def __init__(self, *args: Any, dt: float):
        super().__init__(*args)
        self.dt = dt

    def run(self, signal: Signal, backend: str) -> Signal:
        node = self.node
        if isinstance(node, ir.Flatten):
            if isinstance(signal, Events):
                return signal.reshape(self.out_shape)
            return signal.reshape(*signal.shape[:2], *self.out_shape)
        if isinstance(node, ir.Scale):
            scale = np.broadcast_to(np.asarray(node.scale, self.dtype), self.out_shape)
            if isinstance(signal, Events):
                val = signal.values(self.dtype) * scale.reshape(-1)[signal.idx]
                return Events(signal.ptr, signal.idx, val, signal.n_steps, signal.batch, signal.shape)
            return signal * scale
        return self._delay(as_events(signal, backend))

    def _delay(self, ev: Events) -> Events:
        steps = np.rint(np.broadcast_to(np.asarray(self.node.delay), self.out_shape) / self.dt).astype(np.int64).reshape(-1)
        t, b = ev.frames()
        t = t + steps[ev.idx]
        keep = t < ev.n_steps
        frame = t[keep] * ev.batch + b[keep]
        idx = ev.idx[keep]
        order = np.lexsort((idx, frame))
        ptr = np.zeros(ev.n_steps * ev.batch + 1, np.int64)
        np.cumsum(np.bincount(frame, minlength=ev.n_steps * ev.batch), out=ptr[1:])
        val = None if ev.val is None else ev.val[keep][order]
        return Events(ptr, idx[order], val, ev.n_steps, ev.batch, ev.shape)


class ThresholdOp(Op):
    """``z = H(x - threshold)``: a stateless spike."""

    kind = "threshold"

    def run(self, signal: Signal, backend: str) -> Events:
        x = as_dense(signal, self.dtype)
        z = (x - np.asarray(self.node.threshold, self.dtype) > 0).astype(self.dtype)
        return Events.from_dense(z)


class NeuronOp(Op):
    """A population of a core neuron model, run by the backend's population loop."""

    kind = "neuron"

    def __init__(self, *args: Any, dt: float, method: str):
        super().__init__(*args)
        self.model = MODELS[self.node.node_type]
        self.n = _size(self.out_shape)
        self.coeffs = coefficient_arrays(self.model.discretize(self.node, dt, method), self.out_shape, self.dtype)
        self._rest_cache: dict[int, list[np.ndarray]] = {}

    def _rest(self, batch: int) -> list[np.ndarray]:
        """A fresh resting state, ``(B, N)`` per field (the first one per batch size is kept and copied)."""
        if batch not in self._rest_cache:
            rest = self.model.init_state(self.node, (batch,), self.out_shape, self.dtype)
            self._rest_cache[batch] = [np.ascontiguousarray(s.reshape(batch, self.n)) for s in rest]
        return [s.copy() for s in self._rest_cache[batch]]

    def step(self, signal: Signal, backend: str, n_steps: int, batch: int, record: tuple[str, ...] = ()) -> Step:
        x = as_dense(signal, self.dtype, backend).reshape(n_steps, batch, self.n)
        state = self._rest(batch)
        fields = self.model.state._fields
        traces = [np.zeros((n_steps, batch, self.n), self.dtype) for _ in fields] if record else None
        events, active, n_in = POPULATION_RUNNERS[backend](self.model, x, state, self.coeffs, traces)
        recorded = {}
        if traces is not None:
            pairs = zip(fields, traces, strict=True)
            recorded = {f: tr.reshape(n_steps, batch, *self.out_shape) for f, tr in pairs if f in record}
        out = events.reshape(self.out_shape)
        if n_in is None:
            n_in = len(signal) if isinstance(signal, Events) else int(np.count_nonzero(signal))
        return Step(out, self.finish_counts(out, n_in, active, n_steps, batch), tuple(state), recorded)

    def finish_counts(self, out: Events, n_in: int, active: int, n_steps: int, batch: int) -> NodeCounts:
        """The counts from the loop's tallies: non-zero input entries, active updates."""
        return NodeCounts(
            self.kind, self.in_size, self.out_size, n_steps, batch, in_events=n_in,
            out_spikes=round(out.total()) if self.model.spiking else 0, updates_active=active,
            updates_idle=n_steps * batch * self.n - active,
        )  # fmt: skip


def make_op(
    name: str, node: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...], dt: float, dtype: Any, method: str
) -> Op:
    """The op of one node (UnsupportedNodeError for a node the engine cannot run)."""
    args = (name, node, tuple(in_shape), tuple(out_shape), np.dtype(dtype))
    if isinstance(node, ir.Linear):  # Affine too
        return DenseOp(*args)
    if isinstance(node, ir.Conv2d):  # Conv1d too
        return ConvOp(*args)
    if isinstance(node, ir.SumPool2d):  # AvgPool2d too
        return PoolOp(*args)
    if isinstance(node, ir.SparseLinear):
        return SparseOp(*args, dt=dt)
    if isinstance(node, ir.Flatten | ir.Scale | ir.Delay):
        return ElementwiseOp(*args, dt=dt)
    if isinstance(node, ir.Threshold):
        return ThresholdOp(*args)
    if node.node_type in MODELS:
        return NeuronOp(*args, dt=dt, method=method)
    raise UnsupportedNodeError(f"the engine cannot run node {name!r} of type {node.node_type}", [name])

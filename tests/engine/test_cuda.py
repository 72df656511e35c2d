"""The ``cuda`` engine backend against the ``numba`` backend.

Without a GPU the kernels run under the Numba CUDA simulator. Numba reads
``NUMBA_ENABLE_CUDASIM`` once, when it is imported, and the test session has long imported it,
so each simulator check runs one of the ``CASES`` below in a fresh process with the variable
set (:func:`in_simulator`). A case runs both backends on a small seeded input, asserts inside
that process (identical spikes, outputs, states, traces and counts in float64; the documented
float32 tolerance: at most 1 % of the spike entries of a layer differ) and prints a summary the
test checks as well: that the simulator ran, which kernels were launched (the path sentinel),
and that the network was active enough for the comparison to mean something.

Recurrent blocks are compared with the numpy block reference (which test_recurrent.py holds
bitwise equal to the numba block loop), whose compilation would dominate the run time here.
One test compiles every kernel to PTX with libNVVM, where the simulator cannot look. Tests
marked ``gpu`` run the same cases on a real device and skip cleanly without one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import BackendUnavailableError, SimulationInputError
from neuro.core.neurons import MODELS
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.engine.backends import BACKENDS

HERE = Path(__file__).resolve().parent
GOLDEN_SCRIPT = HERE.parent / "core" / "neurons" / "golden" / "make_golden.py"


# ---- the cases (run in the simulator's process, or in-process on a GPU) -----------------------


def _compare(graph: ir.Graph, x: Any, dtype: Any, reference: str = "numba", **kwargs: Any) -> dict[str, Any]:
    """Run ``graph`` on cuda and the ``reference`` backend and assert they agree; a summary of
    the cuda run."""
    from neuro.engine.cuda import arrays

    before = dict(arrays.launches)
    got = run(graph, x, backend="cuda", dtype=dtype, **kwargs)
    launched = {k: v - before.get(k, 0) for k, v in arrays.launches.items() if v > before.get(k, 0)}
    ref = run(graph, x, backend=reference, dtype=dtype, **kwargs)
    exact = np.dtype(dtype) == np.float64
    # on a device the compiler contracts a * b + c into fused multiply-adds (docs/engine.md):
    # float64 values there agree to rounding, spikes must still be identical
    equal = np.testing.assert_array_equal if arrays.simulated() else _close
    assert set(got.spikes) == set(ref.spikes)
    n_spikes = 0
    identical = True
    for name in ref.spikes:
        a, b = got.spikes[name].to_dense(np.float64), ref.spikes[name].to_dense(np.float64)
        n_spikes += int(b.sum())
        differ = int(np.count_nonzero(a != b))
        identical &= differ == 0
        if exact:
            assert differ == 0, f"{name}: {differ} spike entries differ in float64"
        else:
            assert differ <= 0.01 * max(b.sum(), 1), f"{name}: {differ} of {b.sum()} spike entries differ"
    for name in ref.outputs:
        if exact:
            equal(got.outputs[name], ref.outputs[name], err_msg=name)
        elif identical:
            scale = float(np.abs(ref.outputs[name]).max(initial=1.0))
            np.testing.assert_allclose(got.outputs[name], ref.outputs[name], rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    if exact or identical:
        assert got.counts.nodes == ref.counts.nodes
    if exact:
        for name, state in ref.state.items():
            for f, (a, b) in enumerate(zip(got.state[name], state, strict=True)):
                equal(a, b, err_msg=f"{name} state field {f}")
        assert set(got.traces) == set(ref.traces)
        for key, tr in ref.traces.items():
            equal(got.traces[key], tr, err_msg=str(key))
    active = n_spikes + sum(int(np.count_nonzero(o)) for o in ref.outputs.values())
    return {"simulated": arrays.simulated(), "launches": launched, "spikes": n_spikes, "active": active, "identical": identical}


def _close(a: np.ndarray, b: np.ndarray, err_msg: str) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * float(np.abs(b).max(initial=1.0)), err_msg=err_msg)


def _merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    launches: dict[str, int] = {}
    for s in summaries:
        for k, v in s["launches"].items():
            launches[k] = launches.get(k, 0) + v
    return {
        "simulated": all(s["simulated"] for s in summaries),
        "launches": launches,
        "spikes": [s["spikes"] for s in summaries],
        "active": [s["active"] for s in summaries],
        "identical": all(s["identical"] for s in summaries),
    }


def dense_case(dtype: str) -> dict[str, Any]:
    """Affine on valued (non-binary) input, LIF, Linear, ALIF, Linear, LI readout."""
    rng = np.random.default_rng(1)
    graph = ir.Graph.sequential(
        ir.Input(shape=(6,)),
        ir.Affine(weight=rng.normal(0.6, 1.0, (7, 6)), bias=rng.normal(0, 0.1, 7)),
        ir.LIF(tau=0.01, r=1.0, v_threshold=0.5, reset=ResetSubtract()),
        ir.Linear(weight=rng.uniform(0.3, 1.5, (5, 7))),
        ir.ALIF(tau=0.01, tau_adapt=0.05, r=1.0, v_threshold=0.5, beta_adapt=0.2),
        ir.Linear(weight=rng.normal(0, 1, (3, 5))),
        ir.LI(tau=0.01),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    x = rng.uniform(0, 2, (16, 3, 6)) * (rng.random((16, 3, 6)) < 0.5)
    return _compare(graph, x, np.dtype(dtype), monitors={"lif_2": ["v"]})


def conv_case(dtype: str) -> dict[str, Any]:
    """Conv2d with stride, padding, groups and dilation, sum and average pooling, Conv1d."""
    rng = np.random.default_rng(2)
    summaries = []
    geometries = [
        dict(stride=2, padding=1, groups=2, dilation=1, pool=ir.SumPool2d(kernel_size=(2, 2), stride=(1, 1))),
        dict(stride=1, padding=0, groups=1, dilation=2, pool=ir.AvgPool2d(kernel_size=(2, 2), padding=(1, 1))),
    ]
    for g in geometries:
        groups = g["groups"]
        c1 = 2 * groups
        graph = ir.Graph.sequential(
            ir.Input(shape=(2 * groups, 6, 6)),
            ir.Conv2d(
                weight=rng.normal(0.3, 0.8, (c1, 2, 3, 3)),
                bias=rng.normal(0, 0.1, c1),
                stride=g["stride"],
                padding=g["padding"],
                dilation=g["dilation"],
                groups=groups,
            ),
            ir.LIF(tau=0.005, r=1.0, v_threshold=0.6, reset=ResetSubtract()),
            g["pool"],
            ir.Conv2d(weight=rng.normal(0.2, 0.6, (3, c1, 2, 2)), padding=(1, 0)),
            ir.IF(v_threshold=0.5),
            ir.Output(),
            metadata={"dt": 1e-3},
        )
        x = (rng.random((6, 2, 2 * groups, 6, 6)) < 0.35).astype(np.float64)
        summaries.append(_compare(graph, x, np.dtype(dtype)))
    graph = ir.Graph.sequential(
        ir.Input(shape=(2, 9)),
        ir.Conv1d(weight=rng.normal(0.4, 0.8, (3, 2, 3)), bias=np.zeros(3), stride=2, padding=1),
        ir.LIF(tau=0.005, r=1.0, v_threshold=0.5),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    summaries.append(_compare(graph, (rng.random((10, 2, 2, 9)) < 0.4).astype(np.float64), np.dtype(dtype)))
    return _merge(summaries)


def _random_csr(rng: np.random.Generator, n_out: int, n_in: int, p: float) -> tuple[list, list, np.ndarray]:
    mask = rng.random((n_in, n_out)) < p
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
    indices = np.concatenate([np.flatnonzero(row) for row in mask])
    return indptr.tolist(), indices.tolist(), rng.normal(0.5, 0.8, len(indices))


def sparse_case(dtype: str) -> dict[str, Any]:
    """SparseLinear with per-synapse delays (0-3 steps) on valued input, then without delays."""
    rng = np.random.default_rng(3)
    indptr, indices, weights = _random_csr(rng, 6, 8, 0.5)
    delays = rng.integers(0, 4, len(indices)) * 1e-3
    indptr2, indices2, weights2 = _random_csr(rng, 4, 6, 0.6)
    graph = ir.Graph.sequential(
        ir.Input(shape=(8,)),
        ir.SparseLinear(shape=(6, 8), indptr=indptr, indices=indices, weights=weights, delays=delays),
        ir.LIF(tau=0.01, r=1.0, v_threshold=0.3),
        ir.SparseLinear(shape=(4, 6), indptr=indptr2, indices=indices2, weights=weights2),
        ir.IF(v_threshold=0.5),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    x = rng.uniform(0.2, 1.5, (20, 2, 8)) * (rng.random((20, 2, 8)) < 0.6)
    return _compare(graph, x, np.dtype(dtype))


def neurons_case(dtype: str) -> dict[str, Any]:
    """Every golden neuron case (every model the feed-forward engine runs), states traced."""
    golden = _golden()
    summaries, models = [], []
    for case, (model_name, method, kwargs, scale) in sorted(golden.CASES.items()):
        model = MODELS[model_name]
        graph = ir.Graph.sequential(ir.Input(shape=(4,)), model.params(**kwargs), ir.Output(), metadata={"dt": golden.DT})
        x_seq = golden.make_input(case, scale)[:60]
        x = np.stack([x_seq, 0.8 * x_seq], axis=1)
        neuron = next(n for n in graph.nodes if graph.nodes[n].node_type == model_name)
        monitors = {neuron: list(model.state._fields)}
        summaries.append(_compare(graph, x, np.dtype(dtype), method=method, monitors=monitors))
        models.append(model_name)
    return {**_merge(summaries), "models": sorted(set(models)), "dtype": dtype}


def scatter_case() -> dict[str, Any]:
    """The atomic-scatter and sort-then-segment-reduce kernels against the gather kernels and
    the numba ops (float64): sort-reduce adds in the gather order, so it must be bitwise equal."""
    from neuro.engine.cuda import arrays, kernels
    from neuro.engine.ops import make_op
    from neuro.engine.signals import Events

    rng = np.random.default_rng(4)
    indptr, indices, weights = _random_csr(rng, 5, 12, 0.5)
    delays = rng.integers(0, 3, len(indices)) * 1e-3
    nodes = {
        kernels.dense: (ir.Linear(weight=rng.normal(0, 1, (5, 12))), (12,), (5,)),
        kernels.conv: (
            ir.Conv2d(weight=rng.normal(0, 1, (6, 1, 3, 3)), bias=np.zeros(6), stride=2, padding=1, groups=3),
            (3, 5, 5),
            (6, 3, 3),
        ),
        kernels.pool: (ir.SumPool2d(kernel_size=(2, 2), stride=(1, 1), padding=(1, 1)), (3, 2, 2), (3, 3, 3)),
        kernels.sparse: (
            ir.SparseLinear(shape=(5, 12), indptr=indptr, indices=indices, weights=weights, delays=delays),
            (12,),
            (5,),
        ),
    }
    before = dict(arrays.launches)
    for fn, (node, in_shape, out_shape) in nodes.items():
        op = make_op("p", node, in_shape, out_shape, 1e-3, np.float64, "exact")
        if isinstance(node, ir.Conv2d):  # the shapes above are checked against the graph's inference
            g = ir.Graph.sequential(ir.Input(shape=in_shape), node, ir.Output())
            assert tuple(g.shapes[list(g.nodes)[1]]) == out_shape
        dense_in = rng.uniform(0.5, 2.0, (6, 3, *in_shape)) * (rng.random((6, 3, *in_shape)) < 0.5)
        ev = Events.from_dense(dense_in)
        gather = arrays.to_host(fn(op, ev, kernels.Gather()))
        scatter = arrays.to_host(fn(op, ev, kernels.Scatter()))
        by_key = arrays.to_host(fn(op, ev, kernels.SortReduce()))
        reference = op.project(ev, "numba")[0] if hasattr(op, "project") else op.run(ev, "numba")
        reference = reference.reshape(gather.shape) - (getattr(op, "bias", 0) if fn is kernels.dense else 0)
        # bitwise under the simulator; on a device the gather's acc + a * w is a fused
        # multiply-add, sort-reduce rounds the product first (docs/engine.md)
        equal = np.testing.assert_array_equal if arrays.simulated() else _close
        equal(gather, reference, err_msg=fn.__name__)
        equal(by_key, gather, err_msg=fn.__name__)
        np.testing.assert_allclose(scatter, gather, rtol=1e-12, atol=1e-12, err_msg=fn.__name__)
        assert np.count_nonzero(gather) > 0
        if fn is kernels.dense:  # the sums depend on the order: reversed, some element differs
            reversed_sums = np.zeros_like(gather)
            for f in range(len(ev.ptr) - 1):
                for k in range(ev.ptr[f + 1] - 1, ev.ptr[f] - 1, -1):
                    reversed_sums[f] += ev.val[k] * op.wt[ev.idx[k]]
            assert np.any(reversed_sums != gather)
    launched = {k: v - before.get(k, 0) for k, v in arrays.launches.items() if v > before.get(k, 0)}
    return {"simulated": arrays.simulated(), "launches": launched}


def events_case() -> dict[str, Any]:
    """The event-driven delivery kernels alone (float64, two samples): a silent step leaves the
    buffers as they were; an active input adds ``a * w`` over its CSR row (ring: into slot
    ``(t + d) % slots``), in the order of a loop over active inputs and then synapses; the rows
    of silent inputs are never read (their targets here lie far out of range, which the
    simulator's bounds checks would reject, as a device's would corrupt memory)."""
    from neuro.engine.cuda import _block_device as kd
    from neuro.engine.cuda import arrays

    rng = np.random.default_rng(8)
    batch, n_in, n_out, slots, t = 2, 6, 5, 3, 7
    indptr = np.arange(n_in + 1, dtype=np.int64) * 3
    indices = np.concatenate([np.sort(rng.choice(n_out, 3, replace=False)) for _ in range(n_in)]).astype(np.int32)
    weights = rng.normal(0, 1, len(indices)) * 10.0 ** rng.integers(-6, 6, len(indices))
    delays = rng.integers(0, slots, len(indices)).astype(np.int64)
    x = np.zeros((batch, n_in))
    x[0, [1, 4]], x[1, [0, 1, 4]] = (1.0, 0.7), (1.0, -2.0, 1.0)
    silent_rows = np.flatnonzero(~x.any(axis=0))
    poisoned = indices.copy()
    for j in silent_rows:
        poisoned[indptr[j] : indptr[j + 1]] = 10**6
    inp0, ring0 = rng.normal(0, 1, (batch, n_out)), rng.normal(0, 1, (batch, slots, n_out))
    before = dict(arrays.launches)
    # a silent step: nothing changes (not even the sign of a zero)
    inp, ring = inp0.copy(), ring0.copy()
    arrays.launch("block_scatter_direct", kd.scatter_direct, batch * n_in, np.zeros_like(x), indptr, poisoned, weights, inp)
    zeros = np.zeros_like(x)
    arrays.launch("block_scatter_ring", kd.scatter_ring, batch * n_in, zeros, indptr, poisoned, weights, delays, t, ring)
    assert inp.tobytes() == inp0.tobytes()
    assert ring.tobytes() == ring0.tobytes()
    # active inputs: the loop over active inputs, then synapses in CSR order
    want_inp, want_ring = inp0.copy(), ring0.copy()
    for b in range(batch):
        for j in np.flatnonzero(x[b]):
            for e in range(indptr[j], indptr[j + 1]):
                want_inp[b, indices[e]] += x[b, j] * weights[e]
                want_ring[b, (t + delays[e]) % slots, indices[e]] += x[b, j] * weights[e]
    inp, ring = inp0.copy(), ring0.copy()
    arrays.launch("block_scatter_direct", kd.scatter_direct, batch * n_in, x, indptr, poisoned, weights, inp)
    arrays.launch("block_scatter_ring", kd.scatter_ring, batch * n_in, x, indptr, poisoned, weights, delays, t, ring)
    equal = np.testing.assert_array_equal if arrays.simulated() else _close
    equal(inp, want_inp, err_msg="scatter_direct")
    equal(ring, want_ring, err_msg="scatter_ring")
    assert np.count_nonzero(inp != inp0) > 0
    assert np.count_nonzero(ring != ring0) > 0
    # the order matters for these sums: some element differs when the rows are added backwards
    backwards = inp0.copy()
    for b in range(batch):
        for j in np.flatnonzero(x[b])[::-1]:
            for e in range(indptr[j + 1] - 1, indptr[j] - 1, -1):
                backwards[b, indices[e]] += x[b, j] * weights[e]
    launched = {k: v - before.get(k, 0) for k, v in arrays.launches.items() if v > before.get(k, 0)}
    return {"simulated": arrays.simulated(), "launches": launched, "order_matters": bool(np.any(backwards != want_inp))}


def _ring(rng: np.random.Generator, n: int, p: float, n_out: int | None = None, delays: bool = True) -> ir.SparseLinear:
    indptr, indices, weights = _random_csr(rng, n_out or n, n, p)
    d = rng.integers(0, 3, len(indices)) * 1e-3 if delays else None
    return ir.SparseLinear(shape=(n_out or n, n), indptr=indptr, indices=indices, weights=weights, delays=d)


def blocks_case(dtype: str, accumulate: str = "scatter") -> dict[str, Any]:
    """Recurrent blocks: a LIF population with delayed recurrent synapses fed by an Affine; a
    cycle through Delay, Scale and a Linear; a CubaEILIF population (two input channels) with
    excitatory and inhibitory recurrence; and run_block emitting only the population, so the
    projections write straight into it (with an Affine bias). ``accumulate``: the blocks'
    synaptic delivery, ``"scatter"`` (event-driven, the default) or ``"gather"``.

    The event-driven delivery adds with atomics, in the order the threads run. The simulator
    runs the threads of a thread block one after another, in index order (thread blocks too),
    as long as the interpreter does not switch threads in the middle of one; the subprocess
    raises the switch interval to 1 s (:func:`in_simulator`), far above a thread's run, so the
    additions into an element come in the CPU order (inputs ascending, then CSR order) and
    float64 results must be bitwise those of the reference here as well.

    Against the numpy block reference, which tests/engine/test_recurrent.py holds bitwise equal
    to the numba block loop in float64 (the graphs feed their blocks directly, since numpy's
    feed-forward Linear is a BLAS product, not bitwise the numba kernel): the numba loops of
    these block structures took about 45 s to compile in every process here (they were not
    loaded from Numba's cache)."""
    with _block_accumulation(accumulate):
        return _blocks(dtype)


def _block_accumulation(name: str) -> Any:
    """A context in which the engine's block runs on cuda use ``accumulate`` (``run_block`` has
    no argument for it: this sets the runner's default)."""
    import functools
    from unittest import mock

    from neuro.engine.cuda import blocks, kernels

    strategy = {"scatter": kernels.Scatter(), "gather": kernels.Gather()}[name]
    return mock.patch.object(blocks, "run_cuda", functools.partial(blocks.run_cuda, accumulate=strategy))


def _blocks(dtype: str) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    n, n_in = 10, 6
    summaries = []
    x = rng.uniform(0, 1.5, (10, 2, n_in)) * (rng.random((10, 2, n_in)) < 0.5)
    affine = ir.Affine(weight=rng.normal(0.5, 0.5, (n, n_in)), bias=rng.normal(0, 0.05, n))
    ring = ir.Graph(
        {"in": ir.Input(shape=(n_in,)), "inw": affine, "pop": ir.LIF(tau=1e-2, v_threshold=0.5), "rec": _ring(rng, n, 0.3),
         "out": ir.Output()},
        [("in", "inw"), ("inw", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")],
        {"dt": 1e-3},
    )  # fmt: skip
    direct = ir.Graph(
        {"in": ir.Input(shape=(n,)), "pop": ir.LIF(tau=1e-2, r=8.0, v_threshold=0.5), "rec": _ring(rng, n, 0.3),
         "out": ir.Output()},
        [("in", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")],
        {"dt": 1e-3},
    )  # fmt: skip
    xd = rng.uniform(0, 1.2, (10, 2, n)) * (rng.random((10, 2, n)) < 0.5)
    summaries.append(_compare(direct, xd, np.dtype(dtype), "numpy", monitors={"pop": ["v"]}))
    cycle = ir.Graph(
        {
            "in": ir.Input(shape=(n,)),
            "pop": ir.CubaLIF(tau_syn=5e-3, tau_mem=1e-2, r=2.0, v_threshold=0.4),
            "dly": ir.Delay(delay=rng.integers(0, 3, n) * 1e-3),
            "scale": ir.Scale(scale=rng.uniform(0.5, 2.0, n)),
            "lin": ir.Linear(weight=rng.normal(0.1, 0.4, (n, n))),
            "out": ir.Output(),
        },
        [("in", "pop"), ("pop", "dly"), ("dly", "scale"), ("scale", "lin"), ("lin", "pop"), ("pop", "out")],
        {"dt": 1e-3},
    )
    xc = rng.uniform(0, 3, (10, 2, n)) * (rng.random((10, 2, n)) < 0.4)
    summaries.append(_compare(cycle, xc, np.dtype(dtype), "numpy", monitors={"pop": ["v", "i"]}))
    ei = ir.Graph(
        {"in": ir.Input(shape=(2 * n,)), "pop": ir.CubaEILIF(v_leak=-0.06), "rec": _ring(rng, n, 0.4, 2 * n, False),
         "out": ir.Output()},
        [("in", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")],
        {"dt": 1e-4},
    )  # fmt: skip
    xe = rng.uniform(0, 0.04, (20, 2, 2 * n)) * (rng.random((20, 2, 2 * n)) < 0.4)
    summaries.append(_compare(ei, xe, np.dtype(dtype), "numpy", monitors={"pop": ["v", "refrac"]}))
    summaries.append(_compare_block(ring, ["inw", "pop", "rec"], {"inw": x}, np.dtype(dtype)))
    return _merge(summaries)


def _compare_block(graph: ir.Graph, nodes: list[str], external: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """run_block emitting only the neurons (projections without delays then write straight
    into their successors' buffers), cuda against the numpy block reference."""
    from neuro.engine.cuda import arrays
    from neuro.engine.recurrent import run_block

    pops = [n for n in nodes if graph.nodes[n].node_type in MODELS]
    n_steps, batch = next(iter(external.values())).shape[:2]
    before = dict(arrays.launches)
    kw = {"dtype": dtype, "emit": pops, "record": {p: ["v"] for p in pops}}
    got = run_block(graph, nodes, external, n_steps, batch, 1e-3, backend="cuda", **kw)
    launched = {k: v - before.get(k, 0) for k, v in arrays.launches.items() if v > before.get(k, 0)}
    ref = run_block(graph, nodes, external, n_steps, batch, 1e-3, backend="numpy", **kw)
    assert set(got.outputs) == set(ref.outputs) == set(pops)
    exact = dtype == np.float64
    equal = np.testing.assert_array_equal if arrays.simulated() else _close
    n_spikes, identical = 0, True
    for name in pops:
        a, b = got.outputs[name].to_dense(), ref.outputs[name].to_dense()
        differ = int(np.count_nonzero(a != b))
        identical &= differ == 0
        assert differ <= (0 if exact else 0.01 * max(b.sum(), 1)), f"{name}: {differ} spike entries differ"
        n_spikes += len(ref.outputs[name])
        if exact:
            equal(got.traces[(name, "v")], ref.traces[(name, "v")], err_msg=name)
    if exact or identical:
        assert got.counts == ref.counts
    summary = {"launches": launched, "spikes": n_spikes, "active": n_spikes, "identical": identical}
    return {"simulated": arrays.simulated(), **summary}


def stdp_case(dtype: str, accumulate: str = "scatter") -> dict[str, Any]:
    """STDP with hard bounds, soft bounds and normalisation (sparse), normalisation (dense), two
    samples (the weights carry over): weights, spikes, counts against the block reference;
    ``accumulate`` as in :func:`blocks_case`."""
    with _block_accumulation(accumulate):
        return _stdp(dtype)


def _stdp(dtype: str) -> dict[str, Any]:
    from neuro.engine.cuda import arrays
    from neuro.engine.plasticity import STDP
    from neuro.engine.recurrent import run_block

    rng = np.random.default_rng(7)
    n_pre, n_post, n_steps = 4, 3, 24
    pre = (rng.random((n_steps, 2, n_pre)) < 0.25).astype(float)
    kicks = 100.0 * (rng.random((n_steps, 2, n_post)) < 0.1)  # forced post spikes
    before = dict(arrays.launches)
    n_spikes, weights_moved = 0, 0
    exact = np.dtype(dtype) == np.float64
    for dense in (False, True):
        if dense:
            proj = ir.Linear(np.full((n_post, n_pre), 0.1))
        else:
            indptr, indices = np.arange(n_pre + 1) * n_post, np.tile(np.arange(n_post), n_pre)
            proj = ir.SparseLinear((n_post, n_pre), indptr, indices, np.full(n_pre * n_post, 0.1))
        graph = ir.Graph(
            {"in": ir.Input((n_pre,)), "proj": proj, "pop": ir.LIF(tau=1e-3, v_threshold=1.0), "out": ir.Output()},
            [("in", "proj"), ("proj", "pop"), ("pop", "out")],
            {"dt": 1e-3},
        )
        rules = [
            STDP(0.02, 0.02, 0.05, 0.06, 0.0, 0.3),
            STDP(0.01, 0.04, 0.05, 0.04, 0.0, 1.0, multiplicative=True),
            STDP(0.02, 0.02, 0.02, 0.01, 0.0, 1.0, normalize=1.5),
        ]
        for rule in rules[2:] if dense else rules:
            got, ref = (
                run_block(
                    graph, ["proj", "pop"], {"proj": pre, "pop": kicks}, n_steps, 2, 1e-3, backend=backend,
                    dtype=np.dtype(dtype), plasticity={"proj": rule}, record={"pop": ["v"]} if dense else None,
                )
                for backend in ("cuda", "numpy")
            )  # fmt: skip
            if exact and arrays.simulated():
                np.testing.assert_array_equal(got.weights["proj"], ref.weights["proj"])
                assert set(got.traces) == set(ref.traces)
                for key, trace in ref.traces.items():
                    np.testing.assert_array_equal(got.traces[key], trace)
            else:
                np.testing.assert_allclose(got.weights["proj"], ref.weights["proj"], rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(got.outputs["pop"].to_dense(), ref.outputs["pop"].to_dense())
            assert got.counts == ref.counts
            n_spikes += len(ref.outputs["pop"])
            weights_moved += int(not np.allclose(ref.weights["proj"], 0.1))
    launched = {k: v - before.get(k, 0) for k, v in arrays.launches.items() if v > before.get(k, 0)}
    return {"simulated": arrays.simulated(), "launches": launched, "spikes": n_spikes, "moved": weights_moved}


def ptx_case() -> dict[str, Any]:
    """Compile every kernel to PTX for compute capability 8.0 (the neuron kernels in float32,
    the others in float32 and float64): what the simulator cannot check (typing and lowering
    by the CUDA target). Needs libNVVM (``CUDA_HOME``, or the nvidia-cuda-nvcc wheel), not a
    GPU."""
    from types import SimpleNamespace

    import numba.cuda.dispatcher
    from numba import cuda
    from numba import types as nt
    from numba.cuda.cudadrv import nvvm

    try:
        nvvm.NVVM()
    except Exception as exc:
        return {"simulated": False, "nvvm": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    from neuro.engine.cuda import arrays, populations

    # no device here: the device functions are compiled for compute capability 8.0 and the
    # probe is skipped (this process only compiles)
    numba.cuda.dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=(8, 0))
    arrays.require = lambda: None
    from neuro.engine.cuda import _device as d
    from neuro.engine.cuda import _sorted_device as sd

    compiled = []
    i64, i32 = nt.int64, nt.int32
    for f in (nt.float32, nt.float64):
        ev = (i64[::1], i32[::1], f[::1], nt.boolean)
        f2, f4, geo = f[:, ::1], f[:, :, :, ::1], i64[::1]
        signatures = {
            d.densify: (*ev, f2),
            d.dense_gather: (*ev, f2, f2),
            d.dense_scatter: (*ev, f2, f2),
            d.conv_gather: (f2, f4, i64, i64, i64, geo, f4),
            d.conv_scatter: (*ev, f4, i64, i64, i64, geo, f4),
            d.pool_gather: (f2, i64, i64, geo, f4),
            d.pool_scatter: (*ev, i64, i64, geo, f4),
            d.sparse_gather: (f2, i64[::1], i64[::1], i64[::1], f[::1], i64[::1], i64, f2),
            d.sparse_scatter: (*ev, i64[::1], i32[::1], f[::1], i64[::1], i64, f2),
            sd.dense_pairs: (*ev, f2, i64[::1], f[::1]),
            sd.conv_pairs: (*ev, f4, i64, i64, i64, geo, i64, i64, i64[::1], f[::1]),
            sd.pool_pairs: (*ev, i64, i64, i64, geo, i64, i64, i64[::1], f[::1]),
            sd.sparse_pairs: (*ev, i64[::1], i64[::1], i32[::1], f[::1], i64[::1], i64, i64, i64, i64[::1], f[::1]),
            sd.segment_sum: (i64[::1], i64[::1], f[::1], f[::1]),
        }
        for name, model in MODELS.items():
            if name == "CubaEILIF" or f is nt.float64:  # neuron kernels: float32 only (time)
                continue
            n_state = len(model.state._fields)
            coeffs = [i64[::1] if isinstance(c, int) else f[::1] for c in _coefficient_kinds(model)]
            signatures[populations._module(model).run] = (
                f[:, :, ::1], f[:, :, ::1], i64[::1], *([f2] * n_state), *coeffs, i64, *([f[:, :, ::1]] * n_state)
            )  # fmt: skip
        signatures.update(_block_signatures(f, neurons=f is nt.float32))
        for kernel, sig in signatures.items():
            ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
            assert ".entry" in ptx
            compiled.append(f"{kernel.py_func.__name__}[{f}]")
    return {"simulated": False, "nvvm": True, "compiled": compiled}


def _block_signatures(f: Any, neurons: bool) -> dict[Any, tuple[Any, ...]]:
    """The per-step block kernels (and one block neuron kernel per model), for dtype ``f``."""
    from numba import types as nt

    from neuro.engine.cuda import _block_device as kd
    from neuro.engine.cuda import blocks

    i64, i32 = nt.int64, nt.int32
    f2, f3, i2, geo = f[:, ::1], f[:, :, ::1], i64[:, ::1], i64[::1]
    signatures: dict[Any, tuple[Any, ...]] = {
        kd.add_external: (i64[::1], i32[::1], f[::1], nt.boolean, i64, i64, i64, f2),
        kd.push: (f2, f2),
        kd.project_direct: (f2, geo, geo, geo, f[::1], f[::1], nt.boolean, f2),
        kd.project_ring: (f2, geo, geo, geo, f[::1], geo, i64, f3),
        kd.scatter_direct: (f2, geo, i32[::1], f[::1], f2),
        kd.scatter_ring: (f2, geo, i32[::1], f[::1], geo, i64, f3),
        kd.add_bias: (f[::1], f2),
        kd.ring_out: (f3, i64, f[::1], nt.boolean, f2, f3, nt.boolean),
        kd.count_inputs: (f2, geo, i2, i2, geo),
        kd.scale: (f2, f[::1], i2, f2, f3, nt.boolean, i64),
        kd.delay: (f2, geo, i2, f3, f2, f3, nt.boolean, i64),
        kd.decay: (f[::1], f[::1], i64),
        kd.plastic_inputs: (f2, geo, i32[::1], f[::1], i2, i2, geo, f[::1], f[::1], f[::1]),
        kd.potentiate_post: (f2, geo, geo, geo, f[::1], f[::1], f[::1], f[::1]),
        kd.normalize: (f[::1], geo, geo, f[::1]),
    }
    for name, model in MODELS.items() if neurons else ():
        channels = 2 if name == "CubaEILIF" else 1
        n_state = len(model.state._fields)
        coeffs = [i64[::1] if isinstance(c, int) else f[::1] for c in _coefficient_kinds(model)]
        signatures[blocks._neuron_module(model, channels).step] = (
            i64, f2, f2, f3, nt.boolean, i2, i2, nt.float64[:, ::1], i64, *([f2] * n_state), *coeffs, *([f3] * n_state)
        )  # fmt: skip
    return signatures


def _golden() -> Any:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_SCRIPT)
    golden = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(golden)  # type: ignore[union-attr]
    return golden


def _coefficient_kinds(model: Any) -> list[Any]:
    """The coefficients of ``model`` from its first golden case (integer fields stay ints)."""
    golden = _golden()
    if model.name == "CubaEILIF":  # not a golden case (it needs two input channels)
        return list(model.discretize(model.params(), 1e-4, "exact"))
    _, method, kwargs, _ = next(c for c in golden.CASES.values() if c[0] == model.name)
    return list(model.discretize(model.params(**kwargs), golden.DT, method))


CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "dense": dense_case,
    "conv": conv_case,
    "sparse": sparse_case,
    "neurons": neurons_case,
    "scatter": scatter_case,
    "blocks": blocks_case,
    "events": events_case,
    "stdp": stdp_case,
    "ptx": ptx_case,
}


def in_simulator(case: str, *calls: dict[str, Any], simulator: bool = True) -> list[dict[str, Any]]:
    """``CASES[case](**kwargs)`` for each ``kwargs`` in ``calls`` (default: one call without
    arguments), in one fresh process with ``NUMBA_ENABLE_CUDASIM=1`` (or without it when
    ``simulator`` is False); their summaries."""
    calls = calls or ({},)
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import test_cuda; "
        # the simulator's threads then run one by one (see blocks_case)
        f"sys.setswitchinterval({1.0 if simulator else 0.005}); "
        f"print(json.dumps([test_cuda.CASES[{case!r}](**kw) for kw in json.loads({json.dumps(calls)!r})]))"
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1" if simulator else "0")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    summaries = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(s["simulated"] is simulator for s in summaries)
    return summaries


BOTH = ({"dtype": "float64"}, {"dtype": "float32"})


# ---- under the simulator -----------------------------------------------------------------------


def test_dense_projections_and_populations_match_numba():
    for s in in_simulator("dense", *BOTH):
        assert s["launches"] == {"dense_gather": 3, "population_LIF": 1, "population_ALIF": 1, "population_LI": 1}
        assert s["spikes"] > 60


def test_conv_and_pooling_match_numba():
    for s in in_simulator("conv", *BOTH):
        assert s["launches"] == {"densify": 7, "conv_gather": 5, "pool_gather": 2, "population_LIF": 3, "population_IF": 2}
        assert min(s["spikes"]) > 20


def test_sparse_with_delays_matches_numba():
    for s in in_simulator("sparse", *BOTH):
        assert s["launches"] == {"densify": 2, "sparse_gather": 2, "population_LIF": 1, "population_IF": 1}
        assert s["spikes"] > 20


def test_every_feed_forward_neuron_model_matches_numba():
    """float64: identical spikes, outputs, states and traces; float32: within the tolerance."""
    for s in in_simulator("neurons", *BOTH):
        assert s["models"] == sorted(set(MODELS) - {"CubaEILIF"})  # CubaEILIF runs only in blocks
        assert all(k.startswith("population_") for k in s["launches"])
        assert sum(s["launches"].values()) == len(s["active"])
        assert min(s["active"]) > 0
        assert s["identical"] or s["dtype"] == "float32"


def test_scatter_and_sort_reduce_kernels_agree_with_gather_kernels():
    (s,) = in_simulator("scatter")
    assert {k for k in s["launches"] if k.endswith("_scatter")} == {
        "dense_scatter", "conv_scatter", "pool_scatter", "sparse_scatter"
    }  # fmt: skip
    for kind in ("dense", "conv", "pool", "sparse"):
        assert s["launches"][f"{kind}_pairs"] == 1
        assert s["launches"][f"{kind}_segment_sum"] == 1


def test_an_unknown_accumulation_is_a_typed_error():
    from neuro.engine.cuda import kernels
    from neuro.engine.ops import make_op
    from neuro.engine.signals import Events

    op = make_op("p", ir.Linear(weight=np.ones((2, 3))), (3,), (2,), 1e-3, np.float64, "exact")
    with pytest.raises(SimulationInputError, match="accumulate"):
        kernels.dense(op, Events.from_dense(np.ones((2, 1, 3))), "gather")  # type: ignore[arg-type]


BLOCK_KERNELS = ("block_LIF", "block_CubaLIF", "block_CubaEILIF", "block_ring_out", "block_scale", "block_delay",
                 "block_external", "block_push", "block_count_inputs")  # fmt: skip


def test_recurrent_blocks_match_the_block_reference():
    """Delayed recurrence, Delay/Scale/Linear cycles, CubaEILIF, direct projections with bias;
    event-driven delivery (the default): float64 bitwise."""
    for s in in_simulator("blocks", *BOTH):
        for kernel in (*BLOCK_KERNELS, "block_scatter_ring", "block_scatter_direct", "block_bias"):
            assert s["launches"].get(kernel, 0) > 0, kernel
        assert not {"block_project_ring", "block_project_direct"} & set(s["launches"])
        assert min(s["spikes"]) > 10


def test_recurrent_and_plastic_blocks_with_gather_delivery_match_the_block_reference():
    (s,) = in_simulator("blocks", {"dtype": "float64", "accumulate": "gather"})
    for kernel in (*BLOCK_KERNELS, "block_project_ring", "block_project_direct"):
        assert s["launches"].get(kernel, 0) > 0, kernel
    assert not {"block_scatter_ring", "block_scatter_direct", "block_bias"} & set(s["launches"])
    assert min(s["spikes"]) > 10
    (s,) = in_simulator("stdp", {"dtype": "float64", "accumulate": "gather"})
    assert s["moved"] == 4
    assert s["launches"]["block_project_ring"] > 0
    assert "block_scatter_ring" not in s["launches"]


def test_event_driven_delivery_reads_only_active_rows():
    (s,) = in_simulator("events")
    assert s["launches"] == {"block_scatter_direct": 2, "block_scatter_ring": 2}
    assert s["order_matters"]


def test_blocks_refuse_sort_reduce_accumulation():
    from neuro.engine.cuda import blocks, kernels

    with pytest.raises(SimulationInputError, match="accumulate"):
        blocks.run_cuda([], 1, 1, np.dtype(np.float64), accumulate=kernels.SortReduce())


def test_stdp_matches_the_block_reference():
    for s in in_simulator("stdp", *BOTH):
        assert s["moved"] == 4  # every rule changed the weights, sparse and dense
        assert s["spikes"] > 20
        plastic = ("block_stdp_decay", "block_stdp_depress", "block_stdp_potentiate", "block_stdp_normalize")
        for kernel in (*plastic, "block_scatter_ring"):  # plastic projections deliver event-driven too
            assert s["launches"].get(kernel, 0) > 0, kernel


def test_every_kernel_compiles_for_a_device():
    """The simulator runs kernels as Python; this compiles them with the CUDA target to PTX
    (sm_80), which catches what only the device compiler rejects. Skipped without libNVVM."""
    (s,) = in_simulator("ptx", simulator=False)
    if not s["nvvm"]:
        pytest.skip(f"libNVVM not found (set CUDA_HOME; pip install nvidia-cuda-nvcc-cu12): {s['detail']}")
    # projections and densify, sort-reduce pairs and segment sums, per-step block kernels:
    # float32 and float64; one population kernel and one block neuron kernel per model: float32
    assert len(s["compiled"]) == 2 * (9 + 5 + 15) + (len(MODELS) - 1) + len(MODELS)


# ---- without a device ------------------------------------------------------------------------


def test_importing_neuro_imports_no_gpu_module():
    code = (
        "import sys, neuro, neuro.engine, neuro.engine.cuda, neuro.engine.cuda.kernels, neuro.engine.cuda.blocks; "
        "print(int('numba.cuda' in sys.modules), int('cupy' in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_without_gpu_or_simulator_the_error_says_what_is_missing():
    ok, _ = BACKENDS["cuda"].probe()
    if ok:
        pytest.skip("a CUDA device (or the simulator) is usable in this process")
    graph = ir.Graph.sequential(ir.Input(shape=(3,)), ir.Linear(weight=np.ones((2, 3))), ir.Output(), metadata={"dt": 1e-3})
    with pytest.raises(BackendUnavailableError, match="cuda") as info:
        run(graph, np.ones((2, 1, 3)), backend="cuda")
    message = str(info.value)
    if importlib.util.find_spec("cupy") is None:
        assert "neuro[gpu]" in message
        assert "NUMBA_ENABLE_CUDASIM=1" in message
    else:  # the gpu extra is installed (seen: cupy-cuda12x, no driver): a device or driver is missing
        assert "CUDA device" in message or "driver" in message


# ---- on a real device --------------------------------------------------------------------------


def _device_or_skip() -> None:
    ok, detail = BACKENDS["cuda"].probe()
    if not ok:
        pytest.skip(f"no CUDA device: {detail}")
    from neuro.engine.cuda import arrays

    if arrays.simulated():
        pytest.skip("the Numba CUDA simulator, not a device")


@pytest.mark.gpu
@pytest.mark.parametrize("case", ["dense", "conv", "sparse", "neurons", "blocks", "stdp"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gpu_matches_the_cpu_backends(case, dtype):
    _device_or_skip()
    s = CASES[case](dtype=dtype)
    assert s["simulated"] is False
    assert s["launches"]


@pytest.mark.gpu
def test_gpu_path_ran_on_the_device():
    _device_or_skip()
    import cupy

    from neuro.engine.cuda import arrays, kernels
    from neuro.engine.ops import make_op
    from neuro.engine.signals import Events

    op = make_op("p", ir.Linear(weight=np.ones((4, 3))), (3,), (4,), 1e-3, np.float32, "exact")
    ev = Events.from_dense(np.eye(3, dtype=np.float32)[:, None, :])
    before = arrays.launches["dense_gather"]
    out = kernels.dense(op, ev)
    assert isinstance(out, cupy.ndarray)
    assert arrays.launches["dense_gather"] == before + 1
    np.testing.assert_array_equal(cupy.asnumpy(out), np.ones((3, 4), np.float32))


@pytest.mark.gpu
def test_gpu_scatter_and_sort_reduce_kernels_agree_with_gather_kernels():
    _device_or_skip()
    s = CASES["scatter"]()
    assert s["simulated"] is False
    assert {k for k in s["launches"] if k.endswith("_scatter")} == {
        "dense_scatter", "conv_scatter", "pool_scatter", "sparse_scatter"
    }  # fmt: skip
    assert {k for k in s["launches"] if k.endswith("_segment_sum")} == {
        "dense_segment_sum", "conv_segment_sum", "pool_segment_sum", "sparse_segment_sum"
    }  # fmt: skip

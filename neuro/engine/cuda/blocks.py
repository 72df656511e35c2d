"""Recurrent blocks on the device: the ``cuda`` runner of :func:`neuro.engine.recurrent.run_block`.

**Choice: per-step kernels, launched without host synchronisation.** The host loops over the
time steps and, per step, launches one kernel per block node (plus one per delivery into a
successor), each over all samples and elements at once (``b * n + o``: one thread per sample
and neuron, input or output). Launches on one stream run in order, so a step sees the previous
one complete, and nothing waits for the device until the results are copied back after the
last step. The alternative, one kernel per block with a grid-wide barrier per step, saves the
launch cost (a few microseconds each, which bounds a step of a small network) but needs a
cooperative launch, which the Numba simulator does not run; it is left for when a GPU is there
to measure both.

Semantics are those of the CPU block loop (:mod:`neuro.engine.recurrent`), sample by sample:
external inputs are added at the start of a step, nodes run in step order, a node consumes and
clears its input buffer and adds its non-zero outputs into its successors' buffers; a
projection with delays (or whose output is emitted or feeds a non-neuron) goes through a ring
buffer of ``max_delay + 1`` slots, one without writes straight into its neuron successors.

**Synaptic delivery: event-driven by default** (``accumulate``, the strategy objects of
:mod:`neuro.engine.cuda.kernels`):

* :class:`~neuro.engine.cuda.kernels.Scatter` (the default): per step, after the node before
  the projection has produced its outputs, one thread per (sample, input) returns at once when
  its input is zero and otherwise walks its outgoing CSR row (``indptr`` int64, ``indices``
  int32) and adds ``a * w`` into the successor's input (or the ring slot ``(t + d) % slots``)
  with ``cuda.atomic.add``. The synapse reads are those of the active inputs only: work
  O(inputs + active synapses) per step, like the CPU loop, instead of O(synapses). Chosen over
  a compacted spike list (an atomic counter, then one warp per listed row): that needs either
  the list's length on the host (a synchronisation per step) or a second, fixed-size launch
  that strides over a device-side count; it would balance long rows across a warp, which is
  to be measured on a GPU first. The one O(inputs) part, reading each input's value, is one
  coalesced read per input, the same order as the neuron update that produced it.
* :class:`~neuro.engine.cuda.kernels.Gather`: one thread per (sample, target) reads every
  incoming synapse at every step, skipping idle sources, in the CPU order (active inputs
  ascending, then synapses in CSR order), without atomics: deterministic, O(synapses) per step.
* :class:`~neuro.engine.cuda.kernels.SortReduce` is not offered for blocks: sizing its pairs
  needs the step's event count on the host.

**Determinism.** The atomic adds into one element happen in the order the threads reach them.
On a GPU that order is not fixed, so float sums may round differently from run to run (and
from the CPU): float64 results agree to rounding, and spikes are equal except where a membrane
lands within rounding of its threshold (a floating-point tie). The gather is deterministic
(on a device it agrees with the CPU to rounding as well, since NVVM contracts its
``acc + a * w`` into fused multiply-adds; the scatter rounds ``a * w`` before adding, as the
CPU does). The Numba simulator runs the threads of a launch one after another in index order
(unless the interpreter switches threads inside one; the tests raise the switch interval), so
there the additions come in the CPU order and float64 results are bitwise those of the numba
backend with either delivery. Counts (input events, effective synapses, non-binary inputs)
are kept by a separate kernel per projection input (:func:`~neuro.engine.cuda._block_device.count_inputs`),
exact either way.

A neuron node runs a generated kernel per model that calls the model's ``update`` compiled as
a device function (:func:`neuro.engine.cuda.populations.device_function`); CubaEILIF's two input
channels are read at ``i`` and ``n + i``. Emitted outputs are written to dense ``(T, B, n)``
device arrays and compacted once at the end.

**STDP.** A plastic block runs its samples one after the other (the weights carry over, as on
the CPU), each with per-sample buffers and traces starting from zero: per step the traces
decay; a plastic projection delivers with the old weights (by the block's delivery,
event-driven unless ``Gather()``), then one thread per active input depresses its outgoing
synapses (the rule's own ``depress``, compiled as a device function); after the postsynaptic
population's step one thread per spiking neuron potentiates its incoming synapses; at the end
of a sample one thread applies the rule's normalisation. The weight updates need no atomics:
rows and columns of the weight matrix are disjoint per thread. This is sequential over samples
and parallel only over neurons and inputs.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from neuro.core.errors import SimulationInputError
from neuro.engine._codegen import load_generated
from neuro.engine.cuda import arrays
from neuro.engine.cuda.kernels import Accumulation, Gather, Scatter
from neuro.engine.cuda.populations import DEVICE_PROLOGUE
from neuro.engine.recurrent import BlockNode

_NEURON_TEMPLATE = (
    '''"""Generated by neuro.engine.cuda.blocks: a {name} block step ({channels} channels). Do not edit."""
'''
    + DEVICE_PROLOGUE
    + """

@cuda.jit
def step(t, inp, y, out, emit, n_in, n_active, spikes, n_traces, {state_args}, {coeff_args}, {trace_args}):
    batch, n = y.shape
    thread = cuda.grid(1)
    if thread >= batch * n:
        return
    b = thread // n
    i = thread - b * n
    ops = Ops(exp, where, spike)
{read_inputs}
    state = State({state_items})
    zt, state = update({x}, state, Coeffs({coeff_items}), ops)
{state_writeback}
    if n_traces > 0:
{trace_writeback}
    y[b, i] = zt
    z = y[b, i]
    nz = {count_inputs}
    n_in[b, i] += nz
    if nz > 0 or z != 0:
        n_active[b, i] += 1
    spikes[b, i] += z
{clear_inputs}
    if emit:
        out[t, b, i] = z
"""
)


@functools.cache
def _neuron_module(model: Any, channels: int) -> Any:
    sf, cf = model.state._fields, model.coeffs._fields
    source = _NEURON_TEMPLATE.format(
        name=model.name,
        channels=channels,
        state_args=", ".join(f"s_{f}" for f in sf),
        coeff_args=", ".join(f"c_{f}" for f in cf),
        trace_args=", ".join(f"tr_{f}" for f in sf),
        read_inputs="\n".join(f"    x{c} = inp[b, {c} * n + i]" for c in range(channels)),
        x="x0" if channels == 1 else f"({', '.join(f'x{c}' for c in range(channels))})",
        state_items=", ".join(f"s_{f}[b, i]" for f in sf),
        coeff_items=", ".join(f"c_{f}[i]" for f in cf),
        state_writeback="\n".join(f"    s_{f}[b, i] = state.{f}" for f in sf),
        trace_writeback="\n".join(f"        tr_{f}[t, b, i] = s_{f}[b, i]" for f in sf),
        count_inputs=" + ".join(f"(1 if x{c} != 0 else 0)" for c in range(channels)),
        clear_inputs="\n".join(f"    inp[b, {c} * n + i] = 0" for c in range(channels)),
    )
    arrays.require()
    return load_generated(source, f"cuda_block_{model.name.lower()}_{channels}", depends_on=[model.update])


DEFAULT_ACCUMULATION: Accumulation = Scatter()
"""The blocks' synaptic delivery unless told otherwise: event-driven."""


def _columns(b: BlockNode) -> dict[str, np.ndarray]:
    """The projection's synapses grouped by target, in (source, synapse) order."""
    rows = np.repeat(np.arange(b.n_in, dtype=np.int64), np.diff(b.indptr))
    syn = np.arange(len(b.indices), dtype=np.int64)
    order = np.lexsort((syn, rows, b.indices))
    col_ptr = np.zeros(b.n_out + 1, np.int64)
    np.cumsum(np.bincount(b.indices, minlength=b.n_out), out=col_ptr[1:])
    return {"col_ptr": col_ptr, "col_syn": syn[order], "col_pre": rows[order]}


def run_cuda(
    block: list[BlockNode], n_steps: int, batch: int, dtype: np.dtype, accumulate: Accumulation = DEFAULT_ACCUMULATION
) -> dict[str, Any]:
    """Run the planned ``block`` (:func:`neuro.engine.recurrent.plan_block`); returns what
    :func:`neuro.engine.recurrent._result` assembles (events, counters, spikes, traces) and
    advances the neurons' ``state`` arrays (and plastic weights) in place.

    ``accumulate`` is the synaptic delivery of the projections: :class:`Scatter` (the default,
    event-driven, atomic adds) or :class:`Gather` (every synapse per step, deterministic);
    :class:`SortReduce` is refused (:class:`SimulationInputError`): it needs the step's pair
    count on the host.

    Without plasticity all samples advance together. With STDP the samples run one after the
    other (the weights carry over from one to the next, as on the CPU), each with per-sample
    buffers, traces starting from zero, and the rule's normalisation at its end."""
    if not isinstance(accumulate, Gather | Scatter):
        raise SimulationInputError(
            f"recurrent blocks on cuda take accumulate=Scatter() (event-driven, the default) or Gather() of "
            f"neuro.engine.cuda.kernels, got {accumulate!r}",
            "accumulate",
        )
    from neuro.engine.cuda import _block_device as kd

    scatter = isinstance(accumulate, Scatter)
    plastic = any(b.rule is not None for b in block)
    rows = 1 if plastic else batch
    nodes = [_buffers(b, n_steps, batch, rows, dtype, scatter) for b in block]
    plastic_into = {k: [p for p, q in enumerate(block) if q.rule is not None and q.post == k] for k in range(len(block))}
    for lo in range(0, batch, rows):
        hi = lo + rows
        if plastic:
            for d in nodes:
                for key in ("inp", "ring", "x_pre", "x_post"):
                    if key in d:
                        d[key][...] = 0
        for t in range(n_steps):
            for b, d in zip(block, nodes, strict=True):
                if b.rule is not None:
                    arrays.launch("block_stdp_decay", kd.decay, b.n_in, d["x_pre"], d["stdp"], 0)
                    arrays.launch("block_stdp_decay", kd.decay, d["x_post"].shape[0], d["x_post"], d["stdp"], 1)
            for b, d in zip(block, nodes, strict=True):
                if "ext" in d:
                    frame0 = t * batch + lo
                    k0, k1 = int(b.ext.ptr[frame0]), int(b.ext.ptr[t * batch + hi])  # type: ignore[union-attr]
                    arrays.launch("block_external", kd.add_external, k1 - k0, *d["ext"], k0, k1 - k0, frame0, d["inp"])
            for k, (b, d) in enumerate(zip(block, nodes, strict=True)):
                _step_node(b, d, nodes, t, rows, lo, kd, scatter)
                for p in plastic_into[k]:
                    q = nodes[p]
                    arrays.launch(
                        "block_stdp_potentiate", kd.potentiate_post, b.n_out,
                        d["y"], q["in_ptr"], q["in_syn"], q["in_pre"], q["weights"], q["x_pre"], q["x_post"], q["stdp"],
                    )  # fmt: skip
        for b, d in zip(block, nodes, strict=True):
            if b.rule is not None and b.rule.normalize is not None:
                arrays.launch("block_stdp_normalize", kd.normalize, 1, d["weights"], d["in_ptr"], d["in_syn"], d["stdp"])
            if plastic:  # the sample's outputs and traces into the whole run's
                if b.emit:
                    d["out_all"][:, lo:hi] = d["out"]
                if "traces_all" in d:
                    for full, part in zip(d["traces_all"], d["traces"], strict=True):
                        full[:, lo:hi] = part
    for b, d in zip(block, nodes, strict=True):
        if b.rule is not None:
            b.weights[...] = arrays.to_host(d["weights"])
    return _collect(block, nodes, n_steps, batch)


def _buffers(b: BlockNode, n_steps: int, batch: int, rows: int, dtype: np.dtype, scatter: bool) -> dict[str, Any]:
    """The device buffers of one block node for ``rows`` samples at a time (``batch`` or 1);
    a projection's synapse table by source (CSR, ``scatter``) or by target (gather)."""
    dev = arrays.to_device
    d: dict[str, Any] = {
        "inp": arrays.zeros((rows, b.n_in), dtype),
        "y": arrays.zeros((rows, b.n_out), dtype),
        "n_in": arrays.zeros((rows, b.n_in), np.int64),
        "out": arrays.zeros((n_steps, rows, b.n_out) if b.emit else (1, 1, 1), dtype),
    }
    d["out_all"] = arrays.zeros((n_steps, batch, b.n_out), dtype) if b.emit and rows != batch else d["out"]
    if b.ext is not None:
        val = b.ext.val if b.ext.val is not None else np.ones(1, dtype)
        d["ext"] = (dev(b.ext.ptr, np.int64), dev(b.ext.idx, np.int32), dev(val, dtype), b.ext.val is not None)
    if b.kind == "neuron":
        d["module"] = _neuron_module(b.model, b.channels)
        d["state"] = [dev(s) for s in b.state]
        d["coeffs"] = [dev(c) for c in b.coeffs]
        d["n_active"] = arrays.zeros((rows, b.n_out), np.int64)
        d["spikes"] = arrays.zeros((rows, b.n_out), np.float64)
        d["traces"] = [arrays.zeros((n_steps, rows, b.n_out) if b.record else (0, 0, 0), dtype) for _ in b.state]
        if b.record and rows != batch:
            d["traces_all"] = [arrays.zeros((n_steps, batch, b.n_out), dtype) for _ in b.state]
    elif b.kind == "projection":
        if scatter or b.rule is not None:
            d["indptr"], d["indices"] = dev(b.indptr, np.int64), dev(b.indices, np.int32)
        if not scatter:
            d.update({k: dev(v) for k, v in _columns(b).items()})
        d["weights"], d["delays"], d["fanout"] = dev(b.weights), dev(b.delay_steps, np.int64), dev(b.fanout)
        d["bias"] = dev(b.bias if b.bias is not None else np.zeros(1, dtype), dtype)
        d["effective"] = arrays.zeros((rows, b.n_in), np.int64)
        d["non_binary"] = arrays.zeros(1, np.int64)
        if not b.direct:
            d["ring"] = arrays.zeros((rows, b.slots, b.n_out), dtype)
        if b.rule is not None:
            d["stdp"] = dev(b.stdp)
            d["in_ptr"], d["in_syn"], d["in_pre"] = dev(b.col_ptr), dev(b.col_syn), dev(b.col_pre, np.int64)
            d["x_pre"] = arrays.zeros(b.n_in, dtype)
            d["x_post"] = arrays.zeros(len(b.col_ptr) - 1, dtype)  # type: ignore[arg-type]
    elif b.kind == "scale":
        d["weights"] = dev(b.weights)
    else:
        d["delays"] = dev(b.delay_steps, np.int64)
        d["ring"] = arrays.zeros((rows, b.slots, b.n_out), dtype)
    return d


def _step_node(
    b: BlockNode, d: dict[str, Any], nodes: list[dict[str, Any]], t: int, rows: int, lo: int, kd: Any, scatter: bool
) -> None:
    """Launch one node's kernels for step ``t`` of the samples ``lo .. lo + rows``."""
    launch = arrays.launch
    n_threads = rows * b.n_out
    if b.kind == "neuron":
        n_traces = 1 if b.record else 0
        state = [s[lo : lo + rows] for s in d["state"]]
        launch(
            f"block_{b.model.name}", d["module"].step, n_threads, t, d["inp"], d["y"], d["out"], b.emit, d["n_in"],
            d["n_active"], d["spikes"], n_traces, *state, *d["coeffs"], *d["traces"],
        )  # fmt: skip
    elif b.kind == "projection":
        if scatter:
            _scatter(b, d, nodes, t, rows, kd)
        elif b.direct:
            cols = (d["col_ptr"], d["col_syn"], d["col_pre"], d["weights"])
            for s in b.succ:
                launch(
                    "block_project_direct", kd.project_direct, n_threads, d["inp"], *cols, d["bias"], b.bias is not None,
                    nodes[s]["inp"],
                )  # fmt: skip
        else:
            cols = (d["col_ptr"], d["col_syn"], d["col_pre"], d["weights"])
            launch("block_project_ring", kd.project_ring, n_threads, d["inp"], *cols, d["delays"], t, d["ring"])
        if b.rule is not None:  # after delivery with the old weights
            launch(
                "block_stdp_depress", kd.plastic_inputs, b.n_in, d["inp"], d["indptr"], d["indices"], d["weights"],
                d["n_in"], d["effective"], d["non_binary"], d["x_pre"], d["x_post"], d["stdp"],
            )  # fmt: skip
        else:
            counts = (d["fanout"], d["n_in"], d["effective"], d["non_binary"])
            launch("block_count_inputs", kd.count_inputs, rows * b.n_in, d["inp"], *counts)
        if b.direct:
            return
        launch("block_ring_out", kd.ring_out, n_threads, d["ring"], t, d["bias"], b.bias is not None, d["y"], d["out"], b.emit)
    elif b.kind == "scale":
        launch("block_scale", kd.scale, n_threads, d["inp"], d["weights"], d["n_in"], d["y"], d["out"], b.emit, t)
    else:
        launch("block_delay", kd.delay, n_threads, d["inp"], d["delays"], d["n_in"], d["ring"], d["y"], d["out"], b.emit, t)
    for s in b.succ:
        launch("block_push", kd.push, n_threads, d["y"], nodes[s]["inp"])


def _scatter(b: BlockNode, d: dict[str, Any], nodes: list[dict[str, Any]], t: int, rows: int, kd: Any) -> None:
    """Event-driven delivery of a projection's step input: one thread per (sample, input)."""
    launch = arrays.launch
    n_threads = rows * b.n_in
    row = (d["indptr"], d["indices"], d["weights"])
    if not b.direct:
        launch("block_scatter_ring", kd.scatter_ring, n_threads, d["inp"], *row, d["delays"], t, d["ring"])
        return
    for s in b.succ:
        launch("block_scatter_direct", kd.scatter_direct, n_threads, d["inp"], *row, nodes[s]["inp"])
        if b.bias is not None:
            launch("block_bias", kd.add_bias, rows * b.n_out, d["bias"], nodes[s]["inp"])


def _collect(block: list[BlockNode], nodes: list[dict[str, Any]], n_steps: int, batch: int) -> dict[str, Any]:
    from neuro.engine.cuda.populations import compact

    nk = len(block)
    counters = np.zeros((nk, 4), np.int64)
    spikes = np.zeros(nk)
    events, traces = [], {}
    for k, (b, d) in enumerate(zip(block, nodes, strict=True)):
        counters[k, 0] = int(d["n_in"].sum())
        if b.kind == "projection":
            counters[k, 1] = int(d["effective"].sum())
            counters[k, 2] = int(d["non_binary"][0])
        if b.kind == "neuron":
            counters[k, 3] = int(d["n_active"].sum())
            spikes[k] = float(d["spikes"].sum())
            for host, dev in zip(b.state, d["state"], strict=True):
                host[...] = arrays.to_host(dev)
            for f in b.record:
                traces[(k, f)] = arrays.to_host(d.get("traces_all", d["traces"])[b.model.state._fields.index(f)])
        if b.emit:
            ptr, idx, val, _ = compact(d["out_all"])
            ptr = arrays.to_host(ptr)
            frame = np.repeat(np.arange(n_steps * batch, dtype=np.int64), np.diff(ptr))
            events.append((frame, arrays.to_host(idx).astype(np.int64), arrays.to_host(val)))
        else:
            events.append((np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.dtype(d["y"].dtype))))
    return {"events": events, "counters": counters, "spikes": spikes, "traces": traces}

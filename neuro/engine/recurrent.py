"""Recurrent blocks: a set of nodes stepped together, inside one compiled loop.

:func:`run_block` runs the nodes of a strongly connected component of a graph (a recurrent
population and its projections), or a plastic projection together with its postsynaptic
population, over a whole input sequence. ``neuro.engine.run`` calls it for such parts of a
graph; it can also be called directly (the CUBA benchmark does).

**Step semantics** (the rule of :meth:`neuro.ir.Graph.step_order`, shared with the torch
models). Within a step the block's nodes run in the graph's step order. Every node has one
input buffer; a node consumes (and clears) its buffer when it runs and adds its output into
the buffers of its successors in the block. A successor later in the order therefore sees the
output of the same step, and a successor earlier in the order (a back edge) sees it at the next
step. ``external`` inputs are added at the start of each step.

**Delays.** A SparseLinear synapse with delay ``d`` (s) delivers ``round(d / dt)`` steps later
(ring buffer of ``max_delay + 1`` slots); a Delay node shifts each element by
``round(delay / dt)`` steps. In a population ``pop -> rec -> pop`` whose edge ``rec -> pop``
closes the cycle, a spike at step ``t`` reaches the membrane update of step ``t + 1 + d``:
exactly Brian2's timing, where a spike at ``t`` with synaptic delay ``d`` is added to the
target variable at ``t + d`` after the state update, which integrates it at ``t + d + 1``.

**Nodes.** Neuron models (their dynamics are always the model's ``update``), SparseLinear,
Linear and Affine (both as CSR rows over inputs: only the weight columns of active inputs are
added; Affine adds its bias at every step), Scale and Delay. Anything else raises
:class:`~neuro.core.errors.UnsupportedNodeError`.

Backends: ``"numba"`` generates one compiled function per block *structure* (node kinds,
models, edges, what is recorded; never sizes or weights) through
:func:`neuro.engine._codegen.load_generated`, and runs every step of every sample in that one
call. ``"numpy"`` is the plain reference (a Python loop over steps, numpy within a step) and
gives bitwise the same results in float64.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import BackendUnavailableError, SimulationInputError, UnsupportedNodeError
from neuro.core.neurons import MODELS
from neuro.engine.counts import NodeCounts
from neuro.engine.plasticity import STDP, incoming
from neuro.engine.populations import coefficient_arrays
from neuro.engine.signals import Events

Signal = Events | np.ndarray


@dataclass
class BlockResult:
    """What :func:`run_block` returns.

    Attributes:
        outputs: node -> output events (neurons: spikes, valued when ``z`` is not binary;
            projections, Scale, Delay: their non-zero outputs), for the nodes asked for.
        counts: node -> exact NeuroBench counts (the same for every backend).
        state: node -> final state, one ``(B, *shape)`` array per field.
        traces: ``(node, field)`` -> ``(T, B, *shape)`` state after each step.
        weights: plastic projection -> final weights (CSR ``weights`` order for SparseLinear,
            ``(out, in)`` for Linear/Affine).
    """

    outputs: dict[str, Events] = field(default_factory=dict)
    counts: dict[str, NodeCounts] = field(default_factory=dict)
    state: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    traces: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class BlockNode:
    """One node of a block as the loops see it (all arrays flat, contiguous, of the run's dtype)."""

    name: str
    kind: str  # "neuron" | "projection" | "scale" | "delay"
    node: Any
    shape: tuple[int, ...]
    n_in: int
    n_out: int
    succ: list[int] = field(default_factory=list)
    ext: Events | None = None
    emit: bool = True
    record: tuple[str, ...] = ()
    # neurons
    model: Any = None
    channels: int = 1
    coeffs: list[np.ndarray] = field(default_factory=list)
    state: list[np.ndarray] = field(default_factory=list)  # (B, n) per field
    # projections: CSR over inputs, per-synapse delay steps; scale; delay (per element)
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None
    weights: np.ndarray | None = None
    fanout: np.ndarray | None = None
    delay_steps: np.ndarray | None = None
    bias: np.ndarray | None = None
    slots: int = 1
    dense_fanout: int = 0
    row_weight: np.ndarray | None = None  # numba backend: per-row weights (empty: not uniform)
    # plasticity (projections)
    rule: STDP | None = None
    post: int = -1
    stdp: np.ndarray | None = None
    col_ptr: np.ndarray | None = None
    col_syn: np.ndarray | None = None
    col_pre: np.ndarray | None = None

    @property
    def direct(self) -> bool:
        """Writes straight into its successors' input buffers (no delay, only neuron
        successors, output not emitted)."""
        return self.kind == "projection" and self.slots == 1 and not self.emit and self._neuron_succ

    _neuron_succ: bool = False


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _steps(delay: Any, dt: float) -> np.ndarray:
    return np.rint(np.asarray(delay, np.float64) / dt).astype(np.int64)


def _as_events(name: str, signal: Signal, n_steps: int, batch: int, shape: tuple[int, ...]) -> Events:
    if isinstance(signal, Events):
        if (signal.n_steps, signal.batch) != (n_steps, batch) or _size(signal.shape) != _size(shape):
            raise SimulationInputError(
                f"external input of {name!r} has (T, B, shape) = ({signal.n_steps}, {signal.batch}, "
                f"{signal.shape}), expected ({n_steps}, {batch}, {shape})",
                name,
            )
        return signal
    arr = np.asarray(signal)
    if arr.shape != (n_steps, batch, *shape) and arr.shape != (n_steps, batch, _size(shape)):
        raise SimulationInputError(
            f"external input of {name!r} has shape {arr.shape}, expected {(n_steps, batch, *shape)}", name
        )
    if not np.isfinite(arr).all():
        raise SimulationInputError(f"external input of {name!r} contains non-finite values", name)
    return Events.from_dense(arr.reshape(n_steps, batch, _size(shape)))


def plan_block(
    graph: ir.Graph,
    nodes: Sequence[str],
    external: Mapping[str, Signal],
    n_steps: int,
    batch: int,
    dt: float,
    dtype: Any,
    method: str,
    record: Mapping[str, Sequence[str]],
    plasticity: Mapping[str, STDP],
    initial_state: Mapping[str, tuple[np.ndarray, ...]],
    emit: Collection[str] | None,
) -> list[BlockNode]:
    """The block's nodes in step order, with buffers and parameters ready for the loops."""
    unknown = [n for n in nodes if n not in graph.nodes]
    if unknown:
        raise SimulationInputError(f"block nodes {unknown} are not in the graph", "nodes")
    for what, mapping in (("external", external), ("record", record), ("plasticity", plasticity)):
        stray = [n for n in mapping if n not in nodes]
        if stray:
            raise SimulationInputError(f"{what} names nodes {stray} outside the block {list(nodes)}", what)
    order = [n for n in graph.step_order()[0] if n in set(nodes)]
    pos = {n: k for k, n in enumerate(order)}
    block: list[BlockNode] = []
    for name in order:
        node = graph.nodes[name]
        in_shape = graph.input_shape(name)
        if in_shape is None:
            raise SimulationInputError(f"block node {name!r} has no input", name)
        shape = tuple(graph.shapes[name])
        b = BlockNode(name, "", node, shape, _size(in_shape), _size(shape))
        b.emit = emit is None or name in emit
        if node.node_type in MODELS:
            _neuron(b, node, batch, dt, dtype, method, initial_state.get(name))
        elif isinstance(node, ir.SparseLinear | ir.Linear):
            _projection(b, node, dt, dtype)
        elif isinstance(node, ir.Scale):
            b.kind = "scale"
            b.weights = np.ascontiguousarray(np.broadcast_to(np.asarray(node.scale, dtype), shape).reshape(-1))
        elif isinstance(node, ir.Delay):
            b.kind = "delay"
            b.delay_steps = np.ascontiguousarray(np.broadcast_to(_steps(node.delay, dt), shape).reshape(-1))
            b.slots = int(b.delay_steps.max(initial=0)) + 1
        else:
            raise UnsupportedNodeError(
                f"node {name!r} of type {node.node_type} cannot run inside a recurrent block (supported: "
                "neuron models, SparseLinear, Linear, Affine, Scale, Delay)",
                [name],
            )
        if name in initial_state and b.kind != "neuron":
            raise SimulationInputError(f"initial_state given for {name!r}, which has no state", "initial_state")
        fields = tuple(record.get(name, ()))
        if fields and b.kind != "neuron":
            raise SimulationInputError(f"record: {name!r} is a {node.node_type}, which has no state to trace", "record")
        bad = [f for f in fields if b.model is not None and f not in b.model.state._fields]
        if bad:
            raise SimulationInputError(
                f"record: {name!r} has no state fields {bad}; fields are {list(b.model.state._fields)}", "record"
            )
        b.record = fields
        if name in external:
            b.ext = _as_events(name, external[name], n_steps, batch, tuple(in_shape))
        block.append(b)
    for a, c in graph.edges:
        if a in pos and c in pos:
            block[pos[a]].succ.append(pos[c])
    for b in block:
        b._neuron_succ = bool(b.succ) and all(block[s].kind == "neuron" for s in b.succ)
    for name, rule in plasticity.items():
        _plastic(block, pos[name], rule, dt, dtype)
    return block


def _neuron(b: BlockNode, node: Any, batch: int, dt: float, dtype: Any, method: str, init: Any) -> None:
    b.kind = "neuron"
    b.model = MODELS[node.node_type]
    b.channels = int(getattr(node, "input_channels", 1))
    b.coeffs = coefficient_arrays(b.model.discretize(node, dt, method), b.n_out, dtype)
    rest = b.model.init_state(node, (batch,), b.shape, dtype)
    values = rest if init is None else init
    if len(values) != len(rest):
        raise SimulationInputError(
            f"initial_state of {b.name!r} has {len(values)} fields, the model has {list(b.model.state._fields)}",
            "initial_state",
        )
    b.state = []
    for f, v, r in zip(b.model.state._fields, values, rest, strict=True):
        try:
            arr = np.broadcast_to(np.asarray(v, dtype), r.shape)
        except ValueError:
            raise SimulationInputError(
                f"initial_state of {b.name!r}: field {f!r} has shape {np.shape(v)}, expected {r.shape}",
                "initial_state",
            ) from None
        b.state.append(np.ascontiguousarray(arr.reshape(batch, b.n_out)).copy())


def _projection(b: BlockNode, node: Any, dt: float, dtype: Any) -> None:
    b.kind = "projection"
    if isinstance(node, ir.SparseLinear):
        b.indptr = np.asarray(node.indptr, np.int64)
        b.indices = np.asarray(node.indices, np.int32)
        b.weights = np.array(node.weights, dtype)
        b.delay_steps = np.zeros(len(b.indices), np.int64) if node.delays is None else _steps(node.delays, dt)
    else:  # Linear, Affine: every column of the (out, in) weight is a full CSR row
        n_out, n_in = node.weight.shape
        b.indptr = np.arange(n_in + 1, dtype=np.int64) * n_out
        b.indices = np.tile(np.arange(n_out, dtype=np.int32), n_in)
        b.weights = np.array(np.asarray(node.weight, dtype).T, order="C").reshape(-1)
        b.delay_steps = np.zeros(len(b.indices), np.int64)
        if isinstance(node, ir.Affine):
            b.bias = np.asarray(node.bias, dtype)
    b.slots = int(b.delay_steps.max(initial=0)) + 1
    nonzero = b.weights != 0  # fan-out: the non-zero weights of each row (no per-synapse row ids)
    if nonzero.all():
        b.fanout = np.diff(b.indptr)
    else:
        upto = np.concatenate(([0], np.cumsum(nonzero)))
        b.fanout = upto[b.indptr[1:]] - upto[b.indptr[:-1]]
    b.dense_fanout = len(b.indices)


def _plastic(block: list[BlockNode], k: int, rule: STDP, dt: float, dtype: Any) -> None:
    b = block[k]
    if not isinstance(rule, STDP):
        raise SimulationInputError(f"plasticity of {b.name!r} must be an STDP rule, got {rule!r}", "plasticity")
    if b.kind != "projection":
        raise SimulationInputError(f"plasticity: {b.name!r} is a {b.node.node_type}, not a projection", "plasticity")
    if b.slots > 1:
        raise SimulationInputError(f"plasticity: {b.name!r} has synaptic delays, which STDP does not support", "plasticity")
    posts = [s for s in b.succ if block[s].kind == "neuron"]
    if len(posts) != 1 or len(b.succ) != 1:
        raise SimulationInputError(
            f"plasticity: {b.name!r} must feed exactly one neuron population inside the block", "plasticity"
        )
    b.rule, b.post = rule, posts[0]
    b.stdp = rule.coefficients(dt, np.dtype(b.weights.dtype))
    b.col_ptr, b.col_syn, b.col_pre = incoming(b.indptr, b.indices, block[b.post].n_out)


def run_block(
    graph: ir.Graph,
    nodes: Sequence[str],
    external: Mapping[str, Signal],
    n_steps: int,
    batch: int,
    dt: float,
    *,
    backend: str = "numba",
    dtype: Any = np.float32,
    method: str = "exact",
    record: Mapping[str, Sequence[str]] | None = None,
    plasticity: Mapping[str, STDP] | None = None,
    initial_state: Mapping[str, tuple[np.ndarray, ...]] | None = None,
    emit: Collection[str] | None = None,
) -> BlockResult:
    """Run the block ``nodes`` of ``graph`` over ``n_steps`` steps of ``batch`` samples.

    Args:
        graph: the whole graph (the step order and back edges come from it).
        nodes: the block's node names.
        external: node -> summed input from outside the block, Events or a dense
            ``(T, B, *input_shape)`` array.
        n_steps, batch: ``T`` and ``B``; samples are independent (except plastic weights).
        dt: time step (s).
        backend: ``"numba"`` (one compiled call), ``"numpy"`` (the reference) or ``"cuda"``
            (per-step device kernels, :mod:`neuro.engine.cuda.blocks`; no STDP yet).
        dtype: float32 (default) or float64.
        method: the neurons' discretisation method.
        record: node -> state fields to trace after each step.
        plasticity: projection -> :class:`~neuro.engine.plasticity.STDP` rule.
        initial_state: neuron node -> one array per state field, broadcasting to
            ``(B, *shape)`` (default: the model's rest).
        emit: the nodes whose outputs to return (default: all); counts are always exact.

    Returns:
        :class:`BlockResult`.

    Shape:
        external ``(T, B, *input_shape)``; outputs Events over ``(T, B, *shape)``.

    Raises:
        UnsupportedNodeError: a node type the block cannot run (named).
        SimulationInputError: inputs, records, states or rules that do not fit the block.
        BackendUnavailableError: an unknown backend.

    Example:
        >>> import numpy as np
        >>> from neuro import ir
        >>> w = ir.SparseLinear((3, 3), [0, 1, 2, 3], [1, 2, 0], [20.0, 20.0, 20.0])
        >>> g = ir.Graph({"in": ir.Input((3,)), "pop": ir.LIF(tau=1e-2, r=1.0), "w": w},
        ...              [("in", "pop"), ("pop", "w"), ("w", "pop")], {"dt": 1e-3})
        >>> x = np.zeros((4, 1, 3)); x[0, 0, 0] = 20.0  # one kick: a spike runs round the ring
        >>> r = run_block(g, ["pop", "w"], {"pop": x}, 4, 1, 1e-3, backend="numpy", dtype=np.float64)
        >>> r.outputs["pop"].to_dense()[:, 0].astype(int).tolist()
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
    """
    if backend not in ("numpy", "numba", "cuda"):
        raise BackendUnavailableError(f"run_block has no backend {backend!r}; use 'numpy', 'numba' or 'cuda'")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise SimulationInputError(f"dtype must be float32 or float64, got {dtype}", "dtype")
    if int(n_steps) < 0 or int(batch) < 1:
        raise SimulationInputError(f"need n_steps >= 0 and batch >= 1, got {n_steps}, {batch}", "n_steps")
    block = plan_block(
        graph, list(nodes), external, int(n_steps), int(batch), float(dt), dtype, method,
        record or {}, plasticity or {}, initial_state or {}, emit,
    )  # fmt: skip
    if backend == "numba":
        from neuro.engine._recurrent_numba import run_numba as runner
    elif backend == "cuda":
        from neuro.engine.cuda.arrays import require
        from neuro.engine.cuda.blocks import run_cuda as runner

        require()
    else:
        from neuro.engine._recurrent_numpy import run_numpy as runner
    raw = runner(block, int(n_steps), int(batch), dtype)
    return _result(block, raw, int(n_steps), int(batch))


def _result(block: list[BlockNode], raw: dict[str, Any], n_steps: int, batch: int) -> BlockResult:
    """Assemble a :class:`BlockResult` from what a backend returned: ``events[k] = (frame, idx,
    val)`` in (sample, step) order, ``counters[k] = [in_events, effective, non_binary,
    active]``, ``traces[(k, field)]`` arrays."""
    res = BlockResult()
    frames = n_steps * batch
    for k, b in enumerate(block):
        frame, idx, val = raw["events"][k]
        if b.emit:
            order = np.argsort(frame, kind="stable") if batch > 1 else slice(None)
            frame, idx, val = frame[order], idx[order], val[order]
            ptr = np.zeros(frames + 1, np.int64)
            np.cumsum(np.bincount(frame, minlength=frames), out=ptr[1:])
            binary = b.kind == "neuron" and bool(np.all(val == 1))
            res.outputs[b.name] = Events(ptr, idx.astype(np.int32), None if binary else val, n_steps, batch, b.shape)
        n_in_ev, effective, non_binary, active = (int(v) for v in raw["counters"][k])
        c = NodeCounts(b.kind if b.kind != "projection" else "sparse", b.n_in, b.n_out, n_steps, batch, in_events=n_in_ev)
        if b.kind == "neuron":
            c.kind = "neuron"
            c.out_spikes = round(float(raw["spikes"][k])) if b.model.spiking else 0
            c.updates_active = active
            c.updates_idle = n_steps * batch * b.n_out - active
        elif b.kind == "projection":
            c.kind = "sparse" if isinstance(b.node, ir.SparseLinear) else "dense"
            c.binary_input = not non_binary
            if non_binary:
                c.macs = effective
            else:
                c.synops = effective
            c.synops_dense = b.dense_fanout * n_steps * batch
        res.counts[b.name] = c
        if b.kind == "neuron":
            res.state[b.name] = tuple(s.reshape(batch, *b.shape) for s in b.state)
            for f in b.record:
                res.traces[(b.name, f)] = raw["traces"][(k, f)].reshape(n_steps, batch, *b.shape)
        if b.rule is not None:
            w = b.weights
            res.weights[b.name] = w if isinstance(b.node, ir.SparseLinear) else w.reshape(b.n_in, -1).T.copy()
    return res

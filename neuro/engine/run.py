"""``neuro.engine.run``: simulate an IR graph on inputs, touching only what is active.

The graph is cut into units: a single node, or a block of nodes that must advance step by step
together (a cycle through neurons, as in a recurrent population, or a plastic projection with
its postsynaptic population). Units run in a topological order of that condensed graph. A
single node runs over the whole sequence in one call (:mod:`neuro.engine.ops`); a block runs
its whole time loop in one compiled call (:mod:`neuro.engine.recurrent`). On the ``numba``
backend, a convolution that alone feeds a neuron population runs together with it (and with a
pooling node that the population alone feeds) as one compiled loop (:mod:`neuro.engine.fused`),
unless one of them is monitored. Within a step, the engine follows
:meth:`neuro.ir.Graph.step_order`, exactly like the torch modules.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import BackendUnavailableError, GraphError, SimulationInputError
from neuro.core.neurons import MODELS
from neuro.engine.backends import BACKENDS
from neuro.engine.counts import Counts
from neuro.engine.fused import FusedConvOp
from neuro.engine.inputs import to_events
from neuro.engine.ops import ConvOp, NeuronOp, Op, PoolOp, Signal, Step, ThresholdOp, as_dense, as_events, make_op
from neuro.engine.signals import Events


@dataclass
class Result:
    """What a simulation produced.

    Attributes:
        spikes: per spiking node (neurons, Threshold), its output events (values are the
            model's ``z`` where it is not binary, e.g. multi-spike neurons).
        outputs: per Output node, the dense ``(T, B, *shape)`` values it received.
        counts: exact activity counts per node (:mod:`neuro.engine.counts`).
        traces: ``(node, state field) -> (T, B, *shape)`` for the monitored state.
        state: the final state of every neuron node, as the model's State NamedTuple of
            ``(B, *shape)`` arrays.
        weights: final weights of plastic projections.
        dt, n_steps, batch, backend: how the run was made.
    """

    spikes: dict[str, Events]
    outputs: dict[str, np.ndarray]
    counts: Counts
    traces: dict[tuple[str, str], np.ndarray]
    state: dict[str, Any]
    weights: dict[str, np.ndarray]
    dt: float
    n_steps: int
    batch: int
    backend: str
    nodes_run: list[str] = field(default_factory=list)

    def output(self) -> np.ndarray:
        """The values of the graph's only Output node."""
        if len(self.outputs) != 1:
            raise KeyError(f"the graph has {len(self.outputs)} outputs {list(self.outputs)}; index Result.outputs")
        return next(iter(self.outputs.values()))


_USABLE: set[str] = set()


def check_backend(backend: str) -> None:
    """Raise :class:`BackendUnavailableError` unless ``backend`` can run here (a backend that
    passed its probe is not probed again in this process)."""
    if backend in _USABLE:
        return
    info = BACKENDS.get(backend)
    if info is None:
        raise BackendUnavailableError(f"unknown engine backend {backend!r}; backends are {list(BACKENDS)}")
    if not info.implemented:
        raise BackendUnavailableError(f"the {backend!r} engine backend is not available in this version of neuro")
    ok, detail = info.probe()
    if not ok:
        raise BackendUnavailableError(f"the {backend!r} engine backend cannot run here: {detail}")
    _USABLE.add(backend)


def _units(graph: ir.Graph, plastic: Sequence[str]) -> list[tuple[list[str], bool]]:
    """Nodes grouped into units ``(members, is_block)``, topologically sorted: single nodes, or
    blocks that advance step by step together."""
    comp_of: dict[str, int] = {}
    comps: list[set[str]] = []
    for comp in graph.recurrent_components():
        for n in comp:
            comp_of[n] = len(comps)
        comps.append(set(comp))
    for name in _stepped_alone(graph):
        if name not in comp_of:
            comp_of[name] = len(comps)
            comps.append({name})
    for proj in plastic:
        group = {proj, *(s for s in graph.successors(proj) if graph.nodes[s].node_type in MODELS)}
        merged = set(group)
        for n in group:
            if n in comp_of:
                merged |= comps[comp_of[n]]
        ids = {comp_of[n] for n in merged if n in comp_of}
        new = len(comps)
        comps.append(merged)
        for i in ids:
            comps[i] = set()
        for n in merged:
            comp_of[n] = new
    unit_of = {n: (f"\0block{comp_of[n]}" if n in comp_of else n) for n in graph.nodes}
    members: dict[str, list[str]] = {}
    order, _ = graph.step_order()
    for n in order:
        members.setdefault(unit_of[n], []).append(n)
    deps: dict[str, set[str]] = {u: set() for u in members}
    for a, b in graph.edges:
        if unit_of[a] != unit_of[b]:
            deps[unit_of[b]].add(unit_of[a])
    done: list[str] = []
    ready = [u for u in members if not deps[u]]
    while ready:
        u = ready.pop(0)
        done.append(u)
        for v in members:
            if u in deps[v]:
                deps[v].discard(u)
                if not deps[v] and v not in done and v not in ready:
                    ready.append(v)
    return [(members[u], u.startswith("\0block")) for u in done]


def _stepped_alone(graph: ir.Graph) -> list[str]:
    """Neurons whose input is not one value per neuron (CubaEILIF's excitatory and inhibitory
    channels): the block loop runs them, even outside a cycle."""
    return [
        n for n, node in graph.nodes.items()
        if node.node_type in MODELS and tuple(graph.input_shape(n) or ()) != tuple(graph.shapes[n])
    ]  # fmt: skip


def _sum(signals: list[Signal], dtype: Any) -> Signal:
    if len(signals) == 1:
        return signals[0]
    total = as_dense(signals[0], dtype).copy()
    for s in signals[1:]:
        total += as_dense(s, dtype)
    return total


def run(
    graph: ir.Graph,
    inputs: Any,
    dt: float | None = None,
    backend: str = "numba",
    *,
    n_steps: int | None = None,
    monitors: Mapping[str, Sequence[str]] | None = None,
    dtype: Any = np.float32,
    method: str = "exact",
    plasticity: Mapping[str, Any] | None = None,
) -> Result:
    """Simulate ``graph`` on ``inputs``.

    Args:
        graph: the network; neuron nodes are discretised with ``dt`` and ``method``.
        inputs: for a graph with one Input node, any input :mod:`neuro.engine.inputs` accepts
            (sensor events, ``(T, B, ...)`` frames, :class:`~neuro.engine.inputs.PoissonInput`,
            :class:`~neuro.engine.signals.Events`); for several, a dict by Input node name.
        dt: the time step in seconds (default: the graph's ``dt`` metadata).
        backend: ``"numba"`` (compiled, the default), ``"numpy"`` (the plain reference) or
            ``"cuda"`` (CuPy and Numba-CUDA kernels; feed-forward units only, see docs/engine.md).
        n_steps: number of steps when the input does not fix it (sensor events); later events
            are ignored.
        monitors: node name -> state fields to record per step (e.g. ``{"lif1": ["v"]}``).
        dtype: float32 (default) or float64 (bit-identical across backends).
        method: discretisation method of the neuron models.
        plasticity: projection node name -> plasticity rule (e.g. STDP) applied during the run.

    Raises:
        BackendUnavailableError: unknown or unusable backend.
        GraphError: no ``dt`` anywhere; an input name that is not an Input node.
        UnsupportedNodeError: a node the engine cannot run.
        SimulationInputError: inputs that do not fit the graph.
    """
    check_backend(backend)
    dt = graph.dt if dt is None else float(dt)
    if dt is None:
        raise GraphError("no time step: pass dt= or record 'dt' in the graph metadata")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise SimulationInputError(f"dtype must be float32 or float64, got {dtype}", "dtype")
    monitors = dict(monitors or {})
    for name in monitors:
        if name not in graph.nodes:
            raise SimulationInputError(f"monitor names unknown node {name!r}", "monitors")
    found = _per_graph(graph)
    preds, graph_inputs = found.preds, found.inputs
    signals: dict[str, Signal] = {}
    if not isinstance(inputs, np.ndarray) and isinstance(inputs, Mapping):  # (frames skip the ABC check)
        for name in graph_inputs:
            if name not in inputs:
                raise SimulationInputError(f"no input given for Input node {name!r}", "inputs")
            signals[name] = to_events(inputs[name], tuple(graph.shapes[name]), dt, n_steps, backend)
        extra = set(inputs) - set(graph_inputs)
        if extra:
            raise GraphError(f"inputs name nodes that are not Input nodes: {sorted(extra)}")
    elif len(graph_inputs) != 1:
        raise GraphError(f"the graph has Input nodes {graph_inputs}; pass inputs as a dict by name")
    else:
        name = graph_inputs[0]
        signals[name] = to_events(inputs, tuple(graph.shapes[name]), dt, n_steps, backend)
    frames = {(s.n_steps, s.batch) for s in signals.values()}  # to_events gives Events
    if len(frames) != 1:
        raise SimulationInputError(f"inputs disagree on (steps, batch): {sorted(frames)}", "inputs")
    steps, batch = frames.pop()
    plastic = tuple(plasticity or ())
    for name in plastic:
        if name not in graph.nodes:
            raise SimulationInputError(f"plasticity names unknown node {name!r}", "plasticity")

    counts = Counts()
    result = Result({}, {}, counts, {}, {}, {}, dt, steps, batch, backend)
    ops = found.prepared.get((dt, dtype, method)) or _prepared(graph, dt, dtype, method)
    fused = _fused(graph, dt, dtype, method) if backend == "numba" else {}
    done: set[str] = set()
    for name, block, is_output in _schedule(graph, found, plastic):
        if block is not None:
            _run_block(graph, block, signals, result, dt, backend, dtype, method, monitors, plasticity or {})
            continue
        if name in done:
            continue
        sources = preds[name]
        incoming = signals[sources[0]] if len(sources) == 1 else _sum([signals[p] for p in sources], dtype)
        group = fused.get(name)
        if group is not None and not (monitors and any(n in monitors for n in group.names)):
            for member, step in zip(group.names, group.step(as_events(incoming, backend), steps, batch), strict=True):
                if step.out is not None:
                    signals[member] = step.out
                counts.nodes[member] = step.counts
                _collect(ops[member], step, result)
                result.nodes_run.append(member)
            done.update(group.names)
            continue
        if is_output:
            result.outputs[name] = as_dense(incoming, dtype, backend)
            continue
        op = ops[name]
        record: tuple[str, ...] = ()
        if monitors and name in monitors:
            fields = op.model.state._fields if isinstance(op, NeuronOp) else ()
            unknown = set(monitors[name]) - set(fields)
            if unknown:
                node_type = graph.nodes[name].node_type
                raise SimulationInputError(f"{name!r} ({node_type}) has no state fields {sorted(unknown)}", "monitors")
            record = tuple(monitors[name])
        step = op.step(incoming, backend, steps, batch, record)
        signals[name] = step.out
        counts.nodes[name] = step.counts
        _collect(op, step, result)
        result.nodes_run.append(name)
    return result


def _collect(op: Op, step: Step, result: Result) -> None:
    if isinstance(op, NeuronOp):
        if op.model.spiking:
            result.spikes[op.name] = step.out  # type: ignore[assignment]
        shape = (result.batch, *op.out_shape)
        result.state[op.name] = op.model.state(*[s if s.shape == shape else s.reshape(shape) for s in step.state or ()])
        if step.traces:
            for f, tr in step.traces.items():
                result.traces[(op.name, f)] = tr
    elif isinstance(op, ThresholdOp):
        result.spikes[op.name] = step.out  # type: ignore[assignment]


_Schedule = list[tuple[str, list[str] | None, bool]]


@dataclass
class _PerGraph:
    """What run() finds once per graph (graphs are immutable) and reuses: the predecessors of
    every node, the Input nodes, and by settings the schedule, the ops and the fused groups."""

    preds: dict[str, list[str]]
    inputs: list[str]
    schedules: dict[tuple[str, ...], _Schedule] = field(default_factory=dict)
    prepared: dict[tuple[Any, ...], dict[str, Op]] = field(default_factory=dict)
    fused: dict[tuple[Any, ...], dict[str, FusedConvOp]] = field(default_factory=dict)


_PER_GRAPH: weakref.WeakKeyDictionary[ir.Graph, _PerGraph] = weakref.WeakKeyDictionary()


def _per_graph(graph: ir.Graph) -> _PerGraph:
    found = _PER_GRAPH.get(graph)
    if found is None:
        found = _PER_GRAPH[graph] = _PerGraph({n: graph.predecessors(n) for n in graph.nodes}, graph.inputs)
    return found


def _schedule(graph: ir.Graph, found: _PerGraph, plastic: tuple[str, ...]) -> _Schedule:
    """The units of :func:`_units` as run() takes them: ``(name, None, is_output)`` for a single
    node (Input nodes left out: their signals are the inputs), ``("", members, False)`` for a
    block. Found once per graph (``found``: its :func:`_per_graph`)."""
    schedules = found.schedules
    if plastic not in schedules:
        schedule: _Schedule = []
        for unit, is_block in _units(graph, plastic):
            node = graph.nodes[unit[0]]
            if is_block:
                schedule.append(("", unit, False))
            elif not isinstance(node, ir.Input):
                schedule.append((unit[0], None, isinstance(node, ir.Output)))
        schedules[plastic] = schedule
    return schedules[plastic]


def _prepared(graph: ir.Graph, dt: float, dtype: Any, method: str) -> dict[str, Op]:
    """The ops of the feed-forward nodes, built once per graph and settings (weights laid out
    for the kernels, fan-out tables for the counts) and reused by later runs."""
    per_graph = _per_graph(graph).prepared
    key = (dt, np.dtype(dtype), method)  # run() looks this key up itself first
    if key not in per_graph:
        comps = {n for c in graph.recurrent_components() for n in c} | set(_stepped_alone(graph))
        per_graph[key] = {
            name: make_op(name, node, tuple(graph.input_shape(name) or ()), tuple(graph.shapes[name]), dt, dtype, method)
            for name, node in graph.nodes.items()
            if name not in comps and not isinstance(node, ir.Input | ir.Output)
        }
    return per_graph[key]


def _fused(graph: ir.Graph, dt: float, dtype: Any, method: str) -> dict[str, FusedConvOp]:
    """Convolutions whose output goes only to a neuron population that has no other input,
    with that population and a pooling node it alone feeds: one compiled loop each on the
    ``numba`` backend (:mod:`neuro.engine.fused`), by the convolution's name. Found once per
    graph and settings."""
    per_graph = _per_graph(graph).fused
    key = (dt, np.dtype(dtype), method)
    if key not in per_graph:
        ops = _prepared(graph, dt, dtype, method)
        groups = {}
        for name, op in ops.items():
            after = graph.successors(name)
            if not isinstance(op, ConvOp) or len(after) != 1:
                continue
            neuron = ops.get(after[0])
            if not isinstance(neuron, NeuronOp) or graph.predecessors(neuron.name) != [name]:
                continue
            pools = [ops[s] for s in graph.successors(neuron.name) if isinstance(ops.get(s), PoolOp)]
            pool = next((p for p in pools if graph.predecessors(p.name) == [neuron.name]), None)
            groups[name] = FusedConvOp(op, neuron, pool)  # type: ignore[arg-type]
        per_graph[key] = groups
    return per_graph[key]


def _run_block(
    graph: ir.Graph,
    unit: list[str],
    signals: dict[str, Signal],
    result: Result,
    dt: float,
    backend: str,
    dtype: Any,
    method: str,
    monitors: Mapping[str, Sequence[str]],
    plasticity: Mapping[str, Any],
) -> None:
    from neuro.engine.recurrent import run_block

    inside = set(unit)
    external: dict[str, Signal] = {}
    for name in unit:
        outside = [p for p in graph.predecessors(name) if p not in inside]
        if outside:
            external[name] = _sum([signals[p] for p in outside], dtype)
    block = run_block(
        graph, unit, external, result.n_steps, result.batch, dt, backend=backend, dtype=dtype, method=method,
        record={n: monitors[n] for n in unit if n in monitors} or None,
        plasticity={n: plasticity[n] for n in unit if n in plasticity} or None,
    )  # fmt: skip
    for name in unit:
        out = block.outputs[name]
        signals[name] = out
        if graph.nodes[name].node_type in MODELS and MODELS[graph.nodes[name].node_type].spiking:
            result.spikes[name] = out
        if name in block.counts:
            result.counts.nodes[name] = block.counts[name]
        result.nodes_run.append(name)
    result.state.update(block.state)
    result.traces.update(block.traces)
    result.weights.update(block.weights)

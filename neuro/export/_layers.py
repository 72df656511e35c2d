"""The discrete CUBA layer form that the hardware exporters write, and its IR graph.

Every chip format here (Loihi's netx, the FPGA memory images) runs one equation per layer and
time step ``t``, with ``x`` the layer's input (binary spikes except in the first layer):

.. math::

    u_t = d_u\\,u_{t-1} + W x_t + b_u, \\qquad
    v_t = d_v\\,v_{t-1} + u_t + b_v, \\qquad
    z_t = H(v_t - \\vartheta), \\quad v_t \\leftarrow \\mathrm{reset}(v_t, z_t)

A layer without a current stage has ``u_t = W x_t + b_u`` (``d_u = 0``). :func:`layers_from_graph`
brings an IR chain into this form with the neuron gains folded into ``W`` (the IR's own
discretisation, so the numbers are those the engine uses), and :func:`graph_from_layers` builds
the IR chain that runs exactly this form: ``Affine/Conv2d -> [LI | I] -> LIF | IF`` with
``r = 1 / (1 - d)`` so each stage has unit gain.

Node patterns read (``proj`` is Linear, Affine or Conv2d; an optional Flatten precedes it):

=============================  =================================================================
``proj -> LIF | IF``           exact: ``d_u = 0``, ``d_v`` the LIF decay, ``v_leak`` into ``b_v``
``proj -> LI | I -> LIF | IF`` exact: the LI is the current stage (``v_leak`` must be 0)
``proj -> CubaLIF``            approximate (``exact=False``): neuro's CubaLIF updates ``v`` from
                               the *previous* step's current; the form above uses the new one.
                               With Euler this is an exact one-step-earlier shift per layer; the
                               weight is chosen so the DC gain of ``y -> v`` matches.
=============================  =================================================================
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import ParameterError, UnsupportedNodeError
from neuro.core.neurons import MODELS
from neuro.core.reset import ResetSubtract, ResetToValue

PROJECTIONS = (ir.Linear, ir.Affine, ir.Conv2d)
CURRENTS = (ir.LI, ir.I)
MEMBRANES = (ir.LIF, ir.IF)
SUPPORTED = frozenset({"Input", "Output", "Flatten", "Linear", "Affine", "Conv2d", "LI", "I", "LIF", "IF", "CubaLIF"})


@dataclass(frozen=True, eq=False)
class CubaLayer:
    """One layer in the discrete CUBA form (see the module docstring).

    Attributes:
        name: the membrane node's name; ``nodes`` lists every IR node folded into the layer.
        weight: ``(out, in)`` or ``(C_out, C_in / groups, kH, kW)`` in membrane units per input unit.
        bias_u, bias_v: per-step constants into the current and the membrane, ``(C_out,)``.
        current_decay: ``d_u`` (0 = no current stage); voltage_decay: ``d_v`` (1 = no leak).
        threshold: ``v`` must exceed it to spike; reset: ``"value"`` (to 0) or ``"subtract"``.
        in_shape, out_shape: shapes without batch; flatten: the input is flattened first.
        conv: stride, padding, dilation, groups of a convolution (None for dense).
        exact: the form reproduces the IR's dynamics exactly; note: why not when it does not.
    """

    name: str
    nodes: tuple[str, ...]
    weight: np.ndarray
    bias_u: np.ndarray
    bias_v: np.ndarray
    current_decay: float
    voltage_decay: float
    threshold: float
    reset: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    flatten: bool = False
    conv: dict[str, Any] | None = None
    exact: bool = True
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "dense" if self.conv is None else "conv"


def _uniform(value: Any, node: str, what: str) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0 or not np.all(arr == arr.flat[0]):
        raise ParameterError(f"node {node!r}: {what} differs between neurons; this format stores one value per layer", what)
    return float(arr.flat[0])


def _per_channel(value: Any, out_shape: tuple[int, ...], node: str, what: str) -> np.ndarray:
    """A gain or bias broadcast to the population, reduced to one value per output channel."""
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), out_shape)
    flat = arr.reshape(out_shape[0], -1)
    if not np.all(flat == flat[:, :1]):
        raise ParameterError(f"node {node!r}: {what} varies inside a channel; only per-channel values fold", what)
    return flat[:, 0].copy()


def _chain(graph: ir.Graph) -> list[str]:
    bad = sorted(n for n, node in graph.nodes.items() if node.node_type not in SUPPORTED)
    if bad:
        kinds = sorted({graph.nodes[n].node_type for n in bad})
        raise UnsupportedNodeError(f"nodes {bad} of types {kinds} have no hardware layer form", bad)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedNodeError("the graph must have exactly one Input and one Output", graph.inputs + graph.outputs)
    order, name = [], graph.inputs[0]
    while True:
        order.append(name)
        succ = graph.successors(name)
        if not succ:
            break
        if len(succ) != 1 or len(graph.predecessors(succ[0])) != 1 or succ[0] in order:
            raise UnsupportedNodeError(f"node {name!r} branches, merges or recurs; only chains are supported", [name])
        name = succ[0]
    if len(order) != len(graph.nodes):
        rest = sorted(set(graph.nodes) - set(order))
        raise UnsupportedNodeError(f"nodes {rest} are not on the input-to-output chain", rest)
    return order


def layers_from_graph(graph: ir.Graph, dt: float, method: str = "exact") -> list[CubaLayer]:
    """Split a chain graph into :class:`CubaLayer` records (discretised with ``dt``, ``method``).

    Raises:
        UnsupportedNodeError: a node type without a layer form, a branch or a misplaced node.
        ParameterError: per-neuron parameters that do not fold, or a reset to a non-zero value.
    """
    order = _chain(graph)
    layers: list[CubaLayer] = []
    i, flatten = 1, False
    while i < len(order) and not isinstance(graph.nodes[order[i]], ir.Output):
        name = order[i]
        node = graph.nodes[name]
        if isinstance(node, ir.Flatten):
            flatten, i = True, i + 1
            continue
        if not isinstance(node, PROJECTIONS):
            raise UnsupportedNodeError(f"node {name!r} ({node.node_type}) must follow a Linear, Affine or Conv2d", [name])
        group = [name]
        cur = None
        nxt = graph.nodes[order[i + 1]] if i + 1 < len(order) else None
        if isinstance(nxt, CURRENTS):
            cur = order[i + 1]
            group.append(cur)
            nxt = graph.nodes[order[i + 2]] if i + 2 < len(order) else None
        mem = order[i + len(group)] if i + len(group) < len(order) else None
        if not isinstance(nxt, (*MEMBRANES, ir.CubaLIF)) or (cur and isinstance(nxt, ir.CubaLIF)):
            raise UnsupportedNodeError(f"projection {name!r} must feed a LIF, IF or CubaLIF (optionally via LI or I)", [name])
        group.append(mem)
        layers.append(_layer(graph, group, dt, method, flatten))
        flatten, i = False, i + len(group)
    return layers


def _layer(graph: ir.Graph, group: list[str], dt: float, method: str, flatten: bool) -> CubaLayer:
    proj_name, mem_name = group[0], group[-1]
    proj, mem = graph.nodes[proj_name], graph.nodes[mem_name]
    out_shape = tuple(graph.shapes[proj_name])
    weight = np.array(proj.weight, dtype=np.float64)
    has_bias = isinstance(proj, ir.Affine | ir.Conv2d)
    bias = np.array(proj.bias, dtype=np.float64) if has_bias else np.zeros(out_shape[0])
    reset = mem.reset
    if isinstance(reset, ResetToValue) and np.any(np.asarray(mem.v_reset) != 0):
        raise ParameterError(f"node {mem_name!r}: v_reset must be 0 (the hardware resets to 0)", "v_reset")
    if not isinstance(reset, ResetToValue | ResetSubtract):
        raise ParameterError(f"node {mem_name!r}: unknown reset {reset!r}", "reset")
    c = MODELS[mem.node_type].discretize(mem, dt, method)
    exact, note = True, ""
    if isinstance(mem, ir.CubaLIF):
        d_u = _uniform(c.decay_syn, mem_name, "tau_syn")
        gain = np.asarray(c.gain_vi) * np.asarray(c.gain_syn) + np.asarray(c.gain_vx) * (1.0 - d_u)
        bias_u = _per_channel(gain, out_shape, mem_name, "gain") * bias
        bias_v_raw = c.bias
        exact, note = False, "CubaLIF: v uses the previous step's current in neuro, the new one here"
        gain = _per_channel(gain, out_shape, mem_name, "gain")
    else:
        g_v = _per_channel(c.gain, out_shape, mem_name, "gain")
        bias_v_raw = c.bias
        if len(group) == 3:
            cn = graph.nodes[group[1]]
            cc = MODELS[cn.node_type].discretize(cn, dt, method)
            d_u = _uniform(cc.decay, group[1], "tau")
            if np.any(np.asarray(cc.bias) != 0):
                raise ParameterError(f"node {group[1]!r}: v_leak of a current stage must be 0", "v_leak")
            gain = g_v * _per_channel(cc.gain, out_shape, group[1], "gain")
            bias_u = gain * bias
        else:
            d_u, gain = 0.0, g_v
            bias_u = g_v * bias
    d_v = _uniform(c.decay, mem_name, "tau")
    bias_v = _per_channel(bias_v_raw, out_shape, mem_name, "v_leak")
    if d_u == 0.0:
        bias_v, bias_u = bias_v + bias_u, np.zeros_like(bias_u)
    conv = None
    if isinstance(proj, ir.Conv2d):
        pad = (0, 0) if proj.padding == "valid" else proj.padding
        if pad == "same":
            pad = tuple((k - 1) * d // 2 for k, d in zip(weight.shape[2:], proj.dilation, strict=True))
        conv = {"stride": list(proj.stride), "padding": list(pad), "dilation": list(proj.dilation), "groups": proj.groups}
    return CubaLayer(
        name=mem_name,
        nodes=tuple(group),
        weight=weight * gain.reshape((-1,) + (1,) * (weight.ndim - 1)),
        bias_u=bias_u,
        bias_v=bias_v,
        current_decay=d_u,
        voltage_decay=d_v,
        threshold=_uniform(mem.v_threshold, mem_name, "v_threshold"),
        reset=reset.name,
        in_shape=tuple(graph.input_shape(proj_name) or ()),
        out_shape=tuple(graph.shapes[mem_name]),
        flatten=flatten,
        conv=conv,
        exact=exact,
        note=note,
    )


def _tau(decay: float, dt: float, method: str, what: str) -> float:
    if not 0.0 < decay < 1.0:
        raise ParameterError(f"{what}: decay {decay} has no time constant (needs 0 < decay < 1)", what)
    return -dt / float(np.log(decay)) if method == "exact" else dt / (1.0 - decay)


def graph_from_layers(
    input_shape: tuple[int, ...], layers: list[CubaLayer], dt: float, method: str = "exact", metadata: dict | None = None
) -> ir.Graph:
    """The IR chain that runs ``layers`` exactly (every stage with unit gain)."""
    nodes: dict[str, Any] = {"input": ir.Input(tuple(input_shape))}
    for k, layer in enumerate(layers):
        if layer.flatten:
            nodes[f"flatten_{k}"] = ir.Flatten()
        bias_in = layer.bias_u if layer.current_decay > 0 else layer.bias_u + layer.bias_v
        if layer.conv is None:
            nodes[f"dense_{k}"] = ir.Affine(layer.weight, bias_in)
        else:
            nodes[f"conv_{k}"] = ir.Conv2d(layer.weight, bias_in, **{**layer.conv, "groups": int(layer.conv["groups"])})
        if layer.current_decay == 1.0:
            nodes[f"current_{k}"] = ir.I(r=1.0 / dt)
        elif layer.current_decay > 0:
            d = layer.current_decay
            nodes[f"current_{k}"] = ir.LI(tau=_tau(d, dt, method, f"layer {k} current"), r=1.0 / (1.0 - d))
        reset = ResetSubtract() if layer.reset == "subtract" else ResetToValue()
        leak_v = layer.bias_v if layer.current_decay > 0 else np.zeros_like(layer.bias_v)
        shape = (-1,) + (1,) * (len(layer.out_shape) - 1)
        if layer.voltage_decay == 1.0:
            if np.any(leak_v != 0):
                raise ParameterError(f"layer {k}: a membrane bias after a current stage needs a leak", "bias_v")
            nodes[f"neuron_{k}"] = ir.IF(r=1.0 / dt, v_threshold=layer.threshold, reset=reset)
        else:
            d = layer.voltage_decay
            v_leak = np.broadcast_to((leak_v / (1.0 - d)).reshape(shape), layer.out_shape) if np.any(leak_v) else 0.0
            nodes[f"neuron_{k}"] = ir.LIF(
                tau=_tau(d, dt, method, f"layer {k} membrane"), r=1.0 / (1.0 - d), v_leak=v_leak,
                v_threshold=layer.threshold, reset=reset,
            )  # fmt: skip
    nodes["output"] = ir.Output()
    names = list(nodes)
    meta = {"dt": float(dt), "method": method, **(metadata or {})}
    return ir.Graph(nodes, list(itertools.pairwise(names)), meta)

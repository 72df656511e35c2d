"""Layers of an IR graph as the mapper and the FPGA model see them.

A layer is one projection node (Linear, Affine, Conv1d, Conv2d, SparseLinear) together with the
neuron population it drives. Its structure (fan-in, distinct inputs, stored and expanded synapses,
conv geometry, destinations) is computed from the weights themselves, so zero weights cost
nothing where a chip stores synapses sparsely.

Weight bits needed (:func:`bits_needed`): integer-valued weights need exactly
``ceil(log2(max|w| + 1))`` magnitude bits plus a sign bit when any weight is negative. Real-valued
weights need the fewest bits ``b`` for which symmetric uniform quantisation (step
``max|w| / (2^(b-1) - 1)`` when signed, ``max|w| / (2^b - 1)`` when not) reproduces every weight
within ``rel_error * max|w|``. A caller who has already decided the precision passes
``weight_bits`` to :func:`~neuro.hardware.mapping.map_graph` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.core.neurons import MODELS

PROJECTIONS = ("Linear", "Affine", "Conv1d", "Conv2d", "SparseLinear")
MAX_BITS = 32


@dataclass(frozen=True)
class Layer:
    """One projection and the population it drives.

    Attributes:
        name: the projection node; ``neuron``: the population it drives, or None.
        kind: "dense", "conv" or "sparse".
        n_in, n_out: elements of one input and one output frame.
        weights: the stored weight values (conv: the kernel, sparse: the CSR values).
        stored_nonzero: non-zero stored weights (a conv kernel counts once).
        synapses: non-zero connections after expanding a conv over its output map.
        fan_in_max: the largest non-zero fan-in of one output neuron.
        distinct_inputs: inputs with at least one non-zero connection.
        binary_input: the layer receives spikes (True) or graded values (False).
        destinations: projection layers fed by this layer's population.
        c_in, c_out, kernel, stride, padding, groups, in_map, out_map: conv geometry
            (dense layers: ``c_in = n_in``, ``c_out = n_out``, 1x1 kernel and maps).
    """

    name: str
    neuron: str | None
    kind: str
    n_in: int
    n_out: int
    weights: np.ndarray
    stored_nonzero: int
    synapses: int
    fan_in_max: int
    distinct_inputs: int
    binary_input: bool
    destinations: tuple[str, ...]
    c_in: int
    c_out: int
    kernel: tuple[int, ...] = (1, 1)
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    groups: int = 1
    in_map: tuple[int, ...] = (1, 1)
    out_map: tuple[int, ...] = (1, 1)


def bits_needed(weights: np.ndarray, rel_error: float = 0.01) -> int:
    """Weight bits (sign included) to hold ``weights`` (see the module docstring).

    Raises:
        ParameterError: ``rel_error`` outside (0, 1).
    """
    if not 0.0 < rel_error < 1.0:
        raise ParameterError(f"rel_error must lie in (0, 1), got {rel_error}", field="rel_error")
    w = np.asarray(weights, dtype=np.float64).ravel()
    w_max = float(np.abs(w).max(initial=0.0))
    if w_max == 0.0:
        return 1
    signed = bool((w < 0).any())
    if np.all(w == np.round(w)):
        return math.ceil(math.log2(w_max + 1)) + int(signed)
    for bits in range(1 + int(signed), MAX_BITS + 1):
        top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
        step = w_max / top
        if np.abs(w - np.round(w / step) * step).max() <= rel_error * w_max:
            return bits
    return MAX_BITS


def quantisation_error(weights: np.ndarray, bits: int) -> float:
    """Largest error of symmetric uniform quantisation to ``bits`` bits, relative to max|w|."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    w_max = float(np.abs(w).max(initial=0.0))
    if w_max == 0.0:
        return 0.0
    signed = bool((w < 0).any())
    top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    if top < 1:
        return 1.0
    step = w_max / top
    return float(np.abs(w - np.round(w / step) * step).max() / w_max)


def _valid_taps(size_in: int, size_out: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """For each kernel tap along one axis, how many output positions read a real input."""
    o = np.arange(size_out)[:, None]
    pos = o * s - p + np.arange(k)[None, :] * d
    return ((pos >= 0) & (pos < size_in)).sum(axis=0)


def _conv_layer(name: str, node, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> dict:
    w = np.asarray(node.weight)
    n = node.spatial
    pad = (0,) * n if node.padding == "valid" else node.padding
    if node.padding == "same":
        pad = tuple((d * (k - 1)) // 2 for k, d in zip(w.shape[2:], node.dilation, strict=True))
    taps = [
        _valid_taps(si, so, k, s, p, d)
        for si, so, k, s, p, d in zip(in_shape[1:], out_shape[1:], w.shape[2:], node.stride, pad, node.dilation, strict=True)
    ]
    per_tap = taps[0] if n == 1 else np.outer(taps[0], taps[1])
    nz = w != 0
    synapses = int((nz * per_tap).sum())
    fan_in = int(nz.reshape(w.shape[0], -1).sum(axis=1).max(initial=0))
    used_channels = nz.any(axis=(0, *range(2, w.ndim)))
    distinct = int(used_channels.sum()) * math.prod(in_shape[1:]) if node.groups == 1 else math.prod(in_shape)
    as2 = lambda t: tuple(t) if n == 2 else (1, *t)  # noqa: E731
    return dict(
        kind="conv",
        n_in=math.prod(in_shape),
        n_out=math.prod(out_shape),
        stored_nonzero=int(nz.sum()),
        synapses=synapses,
        fan_in_max=fan_in,
        distinct_inputs=distinct,
        c_in=int(in_shape[0]),
        c_out=int(w.shape[0]),
        kernel=as2(w.shape[2:]),
        stride=as2(node.stride),
        padding=as2(pad),
        groups=node.groups,
        in_map=as2(in_shape[1:]),
        out_map=as2(out_shape[1:]),
    )


def _dense_layer(node) -> dict:
    if isinstance(node, ir.SparseLinear):
        w = node.to_dense()
        kind = "sparse"
    else:
        w = np.asarray(node.weight)
        kind = "dense"
    nz = w != 0
    return dict(
        kind=kind,
        n_in=int(w.shape[1]),
        n_out=int(w.shape[0]),
        stored_nonzero=int(nz.sum()),
        synapses=int(nz.sum()),
        fan_in_max=int(nz.sum(axis=1).max(initial=0)),
        distinct_inputs=int(nz.any(axis=0).sum()),
        c_in=int(w.shape[1]),
        c_out=int(w.shape[0]),
    )


def _spiking(node) -> bool:
    model = MODELS.get(node.node_type)
    return bool(model and model.spiking)


def _through_plumbing(graph: ir.Graph, start: str, forward: bool) -> list[str]:
    """Nodes reached from ``start`` across Flatten/pool/Scale/Delay plumbing, stopping at
    projections, neurons, Threshold, inputs and outputs."""
    seen: set[str] = set()
    found: list[str] = []
    stack = list(graph.successors(start) if forward else graph.predecessors(start))
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.nodes[name]
        if node.node_type in PROJECTIONS or node.node_type in MODELS or node.node_type in ("Input", "Output", "Threshold"):
            found.append(name)
        else:
            stack.extend(graph.successors(name) if forward else graph.predecessors(name))
    return found


def _flattened_frame(graph: ir.Graph, name: str) -> tuple[int, int, int] | None:
    """The (C, H, W) frame a dense layer reads through a Flatten, if it does."""
    preds = graph.predecessors(name)
    while len(preds) == 1:
        node = graph.nodes[preds[0]]
        if node.node_type == "Flatten":
            shape = graph.input_shape(preds[0])
            return tuple(shape) if shape is not None and len(shape) == 3 else None  # type: ignore[return-value]
        if node.node_type not in ("Scale", "Delay"):
            return None
        preds = graph.predecessors(preds[0])
    return None


def layers_from_graph(graph: ir.Graph) -> list[Layer]:
    """The projection layers of ``graph`` in step (topological) order."""
    order, _ = graph.step_order()
    layers = []
    for name in order:
        node = graph.nodes[name]
        if node.node_type not in PROJECTIONS:
            continue
        in_shape = graph.input_shape(name)
        if node.node_type.startswith("Conv"):
            geometry = _conv_layer(name, node, in_shape, graph.shapes[name])
        else:
            geometry = _dense_layer(node)
            frame = _flattened_frame(graph, name)
            if frame is not None:  # a Linear after Flatten of (C, H, W): a conv over the whole map
                geometry.update(c_in=frame[0], kernel=frame[1:], in_map=frame[1:])
        after = _through_plumbing(graph, name, forward=True)
        neuron = next((a for a in after if graph.nodes[a].node_type in MODELS), None)
        before = _through_plumbing(graph, name, forward=False)
        binary = bool(before) and all(
            (graph.nodes[b].node_type in MODELS and _spiking(graph.nodes[b])) or graph.nodes[b].node_type == "Threshold"
            for b in before
        )
        dest_from = neuron if neuron is not None else name
        destinations = tuple(
            d for d in _through_plumbing(graph, dest_from, forward=True) if graph.nodes[d].node_type in PROJECTIONS
        )
        stored = node.weights if isinstance(node, ir.SparseLinear) else node.weight
        layers.append(
            Layer(
                name=name,
                neuron=neuron,
                weights=np.asarray(stored),
                binary_input=binary,
                destinations=destinations,
                **geometry,
            )
        )
    return layers

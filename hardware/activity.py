"""Activity per layer: the exact, hardware-agnostic counts that energy estimates price.

:func:`activity_from_engine` pairs a graph with the engine's :class:`~neuro.engine.Counts`
(or their ``to_dict()`` form, e.g. a ``counts.json`` written by ``neuro simulate``): each
projection node (Linear, Affine, Conv, SparseLinear) becomes a :class:`LayerActivity` together
with the neuron population it drives (its output spikes and neuron updates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro import ir

PROJECTIONS = ("Linear", "Affine", "Conv1d", "Conv2d", "SparseLinear")


@dataclass(frozen=True)
class LayerActivity:
    """One layer: its structure and what it did, summed over ``samples`` and ``timesteps``.

    Attributes:
        name: the projection node; ``neuron``: the population it drives (or None).
        kind: "dense", "conv", "sparse".
        n_in, n_out: elements of one input and one output frame.
        weights, nonzero_weights: stored weights (dense or CSR) and the non-zero ones.
        fan_in_max, fan_out_max: the largest number of non-zero connections into one output /
            out of one input.
        timesteps, samples: how long and how many.
        in_events: non-zero inputs that arrived; binary_input: spikes (True) or graded values.
        synops_effective: accumulates (binary) or MACs (graded) actually needed.
        synops_dense: every connection at every step.
        out_spikes, neuron_updates_active, neuron_updates_idle: of the driven population.
        weight_shape: the weight tensor's shape (conv kernels keep their layout).
        kernel, stride: conv geometry (empty for other kinds).
    """

    name: str
    neuron: str | None
    kind: str
    n_in: int
    n_out: int
    weights: int
    nonzero_weights: int
    fan_in_max: int
    fan_out_max: int
    timesteps: int
    samples: int
    in_events: int
    binary_input: bool
    synops_effective: int
    synops_dense: int
    out_spikes: int
    neuron_updates_active: int
    neuron_updates_idle: int
    weight_shape: tuple[int, ...] = ()
    kernel: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()


def _weights(node: Any) -> np.ndarray:
    return np.asarray(node.weights if isinstance(node, ir.SparseLinear) else node.weight)


def _fans(node: Any) -> tuple[int, int]:
    """(fan_in_max, fan_out_max) over non-zero weights (conv: per kernel, an upper bound that
    ignores borders)."""
    if isinstance(node, ir.SparseLinear):
        nz = np.asarray(node.weights) != 0
        rows = np.repeat(np.arange(node.shape[1]), np.diff(node.indptr))
        fan_out = np.bincount(rows[nz], minlength=node.shape[1])
        fan_in = np.bincount(np.asarray(node.indices)[nz], minlength=node.shape[0])
        return int(fan_in.max(initial=0)), int(fan_out.max(initial=0))
    w = np.asarray(node.weight) != 0
    if w.ndim == 2:
        return int(w.sum(axis=1).max(initial=0)), int(w.sum(axis=0).max(initial=0))
    per_out = w.reshape(w.shape[0], -1).sum(axis=1)  # C_in/groups * k * k per output neuron
    per_in_channel = w.sum(axis=(0, *range(2, w.ndim)))  # kernel taps * C_out leaving a pixel
    return int(per_out.max(initial=0)), int(per_in_channel.max(initial=0))


def activity_from_engine(graph: ir.Graph, counts: Mapping[str, Any]) -> list[LayerActivity]:
    """One :class:`LayerActivity` per projection node of ``graph``, in graph order.

    ``counts`` maps node names to :class:`~neuro.engine.NodeCounts` or their dicts.
    """

    def get(name: str) -> Mapping[str, Any]:
        c = counts[name]
        return c if isinstance(c, Mapping) else c.to_dict()

    layers = []
    for name, node in graph.nodes.items():
        if node.node_type not in PROJECTIONS or name not in counts:
            continue
        c = get(name)
        succ = [s for s in graph.successors(name) if s in counts and get(s).get("kind") == "neuron"]
        n = get(succ[0]) if succ else {}
        w = _weights(node)
        fan_in, fan_out = _fans(node)
        conv = node.node_type.startswith("Conv")
        layers.append(
            LayerActivity(
                name=name,
                neuron=succ[0] if succ else None,
                kind="conv" if conv else ("sparse" if node.node_type == "SparseLinear" else "dense"),
                n_in=int(c["n_in"]),
                n_out=int(c["n_out"]),
                weights=int(w.size),
                nonzero_weights=int(np.count_nonzero(w)),
                fan_in_max=fan_in,
                fan_out_max=fan_out,
                timesteps=int(c["steps"]),
                samples=int(c["samples"]),
                in_events=int(c["in_events"]),
                binary_input=bool(c["binary_input"]),
                synops_effective=int(c["synops"]) + int(c["macs"]),
                synops_dense=int(c["synops_dense"]),
                out_spikes=int(n.get("out_spikes", 0)),
                neuron_updates_active=int(n.get("updates_active", 0)),
                neuron_updates_idle=int(n.get("updates_idle", 0)),
                weight_shape=tuple(int(s) for s in w.shape) if not isinstance(node, ir.SparseLinear) else tuple(node.shape),
                kernel=tuple(int(s) for s in w.shape[2:]) if conv else (),
                stride=tuple(int(s) for s in np.atleast_1d(node.stride)) if conv else (),
            )
        )
    return layers

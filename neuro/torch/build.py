"""Build a torch module from an IR graph: :func:`build` returns a :class:`GraphNet`.

Every IR node becomes one module through :data:`BUILDERS` (one entry per node type; a test
checks the registry covers every type the torch side can run). Edges into a node are summed,
as in NIR. Acyclic graphs run node by node over the whole sequence (stateless nodes fold time
into the batch); graphs with cycles (recurrent populations) run step by step, and an edge that
closes a cycle carries the source's output of the previous step.

Example:
    >>> import numpy as np, torch
    >>> from neuro import ir
    >>> g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.ones((2, 3))), ir.LIF(tau=0.01, r=10.0),
    ...                         metadata={"dt": 1e-3})
    >>> net = build(g)
    >>> net(torch.ones(4, 5, 3)).shape
    torch.Size([4, 5, 2])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from neuro import ir
from neuro.core.errors import GraphError, UnsupportedNodeError
from neuro.core.neurons import MODELS
from neuro.core.surrogate import Surrogate
from neuro.torch import layers
from neuro.torch.neurons import Neurons


def _tensor(value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(np.asarray(value), dtype=dtype)


def _linear(node: Any, dtype: torch.dtype) -> nn.Module:
    out_f, in_f = node.weight.shape
    bias = isinstance(node, ir.Affine)
    module = nn.Linear(in_f, out_f, bias=bias, dtype=dtype)
    with torch.no_grad():
        module.weight.copy_(_tensor(node.weight, dtype))
        if bias:
            module.bias.copy_(_tensor(node.bias, dtype))
    return module


def _conv(node: Any, dtype: torch.dtype) -> nn.Module:
    cls = nn.Conv2d if node.spatial == 2 else nn.Conv1d
    c_out, c_in_g = node.weight.shape[:2]
    padding = node.padding if isinstance(node.padding, str) else tuple(int(p) for p in node.padding)
    module = cls(
        c_in_g * node.groups, c_out, tuple(node.weight.shape[2:]), stride=tuple(int(s) for s in node.stride),
        padding=padding, dilation=tuple(int(d) for d in node.dilation), groups=node.groups, bias=True, dtype=dtype,
    )  # fmt: skip
    with torch.no_grad():
        module.weight.copy_(_tensor(node.weight, dtype))
        module.bias.copy_(_tensor(node.bias, dtype))
    return module


def _pair(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in np.atleast_1d(value))


def _flatten(node: ir.Flatten, dtype: torch.dtype) -> nn.Module:
    # IR dims exclude the batch; torch's include it. Negative dims count from the end in both.
    start = node.start_dim + 1 if node.start_dim >= 0 else node.start_dim
    end = node.end_dim + 1 if node.end_dim >= 0 else node.end_dim
    return nn.Flatten(start, end)


def _sparse(node: ir.SparseLinear, dtype: torch.dtype) -> nn.Module:
    if node.delays is not None and np.any(np.asarray(node.delays) != 0):
        raise UnsupportedNodeError("SparseLinear with synaptic delays cannot run in torch", [])
    return layers.MaskedLinear.from_csr(node.shape, node.indptr, node.indices, node.weights, dtype=dtype)


BUILDERS: dict[str, Callable[[Any, torch.dtype], nn.Module | None]] = {
    "Input": lambda node, dtype: None,
    "Output": lambda node, dtype: None,
    "Linear": _linear,
    "Affine": _linear,
    "Conv2d": _conv,
    "Conv1d": _conv,
    "SumPool2d": lambda n, dtype: layers.SumPool2d(_pair(n.kernel_size), _pair(n.stride), _pair(n.padding)),
    "AvgPool2d": lambda n, dtype: nn.AvgPool2d(_pair(n.kernel_size), _pair(n.stride), _pair(n.padding), count_include_pad=True),
    "Flatten": _flatten,
    "Scale": lambda n, dtype: layers.Scale(_tensor(n.scale, dtype)),
    "Threshold": lambda n, dtype: layers.Threshold(_tensor(n.threshold, dtype)),
    "SparseLinear": _sparse,
}
"""Node type → module factory for the stateless nodes (neuron nodes become :class:`Neurons`)."""


def _key(name: str) -> str:
    # a prefix keeps node names such as "pop" or "keys" clear of ModuleDict's own attributes
    return "node_" + name.replace(".", "__dot__")


class GraphNet(nn.Module):
    """A torch module that runs an IR graph; :func:`neuro.torch.to_ir` returns the graph back.

    Shape:
        ``(T, B, *input_shape)`` → ``(T, B, *output_shape)`` (a tuple for several outputs).
    """

    stateful = False

    def __init__(self, graph: ir.Graph, modules: dict[str, nn.Module | None]) -> None:
        super().__init__()
        self.graph = graph
        self.nodes = nn.ModuleDict({_key(k): m for k, m in modules.items() if m is not None})
        self.order, self.back_edges = graph.step_order()
        self.preds = {n: graph.predecessors(n) for n in graph.nodes}
        if len(graph.inputs) != 1:
            raise GraphError(f"GraphNet needs exactly one Input node, got {graph.inputs}")

    def module(self, name: str) -> nn.Module | None:
        """The module of node ``name`` (None for Input and Output)."""
        return self.nodes[_key(name)] if _key(name) in self.nodes else None

    def forward(self, x_seq: torch.Tensor) -> Any:
        outs = self._run_steps(x_seq) if self.back_edges else self._run_sequences(x_seq)
        results = [outs[n] for n in self.graph.outputs]
        return results[0] if len(results) == 1 else tuple(results)

    def _gather(self, name: str, values: dict[str, torch.Tensor]) -> torch.Tensor:
        preds = self.preds[name]
        if not preds:
            raise GraphError(f"node {name!r} has no input")
        total = values[preds[0]]
        for p in preds[1:]:
            total = total + values[p]
        return total

    def _run_sequences(self, x_seq: torch.Tensor) -> dict[str, torch.Tensor]:
        values: dict[str, torch.Tensor] = {}
        for name in self.order:
            module = self.module(name)
            if name in self.graph.inputs:
                values[name] = x_seq
                continue
            x = self._gather(name, values)
            values[name] = x if module is None else layers.call(module, x, None)[0]
        return values

    def _run_steps(self, x_seq: torch.Tensor) -> dict[str, torch.Tensor]:
        states: dict[str, Any] = {}
        previous: dict[str, torch.Tensor] = {}
        history: dict[str, list[torch.Tensor]] = {n: [] for n in self.order}
        for x in x_seq:
            current: dict[str, torch.Tensor] = {}
            for name in self.order:
                module = self.module(name)
                if name in self.graph.inputs:
                    current[name] = x
                    continue
                terms = []
                for p in self.preds[name]:
                    if (p, name) in self.back_edges:
                        if p in previous:
                            terms.append(previous[p])
                    else:
                        terms.append(current[p])
                if not terms:
                    raise GraphError(f"node {name!r} receives nothing at the first step")
                total = terms[0]
                for term in terms[1:]:
                    total = total + term
                if isinstance(module, Neurons):
                    current[name], states[name] = module.step(total, states.get(name))
                else:
                    current[name] = total if module is None else module(total)
            for name, value in current.items():
                history[name].append(value)
            previous = current
        return {n: torch.stack(v) for n, v in history.items() if v}


def build(
    graph: ir.Graph,
    *,
    method: str = "exact",
    surrogate: Surrogate | None = None,
    fused: bool = True,
    dtype: torch.dtype | None = None,
) -> GraphNet:
    """A :class:`GraphNet` running ``graph`` (time step from ``graph.metadata["dt"]``).

    Args:
        graph: the network.
        method: discretisation method of the neurons.
        surrogate: surrogate gradient of the neurons (default ArcTan).
        fused: use the fused multi-step neuron kernel where available.
        dtype: parameter dtype (default torch's default). The IR holds float64: build in
            float64 when the round trip must be exact.

    Raises:
        GraphError: neuron nodes but no ``dt`` in the metadata, or not exactly one Input.
        UnsupportedNodeError: node types torch cannot run (listed).
    """
    neurons = [n for n, node in graph.nodes.items() if node.node_type in MODELS]
    if neurons and graph.dt is None:
        raise GraphError(f"graph has neuron nodes {neurons} but no 'dt' in its metadata")
    unsupported = [n for n, node in graph.nodes.items() if node.node_type not in BUILDERS and node.node_type not in MODELS]
    if unsupported:
        kinds = sorted({graph.nodes[n].node_type for n in unsupported})
        raise UnsupportedNodeError(f"torch cannot run node types {kinds} (nodes {unsupported})", unsupported)
    dtype = dtype or torch.get_default_dtype()
    modules: dict[str, nn.Module | None] = {}
    for name, node in graph.nodes.items():
        if node.node_type in MODELS:
            modules[name] = Neurons(node, graph.dt, method=method, surrogate=surrogate, fused=fused, dtype=dtype)
        else:
            modules[name] = BUILDERS[node.node_type](node, dtype)
    return GraphNet(graph, modules)

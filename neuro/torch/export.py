"""Export a torch model to the IR: :func:`to_ir`.

A :class:`~neuro.torch.build.GraphNet` exports to its graph with the current weights (so
``to_ir(build(g))`` equals ``g``). Other models are traced module by module through
:class:`~neuro.torch.layers.Sequential`, :class:`~neuro.torch.layers.Residual`,
:class:`~neuro.torch.layers.Recurrent` and the layers in :data:`EXPORTERS`. Neurons export their
own continuous-time parameters (never parameters re-derived from a discretised decay), and the
time step recorded in the metadata is theirs. Batch norm is folded into the convolution or
linear map before it (eval statistics); dropout is dropped. Anything else raises
:class:`~neuro.core.errors.UnsupportedNodeError` naming the module.

Example:
    >>> import torch
    >>> from neuro.core.neurons import lif
    >>> from neuro.torch.layers import Sequential
    >>> from neuro.torch.neurons import Neurons
    >>> net = Sequential(torch.nn.Linear(3, 2), Neurons(lif.Params(tau=0.01, r=10.0), dt=1e-3))
    >>> g = to_ir(net, (3,))
    >>> list(g.nodes), g.dt
    (['input_0', 'affine_1', 'lif_2', 'output_3'], 0.001)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from neuro import ir
from neuro.core.errors import GraphError, UnsupportedNodeError
from neuro.core.neurons._common import AbstractParams
from neuro.torch import layers
from neuro.torch.build import GraphNet
from neuro.torch.neurons import Neurons


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy().copy()


def _linear(m: nn.Linear) -> Any:
    if m.bias is None:
        return ir.Linear(_np(m.weight))
    return ir.Affine(_np(m.weight), _np(m.bias))


def _conv(m: nn.Conv1d | nn.Conv2d) -> Any:
    cls = ir.Conv2d if isinstance(m, nn.Conv2d) else ir.Conv1d
    bias = _np(m.bias) if m.bias is not None else None
    if m.padding_mode != "zeros":
        raise UnsupportedNodeError(f"{type(m).__name__} with padding_mode={m.padding_mode!r} has no IR form", [])
    return cls(_np(m.weight), bias, m.stride, m.padding, m.dilation, m.groups)


def _pool_args(m: Any) -> tuple[Any, Any, Any]:
    return m.kernel_size, m.stride, m.padding


def _avgpool(m: nn.AvgPool2d) -> Any:
    if not m.count_include_pad or m.divisor_override is not None or m.ceil_mode:
        raise UnsupportedNodeError("AvgPool2d needs count_include_pad=True, no divisor_override, no ceil_mode", [])
    return ir.AvgPool2d(*_pool_args(m))


def _flatten(m: nn.Flatten) -> Any:
    start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
    end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
    if m.start_dim == 0 or m.end_dim == 0:
        raise UnsupportedNodeError("Flatten over the batch dimension has no IR form", [])
    return ir.Flatten(start, end)


def _sparse(m: layers.MaskedLinear) -> Any:
    shape, indptr, indices, weights = m.to_csr()
    return ir.SparseLinear(shape, indptr, indices, weights)


EXPORTERS: dict[type, Callable[[Any], Any]] = {
    nn.Linear: _linear,
    nn.Conv2d: _conv,
    nn.Conv1d: _conv,
    nn.AvgPool2d: _avgpool,
    layers.SumPool2d: lambda m: ir.SumPool2d(*_pool_args(m)),
    nn.Flatten: _flatten,
    layers.Scale: lambda m: ir.Scale(_np(m.scale)),
    layers.Threshold: lambda m: ir.Threshold(_np(m.threshold)),
    layers.MaskedLinear: _sparse,
}
"""Stateless torch module type → IR node factory."""

SKIPPED = (nn.Dropout, layers.Dropout, nn.Identity)


def _fold_batchnorm(node: Any, bn: nn.BatchNorm1d | nn.BatchNorm2d, name: str) -> Any:
    """Fold eval-mode batch norm into the Affine/Conv node that feeds it."""
    scale = _np(bn.weight if bn.affine else torch.ones_like(bn.running_var)) / np.sqrt(_np(bn.running_var) + bn.eps)
    shift = (_np(bn.bias) if bn.affine else 0.0) - _np(bn.running_mean) * scale
    if isinstance(node, ir.Linear):
        bias = node.bias * scale + shift if isinstance(node, ir.Affine) else shift
        return ir.Affine(node.weight * scale[:, None], bias)
    if isinstance(node, ir.Conv2d):
        weight = node.weight * scale.reshape(-1, *([1] * (node.weight.ndim - 1)))
        return dataclasses.replace(node, weight=weight, bias=node.bias * scale + shift)
    raise UnsupportedNodeError(f"batch norm {name!r} must follow a Linear or Conv layer to be folded", [name])


class _Tracer:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.dts: set[float] = set()
        self.resets: dict[str, str] = {}

    def add(self, node: Any, sources: list[str]) -> str:
        name = f"{node.node_type.lower()}_{len(self.nodes)}"
        if isinstance(node, ir.Input):
            self.shapes[name] = tuple(node.shape)
        elif sources:
            shape = self.shapes[sources[0]]
            if isinstance(node, AbstractParams) and node.shape not in ((), shape):
                # the IR wants per-neuron arrays (or scalars); torch broadcasts (C, 1, 1) itself
                fields = {f: np.broadcast_to(getattr(node, f), shape).copy() for f in node.array_fields()}
                node = dataclasses.replace(node, **fields)
            self.shapes[name] = tuple(node.output_shape(shape)) if hasattr(node, "output_shape") else shape
        self.nodes[name] = node
        self.edges.extend((s, name) for s in sources)
        return name

    def trace(self, module: nn.Module, sources: list[str], path: str) -> list[str]:
        if isinstance(module, layers.Sequential | nn.Sequential):
            for i, child in enumerate(module):
                sources = self.trace(child, sources, f"{path}.{i}" if path else str(i))
            return sources
        if isinstance(module, layers.Residual):
            body = self.trace(module.body, sources, f"{path}.body")
            short = sources if module.shortcut is None else self.trace(module.shortcut, sources, f"{path}.shortcut")
            return body + [s for s in short if s not in body]
        if isinstance(module, Neurons):
            self.dts.add(module.dt)
            return [self.add(module.params, sources)]
        if isinstance(module, layers.Recurrent):
            self.dts.add(module.neurons.dt)
            name = self.add(module.neurons.params, sources)
            loop = self.trace(module.recurrent, [name], f"{path}.recurrent")
            self.edges.extend((s, name) for s in loop)
            return [name]
        if isinstance(module, SKIPPED):
            return sources
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            if len(sources) != 1 or sum(1 for a, _ in self.edges if a == sources[0]):
                raise UnsupportedNodeError(f"batch norm {path!r} must directly follow one Linear or Conv layer", [path])
            self.nodes[sources[0]] = _fold_batchnorm(self.nodes[sources[0]], module, path)
            return sources
        exporter = EXPORTERS.get(type(module))
        if exporter is None:
            raise UnsupportedNodeError(
                f"module {path or '<root>'!r} of type {type(module).__name__} has no IR form "
                f"(supported: {sorted(t.__name__ for t in EXPORTERS)})",
                [path],
            )
        try:
            node = exporter(module)
        except UnsupportedNodeError as exc:
            raise UnsupportedNodeError(f"module {path!r}: {exc}", [path]) from None
        return [self.add(node, sources)]


def to_ir(module: nn.Module, input_shape: tuple[int, ...], dt: float | None = None) -> ir.Graph:
    """The IR graph of ``module`` for inputs of shape ``input_shape`` (no time or batch dims).

    Args:
        module: a :class:`GraphNet` or a model built from the supported layers.
        input_shape: shape of one sample at one time step.
        dt: only to check: it must equal the neurons' time step.

    Raises:
        UnsupportedNodeError: a module has no IR form (its path is named).
        GraphError: neurons with different time steps, or ``dt`` disagreeing with them.
    """
    if isinstance(module, GraphNet):
        return _export_graphnet(module)
    tracer = _Tracer()
    first = tracer.add(ir.Input(tuple(int(s) for s in input_shape)), [])
    last = tracer.trace(module, [first], "")
    tracer.add(ir.Output(), last)
    if len(tracer.dts) > 1:
        raise GraphError(f"neurons use different time steps {sorted(tracer.dts)}; one graph has one dt")
    metadata: dict[str, Any] = {}
    if tracer.dts:
        metadata["dt"] = tracer.dts.pop()
        if dt is not None and float(dt) != metadata["dt"]:
            raise GraphError(f"dt={dt} disagrees with the neurons' time step {metadata['dt']}")
    elif dt is not None:
        metadata["dt"] = float(dt)
    return ir.Graph(tracer.nodes, tracer.edges, metadata)


def _export_graphnet(net: GraphNet) -> ir.Graph:
    nodes = {}
    for name, node in net.graph.nodes.items():
        module = net.module(name)
        if module is None or isinstance(module, Neurons):
            nodes[name] = node
            continue
        exported = EXPORTERS[type(module)](module)
        if isinstance(node, ir.Conv2d) and node.input_shape is not None:
            exported = dataclasses.replace(exported, input_shape=node.input_shape)
        if isinstance(node, ir.Conv2d) and isinstance(node.padding, str):
            exported = dataclasses.replace(exported, padding=node.padding)
        nodes[name] = exported
    return ir.Graph(nodes, net.graph.edges, net.graph.metadata)

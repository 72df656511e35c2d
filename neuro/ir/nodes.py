"""Data-only IR nodes.

Every NIR primitive has a node here with NIR's field names and semantics, plus the project's
extensions (ALIF, Izhikevich, MultiSpikeLIF, CubaEILIF, SparseLinear). Neuron nodes *are* the ``Params``
classes of :mod:`neuro.core.neurons`, so a neuron's parameters are defined once. Shapes never
include the batch dimension. Each node validates its fields on construction (raising
:class:`~neuro.core.errors.NodeError` or :class:`~neuro.core.errors.ParameterError`) and
answers ``output_shape(input_shape)``.

Equations of the linear nodes (``x`` input, ``y`` output):

=============  ===========================================================================
Affine         ``y = W x + b``, ``W`` (out, in)
Linear         ``y = W x``
Conv1d/2d      cross-correlation, PyTorch's conventions and output-size formula
SumPool2d      window sum; AvgPool2d is SumPool2d scaled by ``1 / (kH kW)``
Flatten        reshape of dims ``start_dim..end_dim`` of the non-batch shape
Scale          ``y = s * x``
Delay          ``y(t) = x(t - delay)`` (seconds, per element)
Threshold      ``y = H(x - threshold)``
SparseLinear   ``y = W x`` with ``W`` in CSR over *inputs*: row ``j`` lists the targets of
               input ``j`` (sorted int32 ``indices``) with ``weights`` and optional
               per-synapse ``delays`` (s)
=============  ===========================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from neuro.core.errors import NodeError, ShapeError
from neuro.core.neurons import alif, cuba_ei_lif, cuba_li, cuba_lif, iaf, integrator, izhikevich, li, lif, multispike_lif
from neuro.core.neurons._common import AbstractParams

Shape = tuple[int, ...]


def _array(node: Any, name: str, ndim: int | None = None, dtype: Any = np.float64) -> np.ndarray:
    value = getattr(node, name)
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        raise NodeError(f"{node.node_type}.{name} must be numeric, got {value!r}", field=name) from None
    if ndim is not None and arr.ndim != ndim:
        raise NodeError(
            f"{node.node_type}.{name} must have {ndim} dimension(s), got shape {arr.shape}", field=name
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise NodeError(f"{node.node_type}.{name} contains non-finite values", field=name)
    arr.setflags(write=False)
    object.__setattr__(node, name, arr)
    return arr


def _shape(node: Any, name: str, allow_none: bool = False) -> Shape | None:
    value = getattr(node, name)
    if value is None and allow_none:
        return None
    try:
        shape = tuple(int(s) for s in np.atleast_1d(np.asarray(value)))
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise NodeError(
            f"{node.node_type}.{name} must be a tuple of positive integers, got {value!r}", field=name
        )
    object.__setattr__(node, name, shape)
    return shape


def _pair(node: Any, name: str, n: int, minimum: int) -> tuple[int, ...]:
    value = getattr(node, name)
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "iu" or arr.ndim != 1 or len(arr) not in (1, n):
        raise NodeError(
            f"{node.node_type}.{name} must be an int or {n} ints, got {value!r}", field=name
        )
    out = tuple(int(v) for v in np.broadcast_to(arr, (n,)))
    if any(v < minimum for v in out):
        raise NodeError(f"{node.node_type}.{name} must be >= {minimum}, got {out}", field=name)
    object.__setattr__(node, name, out)
    return out


def _expect(node: Any, input_shape: Shape, ndim: int, what: str) -> None:
    if len(input_shape) != ndim:
        raise ShapeError(f"{node.node_type} expects {what}, got input shape {tuple(input_shape)}")


@dataclass(frozen=True, eq=False)
class Input:
    """Graph entry with the shape of one sample (no batch dimension)."""

    shape: Any
    node_type: ClassVar[str] = "Input"

    def __post_init__(self) -> None:
        _shape(self, "shape")

    def output_shape(self, input_shape: Shape) -> Shape:
        return self.shape


@dataclass(frozen=True, eq=False)
class Output:
    """Graph exit; ``shape`` is inferred when None."""

    shape: Any = None
    node_type: ClassVar[str] = "Output"

    def __post_init__(self) -> None:
        _shape(self, "shape", allow_none=True)

    def output_shape(self, input_shape: Shape) -> Shape:
        if self.shape is not None and tuple(input_shape) != self.shape:
            raise ShapeError(f"Output declared shape {self.shape} but receives {tuple(input_shape)}")
        return tuple(input_shape)


@dataclass(frozen=True, eq=False)
class Linear:
    """``y = W x`` with ``weight`` of shape (out, in)."""

    weight: Any
    node_type: ClassVar[str] = "Linear"

    def __post_init__(self) -> None:
        _array(self, "weight", 2)

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.weight.shape[1],):
            raise ShapeError(
                f"{self.node_type} with weight {self.weight.shape} expects input "
                f"({self.weight.shape[1]},), got {tuple(input_shape)}"
            )
        return (self.weight.shape[0],)


@dataclass(frozen=True, eq=False)
class Affine(Linear):
    """``y = W x + b`` with ``weight`` (out, in) and ``bias`` (out,)."""

    bias: Any = None
    node_type: ClassVar[str] = "Affine"

    def __post_init__(self) -> None:
        _array(self, "weight", 2)
        if self.bias is None:
            object.__setattr__(self, "bias", np.zeros(self.weight.shape[0]))
        bias = _array(self, "bias", 1)
        if bias.shape != (self.weight.shape[0],):
            raise NodeError(
                f"Affine.bias has shape {bias.shape}, expected ({self.weight.shape[0]},)", field="bias"
            )


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D cross-correlation; ``weight`` (C_out, C_in / groups, kH, kW).

    ``padding`` is an int, a pair, ``"valid"`` (0) or ``"same"`` (stride 1 only).
    ``input_shape`` (H, W) is optional; the graph infers it.
    """

    weight: Any
    bias: Any = None
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    input_shape: Any = None
    node_type: ClassVar[str] = "Conv2d"
    spatial: ClassVar[int] = 2

    def __post_init__(self) -> None:
        n = self.spatial
        w = _array(self, "weight", n + 2)
        if self.bias is None:
            object.__setattr__(self, "bias", np.zeros(w.shape[0]))
        if _array(self, "bias", 1).shape != (w.shape[0],):
            raise NodeError(f"{self.node_type}.bias must have shape ({w.shape[0]},)", field="bias")
        stride = _pair(self, "stride", n, 1)
        _pair(self, "dilation", n, 1)
        if isinstance(self.padding, str):
            if self.padding not in ("same", "valid"):
                raise NodeError(f"{self.node_type}.padding must be an int, 'same' or 'valid'", field="padding")
            if self.padding == "same" and any(s != 1 for s in stride):
                raise NodeError(f"{self.node_type}: padding='same' needs stride 1", field="padding")
        else:
            _pair(self, "padding", n, 0)
        if not isinstance(self.groups, int | np.integer) or self.groups < 1 or w.shape[0] % self.groups:
            raise NodeError(
                f"{self.node_type}.groups={self.groups!r} must be a positive divisor of C_out={w.shape[0]}",
                field="groups",
            )
        object.__setattr__(self, "groups", int(self.groups))
        if self.input_shape is not None:
            shape = tuple(int(s) for s in np.atleast_1d(self.input_shape))
            if len(shape) != n or any(s <= 0 for s in shape):
                raise NodeError(f"{self.node_type}.input_shape must be {n} positive ints", field="input_shape")
            object.__setattr__(self, "input_shape", shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        n = self.spatial
        _expect(self, input_shape, n + 1, f"(C_in{', H, W' if n == 2 else ', L'})")
        c_in = self.weight.shape[1] * self.groups
        if input_shape[0] != c_in:
            raise ShapeError(f"{self.node_type} expects {c_in} input channels, got input {tuple(input_shape)}")
        spatial_in = tuple(input_shape[1:])
        if self.input_shape is not None and self.input_shape != spatial_in:
            raise ShapeError(f"{self.node_type}.input_shape={self.input_shape} but receives {spatial_in}")
        kernel = self.weight.shape[2:]
        if self.padding == "same":
            out = spatial_in
        else:
            pad = (0,) * n if self.padding == "valid" else self.padding
            out = tuple(
                _conv_out(s, k, st, p, d)
                for s, k, st, p, d in zip(spatial_in, kernel, self.stride, pad, self.dilation, strict=True)
            )
        if any(o <= 0 for o in out):
            raise ShapeError(f"{self.node_type} output would be empty for input {tuple(input_shape)}")
        return (self.weight.shape[0], *out)


@dataclass(frozen=True, eq=False)
class Conv1d(Conv2d):
    """1-D cross-correlation; ``weight`` (C_out, C_in / groups, K); input (C_in, L)."""

    node_type: ClassVar[str] = "Conv1d"
    spatial: ClassVar[int] = 1


@dataclass(frozen=True, eq=False)
class SumPool2d:
    """Window sum over (H, W) with ``kernel_size``, ``stride``, ``padding`` (pairs of ints)."""

    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    node_type: ClassVar[str] = "SumPool2d"

    def __post_init__(self) -> None:
        _pair(self, "kernel_size", 2, 1)
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel_size)
        _pair(self, "stride", 2, 1)
        _pair(self, "padding", 2, 0)

    def output_shape(self, input_shape: Shape) -> Shape:
        _expect(self, input_shape, 3, "(C, H, W)")
        out = tuple(
            _conv_out(s, k, st, p, 1)
            for s, k, st, p in zip(input_shape[1:], self.kernel_size, self.stride, self.padding, strict=True)
        )
        if any(o <= 0 for o in out):
            raise ShapeError(f"{self.node_type} output would be empty for input {tuple(input_shape)}")
        return (input_shape[0], *out)


@dataclass(frozen=True, eq=False)
class AvgPool2d(SumPool2d):
    """Window mean: SumPool2d scaled by ``1 / (kH kW)``."""

    node_type: ClassVar[str] = "AvgPool2d"


@dataclass(frozen=True, eq=False)
class Flatten:
    """Flatten dims ``start_dim..end_dim`` (inclusive) of the non-batch shape."""

    start_dim: int = 0
    end_dim: int = -1
    node_type: ClassVar[str] = "Flatten"

    def __post_init__(self) -> None:
        for name in ("start_dim", "end_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise NodeError(f"Flatten.{name} must be an int, got {value!r}", field=name)
            object.__setattr__(self, name, int(value))

    def output_shape(self, input_shape: Shape) -> Shape:
        n = len(input_shape)
        start = self.start_dim + n if self.start_dim < 0 else self.start_dim
        end = self.end_dim + n if self.end_dim < 0 else self.end_dim
        if not (0 <= start <= end < n):
            raise ShapeError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) does not fit input "
                f"shape {tuple(input_shape)}"
            )
        return (*input_shape[:start], math.prod(input_shape[start : end + 1]), *input_shape[end + 1 :])


@dataclass(frozen=True, eq=False)
class _Elementwise:
    node_type: ClassVar[str] = ""
    param: ClassVar[str] = ""

    def __post_init__(self) -> None:
        _array(self, self.param)

    def output_shape(self, input_shape: Shape) -> Shape:
        own = getattr(self, self.param).shape
        if own and own != tuple(input_shape):
            raise ShapeError(f"{self.node_type} has shape {own} but receives {tuple(input_shape)}")
        return tuple(input_shape)


@dataclass(frozen=True, eq=False)
class Scale(_Elementwise):
    """``y = scale * x`` elementwise."""

    scale: Any = 1.0
    node_type: ClassVar[str] = "Scale"
    param: ClassVar[str] = "scale"


@dataclass(frozen=True, eq=False)
class Threshold(_Elementwise):
    """``y = H(x - threshold)``."""

    threshold: Any = 1.0
    node_type: ClassVar[str] = "Threshold"
    param: ClassVar[str] = "threshold"


@dataclass(frozen=True, eq=False)
class Delay(_Elementwise):
    """``y(t) = x(t - delay)``, ``delay`` in seconds (>= 0) per element."""

    delay: Any = 0.0
    node_type: ClassVar[str] = "Delay"
    param: ClassVar[str] = "delay"

    def __post_init__(self) -> None:
        if (_array(self, "delay") < 0).any():
            raise NodeError("Delay.delay must be >= 0 seconds", field="delay")


@dataclass(frozen=True, eq=False)
class SparseLinear:
    """Sparse projection ``y = W x`` stored as CSR over inputs (row ``j`` = input ``j``).

    Args:
        shape: ``(n_out, n_in)`` like a dense weight.
        indptr: int32, length ``n_in + 1``, non-decreasing from 0 to ``nnz``.
        indices: int32 target indices, strictly increasing within each row.
        weights: ``nnz`` weights.
        delays: optional ``nnz`` per-synapse delays in seconds (>= 0).
    """

    shape: Any
    indptr: Any
    indices: Any
    weights: Any
    delays: Any = None
    node_type: ClassVar[str] = "SparseLinear"

    def __post_init__(self) -> None:
        n_out, n_in = _shape(self, "shape") or (0, 0)
        if len(self.shape) != 2:
            raise NodeError(f"SparseLinear.shape must be (n_out, n_in), got {self.shape}", field="shape")
        indptr = _array(self, "indptr", 1, np.int64)
        indices = _array(self, "indices", 1, np.int64)
        weights = _array(self, "weights", 1)
        if len(indptr) != n_in + 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            raise NodeError(
                f"SparseLinear.indptr must have n_in + 1 = {n_in + 1} non-decreasing entries from 0",
                field="indptr",
            )
        nnz = int(indptr[-1])
        if len(indices) != nnz or len(weights) != nnz:
            raise NodeError(
                f"SparseLinear: indptr says {nnz} synapses but indices has {len(indices)} and "
                f"weights {len(weights)}",
                field="indices",
            )
        if nnz and (indices.min() < 0 or indices.max() >= n_out):
            bad = int(np.flatnonzero((indices < 0) | (indices >= n_out))[0])
            raise NodeError(
                f"SparseLinear.indices[{bad}] = {indices[bad]} is outside [0, {n_out})", field="indices"
            )
        rows = np.repeat(np.arange(n_in), np.diff(indptr))
        unsorted = (np.diff(indices) <= 0) & (rows[1:] == rows[:-1]) if nnz > 1 else np.zeros(0, bool)
        if unsorted.any():
            bad = int(np.flatnonzero(unsorted)[0]) + 1
            raise NodeError(
                f"SparseLinear.indices must increase strictly within each row; row {rows[bad]} "
                f"breaks at synapse {bad}",
                field="indices",
            )
        for name, dt in (("indptr", np.int32), ("indices", np.int32)):
            arr = getattr(self, name).astype(dt)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.delays is not None:
            delays = _array(self, "delays", 1)
            if len(delays) != nnz or (delays < 0).any():
                raise NodeError(f"SparseLinear.delays must be {nnz} values >= 0 s", field="delays")

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.shape[1],):
            raise ShapeError(f"SparseLinear expects input ({self.shape[1]},), got {tuple(input_shape)}")
        return (self.shape[0],)

    def to_dense(self) -> np.ndarray:
        """The dense ``(n_out, n_in)`` weight matrix."""
        dense = np.zeros(self.shape)
        rows = np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))
        dense[self.indices, rows] = self.weights
        return dense


# Neuron nodes are the core models' Params: one definition of their fields.
I = integrator.Params
IF = iaf.Params
LI = li.Params
LIF = lif.Params
CubaLI = cuba_li.Params
CubaLIF = cuba_lif.Params
ALIF = alif.Params
Izhikevich = izhikevich.Params
MultiSpikeLIF = multispike_lif.Params
CubaEILIF = cuba_ei_lif.Params

NEURON_TYPES: tuple[type[AbstractParams], ...] = (
    I, IF, LI, LIF, CubaLI, CubaLIF, ALIF, Izhikevich, MultiSpikeLIF, CubaEILIF,
)
OTHER_TYPES: tuple[type, ...] = (
    Input, Output, Affine, Linear, Conv1d, Conv2d, Flatten, SumPool2d, AvgPool2d, Scale, Delay,
    Threshold, SparseLinear,
)
NODE_TYPES: dict[str, type] = {cls.node_type: cls for cls in (*OTHER_TYPES, *NEURON_TYPES)}
"""Every IR node type by name."""

NIR_TYPES: frozenset[str] = frozenset(
    {"Input", "Output", "Affine", "Linear", "Conv1d", "Conv2d", "Flatten", "SumPool2d", "AvgPool2d",
     "Scale", "Delay", "Threshold", "I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"}
)
"""The node types NIR can express."""

Node = Any


def is_stateful(node: Node) -> bool:
    """Neurons and delays hold state across time steps, so cycles through them are causal."""
    return isinstance(node, AbstractParams | Delay)


def node_fields(node: Node) -> list[str]:
    """The data fields of a node, in declaration order."""
    return [f.name for f in fields(node)]


__all__ = [
    "ALIF", "AvgPool2d", "Affine", "Conv1d", "Conv2d", "CubaEILIF", "CubaLI", "CubaLIF", "Delay", "Flatten", "I",
    "IF", "Input", "Izhikevich", "LI", "LIF", "Linear", "MultiSpikeLIF", "NIR_TYPES", "NODE_TYPES",
    "Output", "Scale", "SparseLinear", "SumPool2d", "Threshold", "is_stateful", "node_fields",
]

"""Lava-dl ``netx`` HDF5: the network format Loihi 2 loads through ``lava.lib.dl.netx.hdf5.Network``.

Layout (as lava-dl's slayer ``export_hdf5`` writes it and ``netx/hdf5.py`` reads it;
``lava-nc/lava-dl`` d825ac5, ``src/lava/lib/dl/slayer/block/base.py`` and ``neuron/cuba.py``)::

    layer/0/type = [b"input"]     shape = (C, H, W) or (N,)
    layer/i/type = [b"flatten"]   shape = (N, 1, 1)
    layer/i/type = [b"dense"]     shape = (N_out,), inFeatures, outFeatures, weight (out, in), [bias]
    layer/i/type = [b"conv"]      shape = (C, H, W), inChannels, outChannels, kernelSize (kH, kW),
                                  stride, padding, dilation (H, W order), groups,
                                  weight (C_out, C_in / groups, kH, kW), [bias]
    layer/i/neuron/{type="CUBA", iDecay, vDecay, vThMant, refDelay=1, gradedSpike=False}

Fixed point (slayer's CUBA): the current and voltage decays are 12-bit fractions,
``iDecay = round(4096 (1 - d_u))`` and ``vDecay = round(4096 (1 - d_v))`` (``d = exp(-dt/tau)``
with the exact discretisation); weights are 8-bit signed mantissas stored doubled (even integers in
[-256, 254], slayer's ``quantize_8bit``); ``vThMant`` (17 bits unsigned) and the bias (13 bits
signed) share the weights' scale. The scale is a power of two per layer, chosen as large as the
words allow unless ``weight_exp`` fixes it; lava's ``optimize_weight_bits`` then picks Loihi's
weight exponent from these integers. Loihi fires when ``v > vThMant`` and resets ``v`` to 0, as
neuro's ``H(v - v_threshold)`` with ``ResetToValue(v_reset=0)`` does. neuro's metadata (dt,
method, per-layer scale exponent, source nodes) is kept in HDF5 attributes, which netx ignores.

Not expressible on Loihi (:func:`netx_lint`): reset by subtraction, a non-zero reset value,
per-neuron decays or thresholds, node types other than Linear/Affine/Conv2d + LI/I + LIF/IF/
CubaLIF, branches, and values that do not fit the words. CubaLIF is exported with matched DC
gain but one step earlier (see :mod:`neuro.export._layers`), reported as an unchecked constraint.
Lava additionally truncates ``u`` and ``v`` to integers each step; :func:`read_netx` gives the
real-valued dynamics of the stored integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neuro import ir
from neuro.core.errors import DataFormatError, ParameterError, UnsupportedNodeError
from neuro.export._layers import CubaLayer, graph_from_layers, layers_from_graph
from neuro.export.errors import raise_for
from neuro.hardware.violations import Kind, Violation

DECAY_ONE = 4096  # 12-bit decay fractions
WEIGHT_BITS = 8
THRESHOLD_MAX = (1 << 17) - 1
BIAS_MAX = (1 << 12) - 1  # 13-bit signed mantissa
DEFAULT_DT = 1e-3


@dataclass(frozen=True)
class NetxLayer:
    """The integers written for one layer, and its scale: real value = integer / 2**scale_exp."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    i_decay: int
    v_decay: int
    v_th_mant: int
    scale_exp: int
    exact: bool


def _resolve(graph: ir.Graph, dt: float | None, method: str | None) -> tuple[float, str]:
    dt = graph.dt if dt is None else float(dt)
    if dt is None:
        raise ParameterError("no time step: pass dt= or record 'dt' in the graph metadata", "dt")
    return dt, method or str(graph.metadata.get("method", "exact"))


def _auto_exp(layer: CubaLayer) -> int:
    """The largest power-of-two scale at which every word of ``layer`` fits."""
    limits = [(np.abs(layer.weight).max(initial=0.0), 2 * (2 ** (WEIGHT_BITS - 1) - 1)),
              (abs(layer.threshold), THRESHOLD_MAX),
              (np.abs(layer.bias_v).max(initial=0.0), BIAS_MAX)]  # fmt: skip
    exps = [math.floor(math.log2(lim / need)) for need, lim in limits if need > 0]
    return min(exps) if exps else 0


def quantise_layer(layer: CubaLayer, weight_exp: int | None = None) -> tuple[NetxLayer, list[Violation]]:
    """Loihi's integers for ``layer`` at scale ``2**weight_exp`` (automatic when None)."""
    exp = _auto_exp(layer) if weight_exp is None else int(weight_exp)
    scale = 2.0**exp
    out: list[Violation] = []
    mant = np.round(layer.weight * scale / 2.0)
    lo, hi = -(2 ** (WEIGHT_BITS - 1)), 2 ** (WEIGHT_BITS - 1) - 1
    if mant.size and (mant.min() < lo or mant.max() > hi):
        need = int(np.ceil(np.log2(np.abs(mant).max() + 1))) + 1
        out.append(Violation(layer.name, "weight_bits", need, WEIGHT_BITS, Kind.PRECISION,
                             f"weights need {need} bits at scale 2^{exp}; lower weight_exp or leave it automatic"))  # fmt: skip
    vth = round(layer.threshold * scale)
    if vth > THRESHOLD_MAX or vth < 1:
        out.append(Violation(layer.name, "vThMant", vth, THRESHOLD_MAX, Kind.PRECISION,
                             f"threshold {layer.threshold:g} is {vth} at scale 2^{exp}; it must be 1..{THRESHOLD_MAX}: "
                             "rescale the weights relative to the threshold"))  # fmt: skip
    bias = np.round(layer.bias_v * scale)
    if np.abs(bias).max(initial=0) > BIAS_MAX:
        out.append(Violation(layer.name, "bias_mant", float(np.abs(bias).max()), BIAS_MAX, Kind.PRECISION,
                             "the bias does not fit 13 signed bits at this scale"))  # fmt: skip
    q = NetxLayer(layer.name, (2 * mant).astype(np.int64), bias.astype(np.int64),
                  round(DECAY_ONE * (1.0 - layer.current_decay)) if layer.current_decay > 0 else DECAY_ONE,
                  round(DECAY_ONE * (1.0 - layer.voltage_decay)), vth, exp, layer.exact)  # fmt: skip
    return q, out


def _feature_violations(layer: CubaLayer) -> list[Violation]:
    out = []
    if layer.reset == "subtract":
        out.append(Violation(layer.name, "reset", None, None, Kind.UNSUPPORTED,
                             "Loihi's CUBA neuron resets to 0; use ResetToValue(v_reset=0)"))  # fmt: skip
    if np.any(layer.bias_u != 0):
        out.append(Violation(layer.name, "current_bias", None, None, Kind.UNSUPPORTED,
                             "Loihi adds the bias to the voltage, not to a decaying current"))  # fmt: skip
    if not layer.exact:
        out.append(Violation(layer.name, "cuba_timing", None, None, Kind.UNCHECKED,
                             f"{layer.note}; the layer runs one step earlier on Loihi. For an exact export "
                             "write the layer as Linear -> LI -> LIF"))  # fmt: skip
    return out


def _layers(graph: ir.Graph, dt: float | None, method: str | None) -> tuple[list[CubaLayer], list[Violation]]:
    dt, method = _resolve(graph, dt, method)
    try:
        return layers_from_graph(graph, dt, method), []
    except UnsupportedNodeError as exc:
        return [], [Violation(n, "node_type", None, None, Kind.UNSUPPORTED, str(exc)) for n in exc.nodes]
    except ParameterError as exc:
        return [], [Violation("*", exc.field or "parameter", None, None, Kind.UNSUPPORTED, str(exc))]


def netx_lint(
    graph: ir.Graph, dt: float | None = None, method: str | None = None, weight_exp: int | None = None,
    binary_input: bool = True,
) -> list[Violation]:  # fmt: skip
    """Everything in ``graph`` that Loihi 2 (through netx) cannot express, or only approximately.

    Args:
        graph: a chain graph; dt and method default to its metadata ("exact" when not recorded).
        weight_exp: fixed power-of-two scale of every layer (None: the largest that fits).
        binary_input: the network input is binary spikes (netx's default ``input_message_bits=0``).

    Returns:
        Violations; ``Kind.UNCHECKED`` ones are approximations the writer accepts.
    """
    layers, out = _layers(graph, dt, method)
    if not binary_input:
        out.append(Violation(graph.inputs[0], "input_message_bits", None, 0, Kind.UNCHECKED,
                             "graded input: load with netx.hdf5.Network(input_message_bits=...)"))  # fmt: skip
    for layer in layers:
        out.extend(_feature_violations(layer))
        out.extend(quantise_layer(layer, weight_exp)[1])
    return out


def _string(group: h5py.Group, name: str, value: str) -> None:
    group.create_dataset(name, (1,), "S10", [value.encode("ascii")])


def write_netx(
    graph: ir.Graph, path: str | Path, *, dt: float | None = None, method: str | None = None,
    weight_exp: int | None = None,
) -> list[NetxLayer]:  # fmt: skip
    """Write ``graph`` as a lava-dl netx HDF5 file.

    Returns:
        The integers written per layer (with their scale exponents).

    Raises:
        UnsupportedNodeError: a node type or structure netx cannot hold (names the nodes).
        ExportFeatureError: reset by subtraction, per-neuron parameters, a current bias.
        ExportPrecisionError: a weight, threshold or bias that does not fit its word.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from neuro import ir
        >>> g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(np.eye(4)), ir.LIF(tau=0.02, r=50.0),
        ...                         metadata={"dt": 1e-3})
        >>> [q.v_decay for q in write_netx(g, os.path.join(tempfile.mkdtemp(), "net.h5"))]
        [200]
    """
    layers, violations = _layers(graph, dt, method)
    if any(v.constraint == "node_type" for v in violations):
        raise UnsupportedNodeError(violations[0].hint, [v.layer for v in violations])
    quantised = []
    for layer in layers:
        violations.extend(_feature_violations(layer))
        q, bad = quantise_layer(layer, weight_exp)
        violations.extend(bad)
        quantised.append(q)
    raise_for(violations, f"netx export of {len(layers)} layers")
    dt, method = _resolve(graph, dt, method)
    with h5py.File(path, "w") as f:
        f.attrs.update({"neuro_format": "netx", "neuro_dt": dt, "neuro_method": method})
        root = f.create_group("layer")
        g0 = root.create_group("0")
        _string(g0, "type", "input")
        g0.create_dataset("shape", data=np.array(graph.shapes[graph.inputs[0]]))
        index = 1
        for layer, q in zip(layers, quantised, strict=True):
            if layer.flatten:
                g = root.create_group(str(index))
                _string(g, "type", "flatten")
                g.create_dataset("shape", data=np.array([math.prod(layer.in_shape), 1, 1]))
                index += 1
            _write_layer(root.create_group(str(index)), layer, q)
            index += 1
    return quantised


def _write_layer(g: h5py.Group, layer: CubaLayer, q: NetxLayer) -> None:
    _string(g, "type", layer.kind)
    g.create_dataset("shape", data=np.array(layer.out_shape))
    if layer.conv is None:
        g.create_dataset("inFeatures", data=layer.weight.shape[1])
        g.create_dataset("outFeatures", data=layer.weight.shape[0])
    else:
        g.create_dataset("inChannels", data=layer.weight.shape[1] * layer.conv["groups"])
        g.create_dataset("outChannels", data=layer.weight.shape[0])
        g.create_dataset("kernelSize", data=np.array(layer.weight.shape[2:]))
        for key in ("stride", "padding", "dilation"):
            g.create_dataset(key, data=np.array(layer.conv[key]))
        g.create_dataset("groups", data=layer.conv["groups"])
    g.create_dataset("weight", data=q.weight)
    if np.any(q.bias):
        g.create_dataset("bias", data=q.bias)
    neuron = {"type": "CUBA", "iDecay": q.i_decay, "vDecay": q.v_decay, "vThMant": q.v_th_mant,
              "refDelay": 1, "gradedSpike": False}  # fmt: skip
    for key, value in neuron.items():
        g.create_dataset(f"neuron/{key}", data=value)
    g.attrs.update({"neuro_scale_exp": q.scale_exp, "neuro_nodes": list(layer.nodes), "neuro_exact": layer.exact})


def _read_string(ds: Any) -> str:
    value = ds[()]
    value = value[0] if getattr(value, "shape", ()) else value
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def read_netx(path: str | Path, *, dt: float | None = None, method: str | None = None) -> ir.Graph:
    """Read a netx HDF5 file (ours or slayer's) into the IR chain that runs its fixed-point values.

    Weights, thresholds and biases are divided by ``2**neuro_scale_exp`` when the file records it
    (files from other tools: scale 1, so states are in Loihi's mantissa units). ``dt`` and
    ``method`` default to the file's attributes, then to 1 ms and "exact".

    Raises:
        DataFormatError: not a netx file, a layer type or neuron type neuro cannot read (the
            message names the layer index).
    """
    path = str(path)
    layers: list[CubaLayer] = []
    with h5py.File(path, "r") as f:
        if "layer" not in f:
            raise DataFormatError("no 'layer' group: not a netx file", path)
        dt = float(f.attrs.get("neuro_dt", DEFAULT_DT)) if dt is None else float(dt)
        method = method or str(f.attrs.get("neuro_method", "exact"))
        root = f["layer"]
        input_shape: tuple[int, ...] | None = None
        flatten = False
        for i in range(len(root)):
            if str(i) not in root:
                raise DataFormatError(f"layer/{i} is missing (layers must be numbered 0..{len(root) - 1})", path)
            g = root[str(i)]
            kind = _read_string(g["type"])
            if kind == "input":
                if "neuron" in g:
                    raise DataFormatError(f"layer/{i}: an input layer with a neuron is not supported", path)
                input_shape = tuple(int(s) for s in g["shape"][()])
            elif kind == "flatten":
                flatten = True
            elif kind in ("dense", "conv"):
                prev = layers[-1].out_shape if layers else input_shape
                if prev is None:
                    raise DataFormatError(f"layer/{i}: no input layer before the first {kind} layer", path)
                layers.append(_read_layer(g, i, kind, prev, flatten, path))
                flatten = False
            else:
                raise DataFormatError(f"layer/{i}: layer type {kind!r} is not supported (dense, conv, flatten, input)", path)
    if input_shape is None or not layers:
        raise DataFormatError("the file has no input layer or no dense/conv layer", path)
    try:
        return graph_from_layers(input_shape, layers, dt, method, {"source_format": "netx"})
    except (ParameterError, ValueError) as exc:
        raise DataFormatError(f"the stored values do not form a valid network: {exc}", path) from None


def _read_layer(g: h5py.Group, i: int, kind: str, in_shape: tuple[int, ...], flatten: bool, path: str) -> CubaLayer:
    if "neuron" not in g:
        raise DataFormatError(f"layer/{i}: no neuron group", path)
    n = g["neuron"]
    ntype = _read_string(n["type"])
    if ntype not in ("CUBA", "LOIHI"):
        raise DataFormatError(f"layer/{i}: neuron type {ntype!r} is not supported (CUBA)", path)
    vals = {}
    for key in ("iDecay", "vDecay", "vThMant"):
        arr = np.atleast_1d(n[key][()])
        if not np.all(arr == arr[0]):
            raise DataFormatError(f"layer/{i}/neuron/{key}: per-neuron values are not supported", path)
        vals[key] = float(arr[0])
        if key != "vThMant" and not 0 <= vals[key] <= DECAY_ONE:
            raise DataFormatError(f"layer/{i}/neuron/{key} = {vals[key]:g} is outside 0..{DECAY_ONE}", path)
    scale = 2.0 ** -int(g.attrs.get("neuro_scale_exp", 0))
    shape = tuple(int(s) for s in g["shape"][()])
    weight = np.asarray(g["weight"][()], dtype=np.float64) * scale
    conv = None
    if kind == "dense":
        weight = weight.reshape(shape[0], -1) if weight.ndim == 1 else weight
        in_n = math.prod(in_shape)
        if weight.shape != (math.prod(shape), in_n):
            raise DataFormatError(f"layer/{i}/weight has shape {weight.shape}, expected ({math.prod(shape)}, {in_n})", path)
    else:
        weight = weight.reshape(weight.shape[:4])
        pair = lambda k: [int(v) for v in np.broadcast_to(np.asarray(g[k][()]), (2,))]  # noqa: E731
        conv = {"stride": pair("stride"), "padding": pair("padding"), "dilation": pair("dilation"),
                "groups": int(np.asarray(g["groups"][()]).reshape(-1)[0])}  # fmt: skip
    bias = np.asarray(g["bias"][()], dtype=np.float64) * scale if "bias" in g else np.zeros(shape[0])
    return CubaLayer(
        name=f"layer_{i}", nodes=tuple(g.attrs.get("neuro_nodes", ())), weight=weight,
        bias_u=np.zeros(shape[0]), bias_v=bias.reshape(-1),
        current_decay=1.0 - vals["iDecay"] / DECAY_ONE, voltage_decay=1.0 - vals["vDecay"] / DECAY_ONE,
        threshold=vals["vThMant"] * scale, reset="value", in_shape=tuple(in_shape), out_shape=shape,
        flatten=flatten, conv=conv,
    )  # fmt: skip

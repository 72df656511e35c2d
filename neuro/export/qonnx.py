"""QONNX export of a spiking chain's ANN equivalent, for hls4ml (``hls4ml.converters.convert_from_onnx_model``
after ``qonnx`` cleaning) and FINN.

Each layer of the discrete CUBA form (:mod:`neuro.export._layers`) becomes the rate model of an
integrate-and-fire neuron with reset by subtraction over ``T = 2**count_bits - 1`` steps: with the
DC drive ``c = (W x + b_u) / (1 - d_u) + b_v`` per step, the spike count is about
``clip(floor(T c / threshold), 0, T)``. In ONNX (NCHW, batch first)::

    x -> Quant(input) -> [Flatten] -> MatMul | Conv (weights through Quant) -> Add(bias through Quant)
      -> Relu -> Quant(scale 1, unsigned, count_bits, FLOOR) = spike counts -> next layer (1/T folded)

Every Quant (domain ``qonnx.custom_op.general``) has a power-of-two scale and zero point 0, which
hls4ml maps to ``ap_fixed``/``ap_ufixed`` types. The model's output is the last layer's spike
counts. What is lost: the leak of the membrane (the rate ignores ``d_v``), reset to zero (treated
as subtraction), time (no spike order, latency or temporal input), and the engine's exact spikes:
this is the standard ANN-SNN rate correspondence, exact only for IF neurons with reset by
subtraction and constant input, up to the floor at the last step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import MissingToolError, ParameterError
from neuro.export._layers import CubaLayer, layers_from_graph
from neuro.export.errors import ExportPrecisionError
from neuro.hardware.violations import Kind, Violation

QONNX_DOMAIN = "qonnx.custom_op.general"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingToolError("QONNX export needs the onnx package: pip install onnx") from None
    return onnx


def _pow2_quant(values: np.ndarray, bits: int, name: str) -> tuple[np.ndarray, int, list[Violation]]:
    """Round to the largest power-of-two scale at which ``values`` fit ``bits`` signed bits."""
    vmax = float(np.abs(values).max(initial=0.0))
    f = math.floor(math.log2((2 ** (bits - 1) - 1) / vmax)) if vmax > 0 else 0
    q = np.round(values * 2.0**f)
    bad = []
    if f < -64:
        bad.append(Violation(name, "scale", f, -64, Kind.PRECISION, "values too large for a power-of-two scale"))
    return q * 2.0**-f, f, bad


def ann_layers(graph: ir.Graph, dt: float, method: str, count_bits: int) -> list[dict[str, Any]]:
    """Per layer: the folded ANN weight (inputs are previous counts), bias, shapes and conv geometry."""
    steps = 2**count_bits - 1
    out = []
    for k, layer in enumerate(layers_from_graph(graph, dt, method)):
        out.append(_ann(layer, steps, first=k == 0))
    return out


def _ann(layer: CubaLayer, steps: int, first: bool) -> dict[str, Any]:
    if layer.threshold <= 0:
        raise ParameterError(f"node {layer.name!r}: a rate model needs a positive threshold", "v_threshold")
    dc = 1.0 / (1.0 - layer.current_decay)
    gain = steps / layer.threshold
    weight = layer.weight * dc * gain / (1.0 if first else steps)
    bias = (layer.bias_u * dc + layer.bias_v) * gain
    return {"layer": layer, "weight": weight, "bias": bias}


def write_qonnx(
    graph: ir.Graph, path: str | Path, *, dt: float | None = None, method: str | None = None, weight_bits: int = 8,
    bias_bits: int = 16, input_bits: int = 8, count_bits: int = 4,
) -> dict[str, Any]:  # fmt: skip
    """Write the QONNX model of ``graph``'s ANN equivalent and check it with ``onnx.checker``.

    Args:
        weight_bits, bias_bits: signed widths of the weight and bias Quant nodes.
        input_bits: unsigned width of the input Quant (``input_bits - 1`` fractional bits: [0, 2)).
        count_bits: width of the spike counts; the rate window is ``T = 2**count_bits - 1`` steps.

    Returns:
        A summary: per layer the weight scale exponent, and T.

    Raises:
        MissingToolError: onnx is not installed.
        UnsupportedNodeError: a node without a layer form.
        ExportPrecisionError: a scale outside what a power of two can hold.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    dt = graph.dt if dt is None else float(dt)
    if dt is None:
        raise ParameterError("no time step: pass dt= or record 'dt' in the graph metadata", "dt")
    method = method or str(graph.metadata.get("method", "exact"))
    layers = ann_layers(graph, dt, method, count_bits)
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def quant(x: str, out: str, scale: float, bits: int, signed: bool, rounding: str = "ROUND") -> str:
        args = [x, const(f"{out}_scale", scale), const(f"{out}_zeropt", 0.0), const(f"{out}_bitwidth", float(bits))]
        nodes.append(helper.make_node("Quant", args, [out], domain=QONNX_DOMAIN, name=out,
                                      signed=int(signed), narrow=0, rounding_mode=rounding))  # fmt: skip
        return out

    in_shape = list(graph.shapes[graph.inputs[0]])
    x = quant("input", "input_q", 2.0 ** -(input_bits - 1), input_bits, False)
    summary, bad = [], []
    for k, entry in enumerate(layers):
        layer: CubaLayer = entry["layer"]
        if layer.flatten:
            nodes.append(helper.make_node("Flatten", [x], [f"flat{k}"], axis=1, name=f"flat{k}"))
            x = f"flat{k}"
        wq, fw, v1 = _pow2_quant(entry["weight"], weight_bits, layer.name)
        bq, fb, v2 = _pow2_quant(entry["bias"], bias_bits, layer.name)
        bad += v1 + v2
        if layer.conv is None:
            w = quant(const(f"w{k}", wq.T), f"w{k}_q", 2.0**-fw, weight_bits, True)
            nodes.append(helper.make_node("MatMul", [x, w], [f"mm{k}"], name=f"mm{k}"))
            b = quant(const(f"b{k}", bq), f"b{k}_q", 2.0**-fb, bias_bits, True)
            nodes.append(helper.make_node("Add", [f"mm{k}", b], [f"pre{k}"], name=f"add{k}"))
        else:
            c = layer.conv
            w = quant(const(f"w{k}", wq), f"w{k}_q", 2.0**-fw, weight_bits, True)
            b = quant(const(f"b{k}", bq), f"b{k}_q", 2.0**-fb, bias_bits, True)
            nodes.append(helper.make_node(
                "Conv", [x, w, b], [f"pre{k}"], name=f"conv{k}", kernel_shape=list(wq.shape[2:]),
                strides=c["stride"], pads=[*c["padding"], *c["padding"]], dilations=c["dilation"], group=c["groups"],
            ))  # fmt: skip
        nodes.append(helper.make_node("Relu", [f"pre{k}"], [f"relu{k}"], name=f"relu{k}"))
        x = quant(f"relu{k}", f"count{k}", 1.0, count_bits, False, "FLOOR")
        summary.append({"name": layer.name, "weight_exp": -fw, "bias_exp": -fb, "exact": False})
    if bad:
        raise ExportPrecisionError(f"QONNX export: {'; '.join(map(str, bad))}", bad)
    out_shape = list(layers[-1]["layer"].out_shape)
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *in_shape])]
    model = helper.make_model(
        helper.make_graph(nodes, "neuro_ann_equivalent", inputs,
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", *out_shape])], inits),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)], producer_name="neuro",
    )  # fmt: skip
    model.metadata_props.add(key="neuro_time_steps", value=str(2**count_bits - 1))
    model.metadata_props.add(key="neuro_semantics", value="IF rate model, reset by subtraction; counts over T steps")
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return {"path": str(path), "time_steps": 2**count_bits - 1, "layers": summary}

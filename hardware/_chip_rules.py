"""Precision and unchecked-limit violations shared by the mappers, and the design rules of
single-core chips (Xylo) and TrueNorth."""

from __future__ import annotations

import numpy as np

from neuro.hardware._layers import Layer, quantisation_error
from neuro.hardware.spec import ChipSpec, Const, CoreLimits, Evidence
from neuro.hardware.violations import CoreSlice, Kind, Violation

_XYLO = "rockpool2024:xylo_mapper.py"
XYLO_LIMITS = {
    "inputs": Const(16, "count", _XYLO, Evidence.VENDOR),
    "hidden": Const(1000, "count", _XYLO, Evidence.VENDOR),
    "outputs": Const(8, "count", _XYLO, Evidence.VENDOR),
}
TRUENORTH_WEIGHTS = Const(4, "count", "akopyan2015truenorth", Evidence.UNVERIFIED, note="4 axon types per core")


def val(c: Const | None) -> float | None:
    return None if c is None else c.value


def precision(layer: Layer, bits: int, core: CoreLimits) -> list[Violation]:
    if core.weight_bits is None:
        return []
    top = core.weight_bits[1]
    if bits <= top:
        return []
    err = quantisation_error(layer.weights, top)
    return [
        Violation(
            layer.name,
            "weight_bits",
            bits,
            top,
            Kind.PRECISION,
            f"quantise to {top} bit (largest rounding error {err:.1%} of max|w|; train with quantisation to recover accuracy)",
        )
    ]


def unchecked(layers: list[Layer], core: CoreLimits, checks: dict[str, str]) -> list[Violation]:
    out = []
    for attr, what in checks.items():
        if getattr(core, attr) is None:
            out.append(Violation("*", attr, None, None, Kind.UNCHECKED, f"the chip does not publish {what}: not checked"))
    return out


def truenorth(layers: list[Layer]) -> list[Violation]:
    out = []
    limit = TRUENORTH_WEIGHTS.value
    for layer in layers:
        w = layer.weights.reshape(layer.weights.shape[0], -1) if layer.kind != "sparse" else np.zeros((0, 0))
        if layer.kind == "sparse":
            continue
        distinct = max((len(np.unique(row[row != 0])) for row in w), default=0)
        if distinct > limit:
            out.append(
                Violation(
                    layer.name,
                    "truenorth.distinct_weights",
                    distinct,
                    limit,
                    Kind.PRECISION,
                    "cluster each neuron's weights to at most 4 values (one per axon type), e.g. ternary {-w, 0, +w}",
                )
            )
    return out


def xylo(layers: list[Layer]) -> list[Violation]:
    if not layers:
        return []
    hidden = sum(layer.n_out for layer in layers[:-1])
    needs = {"inputs": layers[0].n_in, "hidden": hidden, "outputs": layers[-1].n_out}
    hints = {
        "inputs": "reduce the input channels to at most 16 (pool the filterbank)",
        "hidden": "shrink the hidden layers to at most 1000 neurons in total",
        "outputs": "use at most 8 output neurons",
    }
    return [
        Violation(
            layers[0].name if k == "inputs" else layers[-1].name, f"xylo.{k}", v, XYLO_LIMITS[k].value, Kind.WALL, hints[k]
        )
        for k, v in needs.items()
        if v > XYLO_LIMITS[k].value
    ]


def single_core(
    layers: list[Layer], bits: dict[str, int], chip: ChipSpec
) -> tuple[list[CoreSlice], dict[str, int], list[Violation], dict[str, float]]:
    """Chips with one synchronous core holding the whole network (Xylo): precision here, the
    design rules in :func:`xylo`."""
    core = chip.cores[0] if chip.cores else CoreLimits()
    violations = unchecked(layers, core, {"weight_bits": "its weight precision"})
    slices = []
    for layer in layers:
        violations += precision(layer, bits[layer.name], core)
        slices.append(CoreSlice(0, layer.name, layer.n_out, layer.synapses * bits[layer.name], layer.distinct_inputs))
    hidden = sum(layer.n_out for layer in layers[:-1])
    return slices, {layer.name: 1 for layer in layers}, violations, {"neurons": hidden / XYLO_LIMITS["hidden"].value}

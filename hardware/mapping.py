"""Does a network fit a chip? Greedy layer-to-core packing with typed violations (reference §6.4).

:func:`map_graph` takes the projection layers of an IR graph (Linear, Affine, Conv, SparseLinear,
each with the population it drives) in topological order and, per chip family:

1. **Precision.** The weight bits a layer needs (``weight_bits`` given, else the fewest bits that
   reproduce every weight within ``rel_error`` of its largest magnitude; see
   :func:`~neuro.hardware._layers.bits_needed`) against the core's weight range.
2. **Walls.** Fan-in above ``max_fan_in``; one neuron's inputs above ``max_axons_in`` (splitting
   neurons across cores cannot help); destinations above ``max_fanout_edges``; Speck's kernel,
   stride, padding, channel, map-size and destination rules; TrueNorth's four weights per neuron;
   Xylo's design rules.
3. **Packing.** ``cores_l = max(ceil(n_out / max_neurons), ceil(synapses * word_bits /
   synapse_mem_bits), ceil(distinct_inputs / max_axons_in))`` where ``synapses`` counts every
   non-zero connection (a conv expanded over its output map: these cores do not share weights)
   and ``word_bits`` is the core's synapse word, or the layer's weight bits when the chip does not
   publish one (a lower bound: no index or list overhead). Crossbars: ``tiles_l =
   ceil(fan_in / rows) * ceil(n_out * (2 if differential) * slices / cols)`` with conv ``fan_in =
   C_in * k^2`` (im2col, per group) and ``slices = ceil(magnitude_bits / cell_bits)``, the sign
   held by the differential pair. Speck: one layer per core, matched by memory. FPGA: LUT, FF,
   DSP and BRAM totals against the device (:mod:`neuro.hardware.fpga`).
4. ``chips_needed = ceil(cores_used / n_cores)``; more chips than ``max_chips`` is a wall.

The packing is greedy and layer by layer (no two layers share a core), so ``cores_used`` is an
upper bound for chips that can co-locate small layers and a lower bound for Loihi-like cores,
whose synapse lists carry overhead. A limit the chip does not publish gives one ``unchecked``
violation naming it: never a silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware import _chip_rules as _rules
from neuro.hardware import _speck, fpga
from neuro.hardware._layers import Layer, bits_needed, layers_from_graph
from neuro.hardware.spec import ChipSpec, CoreLimits, Family
from neuro.hardware.violations import CoreSlice, Kind, Violation

__all__ = ["CoreSlice", "Kind", "MappingResult", "Violation", "map_graph"]


@dataclass(frozen=True)
class MappingResult:
    """Where the layers went and what does not fit.

    Attributes:
        chip: the chip's name.
        slices: one entry per core (tile) used.
        cores_used: cores (tiles) used; ``chips_needed``: None when the chip does not say how
            many cores it has.
        per_layer_cores: cores (tiles) per layer.
        violations: every violated or unchecked constraint.
        utilisation: used / allocated fraction per resource ("neurons", "synapse_mem",
            "axons", "cells", FPGA "lut", ...).
        weight_bits: the precision each layer was checked at.
    """

    chip: str
    slices: tuple[CoreSlice, ...]
    cores_used: int
    chips_needed: int | None
    per_layer_cores: Mapping[str, int]
    violations: tuple[Violation, ...]
    utilisation: Mapping[str, float] = field(default_factory=dict)
    weight_bits: Mapping[str, int] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        """No wall, budget, precision or unsupported violation (unchecked limits do not count)."""
        return not any(v.kind is not Kind.UNCHECKED for v in self.violations)

    @property
    def unchecked(self) -> list[Violation]:
        return [v for v in self.violations if v.kind is Kind.UNCHECKED]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-compatible)."""
        return {
            "chip": self.chip,
            "fits": self.fits,
            "cores_used": self.cores_used,
            "chips_needed": self.chips_needed,
            "per_layer_cores": dict(self.per_layer_cores),
            "weight_bits": dict(self.weight_bits),
            "utilisation": dict(self.utilisation),
            "violations": [
                {
                    "layer": v.layer,
                    "constraint": v.constraint,
                    "required": v.required,
                    "limit": v.limit,
                    "kind": v.kind.value,
                    "hint": v.hint,
                }
                for v in self.violations
            ],
        }


def _layer_bits(layers: list[Layer], weight_bits: int | Mapping[str, int] | None, rel_error: float) -> dict[str, int]:
    out = {}
    for layer in layers:
        given = weight_bits.get(layer.name) if isinstance(weight_bits, Mapping) else weight_bits
        if given is not None and (not isinstance(given, int | np.integer) or given < 1):
            raise ParameterError(
                f"weight_bits for layer {layer.name!r} must be a positive int, got {given!r}", field="weight_bits"
            )
        out[layer.name] = int(given) if given is not None else bits_needed(layer.weights, rel_error)
    return out


def _neuromorphic(
    layers: list[Layer], bits: dict[str, int], chip: ChipSpec
) -> tuple[list[CoreSlice], dict[str, int], list[Violation], dict[str, float]]:
    core = chip.cores[0] if chip.cores else CoreLimits()
    violations = _rules.unchecked(
        layers,
        core,
        {
            "weight_bits": "its weight precision",
            "max_neurons": "neurons per core",
            "synapse_mem_bits": "synapse memory per core",
            "max_fan_in": "a fan-in limit",
            "max_axons_in": "input axons per core",
            "max_fanout_edges": "a fan-out limit",
        },
    )
    if len({(c.max_neurons, c.synapse_mem_bits, c.max_axons_in) for c in chip.cores}) > 1:
        violations.append(
            Violation("*", "heterogeneous_cores", None, None, Kind.UNCHECKED, "cores differ; packed against core 0's limits")
        )
    max_n, mem, axons, fan = (
        _rules.val(core.max_neurons),
        _rules.val(core.synapse_mem_bits),
        _rules.val(core.max_axons_in),
        _rules.val(core.max_fan_in),
    )
    word = _rules.val(core.synapse_word_bits)
    per_layer: dict[str, int] = {}
    slices: list[CoreSlice] = []
    used = {"neurons": 0.0, "synapse_mem": 0.0, "axons": 0.0}
    for layer in layers:
        violations += _rules.precision(layer, bits[layer.name], core)
        if fan is not None and layer.fan_in_max > fan:
            levels = math.ceil(math.log(layer.fan_in_max) / math.log(fan)) - 1 if fan > 1 else layer.fan_in_max
            violations.append(
                Violation(
                    layer.name,
                    "fan_in",
                    layer.fan_in_max,
                    fan,
                    Kind.WALL,
                    f"reduce fan-in to <= {fan:g} or split into a summing tree of {levels} extra level(s) (+1 tick per level)",
                )
            )
        if axons is not None and layer.fan_in_max > axons:
            violations.append(
                Violation(
                    layer.name,
                    "axons_in",
                    layer.fan_in_max,
                    axons,
                    Kind.WALL,
                    f"one neuron needs {layer.fan_in_max} input axons but a core has {axons:g}: split each neuron into "
                    f"{math.ceil(layer.fan_in_max / axons)} dendritic compartments summed on-chip, or reduce fan-in",
                )
            )
        syn_bits = layer.synapses * (word if word is not None else bits[layer.name])
        terms = [1]
        if max_n is not None:
            terms.append(math.ceil(layer.n_out / max_n))
        if mem is not None:
            terms.append(math.ceil(syn_bits / mem))
        if axons is not None:
            terms.append(math.ceil(layer.distinct_inputs / axons))
        cores = max(terms)
        per_layer[layer.name] = cores
        for i in range(cores):
            share = layer.n_out // cores + (i < layer.n_out % cores)
            slices.append(
                CoreSlice(
                    len(slices),
                    layer.name,
                    share,
                    int(syn_bits // cores),
                    min(layer.distinct_inputs, int(axons or layer.distinct_inputs)),
                )
            )
        used["neurons"] += layer.n_out
        used["synapse_mem"] += syn_bits
        used["axons"] += min(layer.distinct_inputs, cores * (axons or layer.distinct_inputs))
    fanout = _rules.val(core.max_fanout_edges)
    for layer in layers:
        dest = sum(per_layer.get(d, 0) for d in layer.destinations)
        if fanout is not None and dest > fanout:
            copies = math.ceil(dest / fanout)
            violations.append(
                Violation(
                    layer.name,
                    "fan_out",
                    dest,
                    fanout,
                    Kind.WALL,
                    f"neurons reach {dest} destination cores: add {copies - 1} copy(ies) of each neuron "
                    f"(+{layer.n_out * (copies - 1)} neurons, splitter neurons) or relay cores",
                )
            )
    total = len(slices)
    util = {}
    for key, cap in (("neurons", max_n), ("synapse_mem", mem), ("axons", axons)):
        if cap is not None and total:
            util[key] = used[key] / (total * cap)
    return slices, per_layer, violations, util


def _speck_map(
    layers: list[Layer], bits: dict[str, int], chip: ChipSpec
) -> tuple[list[CoreSlice], dict[str, int], list[Violation], dict[str, float]]:
    core = chip.cores[0] if chip.cores else CoreLimits(weight_bits=(8, 8))
    violations: list[Violation] = []
    for layer in layers:
        violations += _rules.precision(layer, bits[layer.name], core)
        violations += _speck.layer_rules(layer)
    assignment, matched = _speck.match_cores(layers, chip.cores)
    violations += matched
    slices = [
        CoreSlice(assignment[layer.name], layer.name, layer.n_out, layer.stored_nonzero * bits[layer.name], layer.c_in)
        for layer in layers
        if layer.name in assignment
    ]
    per_layer = {layer.name: 1 for layer in layers}
    kernel = sum(_speck.kernel_memory(s_l.c_in, s_l.c_out, s_l.kernel) for s_l in layers if s_l.name in assignment)
    cap = sum(_speck.core_memories(chip.cores)[0][c] for c in assignment.values())
    return slices, per_layer, violations, ({"kernel_mem": kernel / cap} if cap else {})


def _crossbar(
    layers: list[Layer], bits: dict[str, int], chip: ChipSpec
) -> tuple[list[CoreSlice], dict[str, int], list[Violation], dict[str, float]]:
    xb = chip.crossbar
    if xb is None:
        raise ParameterError(f"chip {chip.name!r} is a crossbar chip without a CrossbarSpec", field="crossbar")
    per_layer: dict[str, int] = {}
    slices: list[CoreSlice] = []
    cells_used = 0
    for layer in layers:
        signed = bool((layer.weights < 0).any())
        magnitude = bits[layer.name] - 1 if (signed and xb.differential and bits[layer.name] > 1) else bits[layer.name]
        n_slices = math.ceil(magnitude / xb.cell_bits) if xb.cell_bits > 0 else 1
        pair = 2 if xb.differential else 1
        if layer.kind == "conv":
            groups = layer.groups
            fan_in = (layer.c_in // groups) * math.prod(layer.kernel)
            cols = (layer.c_out // groups) * pair * n_slices
        else:
            groups, fan_in, cols = 1, layer.n_in, layer.n_out * pair * n_slices
        tiles = groups * math.ceil(fan_in / xb.rows) * math.ceil(cols / xb.cols)
        per_layer[layer.name] = tiles
        cells_used += groups * fan_in * cols
        for _ in range(tiles):
            slices.append(
                CoreSlice(
                    len(slices),
                    layer.name,
                    min(layer.c_out, xb.cols // (pair * n_slices)),
                    xb.rows * xb.cols * max(xb.cell_bits, 1),
                    min(fan_in, xb.rows),
                )
            )
    util = {"cells": cells_used / (len(slices) * xb.rows * xb.cols)} if slices else {}
    return slices, per_layer, [], util


CUSTOM_CHECKS = {"truenorth": _rules.truenorth, "xylo": _rules.xylo}
"""Chip-specific design rules, keyed by the prefix of the chip's name."""


def map_graph(
    graph: ir.Graph,
    chip: ChipSpec,
    *,
    weight_bits: int | Mapping[str, int] | None = None,
    rel_error: float = 0.01,
    max_chips: int = 1,
    fpga_config: fpga.FpgaConfig | None = None,
) -> MappingResult:
    """Pack ``graph``'s layers onto ``chip`` and report what does not fit.

    Args:
        graph: the network.
        chip: the target.
        weight_bits: the precision the weights will be quantised to (one int, or per layer
            name); when absent, the bits needed for ``rel_error`` (see module docstring).
        rel_error: largest rounding error, relative to max|w|, that the computed precision allows.
        max_chips: more chips than this is a ``wall`` ("chips").
        fpga_config: precision and reuse factor for FPGA chips.

    Returns:
        A :class:`MappingResult`; ``result.fits`` says whether it maps.

    Raises:
        ParameterError: a bad ``weight_bits`` or ``rel_error``, or a chip without the spec its
            family needs.

    Example:
        >>> import numpy as np
        >>> from neuro import ir
        >>> from neuro.hardware.spec import ChipSpec, Family
        >>> g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(np.ones((2, 4))), ir.LIF(tau=0.01))
        >>> map_graph(g, ChipSpec("ops", Family.DIGITAL_OPS, "", None)).fits
        True
    """
    layers = layers_from_graph(graph)
    bits = _layer_bits(layers, weight_bits, rel_error)
    violations: list[Violation] = []
    util: dict[str, float] = {}
    slices: list[CoreSlice] = []
    per_layer: dict[str, int] = {}
    name = chip.name.lower()
    if chip.family is Family.DIGITAL_OPS:
        violations.append(
            Violation("*", "capacity", None, None, Kind.UNCHECKED, "the chip prices operations only and has no core model")
        )
    elif chip.family is Family.FPGA:
        if chip.fpga is None:
            raise ParameterError(f"chip {chip.name!r} is an FPGA chip without an FpgaSpec", field="fpga")
        config = fpga_config or fpga.FpgaConfig(weight_bits=max(bits.values(), default=8))
        violations += fpga.check_fit(graph, chip.fpga, config)
        est = fpga.estimate(graph, chip.fpga, config)
        util = {k: getattr(est, k) / getattr(chip.fpga, k) for k in ("lut", "ff", "dsp", "bram36")}
    elif chip.family is Family.CROSSBAR:
        slices, per_layer, violations, util = _crossbar(layers, bits, chip)
    elif name.startswith("xylo"):
        slices, per_layer, violations, util = _rules.single_core(layers, bits, chip)
    elif name.startswith(("speck", "dynapcnn")):
        slices, per_layer, violations, util = _speck_map(layers, bits, chip)
    else:
        slices, per_layer, violations, util = _neuromorphic(layers, bits, chip)
    for prefix, check in CUSTOM_CHECKS.items():
        if name.startswith(prefix):
            violations += check(layers)
    cores_used = len({s.core_id for s in slices})
    chips_needed = None
    if chip.family in (Family.NEUROMORPHIC, Family.CROSSBAR):
        if chip.n_cores is None:
            violations.append(
                Violation(
                    "*", "cores_per_chip", cores_used, None, Kind.UNCHECKED, "the chip does not say how many cores it has"
                )
            )
        else:
            chips_needed = math.ceil(cores_used / chip.n_cores) if cores_used else 0
            if chips_needed > max_chips:
                biggest = max(per_layer, key=per_layer.__getitem__)
                violations.append(
                    Violation(
                        "*",
                        "chips",
                        chips_needed,
                        max_chips,
                        Kind.WALL,
                        f"the network needs {cores_used} cores ({chip.n_cores} per chip); the largest layer {biggest!r} "
                        f"needs {per_layer[biggest]}: split the network across {chips_needed} chips (max_chips) or shrink it",
                    )
                )
    elif chip.family is Family.FPGA:
        chips_needed = 1 if not any(v.kind is Kind.WALL for v in violations) else None
    return MappingResult(
        chip=chip.name,
        slices=tuple(slices),
        cores_used=cores_used,
        chips_needed=chips_needed,
        per_layer_cores=MappingProxyType(per_layer),
        violations=tuple(violations),
        utilisation=MappingProxyType(util),
        weight_bits=MappingProxyType(bits),
    )

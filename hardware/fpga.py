"""Resources, latency and energy of a time-multiplexed, clock-driven spiking accelerator on an FPGA.

The model follows hls4ml's conventions (reference §9, ``fastmachinelearning/hls4ml`` ef92ebd,
grade D: a proposal to calibrate against synthesis reports). For each layer with reuse factor
``RF``:

- parallel synapse units ``P = ceil(nnz_stored / RF)`` (hls4ml ``multiplier_limit``; a conv
  kernel is stored once and applied at every output position);
- products: a binary spike times a weight is a mux (``P * w_bits`` LUTs, no DSP); a graded input
  (the first layer) is a multiply: on DSPs when ``max(w_bits, a_bits) > lut_mult_threshold_bits``
  (``ceil(w/27) * ceil(a/18)`` DSP48E2 per multiplier), otherwise ``P * w_bits * a_bits`` LUTs;
- accumulators: ``P * state_bits`` LUTs and FFs (one adder of the state width per unit);
- neuron units ``U = ceil(n_out / RF)``: ``3 * U * state_bits`` LUTs (leak, compare, reset) and
  ``U * state_bits`` FFs;
- BRAM36: weights ``max(ceil(nnz * w_bits / 36864), ceil(P * w_bits / 72))`` (capacity, and the
  72-bit port width for ``P`` words per cycle) plus membrane state likewise with ``U`` words;
- cycles per time step ``ceil(ops / P) + ceil(n_out / U) + ceil(log2 fan_in) + pipeline``,
  layers run one after another; latency = ``steps * sum(cycles) / clock``.

Energy = static power x latency + the dynamic terms whose price the device gives (DSP
operations, BRAM word reads, LUT toggles approximated by synaptic operations x state bits);
missing prices are listed in ``unpriced``, never taken as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware._layers import Layer, layers_from_graph
from neuro.hardware.presets.fpga import DEVICES, RESOURCE_SOURCES, XC7A35T, ZU3EG, ZU9EG  # noqa: F401 (defined once there)
from neuro.hardware.spec import FpgaSpec
from neuro.hardware.violations import Kind, Violation

BRAM36_BITS = 36 * 1024
BRAM36_PORT_BITS = 72


@dataclass(frozen=True)
class FpgaConfig:
    """Precision and parallelism of the accelerator.

    Args:
        weight_bits, state_bits: ap_fixed widths of weights and membrane state.
        input_bits: width of graded inputs (layers not fed by spikes).
        reuse_factor: how many cycles each synapse unit is reused per pass (1 = fully parallel).
        pipeline_cycles: fixed pipeline depth per layer.
    """

    weight_bits: int = 8
    state_bits: int = 16
    input_bits: int = 8
    reuse_factor: int = 256
    pipeline_cycles: int = 3

    def __post_init__(self) -> None:
        for name in ("weight_bits", "state_bits", "input_bits", "reuse_factor"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ParameterError(f"FpgaConfig.{name} must be a positive int, got {value!r}", field=name)
        if self.pipeline_cycles < 0:
            raise ParameterError("FpgaConfig.pipeline_cycles must be >= 0", field="pipeline_cycles")


@dataclass(frozen=True)
class LayerResources:
    """One layer's resources and cycles per time step."""

    layer: str
    synapse_units: int
    neuron_units: int
    lut: int
    ff: int
    dsp: int
    bram36: int
    cycles_per_step: int
    ops_per_step: int
    dsp_mapped: bool


@dataclass(frozen=True)
class FpgaEstimate:
    """Per-layer resources, totals, latency and energy of one inference of ``steps`` steps."""

    layers: tuple[LayerResources, ...]
    lut: int
    ff: int
    dsp: int
    bram36: int
    cycles: int
    latency_s: float
    energy_j: float
    unpriced: tuple[str, ...]


def layer_resources(layer: Layer, spec: FpgaSpec, config: FpgaConfig) -> LayerResources:
    """Resources of one layer (see the module docstring for every formula)."""
    rf = config.reuse_factor
    w, s = config.weight_bits, config.state_bits
    units = max(1, math.ceil(layer.stored_nonzero / rf))
    neurons = max(1, math.ceil(layer.n_out / rf))
    dsp = 0
    if layer.binary_input:
        lut_mult = units * w
    else:
        a = config.input_bits
        if max(w, a) > spec.lut_mult_threshold_bits:
            wide, narrow = max(w, a), min(w, a)
            dsp = units * math.ceil(wide / spec.dsp_mult_bits[0]) * math.ceil(narrow / spec.dsp_mult_bits[1])
            lut_mult = 0
        else:
            lut_mult = units * w * a
    lut = lut_mult + units * s + 3 * neurons * s
    ff = units * s + neurons * s
    bram = max(math.ceil(layer.stored_nonzero * w / BRAM36_BITS), math.ceil(units * w / BRAM36_PORT_BITS))
    bram += max(math.ceil(layer.n_out * s / BRAM36_BITS), math.ceil(neurons * s / BRAM36_PORT_BITS))
    ops = layer.synapses
    cycles = (
        math.ceil(ops / units)
        + math.ceil(layer.n_out / neurons)
        + math.ceil(math.log2(max(layer.fan_in_max, 1)))
        + config.pipeline_cycles
    )
    return LayerResources(layer.name, units, neurons, lut, ff, dsp, bram, cycles, ops, dsp > 0)


def estimate(graph: ir.Graph, spec: FpgaSpec, config: FpgaConfig | None = None, steps: int = 1) -> FpgaEstimate:
    """Resources, latency and energy of ``graph`` on ``spec`` for one sample of ``steps`` steps.

    Example:
        >>> import numpy as np
        >>> from neuro import ir
        >>> g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(np.ones((2, 4))), ir.LIF(tau=0.01))
        >>> estimate(g, XC7A35T, FpgaConfig(reuse_factor=4)).dsp
        0
    """
    config = config or FpgaConfig()
    if not isinstance(steps, int) or steps < 1:
        raise ParameterError(f"steps must be a positive int, got {steps!r}", field="steps")
    rows = tuple(layer_resources(layer, spec, config) for layer in layers_from_graph(graph))
    cycles = steps * sum(r.cycles_per_step for r in rows)
    latency = cycles / spec.clock_hz.value
    energy, unpriced = 0.0, []
    if spec.static_power is not None:
        energy += spec.static_power.value * latency
    else:
        unpriced.append("static_power")
    terms = (
        ("e_dsp_op", spec.e_dsp_op, sum(r.ops_per_step for r in rows if r.dsp_mapped)),
        ("e_bram_read", spec.e_bram_read, sum(r.ops_per_step for r in rows)),
        ("e_lut_toggle", spec.e_lut_toggle, sum(r.ops_per_step for r in rows) * config.state_bits),
    )
    for name, price, count in terms:
        if count == 0:
            continue
        if price is None:
            unpriced.append(name)
        else:
            energy += price.value * count * steps
    return FpgaEstimate(
        layers=rows,
        lut=sum(r.lut for r in rows),
        ff=sum(r.ff for r in rows),
        dsp=sum(r.dsp for r in rows),
        bram36=sum(r.bram36 for r in rows),
        cycles=cycles,
        latency_s=latency,
        energy_j=energy,
        unpriced=tuple(unpriced),
    )


def check_fit(graph: ir.Graph, spec: FpgaSpec, config: FpgaConfig | None = None) -> list[Violation]:
    """A ``wall`` violation per device resource the network exceeds, with the reuse factor that
    would fit (searched over powers of two up to 4096) or "use a larger device"."""
    config = config or FpgaConfig()
    est = estimate(graph, spec, config)
    totals = {"lut": est.lut, "ff": est.ff, "dsp": est.dsp, "bram36": est.bram36}
    over = {k: v for k, v in totals.items() if v > getattr(spec, k)}
    if not over:
        return []
    better = None
    rf = config.reuse_factor * 2
    while rf <= 4096 and better is None:
        trial = estimate(
            graph, spec, FpgaConfig(config.weight_bits, config.state_bits, config.input_bits, rf, config.pipeline_cycles)
        )
        if all(getattr(trial, k) <= getattr(spec, k) for k in totals):
            better = rf
        rf *= 2
    hint = (
        f"raise the reuse factor to {better} (fewer parallel units, more cycles per step)"
        if better
        else "use a larger device or lower the weight/state precision: no reuse factor up to 4096 fits"
    )
    return [Violation("*", f"fpga.{k}", float(v), float(getattr(spec, k)), Kind.WALL, hint) for k, v in over.items()]

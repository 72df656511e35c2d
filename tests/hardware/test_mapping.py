"""map_graph per chip family: a network that fits, and one that breaks each checked limit."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware import _speck
from neuro.hardware._layers import bits_needed, layers_from_graph
from neuro.hardware.fpga import XC7A35T, ZU9EG
from neuro.hardware.mapping import Kind, map_graph
from neuro.hardware.spec import ChipSpec, Const, CoreLimits, CrossbarSpec, Evidence, Family


def c(value, unit="count", source="davies2018loihi:T1"):
    return Const(float(value), unit, source, Evidence.SIMULATED)


LOIHI = ChipSpec(
    "loihi",
    Family.NEUROMORPHIC,
    "Loihi-like test literal",
    128,
    cores=(
        CoreLimits(
            max_neurons=c(1024),
            synapse_mem_bits=c(128 * 1024 * 8, "bit"),
            max_fan_in=None,
            max_axons_in=c(4096),
            max_fanout_edges=c(4096),
            weight_bits=(1, 9),
        ),
    ),
)
TRUENORTH = ChipSpec(
    "truenorth",
    Family.NEUROMORPHIC,
    "TrueNorth-like test literal",
    4096,
    cores=(
        CoreLimits(
            max_neurons=c(256, source="merolla2014truenorth"),
            max_fan_in=c(256, source="merolla2014truenorth"),
            max_axons_in=c(256, source="merolla2014truenorth"),
            synapse_mem_bits=c(65536, "bit", "merolla2014truenorth"),
            synapse_word_bits=c(1, "bit", "merolla2014truenorth"),
            max_fanout_edges=c(1, source="merolla2014truenorth"),
            weight_bits=(9, 9),
        ),
    ),
)
SPECK = ChipSpec("speck", Family.NEUROMORPHIC, "Speck test literal", 9, cores=(CoreLimits(weight_bits=(8, 8)),) * 9)
XYLO = ChipSpec(
    "xylo_audio2",
    Family.NEUROMORPHIC,
    "Xylo test literal",
    1,
    cores=(CoreLimits(max_neurons=c(1000, source="rockpool"), weight_bits=(8, 8)),),
)
RRAM = ChipSpec(
    "rram_crossbar",
    Family.CROSSBAR,
    "NeuroSim-like crossbar",
    64,
    crossbar=CrossbarSpec(rows=128, cols=128, differential=True, cell_bits=1),
)
FPGA_SMALL = ChipSpec("fpga_artix", Family.FPGA, "Artix-7 35T", None, fpga=XC7A35T)
FPGA_BIG = ChipSpec("fpga_zu9", Family.FPGA, "ZU9EG", None, fpga=ZU9EG)


def mlp(rng, sizes, integer=True):
    nodes = [ir.Input((sizes[0],))]
    for a, b in itertools.pairwise(sizes):
        w = rng.integers(-100, 101, (b, a)).astype(float) if integer else rng.normal(size=(b, a))
        nodes += [ir.Linear(w), ir.LIF(tau=0.01)]
    return ir.Graph.sequential(*nodes)


def conv_net(rng, c_in=2, c_out=4, k=3, size=16, stride=1, padding=1, n_out=10):
    conv = ir.Conv2d(rng.integers(-50, 51, (c_out, c_in, k, k)).astype(float), stride=stride, padding=padding)
    g = ir.Graph.sequential(ir.Input((c_in, size, size)), conv, ir.LIF(tau=0.01))
    flat = math.prod(g.shapes["conv2d_1"])
    return ir.Graph.sequential(
        ir.Input((c_in, size, size)),
        conv,
        ir.LIF(tau=0.01),
        ir.Flatten(),
        ir.Linear(rng.integers(-50, 51, (n_out, flat)).astype(float)),
        ir.LIF(tau=0.01),
    )


def kinds(result, constraint):
    return [v.kind for v in result.violations if v.constraint == constraint]


# bits needed ---------------------------------------------------------------------------------


def test_bits_needed_integers_and_relative_error(rng):
    assert bits_needed(np.array([-100.0, 3, 100])) == 8  # 7 magnitude bits + sign
    assert bits_needed(np.array([0.0, 1, 255])) == 8
    assert bits_needed(np.array([-0.75, 0.5, 0.25])) == 3  # levels k * 0.25, |k| <= 3: exact at 3 bits
    w = rng.normal(size=1000)
    b = bits_needed(w, rel_error=0.01)
    step = lambda bits: np.abs(w).max() / (2 ** (bits - 1) - 1)  # noqa: E731
    assert step(b) / 2 <= 0.01 * np.abs(w).max() * 1.0001 or b == 32
    assert bits_needed(w, rel_error=0.1) < b
    with pytest.raises(ParameterError, match="rel_error"):
        bits_needed(w, rel_error=0.0)


def test_conv_synapses_counted_exactly_with_borders(rng):
    layer = layers_from_graph(conv_net(rng, size=8))[0]
    # per axis, the 3 taps read a real input at 7, 8, 7 of the 8 output positions (padding 1)
    nz = np.count_nonzero(layer.weights)
    assert layer.synapses == sum(
        int(layer.weights[o, i, a, b] != 0) * [7, 8, 7][a] * [7, 8, 7][b]
        for o in range(4)
        for i in range(2)
        for a in range(3)
        for b in range(3)
    )
    assert layer.stored_nonzero == nz
    assert layer.binary_input is False
    assert layers_from_graph(conv_net(rng, size=8))[1].binary_input is True


# neuromorphic: Loihi-like ----------------------------------------------------------------------


def test_loihi_fits_and_packs(rng):
    result = map_graph(mlp(rng, [100, 300, 10]), LOIHI)
    assert result.fits
    assert result.per_layer_cores == {"linear_1": 1, "linear_3": 1}
    assert result.chips_needed == 1
    assert kinds(result, "max_fan_in") == [Kind.UNCHECKED]  # not published: never a silent pass
    assert 0 < result.utilisation["neurons"] <= 1


def test_loihi_packing_formula_neurons_memory_axons(rng):
    # 3000 neurons -> 3 cores by neurons; 5000 x 3000 x 8 bit = 120 Mbit -> 115 cores by memory;
    # one neuron's fan-in 5000 > 4096 axons -> wall
    g = mlp(rng, [5000, 3000])
    result = map_graph(g, LOIHI, weight_bits=8, max_chips=4)
    syn = np.count_nonzero(g.nodes["linear_1"].weight)
    assert result.per_layer_cores["linear_1"] == max(3, math.ceil(syn * 8 / (128 * 1024 * 8)), 2)
    assert kinds(result, "axons_in") == [Kind.WALL]
    assert "compartments" in next(v.hint for v in result.violations if v.constraint == "axons_in")


def test_loihi_precision_violation_names_bits(rng):
    result = map_graph(mlp(rng, [20, 10]), LOIHI, weight_bits=12)
    (v,) = [v for v in result.violations if v.constraint == "weight_bits"]
    assert (v.kind, v.required, v.limit) == (Kind.PRECISION, 12, 9)
    assert "quantise to 9 bit" in v.hint
    assert not result.fits
    real = map_graph(mlp(rng, [20, 10], integer=False), LOIHI, rel_error=0.001)  # 0.1 % needs > 9 bits
    assert kinds(real, "weight_bits") == [Kind.PRECISION]


def test_loihi_too_many_cores_for_one_chip(rng):
    g = mlp(rng, [3000, 3000, 3000])  # 9 M synapses x 9 bit per layer: 78 cores each
    result = map_graph(g, LOIHI, weight_bits=9)
    assert result.per_layer_cores["linear_1"] == math.ceil(np.count_nonzero(g.nodes["linear_1"].weight) * 9 / (128 * 1024 * 8))
    assert result.chips_needed == math.ceil(result.cores_used / 128) == 2
    (v,) = [v for v in result.violations if v.constraint == "chips"]
    assert v.kind is Kind.WALL
    assert "split the network across" in v.hint
    assert map_graph(g, LOIHI, weight_bits=9, max_chips=2).fits


# neuromorphic: TrueNorth-like --------------------------------------------------------------------


def test_truenorth_fits_small_ternary(rng):
    w1 = rng.choice([-1.0, 0.0, 1.0], (100, 200))
    g = ir.Graph.sequential(ir.Input((200,)), ir.Linear(w1), ir.LIF(tau=0.01))
    result = map_graph(g, TRUENORTH)
    assert result.fits, [str(v) for v in result.violations]


def test_truenorth_walls_fan_in_fan_out_distinct_weights(rng):
    g = mlp(rng, [300, 600, 10])
    result = map_graph(g, TRUENORTH)
    assert {v.layer for v in result.violations if v.constraint == "fan_in" and v.kind is Kind.WALL} == {"linear_1", "linear_3"}
    assert "summing tree" in next(v.hint for v in result.violations if v.constraint == "fan_in")
    assert Kind.PRECISION in kinds(result, "truenorth.distinct_weights")
    fan_out = [v for v in result.violations if v.constraint == "fan_out"]
    assert fan_out
    assert fan_out[0].layer == "linear_1"
    assert "copy" in fan_out[0].hint


# Speck --------------------------------------------------------------------------------------------


def test_speck_memory_formula_matches_sinabs_docs_example():
    assert _speck.kernel_memory(16, 32, (3, 3)) == 8 * 1024
    assert _speck.neuron_memory(32, (64, 64)) == 128 * 1024


def test_speck_fits_small_cnn(rng):
    result = map_graph(conv_net(rng, c_in=2, c_out=8, size=32, stride=2), SPECK)
    assert result.fits, [str(v) for v in result.violations]
    assert len({s.core_id for s in result.slices}) == 2


@pytest.mark.parametrize(
    ("kwargs", "constraint"),
    [
        (dict(k=17, padding=0, size=40), "speck.kernel"),
        (dict(stride=3, padding=0, size=30), "speck.stride"),
        (dict(size=130, stride=4, padding=0), "speck.input_size"),
        (dict(size=66, stride=1, padding=0, k=1, c_out=2), "speck.output_size"),
        (dict(padding=8, size=8, k=17), "speck.padding"),
        (dict(c_in=1030, size=4, k=1, padding=0), "speck.channels_in"),
        (dict(c_in=16, c_out=32, size=64, padding=1), "speck.memory"),
    ],
)
def test_speck_each_rule(rng, kwargs, constraint):
    result = map_graph(conv_net(rng, **kwargs), SPECK)
    assert constraint in {v.constraint for v in result.violations}, [str(v) for v in result.violations]
    assert not result.fits


def test_speck_destinations_and_cores(rng):
    w = rng.integers(-5, 6, (4, 4)).astype(float)
    nodes = {
        "in": ir.Input((4,)),
        "a": ir.Linear(w),
        "n": ir.LIF(tau=0.01),
        "b": ir.Linear(w),
        "c": ir.Linear(w),
        "d": ir.Linear(w),
        "out": ir.Output(),
    }
    edges = [("in", "a"), ("a", "n"), ("n", "b"), ("n", "c"), ("n", "d"), ("b", "out"), ("c", "out"), ("d", "out")]
    result = map_graph(ir.Graph(nodes, edges), SPECK)
    assert kinds(result, "speck.destinations") == [Kind.WALL]
    chain = mlp(rng, [8] * 11)  # 10 layers, 9 cores
    assert kinds(map_graph(chain, SPECK), "speck.cores") == [Kind.WALL]


# Xylo --------------------------------------------------------------------------------------------


def test_xylo_rules(rng):
    assert map_graph(mlp(rng, [16, 500, 8]), XYLO).fits
    bad = map_graph(mlp(rng, [20, 700, 400, 9]), XYLO)
    assert {"xylo.inputs", "xylo.hidden", "xylo.outputs"} <= {v.constraint for v in bad.violations}


# crossbar ----------------------------------------------------------------------------------------


def test_crossbar_tiles_formula(rng):
    g = mlp(rng, [300, 100])  # 8-bit signed: 7 magnitude bits -> 7 slices of 1-bit cells, x2 differential
    result = map_graph(g, RRAM)
    assert result.weight_bits["linear_1"] == 8
    assert result.per_layer_cores["linear_1"] == math.ceil(300 / 128) * math.ceil(100 * 2 * 7 / 128)
    assert result.fits
    assert result.chips_needed == math.ceil(result.cores_used / 64)


def test_crossbar_conv_uses_im2col_fan_in(rng):
    g = conv_net(rng, c_in=32, c_out=16, k=3, size=8, n_out=4)
    result = map_graph(g, RRAM, weight_bits=2)  # 1 magnitude bit: one slice
    assert result.per_layer_cores["conv2d_1"] == math.ceil(32 * 9 / 128) * math.ceil(16 * 2 / 128)


def test_crossbar_too_many_tiles(rng):
    result = map_graph(mlp(rng, [1024, 1024]), RRAM)
    assert kinds(result, "chips") == [Kind.WALL]


# FPGA and digital --------------------------------------------------------------------------------


def test_fpga_fits_big_device_not_small(rng):
    g = mlp(rng, [784, 512, 512, 10])
    assert map_graph(g, FPGA_BIG).fits
    small = map_graph(g, FPGA_SMALL)
    assert not small.fits
    assert any(v.constraint.startswith("fpga.") and v.kind is Kind.WALL for v in small.violations)
    assert small.utilisation["bram36"] > 1


def test_digital_ops_is_unchecked_not_failed(rng):
    result = map_graph(mlp(rng, [10, 5]), ChipSpec("digital45", Family.DIGITAL_OPS, "", None))
    assert result.fits
    assert [v.constraint for v in result.unchecked] == ["capacity"]


def test_unknown_limits_are_all_reported(rng):
    bare = ChipSpec("mystery", Family.NEUROMORPHIC, "", None, cores=(CoreLimits(),))
    result = map_graph(mlp(rng, [10, 5]), bare)
    assert result.fits
    assert {v.constraint for v in result.unchecked} == {
        "weight_bits",
        "max_neurons",
        "synapse_mem_bits",
        "max_fan_in",
        "max_axons_in",
        "max_fanout_edges",
        "cores_per_chip",
    }


def test_bad_arguments_are_typed(rng):
    with pytest.raises(ParameterError, match="linear_1"):
        map_graph(mlp(rng, [10, 5]), LOIHI, weight_bits={"linear_1": 0})
    with pytest.raises(ParameterError, match="CrossbarSpec"):
        map_graph(mlp(rng, [10, 5]), ChipSpec("x", Family.CROSSBAR, "", 1))
    assert map_graph(mlp(rng, [10, 5]), LOIHI).to_dict()["fits"] is True


# the shipped presets ---------------------------------------------------------------------------


def preset(name):
    from neuro.hardware.presets import get_chip

    return get_chip(name)


def test_presets_fit_small_networks(rng):
    assert map_graph(mlp(rng, [100, 300, 10]), preset("loihi")).fits
    assert map_graph(mlp(rng, [16, 500, 8]), preset("xylo_audio2")).fits
    assert map_graph(conv_net(rng, c_in=2, c_out=8, size=32, stride=2), preset("speck")).fits
    assert map_graph(mlp(rng, [100, 50]), preset("rram_crossbar")).fits
    assert map_graph(mlp(rng, [64, 32, 10]), preset("fpga_artix7")).fits
    result = map_graph(mlp(rng, [100, 50]), preset("digital45_snn"))
    assert result.fits
    assert result.unchecked


def test_presets_report_violations(rng):
    tn = map_graph(mlp(rng, [300, 100]), preset("truenorth"))
    assert Kind.WALL in kinds(tn, "fan_in")
    assert Kind.PRECISION in kinds(map_graph(mlp(rng, [20, 10]), preset("loihi"), weight_bits=12), "weight_bits")
    assert "speck.memory" in {
        v.constraint for v in map_graph(conv_net(rng, c_in=16, c_out=32, size=64), preset("speck")).violations
    }
    assert Kind.WALL in kinds(map_graph(mlp(rng, [20, 10]), preset("xylo_audio2")), "xylo.inputs")
    assert not map_graph(mlp(rng, [784, 512, 512, 10]), preset("fpga_artix7")).fits
    spinnaker = map_graph(mlp(rng, [10, 5]), preset("spinnaker2"))
    assert {"max_neurons", "weight_bits"} <= {v.constraint for v in spinnaker.unchecked}


def test_speck_preset_memories_agree_with_sinabs_table():
    kernel, neuron = _speck.core_memories(preset("speck").cores)
    assert kernel == [k.value for k in _speck.KERNEL_MEM]
    assert neuron == [n.value for n in _speck.NEURON_MEM]

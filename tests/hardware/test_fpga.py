"""FPGA resource model: formulas by hand, monotonicity in the reuse factor, fit checks, energy."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware import fpga
from neuro.hardware._layers import layers_from_graph
from neuro.hardware.fpga import XC7A35T, ZU9EG, FpgaConfig, check_fit, estimate, layer_resources
from neuro.hardware.mapping import Kind
from neuro.hardware.spec import Const, Evidence


@pytest.fixture
def small(rng):
    return ir.Graph.sequential(
        ir.Input((8,)),
        ir.Linear(rng.uniform(0.1, 1, (8, 8))),
        ir.LIF(tau=0.01),
        ir.Linear(rng.uniform(0.1, 1, (4, 8))),
        ir.LIF(tau=0.01),
    )


def test_binary_layer_by_hand(small):
    spiking = layers_from_graph(small)[1]
    r = layer_resources(spiking, ZU9EG, FpgaConfig(weight_bits=8, state_bits=16, reuse_factor=4))
    assert (r.synapse_units, r.neuron_units) == (8, 1)  # ceil(32 / 4), ceil(4 / 4)
    assert r.lut == 8 * 8 + 8 * 16 + 3 * 1 * 16  # muxes + accumulators + neuron unit
    assert r.ff == 8 * 16 + 1 * 16
    assert r.dsp == 0
    assert r.bram36 == 1 + 1  # weights (256 bit, 64-bit port) + states
    assert r.cycles_per_step == 32 // 8 + 4 // 1 + 3 + 3  # synapse passes + neuron passes + log2(8) + pipeline


def test_graded_layer_uses_dsp_above_threshold(small):
    first = layers_from_graph(small)[0]
    assert not first.binary_input
    wide = layer_resources(first, ZU9EG, FpgaConfig(weight_bits=8, input_bits=16, reuse_factor=4))
    assert wide.dsp == 16 * 1 * 1  # 16 multipliers, 16x8 fits one DSP48E2
    narrow = layer_resources(first, ZU9EG, FpgaConfig(weight_bits=8, input_bits=8, reuse_factor=4))
    assert narrow.dsp == 0
    assert narrow.lut == 16 * 8 * 8 + 16 * 16 + 3 * 2 * 16
    huge = layer_resources(first, ZU9EG, FpgaConfig(weight_bits=32, input_bits=20, reuse_factor=4))
    assert huge.dsp == 16 * 2 * 2  # ceil(32 / 27) * ceil(20 / 18) DSPs per multiplier


def test_monotone_in_reuse_factor(rng):
    g = ir.Graph.sequential(
        ir.Input((64,)), ir.Linear(rng.normal(size=(128, 64))), ir.LIF(tau=0.01), ir.Linear(rng.normal(size=(10, 128)))
    )
    rows = [estimate(g, ZU9EG, FpgaConfig(reuse_factor=rf, input_bits=12)) for rf in (1, 2, 4, 8, 16, 64, 256)]
    for a, b in itertools.pairwise(rows):
        assert b.lut <= a.lut
        assert b.ff <= a.ff
        assert b.dsp <= a.dsp
        assert b.bram36 <= a.bram36
        assert b.cycles >= a.cycles
    assert rows[0].lut > rows[-1].lut
    assert rows[0].cycles < rows[-1].cycles


def test_latency_and_energy(small):
    cfg = FpgaConfig(reuse_factor=4)
    one = estimate(small, ZU9EG, cfg, steps=1)
    ten = estimate(small, ZU9EG, cfg, steps=10)
    assert ten.cycles == 10 * one.cycles
    assert ten.latency_s == pytest.approx(10 * one.cycles / 300e6)
    assert "static_power" in ten.unpriced
    assert ten.energy_j == 0.0
    priced = replace(
        ZU9EG,
        static_power=Const(0.5, "W", "li2023firefly:Sec.V", Evidence.DERIVED),
        e_bram_read=Const(1e-12, "J", "hls4ml2018", Evidence.DERIVED),
    )
    est = estimate(small, priced, cfg, steps=10)
    ops = sum(r.ops_per_step for r in est.layers)
    assert est.energy_j == pytest.approx(0.5 * est.latency_s + 1e-12 * ops * 10)
    assert "static_power" not in est.unpriced
    assert "e_lut_toggle" in est.unpriced
    with pytest.raises(ParameterError, match="steps"):
        estimate(small, ZU9EG, cfg, steps=0)


def mlp(rng, n_hidden):
    return ir.Graph.sequential(
        ir.Input((784,)),
        ir.Linear(rng.normal(size=(n_hidden, 784))),
        ir.LIF(tau=0.01),
        ir.Linear(rng.normal(size=(10, n_hidden))),
        ir.LIF(tau=0.01),
    )


def test_network_that_needs_a_higher_reuse_factor(rng):
    g = mlp(rng, 128)
    violations = check_fit(g, XC7A35T, FpgaConfig(reuse_factor=4))
    assert violations
    assert all(v.kind is Kind.WALL for v in violations)
    rf = int(re.search(r"reuse factor to (\d+)", violations[0].hint).group(1))
    assert check_fit(g, XC7A35T, FpgaConfig(reuse_factor=rf)) == []
    assert check_fit(g, XC7A35T, FpgaConfig(reuse_factor=rf // 2)) != []


def test_network_too_large_for_the_device(rng):
    g = mlp(rng, 512)  # 3.2 Mbit of 8-bit weights, the XC7A35T has 50 x 36 Kbit of BRAM
    violations = check_fit(g, XC7A35T)
    bram = next(v for v in violations if v.constraint == "fpga.bram36")
    assert bram.required > bram.limit == 50
    assert "larger device" in bram.hint
    assert check_fit(g, ZU9EG) == []


def test_device_resources_are_cited():
    from neuro.hardware.presets import bibliography

    keys = set(bibliography())
    for name, spec in fpga.DEVICES.items():
        for resource, const in fpga.RESOURCE_SOURCES[name].items():
            assert getattr(spec, resource) == const.value
            assert const.key in keys
        assert spec.clock_hz.key in keys


def test_bad_config():
    with pytest.raises(ParameterError, match="reuse_factor"):
        FpgaConfig(reuse_factor=0)
    with pytest.raises(ParameterError, match="weight_bits"):
        FpgaConfig(weight_bits=np.int64(8).item() - 8)

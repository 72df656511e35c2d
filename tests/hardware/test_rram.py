"""Resistive-memory model: quantisation, noise statistics, faults, drift, graph perturbation, reservoirs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware import rram
from neuro.hardware.rram import (
    AdditiveReadNoise,
    PowerLawDrift,
    RefitDrift,
    RRAMDevice,
    perturb_graph,
    perturb_weights,
    sample_reservoir,
)

US = 1e-6


def quantised(w, top):
    w_max = np.abs(w).max()
    return np.round(np.abs(w) / w_max * top) / top * w_max * np.sign(w)


def test_ideal_quantised_device_is_rounding(rng):
    w = rng.normal(size=(50, 40))
    dev = RRAMDevice("ideal", 0.0, 10 * US, levels=2, slices=4)
    np.testing.assert_allclose(perturb_weights(w, dev, rng), quantised(w, 15), atol=1e-12)
    single = RRAMDevice("single", 1 * US, 10 * US, levels=4, slices=2, differential=False)
    w_max = np.abs(w).max()
    expect = (2 * np.round((w + w_max) / 2 / w_max * 15) / 15 - 1) * w_max
    np.testing.assert_allclose(perturb_weights(w, single, rng), expect, atol=1e-12)
    analogue = RRAMDevice("analogue", 0.0, 10 * US)
    np.testing.assert_allclose(perturb_weights(w, analogue, rng), w, atol=1e-12)


def test_levels_count(rng):
    dev = RRAMDevice("ml", 0.0, 10 * US, levels=4, slices=2)  # 15 magnitudes, signed: 31 values
    out = perturb_weights(rng.uniform(-1, 1, 20000), dev, rng)
    assert dev.weight_levels == 31
    assert len(np.unique(np.round(out, 12))) == 31


def test_programming_noise_sigma_matches_model(rng):
    dev = RRAMDevice("noisy", 10 * US, 50 * US, prog_poly=(0.5 * US,))
    w = np.full(40000, 0.5)
    w[0] = 1.0  # w_max = 1: targets g+ = 30 uS, g- = 10 uS, far from the 0 S clip
    out = perturb_weights(w, dev, rng)[1:]
    expected = math.sqrt(2) * 0.5 * US / (40 * US)  # two cells, each sigma 0.5 uS, over the 40 uS window
    assert abs(out.std() / expected - 1) < 0.03
    assert abs(out.mean() - 0.5) < 4 * expected / math.sqrt(out.size)


def test_preset_polynomials_by_hand():
    assert rram.PCM_AIHWKIT.prog_sigma(np.array([25 * US]))[0] == pytest.approx((0.26348 + 1.9650 - 1.1731) * US)
    wan = rram.RRAM_WAN2022.prog_sigma(np.array([20 * US]))[0]  # x = 0.5: about 2 uS (reference 8.2)
    assert wan == pytest.approx((0.348 + 16.03 / 2 - 43.853 / 4 + 45.393 / 8 - 16.815 / 16) * US)
    assert 1.9 * US < wan < 2.1 * US


def test_multiplicative_spread_and_read_noise(rng):
    dev = RRAMDevice("d2d", 10 * US, 50 * US, d2d_sigma=0.05)
    w = np.ones(40000)
    out = perturb_weights(w, dev, rng)  # g+ = 50 uS * (1 + 0.05 N), g- = 10 uS * (1 + 0.05 N)
    expected = math.hypot(0.05 * 50, 0.05 * 10) / 40
    assert abs(out.std() / expected - 1) < 0.03
    read = RRAMDevice("read", 10 * US, 50 * US, read_noise=AdditiveReadNoise(0.02))
    out = perturb_weights(w, read, rng)
    assert abs(out.std() / (math.sqrt(2) * 0.02 * 50 / 40) - 1) < 0.03


def test_stuck_at_fault_fractions(rng):
    p_on, p_off = 0.1, 0.05
    dev = RRAMDevice("faulty", 0.0, 10 * US, levels=2, p_stuck_on=p_on, p_stuck_off=p_off)
    out = np.round(perturb_weights(np.ones(50000), dev, rng), 9)
    n = out.size
    expect = {1.0: (1 - p_off) * (1 - p_on), 0.0: p_off * (1 - p_on) + (1 - p_off) * p_on, -1.0: p_off * p_on}
    for value, p in expect.items():
        frac = np.mean(out == value)
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n), (value, frac, p)


def test_power_law_drift_is_monotone(rng):
    dev = RRAMDevice("pcm_drift", 0.0, 25 * US, drift=PowerLawDrift(20.0))
    w = rng.uniform(0.1, 1.0, 5000)
    means = [np.abs(perturb_weights(w, dev, np.random.default_rng(1), t=t)).mean() for t in (1.0, 20.0, 1e3, 1e5, 1e7)]
    assert means[0] == pytest.approx(means[1])  # no drift before t0
    assert all(a > b for a, b in itertools.pairwise(means[1:]))
    nu = -np.log(means[3] / means[2]) / np.log(100)
    assert 0.04 <= nu <= 0.1  # near aihwkit's clipped mean exponent range [0.049, 0.1] (Jensen lowers it)


def test_refit_drift_widens_the_spread(rng):
    base = (0.5 * US,)
    dev = RRAMDevice("rram", 10 * US, 50 * US, prog_poly=base, drift=RefitDrift(((1.0, base), (86400.0, (1.0 * US,)))))
    w = np.ones(40000)
    early = perturb_weights(w, dev, np.random.default_rng(2), t=10.0).std()
    late = perturb_weights(w, dev, np.random.default_rng(2), t=1e5).std()
    assert abs(early / (math.sqrt(2) * 0.5 / 40) - 1) < 0.03
    assert abs(late / (math.sqrt(2) * 1.0 / 40) - 1) < 0.03


def test_perturb_graph_replaces_every_projection(rng):
    conv = ir.Conv2d(rng.normal(size=(3, 2, 3, 3)), bias=np.arange(3.0))
    lin = rng.normal(size=(5, 3 * 6 * 6))
    sparse = ir.SparseLinear((4, 5), indptr=[0, 2, 3, 3, 4, 5], indices=[0, 3, 1, 2, 0], weights=[0.5, -1.0, 0.25, 2.0, -0.75])
    g = ir.Graph.sequential(
        ir.Input((2, 8, 8)),
        conv,
        ir.LIF(tau=0.01),
        ir.Flatten(),
        ir.Affine(lin, np.ones(5)),
        ir.LIF(tau=0.01),
        sparse,
        ir.LIF(tau=0.01),
    )
    ideal = RRAMDevice("ideal", 0.0, 10 * US, levels=2, slices=8)
    out = perturb_graph(g, ideal, rng)
    assert out.edges == g.edges
    assert out.metadata["rram_device"] == "ideal"
    np.testing.assert_allclose(out.nodes["conv2d_1"].weight, quantised(conv.weight, 255), atol=1e-12)
    np.testing.assert_array_equal(out.nodes["conv2d_1"].bias, conv.bias)
    np.testing.assert_allclose(out.nodes["affine_4"].weight, quantised(lin, 255), atol=1e-12)
    np.testing.assert_allclose(out.nodes["sparselinear_6"].weights, quantised(sparse.weights, 255), atol=1e-12)
    assert out.nodes["lif_2"] is g.nodes["lif_2"]
    noisy = perturb_graph(g, rram.RRAM_WAN2022, rng, t=1.0)
    assert not np.allclose(noisy.nodes["affine_4"].weight, lin)
    assert np.corrcoef(noisy.nodes["affine_4"].weight.ravel(), lin.ravel())[0, 1] > 0.9


def test_sample_reservoir_statistics(rng):
    shape = (200, 256)  # Lin et al.: 256 inputs (16x16 N-MNIST) into 200 LIF neurons
    w = sample_reservoir(shape, rram.RRAM_MNSIM, rng, spread=0.3, scale=0.07)
    assert w.shape == shape
    assert abs(w.std() / 0.07 - 1) < 0.05
    assert abs(w.mean()) < 4 * 0.07 / math.sqrt(w.size)
    sparse = sample_reservoir(shape, rram.RRAM_WAN2022, rng, density=0.2)
    assert abs(np.mean(sparse != 0) - 0.2) < 0.01
    stuck = sample_reservoir((400, 400), RRAMDevice("f", 1 * US, 100 * US, levels=2, p_stuck_on=0.2), rng, spread=0.01)
    w_on = (100 - 50.5) / (math.sqrt(2) * 0.01 * 50.5) * 0.07  # G+ stuck on, G- at the target
    assert np.mean(stuck > 0.9 * w_on) == pytest.approx(0.2 * 0.8, abs=0.01)
    with pytest.raises(ParameterError, match="variability"):
        sample_reservoir(shape, RRAMDevice("clean", 0.0, 10 * US), rng)


def test_presets_are_cited_and_consistent():
    from neuro.hardware.presets import bibliography

    keys = set(bibliography())
    for dev in rram.DEVICES.values():
        assert dev.provenance, dev.name
        for name, const in dev.provenance.items():
            assert const.key in keys, (dev.name, name, const.source)
            value = getattr(dev, name)
            if isinstance(value, int | float):
                assert value == pytest.approx(const.value), (dev.name, name)
    noise = rram.RRAM_MNSIM.weight_noise()
    assert noise["levels"] == 2 * 255 + 1
    assert noise["sigma_mul"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(g_min=2e-5, g_max=1e-5), "g_min"),
        (dict(levels=1), "levels"),
        (dict(levels=0, slices=2), "slices"),
        (dict(p_stuck_on=1.5), "p_stuck_on"),
        (dict(d2d_sigma=-0.1), "d2d_sigma"),
    ],
)
def test_bad_device_parameters(kwargs, field):
    args = dict(name="bad", g_min=0.0, g_max=1e-5) | kwargs
    with pytest.raises(ParameterError) as err:
        RRAMDevice(**args)
    assert err.value.field == field

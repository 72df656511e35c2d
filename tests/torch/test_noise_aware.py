"""Noise-aware parametrisation (STE quantisation, noise, faults) and paper 8's level regulariser."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from neuro.core.errors import ParameterError
from neuro.hardware import rram
from neuro.torch.noise_aware import (
    GaussianPenalty,
    LevelQuantiser,
    NoiseSpec,
    apply_device,
    attach_quantisers,
    digit_matrix,
    regularisation_loss,
)


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(7)


def test_levels_are_s_times_i_minus_z(gen):
    w = torch.randn(10, 6, generator=gen)
    for n in (2, 3, 4):
        q = LevelQuantiser(w, n)
        s, z = q.step.item(), (2**n - 1) / 2
        expect = torch.tensor([s * (i - z) for i in range(2**n)])
        torch.testing.assert_close(q.levels()[0], expect)
        assert s == pytest.approx(2 * w.abs().mean().item() / math.sqrt(z))
    assert digit_matrix(2).tolist() == [[0, 0, -1], [1, 0, -1], [0, 1, -1], [1, 1, -1]]


def test_validity_mask_two_bits_by_hand():
    q = LevelQuantiser(torch.ones(1), 2)
    faults = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # bit 1 stuck; bit 0 stuck; healthy
    assert q.validity(faults).tolist() == [
        [True, True, False, False],  # 00, 01 reachable
        [True, False, True, False],  # 00, 10 reachable
        [True, True, True, True],
    ]


def test_nearest_valid_level_distance_and_projection(gen):
    w = torch.tensor([0.9, 0.9])
    q = LevelQuantiser(torch.ones(2), 2)  # s = 2 / sqrt(1.5), levels s * (-1.5, -0.5, 0.5, 1.5)
    s = q.step.item()
    q.valid = q.validity(torch.tensor([[1.0, 1.0], [1.0, 0.0]]))  # second weight: levels 0, 1 only
    levels = [s * (i - 1.5) for i in range(4)]
    d_free = min(abs(0.9 - v) for v in levels)
    d_faulty = min(abs(0.9 - v) for v in levels[:2])
    torch.testing.assert_close(q.distance(w), torch.tensor([d_free, d_faulty]))
    projected = q.project(w)
    assert projected[1].item() == pytest.approx(levels[1])
    assert q.penalty(w).item() == pytest.approx(1.5 * (d_free**2 + d_faulty**2) / 2)


def test_realised_levels_are_bits_times_multipliers(gen):
    q = LevelQuantiser(torch.ones(3), 3, variability=0.2, generator=gen)
    s, var = q.step.item(), q.variation
    for w_idx in range(3):
        for i in range(8):
            bits = [(i >> b) & 1 for b in range(3)]
            expect = s * (sum(bit * 2**b * var[w_idx, b].item() for b, bit in enumerate(bits)) - 3.5)
            assert q.levels()[w_idx, i].item() == pytest.approx(expect, rel=1e-5, abs=1e-6)


def test_regulariser_pulls_weights_to_levels(gen):
    layer = nn.Linear(8, 4)
    quant = attach_quantisers(layer, n_bits=3, learn="step")
    before = quant["root"].distance(layer.weight).mean().item()
    opt = torch.optim.SGD(layer.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        regularisation_loss(layer, quant, lam=100.0).backward()
        opt.step()
    assert quant["root"].distance(layer.weight).mean().item() < 0.1 * before
    assert quant["root"].step.grad is not None  # the learnable step receives a gradient
    on_levels = quant["root"].project(layer.weight)
    assert quant["root"].penalty(on_levels).item() < 1e-10
    gauss = LevelQuantiser(layer.weight, 3, penalty=GaussianPenalty(0.1))
    assert gauss.penalty(gauss.project(layer.weight)).item() < 1e-6
    assert gauss.penalty(layer.weight + 0.05).item() > 0.01


def test_device_parametrisation_gradients_flow_and_quantise(gen):
    net = apply_device(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Conv1d(1, 2, 3)), NoiseSpec(levels=7, sigma_mul=0.05), gen)
    x = torch.randn(4, 6, generator=gen)
    y = net[2](net[1](net[0](x)).unsqueeze(1))
    y.sum().backward()
    raw = net[0].parametrizations.weight.original
    assert raw.grad is not None
    assert torch.isfinite(raw.grad).all()
    assert raw.grad.abs().sum() > 0
    net.eval()
    assert len(torch.unique(net[0].weight.detach())) <= 7
    torch.testing.assert_close(net[0].weight, net[0].weight)  # deterministic in eval


def test_device_noise_statistics(gen):
    layer = nn.Linear(200, 200)
    with torch.no_grad():
        layer.weight.fill_(0.5)
        layer.weight[0, 0] = 1.0
    apply_device(layer, NoiseSpec(sigma_mul=0.1, sigma_add=0.02), gen)
    w = layer.weight.detach().flatten()[1:]  # training mode: noisy
    expected = math.hypot(0.5 * 0.1, 0.02)
    assert abs(w.std().item() / expected - 1) < 0.03
    layer.eval()
    assert torch.all(layer.weight.detach().flatten()[1:] == 0.5)


def test_fault_fractions_and_gradients_at_faults(gen):
    layer = apply_device(nn.Linear(300, 300), NoiseSpec(p_stuck_on=0.1, p_stuck_off=0.05), gen)
    w = layer.weight
    w_max = layer.parametrizations.weight.original.detach().abs().max()
    off = (w == 0).float().mean().item()
    on = (w.abs() == w_max).float().mean().item()
    n = w.numel()
    assert abs(off - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)
    assert abs(on - 0.1) < 4 * math.sqrt(0.1 * 0.9 / n) + 1 / n
    w.sum().backward()
    grad = layer.parametrizations.weight.original.grad
    faults = layer.parametrizations.weight[0].faults
    assert torch.all(grad[faults != 0] == 0)
    assert torch.all(grad[faults == 0] == 1)


def test_spec_from_rram_device():
    spec = NoiseSpec.from_device(rram.RRAM_MNSIM)
    assert spec.levels == 511
    assert spec.p_stuck_on == pytest.approx(0.001)
    with pytest.raises(ParameterError, match="levels"):
        NoiseSpec(levels=4)
    with pytest.raises(ParameterError, match="learn"):
        LevelQuantiser(torch.ones(3), 2, learn="sometimes")

"""Losses: values against hand-written numpy formulas, gradients, registry and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuro.core.errors import ParameterError
from neuro.train.losses import LOSSES, count_mse, get_loss, membrane_ce, rate_ce


def _np_ce(logits: np.ndarray, target: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(target)), target].mean())


@pytest.fixture
def batch(rng):
    spikes = (rng.random((5, 4, 3)) < 0.4).astype(np.float64)
    target = rng.integers(0, 3, 4)
    return spikes, target


def test_rate_ce_uses_counts_or_rates_as_logits(batch):
    spikes, target = batch
    out, y = torch.from_numpy(spikes), torch.from_numpy(target)
    assert float(rate_ce(out, y)) == pytest.approx(_np_ce(spikes.sum(0), target), rel=1e-6)
    assert float(rate_ce(out, y, reduce="mean")) == pytest.approx(_np_ce(spikes.mean(0), target), rel=1e-6)


def test_count_mse_against_formula(batch):
    spikes, target = batch
    out, y = torch.from_numpy(spikes), torch.from_numpy(target)
    wanted = np.full((4, 3), 1.0)
    wanted[np.arange(4), target] = 4.0
    expected = float(((spikes.sum(0) - wanted) ** 2).mean())
    assert float(count_mse(out, y, on_target=4.0, off_target=1.0)) == pytest.approx(expected, rel=1e-6)
    default = np.zeros((4, 3))
    default[np.arange(4), target] = 0.8 * 5  # on_target defaults to 0.8 T
    assert float(count_mse(out, y)) == pytest.approx(float(((spikes.sum(0) - default) ** 2).mean()), rel=1e-6)


def test_membrane_ce_max_and_mean(rng):
    v = rng.normal(size=(7, 3, 4))
    target = rng.integers(0, 4, 3)
    out, y = torch.from_numpy(v), torch.from_numpy(target)
    assert float(membrane_ce(out, y)) == pytest.approx(_np_ce(v.max(0), target), rel=1e-6)
    assert float(membrane_ce(out, y, reduce="mean")) == pytest.approx(_np_ce(v.mean(0), target), rel=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_differentiable_and_registered(name, rng):
    out = torch.tensor(rng.random((4, 2, 3)), requires_grad=True)
    loss = get_loss(name)(out, torch.tensor([0, 2]))
    assert loss.ndim == 0
    loss.backward()
    assert out.grad is not None
    assert float(out.grad.abs().sum()) > 0


def test_get_loss_binds_options(batch):
    spikes, target = batch
    out, y = torch.from_numpy(spikes), torch.from_numpy(target)
    assert float(get_loss("rate_ce", reduce="mean")(out, y)) == float(rate_ce(out, y, reduce="mean"))


def test_get_loss_names_bad_name_and_option():
    with pytest.raises(ParameterError, match="unknown loss") as info:
        get_loss("hinge")
    assert info.value.field == "loss"
    with pytest.raises(ParameterError, match="on_target") as info:
        get_loss("rate_ce", on_target=3.0)
    assert info.value.field == "loss_options"


@pytest.mark.parametrize(
    ("out_shape", "target", "field"),
    [
        ((4, 3), [0, 1, 2, 0], "out_seq"),
        ((5, 4, 3), [0, 1, 2], "target"),
        ((5, 2, 3), [0, 3], "target"),
        ((5, 2, 3), [0, -1], "target"),
    ],
)
def test_bad_inputs_name_the_field(out_shape, target, field):
    for fn in LOSSES.values():
        with pytest.raises(ParameterError) as info:
            fn(torch.zeros(out_shape), torch.tensor(target))
        assert info.value.field == field


def test_float_targets_and_bad_reduce_rejected():
    with pytest.raises(ParameterError, match="integer"):
        rate_ce(torch.zeros(2, 2, 3), torch.tensor([0.0, 1.0]))
    with pytest.raises(ParameterError, match="reduce"):
        rate_ce(torch.zeros(2, 2, 3), torch.tensor([0, 1]), reduce="max")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="reduce"):
        membrane_ce(torch.zeros(2, 2, 3), torch.tensor([0, 1]), reduce="sum")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=">= 0"):
        count_mse(torch.zeros(2, 2, 3), torch.tensor([0, 1]), on_target=-1.0)

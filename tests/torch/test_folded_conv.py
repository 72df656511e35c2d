"""The CPU convolution over all steps (layers._Conv2d) gives the values and gradients of the plain
convolution: outputs computed in chunks into a reused buffer exactly, the output and weight
gradient of a sparse input from its non-zero entries and the other gradients computed
separately, to rounding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuro.torch import layers
from neuro.torch.layers import over_time


def plain(conv: nn.Conv2d, x_seq: torch.Tensor) -> torch.Tensor:
    t, b = x_seq.shape[:2]
    y = conv(x_seq.reshape(t * b, *x_seq.shape[2:]).contiguous(memory_format=torch.channels_last))
    return y.reshape(t, b, *y.shape[1:])


def gradients(conv: nn.Conv2d, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, ...]:
    params = [p for p in conv.parameters()] + ([x] if x.requires_grad else [])
    return torch.autograd.grad(y, params, g)


@pytest.mark.parametrize("input_grad", [False, True])
@pytest.mark.parametrize("conv", [lambda: nn.Conv2d(3, 5, 3), lambda: nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False)])
def test_chunked_convolution_equals_the_plain_one(monkeypatch, conv, input_grad):
    monkeypatch.setattr(layers._Conv2d, "LARGE", 1)  # chunk even this small output
    monkeypatch.setattr(layers._Conv2d, "CHUNK", 2000)  # in several chunks
    torch.manual_seed(0)
    conv = conv()
    x = torch.randn(4, 6, 3, 9, 8).requires_grad_(input_grad)
    before = dict(layers.CONV_CALLS)
    y = over_time(conv, x)
    assert layers.CONV_CALLS["chunked"] == before["chunked"] + 1
    y_ref = plain(conv, x)
    assert torch.equal(y, y_ref)
    g = torch.randn_like(y)
    for got, want in zip(gradients(conv, x, y, g), gradients(conv, x, y_ref, g), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert layers.CONV_CALLS["event_weight_grad"] == before["event_weight_grad"]  # dense input


@pytest.mark.parametrize("values", ["spikes", "counts"])
@pytest.mark.parametrize("padding", [0, (1, 2), 3])
@pytest.mark.parametrize("input_grad", [False, True])
def test_weight_gradient_of_a_sparse_input_from_its_events(values, padding, input_grad):
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 16, (3, 5), padding=padding).double()  # kernel rows of 5 x 16 outputs
    mask = torch.rand(5, 4, 3, 9, 11) < 0.06
    x = mask.double() * (1.0 if values == "spikes" else torch.randint(1, 4, mask.shape).double())
    x.requires_grad_(input_grad)
    before = dict(layers.CONV_CALLS)
    y = over_time(conv, x)
    g = torch.randn_like(y)
    got = gradients(conv, x, y, g)
    assert layers.CONV_CALLS["event_forward"] == before["event_forward"] + 1
    assert layers.CONV_CALLS["event_weight_grad"] == before["event_weight_grad"] + 1
    y_ref = plain(conv, x)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    assert y.permute(0, 1, 3, 4, 2).is_contiguous()  # channels-last, as the next layers want
    for a, b in zip(got, gradients(conv, x, y_ref, g), strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert got[0].abs().sum() > 0


@pytest.mark.parametrize(
    "case",
    [
        lambda: (nn.Conv2d(3, 16, (3, 5)), 0.5),  # dense input
        lambda: (nn.Conv2d(3, 16, (3, 5), stride=2), 0.05),  # stride 2
        lambda: (nn.Conv2d(3, 8, (3, 5)), 0.05),  # runs of 5 x 8 < MIN_RUN values
        lambda: (nn.Conv2d(4, 16, (3, 5), groups=2), 0.05),
    ],
)
def test_weight_gradient_from_events_only_where_it_pays(case):
    conv, density = case()
    torch.manual_seed(2)
    x = (torch.rand(3, 4, conv.in_channels, 9, 11) < density).float()
    before = dict(layers.CONV_CALLS)
    y = over_time(conv, x)
    g = torch.randn_like(y)
    got = gradients(conv, x, y, g)
    assert layers.CONV_CALLS["event_forward"] == before["event_forward"]
    assert layers.CONV_CALLS["event_weight_grad"] == before["event_weight_grad"]
    assert torch.equal(y, plain(conv, x))
    for a, b in zip(got, gradients(conv, x, plain(conv, x), g), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_hooked_convolutions_run_plain(monkeypatch):
    conv = nn.Conv2d(3, 5, 3)
    x = torch.randn(2, 2, 3, 8, 8)
    monkeypatch.setattr(layers._Conv2d, "LARGE", 1)
    seen = []
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(o))
    before = layers.CONV_CALLS["chunked"]
    over_time(conv, x)
    assert len(seen) == 1
    assert layers.CONV_CALLS["chunked"] == before
    handle.remove()
    over_time(conv, x)
    assert layers.CONV_CALLS["chunked"] == before + 1

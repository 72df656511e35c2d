"""A convolution over all steps with a large output (layers._FoldedConv2d: chunks written into a
reused buffer) gives exactly the values and gradients of the plain convolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuro.torch import layers
from neuro.torch.layers import over_time


def folded(y: torch.Tensor) -> bool:
    """Whether ``y`` (the reshaped output) came from the folded convolution."""
    return y.grad_fn.next_functions[0][0].name() == "_FoldedConv2dBackward"


def plain(conv: nn.Conv2d, x_seq: torch.Tensor) -> torch.Tensor:
    t, b = x_seq.shape[:2]
    y = conv(x_seq.reshape(t * b, *x_seq.shape[2:]).contiguous(memory_format=torch.channels_last))
    return y.reshape(t, b, *y.shape[1:])


@pytest.mark.parametrize("input_grad", [False, True])
@pytest.mark.parametrize("conv", [lambda: nn.Conv2d(3, 5, 3), lambda: nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=False)])
def test_folded_convolution_equals_the_plain_one(monkeypatch, conv, input_grad):
    monkeypatch.setattr(layers._FoldedConv2d, "LARGE", 1)  # fold even this small output
    monkeypatch.setattr(layers._FoldedConv2d, "CHUNK", 2000)  # in several chunks
    torch.manual_seed(0)
    conv = conv()
    x = torch.randn(4, 6, 3, 9, 8).requires_grad_(input_grad)
    assert layers._FoldedConv2d.applies(conv, x[0])
    params = [p for p in conv.parameters()] + ([x] if input_grad else [])
    y = over_time(conv, x)
    assert folded(y)
    y_ref = plain(conv, x)
    assert torch.equal(y, y_ref)
    g = torch.randn_like(y)
    for got, want in zip(torch.autograd.grad(y, params, g), torch.autograd.grad(y_ref, params, g), strict=True):
        assert torch.equal(got, want)


def test_small_outputs_and_hooked_convolutions_run_plain(monkeypatch):
    conv = nn.Conv2d(3, 5, 3)
    x = torch.randn(2, 2, 3, 8, 8)
    assert not folded(over_time(conv, x))  # far below 32 MB
    monkeypatch.setattr(layers._FoldedConv2d, "LARGE", 1)
    seen = []
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(o))
    assert not folded(over_time(conv, x))
    assert len(seen) == 1
    handle.remove()
    assert folded(over_time(conv, x))

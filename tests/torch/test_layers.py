"""Layer plumbing: time folding, channels-last convolutions, Sequential state threading."""

from __future__ import annotations

import torch
from torch import nn

from neuro.core.neurons import lif
from neuro.torch import Neurons, Sequential
from neuro.torch.layers import over_time


def test_convolutions_run_channels_last_with_the_same_values():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 5, 3).double()
    seen = []
    conv.register_forward_pre_hook(lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    x = torch.rand(4, 3, 2, 9, 9, dtype=torch.float64)
    y = over_time(conv, x)
    assert seen == [True]
    reference = torch.stack([conv(x[t].contiguous()) for t in range(4)])
    torch.testing.assert_close(y, reference, rtol=1e-12, atol=1e-12)
    assert y.shape == (4, 3, 5, 7, 7)


def test_sequential_threads_state_like_one_long_sequence():
    torch.manual_seed(1)
    net = Sequential(nn.Linear(3, 4), Neurons(lif.Params(tau=5e-3, r=150.0), 1e-3)).double()
    x = torch.rand(10, 2, 3, dtype=torch.float64)
    whole = net(x)
    first, state = net(x[:6], [None, None])
    second, _ = net(x[6:], state)
    assert whole.sum() > 0
    assert torch.equal(torch.cat([first, second]), whole)

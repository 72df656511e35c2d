"""Neurons followed by a max pooling in a Sequential run as one fused kernel
(neuro.torch.fused.run_pooled) that equals the two layers run one after the other: pooled spikes
and final membrane bitwise, gradients (input, initial and final state) to rounding; the fusion
steps aside for hooks and for poolings it does not compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neuro.core.neurons import lif
from neuro.core.reset import ResetSubtract
from neuro.core.surrogate import ArcTan, FastSigmoid
from neuro.torch import fused
from neuro.torch.layers import Sequential
from neuro.torch.monitor import SpikeMonitor
from neuro.torch.neurons import Neurons

PER_CHANNEL = lif.Params(
    tau=np.array([5e-3, 1e-2, 2e-2])[:, None, None],
    r=3.0,
    v_threshold=np.array([0.4, 0.5, 0.6])[:, None, None],
    reset=ResetSubtract(),
)
VALUE = lif.Params(tau=5e-3, r=3.0, v_leak=0.3, v_reset=-0.2, v_threshold=0.5)
POOLS = {
    "2": lambda: nn.MaxPool2d(2),
    "3-stride2-pad1": lambda: nn.MaxPool2d(3, 2, 1),
    "2x3-stride1x2": lambda: nn.MaxPool2d((2, 3), (1, 2)),
}


def sequence(channels_last: bool = False) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(9, 2, 3, 9, 10, dtype=torch.float64) * 1.5
    if channels_last:
        x = x.reshape(18, 3, 9, 10).contiguous(memory_format=torch.channels_last).view(x.shape)
    return x


def run(params, pool, x, dtype, surrogate, fuse):
    """Pooled output, final membrane and the gradients of a loss that uses both."""
    net = Sequential(Neurons(params, 1e-3, fused=fuse, surrogate=surrogate, dtype=torch.float64), pool).to(dtype)
    xx = x.to(dtype).detach().requires_grad_(True)
    v0 = torch.full(x.shape[2:], 0.1, dtype=dtype).expand(x.shape[1:]).clone().requires_grad_(True)
    before = fused.CALLS["fused_lif_pool"]
    y, states = net(xx, [net[0].model.state(v=v0), None])
    assert fused.CALLS["fused_lif_pool"] - before == (1 if fuse else 0)
    weights = torch.linspace(0.5, 2.0, y.numel(), dtype=dtype).reshape(y.shape)
    ((y * weights).sum() + (states[0].v ** 2).sum()).backward()
    return y.detach(), states[0].v.detach(), xx.grad, v0.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pool", list(POOLS), ids=str)
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels-last"])
def test_fused_pool_equals_neurons_then_pool(pool, dtype, channels_last):
    x = sequence(channels_last)
    y1, v1, g1, s1 = run(PER_CHANNEL, POOLS[pool](), x, dtype, ArcTan(), fuse=True)
    y2, v2, g2, s2 = run(PER_CHANNEL, POOLS[pool](), x, dtype, ArcTan(), fuse=False)
    assert 0 < y1.sum() < y1.numel()
    assert torch.equal(y1, y2)
    assert torch.equal(v1, v2)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(g1, g2, rtol=tol, atol=tol)
    torch.testing.assert_close(s1, s2, rtol=tol, atol=tol)
    if channels_last:  # the pooled spikes keep the input's memory order (what the next conv wants)
        assert y1.permute(0, 1, 3, 4, 2).is_contiguous()


@pytest.mark.parametrize("threads", [1, 2])
def test_one_thread_runs_the_serial_loops_with_the_same_result(threads):
    x = sequence(channels_last=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fused_run = run(PER_CHANNEL, nn.MaxPool2d(2), x, torch.float32, ArcTan(), fuse=True)
    finally:
        torch.set_num_threads(previous)
    generic = run(PER_CHANNEL, nn.MaxPool2d(2), x, torch.float32, ArcTan(), fuse=False)
    assert torch.equal(fused_run[0], generic[0])
    assert torch.equal(fused_run[1], generic[1])
    torch.testing.assert_close(fused_run[2], generic[2], rtol=1e-5, atol=1e-5)


def test_reset_to_value_and_another_surrogate():
    x = sequence()
    a = run(VALUE, nn.MaxPool2d(2), x, torch.float64, FastSigmoid(3.0), fuse=True)
    b = run(VALUE, nn.MaxPool2d(2), x, torch.float64, FastSigmoid(3.0), fuse=False)
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    torch.testing.assert_close(a[2], b[2], rtol=1e-12, atol=1e-12)


def test_gradient_goes_to_the_first_maximum_of_each_window():
    # Two neurons of one window spike in the same step: torch's max pooling routes the
    # gradient to the first in window order; so must the fused kernel.
    x = torch.zeros(1, 1, 1, 2, 2, dtype=torch.float64)
    x[0, 0, 0, 0, 1] = x[0, 0, 0, 1, 0] = 1.0
    grads = []
    for fuse in (True, False):
        net = Sequential(Neurons(VALUE, 1e-3, fused=fuse, dtype=torch.float64), nn.MaxPool2d(2))
        xx = x.clone().requires_grad_(True)
        net(xx).sum().backward()
        grads.append(xx.grad)
    assert grads[0][0, 0, 0, 0, 1] != 0
    assert grads[0][0, 0, 0, 1, 0] == 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "pool",
    [nn.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(2, dilation=2), nn.AvgPool2d(2), nn.MaxPool2d((9, 30), 1, (0, 10))],
    ids=["ceil-mode", "dilation", "average", "too-large-window"],
)
def test_other_poolings_run_unfused_with_the_same_result(pool):
    x = sequence().float()
    net = Sequential(Neurons(PER_CHANNEL, 1e-3), pool)
    before = fused.CALLS["fused_lif_pool"]
    y = net(x)
    assert fused.CALLS["fused_lif_pool"] == before
    z, _ = net[0](x)
    expected = pool(z.reshape(-1, *z.shape[2:]))
    assert torch.equal(y, expected.reshape(*z.shape[:2], *expected.shape[1:]))


def test_monitor_hooks_see_the_spikes():
    x = sequence().float()
    net = Sequential(Neurons(PER_CHANNEL, 1e-3), nn.MaxPool2d(2))
    before = fused.CALLS["fused_lif_pool"]
    with SpikeMonitor(net) as monitor:
        y = net(x)
    assert fused.CALLS["fused_lif_pool"] == before  # the hook must see the unpooled spikes
    z, _ = net[0](x)
    assert monitor.counts()["layers.0"] == float(z.sum()) > 0
    fused_y = net(x)
    assert fused.CALLS["fused_lif_pool"] == before + 1
    assert torch.equal(fused_y, y)


def test_the_backward_needs_neither_the_input_nor_a_second_forward():
    """The membrane is saved, not the input: changing the input in place after the forward leaves
    the gradients as they were, and the backward can run twice with ``retain_graph``."""
    net = Sequential(Neurons(PER_CHANNEL, 1e-3), nn.MaxPool2d(2))
    x = sequence().float().requires_grad_(True)
    (want,) = torch.autograd.grad(net(x * 1.0).sum(), x)
    h = x * 1.0
    y = net(h)
    with torch.no_grad():
        h.add_(1.0)
    (first,) = torch.autograd.grad(y.sum(), x, retain_graph=True)
    (second,) = torch.autograd.grad(y.sum(), x)
    assert want.abs().sum() > 0
    assert torch.equal(first, want)
    assert torch.equal(second, want)


def test_buffers_are_reused_only_once_released(monkeypatch):
    monkeypatch.setattr(fused, "WORKSPACE_MIN_BYTES", 0)  # cache even these small tensors
    x = sequence().float().requires_grad_(True)
    net = Sequential(Neurons(PER_CHANNEL, 1e-3), nn.MaxPool2d(2))
    kept = net(x)  # still held: the next forward must not write into it
    first = kept.detach().clone()
    again = net(x * 2.0)
    assert again.data_ptr() != kept.data_ptr()
    assert torch.equal(kept, first)
    ptr = again.data_ptr()
    del again
    assert net(x).data_ptr() == ptr  # released, so reused
    (g1,) = torch.autograd.grad(net(x).sum(), x)  # the caller holds g1: the next gradient goes elsewhere
    (g2,) = torch.autograd.grad(net(x).sum(), x)
    assert g1.data_ptr() != g2.data_ptr()
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)

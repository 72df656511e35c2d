"""The fused LIF kernel's compiled CPU loops (neuro.core.jit.fused_lif_forward/backward) equal the
generic per-step path: spikes and final membrane bitwise, gradients to rounding, and a sentinel
proves the compiled loops ran; with them switched off the torch loop still runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from neuro.core.neurons import lif
from neuro.core.reset import ResetSubtract
from neuro.core.surrogate import ArcTan, FastSigmoid, Sigmoid, StraightThrough, Triangle
from neuro.torch import fused
from neuro.torch.neurons import Neurons

SUBTRACT = lif.Params(tau=np.array([5e-3, 1e-2, 2e-2]), r=3.0, v_threshold=0.5, reset=ResetSubtract())
VALUE = lif.Params(tau=5e-3, r=3.0, v_leak=0.3, v_reset=-0.2, v_threshold=0.5)
PER_CHANNEL = lif.Params(
    tau=np.array([5e-3, 1e-2, 2e-2])[:, None, None],
    r=3.0,
    v_threshold=np.array([0.4, 0.5, 0.6])[:, None, None],
    reset=ResetSubtract(),
)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    t, b = x.shape[:2]
    return x.reshape(t * b, *x.shape[2:]).contiguous(memory_format=torch.channels_last).view(x.shape)


def run_both(params, x, dtype, surrogate, with_state=False, keep=None, tol=None):
    results = []
    for fused_path in (True, False):
        layer = Neurons(params, 1e-3, fused=fused_path, surrogate=surrogate, dtype=torch.float64).to(dtype)
        if keep is not None:  # a reset between subtracting and setting (no strategy has one yet)
            layer._scalars.update(reset_keep=keep, reset_subtract=keep)
        xx = x.to(dtype).detach().requires_grad_(True)
        state = None
        if with_state:
            state = layer.model.state(v=torch.full(x.shape[1:], 0.1, dtype=dtype, requires_grad=True))
        before = dict(fused.CALLS)
        z, final = layer(xx, state)
        weights = torch.linspace(0.5, 2.0, x.shape[0], dtype=dtype).reshape(-1, *[1] * (x.dim() - 1))
        ((z * weights).sum() + (final.v**2).sum()).backward()
        ran = fused.CALLS["fused_lif_numba"] - before["fused_lif_numba"]
        assert ran == (1 if fused_path else 0)
        results.append((z.detach(), final.v.detach(), xx.grad, state.v.grad if with_state else None))
    (z1, v1, g1, s1), (z2, v2, g2, s2) = results
    assert z1.sum() > 0
    assert torch.equal(z1, z2)
    assert torch.equal(v1, v2)
    tol = tol or (1e-12 if dtype == torch.float64 else 1e-5)
    torch.testing.assert_close(g1, g2, rtol=tol, atol=tol)
    if with_state:
        torch.testing.assert_close(s1, s2, rtol=tol, atol=tol)
    return z1, g1


def sequence(*shape: int) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(*shape, dtype=torch.float64) * 1.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("params", [SUBTRACT, VALUE], ids=["subtract-per-neuron", "value-scalar"])
def test_compiled_equals_generic(params, dtype):
    run_both(params, sequence(30, 4, 3), dtype, FastSigmoid(), with_state=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_per_channel_parameters_on_5d_input_and_channels_last(dtype):
    x = sequence(12, 2, 3, 4, 5)
    z, g = run_both(PER_CHANNEL, x, dtype, FastSigmoid())
    z_cl, g_cl = run_both(PER_CHANNEL, channels_last(x), dtype, FastSigmoid())
    assert torch.equal(z, z_cl)
    torch.testing.assert_close(g, g_cl)
    assert z_cl.stride() == channels_last(x).stride()  # outputs keep the input's memory order


@pytest.mark.parametrize("surrogate", [ArcTan(), FastSigmoid(3.0), Sigmoid(), Triangle(0.7), StraightThrough(0.9)], ids=str)
def test_each_surrogate(surrogate):
    run_both(SUBTRACT, sequence(20, 3, 3), torch.float64, surrogate)


def test_general_reset_coefficients():
    run_both(VALUE, sequence(20, 3, 3), torch.float64, FastSigmoid(), keep=0.5)


def test_torch_loop_still_runs_when_switched_off(monkeypatch):
    monkeypatch.setattr(fused, "NUMBA", False)
    before = dict(fused.CALLS)
    layer = Neurons(SUBTRACT, 1e-3, surrogate=FastSigmoid())
    x = sequence(10, 2, 3).float().requires_grad_(True)
    z, state = layer(x)
    (z.sum() + state.v.sum()).backward()
    assert fused.CALLS["fused_lif"] == before["fused_lif"] + 1
    assert fused.CALLS["fused_lif_numba"] == before["fused_lif_numba"]
    monkeypatch.setattr(fused, "NUMBA", True)
    z2, _ = layer(x)
    assert fused.CALLS["fused_lif_numba"] == before["fused_lif_numba"] + 1
    assert torch.equal(z, z2)


def test_importing_neuro_torch_does_not_import_numba():
    code = "import sys, neuro.torch, neuro.torch.fused; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

"""Neurons: the torch run equals the numpy run of the same model; the fused kernel equals the
generic path (spikes bitwise, gradients to rounding) and is proven to run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuro.core.neurons import MODELS, alif, cuba_lif, iaf, izhikevich, li, lif
from neuro.core.ops import NUMPY_OPS
from neuro.core.reset import ResetSubtract
from neuro.core.surrogate import FastSigmoid
from neuro.torch import fused
from neuro.torch.neurons import Neurons

PARAMS = {
    "LIF": lif.Params(tau=np.array([5e-3, 1e-2, 2e-2]), r=3.0, v_threshold=0.5, reset=ResetSubtract()),
    "LIF-value": lif.Params(tau=5e-3, r=3.0, v_leak=0.3, v_reset=-0.2, v_threshold=0.5),
    "IF": iaf.Params(r=500.0, v_threshold=1.0),
    "LI": li.Params(tau=0.01, r=2.0),
    "CubaLIF": cuba_lif.Params(tau_syn=5e-3, tau_mem=1e-2, r=3.0, v_threshold=0.2),
    "ALIF": alif.Params(tau=0.01, tau_adapt=0.05, r=3.0, v_threshold=0.5),
    "Izhikevich": izhikevich.Params(),
}


def numpy_run(params, x_seq, dt):
    model = MODELS[params.node_type]
    method = model.methods[0]
    coeffs = model.discretize(params, dt, method)
    state = model.init_state(params, batch_shape=x_seq.shape[1:2], shape=x_seq.shape[2:])
    out = []
    for x in x_seq:
        z, state = model.update(x, state, coeffs, NUMPY_OPS)
        out.append(z)
    return np.stack(out), method


@pytest.mark.parametrize("key", sorted(PARAMS))
def test_torch_equals_numpy_in_float64(key, rng):
    params = PARAMS[key]
    dt = 1e-4 if key == "Izhikevich" else 1e-3
    scale = 2e-9 if key == "Izhikevich" else 0.8
    x = rng.normal(0.3, 1.0, (40, 2, 3)) * scale
    ref, method = numpy_run(params, x, dt)
    for fused_path in (True, False):
        layer = Neurons(params, dt, method=method, fused=fused_path).double()
        z, _ = layer(torch.from_numpy(x))
        np.testing.assert_array_equal(z.numpy(), ref)


@pytest.mark.parametrize("key", ["LIF", "LIF-value", "IF"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_kernel_equals_generic_path(key, dtype):
    torch.manual_seed(0)
    x = (torch.randn(30, 4, 3, dtype=torch.float64) * 1.5).to(dtype)
    results = []
    for fused_path in (True, False):
        layer = Neurons(PARAMS[key], 1e-3, fused=fused_path, surrogate=FastSigmoid()).to(dtype)
        xx = x.clone().requires_grad_(True)
        z, state = layer(xx)
        weights = torch.arange(30, dtype=dtype)[:, None, None]
        ((z * weights).sum() + (state.v**2).sum()).backward()
        results.append((z.detach(), state.v.detach(), xx.grad))
    (z1, v1, g1), (z2, v2, g2) = results
    assert z1.sum() > 0
    assert torch.equal(z1, z2)
    assert torch.equal(v1, v2)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(g1, g2, rtol=tol, atol=tol)


def test_fused_path_actually_runs_and_can_be_switched_off():
    layer = Neurons(PARAMS["LIF"], 1e-3)
    before = fused.CALLS["fused_lif"]
    layer(torch.ones(3, 2, 3))
    assert fused.CALLS["fused_lif"] == before + 1
    Neurons(PARAMS["LIF"], 1e-3, fused=False)(torch.ones(3, 2, 3))
    Neurons(PARAMS["CubaLIF"], 1e-3)(torch.ones(3, 2, 1))
    assert fused.CALLS["fused_lif"] == before + 1


def test_state_is_explicit_and_continues_a_sequence():
    layer = Neurons(PARAMS["LIF"], 1e-3).double()
    x = torch.rand(20, 2, 3, dtype=torch.float64) * 2
    whole, _ = layer(x)
    first, state = layer(x[:12])
    second, _ = layer(x[12:], state)
    assert torch.equal(torch.cat([first, second]), whole)
    z, _ = layer.step(x[0])
    assert torch.equal(z, whole[0])


def test_dtype_and_device_follow_the_module():
    layer = Neurons(PARAMS["LIF"], 1e-3).double()
    assert layer.c_decay.dtype == torch.float64
    _, state = layer(torch.ones(2, 1, 3, dtype=torch.float64))
    assert state.v.dtype == torch.float64


def test_bad_input_rank_is_an_error():
    with pytest.raises(ValueError, match="T, B"):
        Neurons(PARAMS["LIF"], 1e-3)(torch.ones(3))

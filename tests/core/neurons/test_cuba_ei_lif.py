"""Conformance of the CUBA neuron (two input channels, refractory period): analytic
sub-threshold solution, Euler's order, the refractory timing, numpy vs Numba bitwise and the
torch run of the same update; shapes and parameter errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuro import ir
from neuro.core.errors import ParameterError, ShapeError, UnsupportedNodeError
from neuro.core.jit import jit_function, numba_ops
from neuro.core.neurons import MODELS, cuba_ei_lif
from neuro.core.ops import NUMPY_OPS
from neuro.core.surrogate import ArcTan
from neuro.torch.ops import TorchOps, coeffs_to_torch

MODEL = MODELS["CubaEILIF"]
DT = 1e-4


def run(params, x_seq, method="exact", dt=DT, v0=None):
    """numpy reference: ``x_seq`` (T, 2, N); returns spikes (T, N) and the states per step."""
    c = MODEL.discretize(params, dt, method)
    s = MODEL.init_state(params, shape=x_seq.shape[2:])
    if v0 is not None:
        s = s._replace(v=np.array(v0, dtype=np.float64))
    zs, states = [], []
    for x in x_seq:
        z, s = MODEL.update(x, s, c, NUMPY_OPS)
        zs.append(z)
        states.append(s)
    return np.stack(zs), states


def subthreshold_case():
    tau_mem = np.array([2e-2, 1e-2, 5e-3])
    tau_exc = np.array([5e-3, 1e-2, 2e-3])  # the middle neuron has tau_syn_exc = tau_mem
    tau_inh = np.array([1e-2, 3e-3, 5e-3])
    params = cuba_ei_lif.Params(
        tau_mem=tau_mem, tau_syn_exc=tau_exc, tau_syn_inh=tau_inh, r=np.array([1.0, 2.0, 0.5]),
        v_leak=np.array([-0.049, 0.0, 0.01]), v_threshold=1e9, v_reset=-1.0,
    )  # fmt: skip
    jump = np.array([[0.03, -0.01, 0.05], [-0.02, -0.04, 0.01]])  # (exc, inh) at t = 0
    v0 = np.array([-0.06, 0.02, 0.0])

    def v_of_t(t):
        p = params
        v = p.v_leak + (v0 - p.v_leak) * np.exp(-t / tau_mem)
        for i0, tau in ((jump[0], tau_exc), (jump[1], tau_inh)):
            with np.errstate(divide="ignore", invalid="ignore"):
                general = tau / (tau - tau_mem) * (np.exp(-t / tau) - np.exp(-t / tau_mem))
            equal = t / tau_mem * np.exp(-t / tau_mem)
            v = v + p.r * i0 * np.where(tau == tau_mem, equal, general)
        return v

    return params, jump, v0, v_of_t


def pulse_input(jump, n_steps):
    x = np.zeros((n_steps, *jump.shape))
    x[0] = jump
    return x


def test_exact_method_matches_analytic_subthreshold_solution():
    params, jump, v0, v_of_t = subthreshold_case()
    n = 300
    _, states = run(params, pulse_input(jump, n), v0=v0)
    np.testing.assert_allclose(states[-1].v, v_of_t(n * DT), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(states[-1].i_exc, jump[0] * np.exp(-n * DT / params.tau_syn_exc), rtol=1e-12)


def test_euler_converges_to_exact_with_order_one():
    params, jump, v0, v_of_t = subthreshold_case()
    t_end = 0.02
    errors = []
    for dt in (4e-4, 2e-4, 1e-4, 5e-5):
        n = round(t_end / dt)
        _, states = run(params, pulse_input(jump, n), method="euler", dt=dt, v0=v0)
        errors.append(np.max(np.abs(states[-1].v - v_of_t(t_end))))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.9) & (orders < 1.1)), orders


def test_refractory_period_holds_the_membrane_and_lets_the_currents_decay():
    params = cuba_ei_lif.Params(t_refrac=5e-3, v_leak=-0.06)  # 50 steps of 0.1 ms
    n = 120
    x = np.zeros((n, 2, 1))
    x[:, 0, 0] = 3.0  # a jump every step: the neuron fires whenever it is free
    z, states = run(params, x)
    spikes = np.flatnonzero(z[:, 0])
    assert list(spikes[:3]) == [0, 50, 100]  # Brian2: free again when steps since spike >= 50
    held = np.array([s.v[0] for s in states[1:50]])
    np.testing.assert_array_equal(held, np.full(49, -0.06))
    i_exc = np.array([s.i_exc[0] for s in states])
    assert np.all(np.diff(i_exc[:50]) > 0)  # the current integrates its input while held
    assert [s.refrac[0] for s in states[:3]] == [49.0, 48.0, 47.0]


def test_refractory_steps_round_t_refrac_to_the_grid():
    for t_refrac, steps in ((0.0, 0.0), (1e-4, 0.0), (2e-4, 1.0), (5e-3, 49.0), (5.04e-3, 49.0)):
        c = MODEL.discretize(cuba_ei_lif.Params(t_refrac=t_refrac), DT)
        assert float(c.refrac_steps) == steps, t_refrac


def random_drive(rng, n_steps=400, n=6):
    x = rng.uniform(0, 1.0, (n_steps, 2, n)) * (rng.uniform(size=(n_steps, 2, n)) < 0.3)
    x[:, 0] *= 4.0
    x[:, 1] *= -2.0
    return x


def test_numba_compiled_update_is_bitwise_equal_to_numpy(rng):
    params = cuba_ei_lif.Params(v_leak=-0.06, tau_mem=np.linspace(1e-2, 3e-2, 6), reset=cuba_ei_lif.Params().reset)
    x_seq = random_drive(rng)
    z_np, states = run(params, x_seq)
    assert z_np.sum() > 5
    update = jit_function(MODEL.update)
    ops = numba_ops()
    coeffs = MODEL.discretize(params, DT)
    for i in range(6):
        c = MODEL.coeffs(*(float(np.broadcast_to(v, (6,))[i]) if isinstance(v, np.ndarray) else v for v in coeffs))
        s = MODEL.state(*(float(v[i]) for v in MODEL.init_state(params, shape=(6,))))
        for t in range(len(x_seq)):
            z, s = update((x_seq[t, 0, i], x_seq[t, 1, i]), s, c, ops)
            assert z == z_np[t, i]
            assert tuple(s) == tuple(float(f[i]) for f in states[t]), (t, i)


def test_torch_run_of_the_same_update_matches_numpy_and_carries_gradients(rng):
    params = cuba_ei_lif.Params(v_leak=-0.06)
    x_seq = random_drive(rng, n_steps=200)
    z_np, _ = run(params, x_seq)
    coeffs = coeffs_to_torch(MODEL.discretize(params, DT), dtype=torch.float64)
    s = MODEL.state(*(torch.tensor(v) for v in MODEL.init_state(params, shape=(6,))))
    x_t = torch.tensor(x_seq, requires_grad=True)
    zs, total = [], 0
    for x in x_t:
        z, s = MODEL.update(x, s, coeffs, TorchOps(ArcTan()))
        zs.append(z)
        total = total + z.sum() + s.v.sum()
    np.testing.assert_array_equal(torch.stack(zs).detach().numpy(), z_np)
    total.backward()
    assert torch.isfinite(x_t.grad).all()
    assert (x_t.grad[:, 0].abs() > 0).any()


def test_shapes_and_parameter_errors():
    node = ir.CubaEILIF()
    assert node.output_shape((14,)) == (7,)
    assert node.output_shape((2, 7)) == (7,)
    assert node.output_shape((2, 3, 4)) == (3, 4)
    with pytest.raises(ShapeError, match="channel 0 excitatory"):
        node.output_shape((7,))
    with pytest.raises(ShapeError, match="channel 0 excitatory"):
        node.output_shape((3, 4))
    with pytest.raises(ShapeError):
        ir.CubaEILIF(v_threshold=np.full(3, -0.05)).output_shape((8,))
    with pytest.raises(ParameterError) as info:
        ir.CubaEILIF(t_refrac=-1e-3)
    assert info.value.field == "t_refrac"
    with pytest.raises(ParameterError) as info:
        ir.CubaEILIF(tau_syn_inh=0.0)
    assert info.value.field == "tau_syn_inh"


def test_graph_with_the_model_in_a_cycle_infers_shapes_and_torch_refuses_it():
    from neuro.torch import build

    n = 4
    rec = ir.SparseLinear((2 * n, n), np.arange(n + 1), np.arange(n), np.ones(n))
    g = ir.Graph(
        {"in": ir.Input((2 * n,)), "pop": ir.CubaEILIF(), "rec": rec, "out": ir.Output()},
        [("in", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")],
        {"dt": DT},
    )
    assert g.shapes["pop"] == (n,)
    assert g.shapes["rec"] == (2 * n,)
    assert g.equals(ir.Graph.from_dict(g.to_dict()))
    with pytest.raises(UnsupportedNodeError, match="CubaEILIF"):
        build(g)
    bad = ir.SparseLinear((n, n), np.arange(n + 1), np.arange(n), np.ones(n))
    with pytest.raises(ShapeError):
        ir.Graph(
            {"in": ir.Input((2 * n,)), "pop": ir.CubaEILIF(), "rec": bad},
            [("in", "pop"), ("pop", "rec"), ("rec", "pop")],
            {"dt": DT},
        )

"""One conformance suite for every neuron model (see docs/neurons.md).

For each model: the analytic (or reference) sub-threshold solution, the golden float64
trajectories, the convergence order of forward Euler towards the exact solution, numpy vs
Numba (the same update compiled) bitwise in float64, and the torch run of the same update.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from neuro.core.jit import compile_population
from neuro.core.neurons import MODELS
from neuro.core.ops import NUMPY_OPS
from neuro.core.surrogate import ArcTan
from neuro.ir import NODE_TYPES
from neuro.torch.ops import TorchOps, coeffs_to_torch
from tests.conftest import load_script

GOLDEN = load_script(Path(__file__).parent / "golden" / "make_golden.py")
NO_SPIKE = 1e9  # a threshold no trajectory below reaches


def run_numpy(model, params, method, dt, x_seq):
    coeffs = model.discretize(params, dt, method)
    state = model.init_state(params, shape=x_seq.shape[1:])
    zs = []
    for x in x_seq:
        z, state = model.update(x, state, coeffs, NUMPY_OPS)
        zs.append(z)
    return np.stack(zs), state


# ---- analytic sub-threshold solutions -----------------------------------------------------


def lif_like(name):
    """(params, constant input, v(t)) for models whose membrane is tau v' = v_leak - v + r x."""
    tau = np.array([2e-3, 1e-2, 3e-2])
    v_leak = np.array([0.0, 0.2, -0.3])
    r = np.array([1.0, 2.0, 0.5])
    x = np.array([0.7, -0.4, 1.3])
    kwargs = {"tau": tau, "r": r, "v_leak": v_leak}
    if name == "ALIF":
        kwargs["tau_adapt"] = 0.1
    if name in ("LIF", "ALIF", "MultiSpikeLIF"):
        kwargs["v_threshold"] = NO_SPIKE
    v_inf = v_leak + r * x
    return MODELS[name].params(**kwargs), x, lambda t: v_inf + (v_leak - v_inf) * np.exp(-t / tau)


def integrator_like(name):
    r = np.array([1.0, 2.0, 0.5])
    x = np.array([0.7, -0.4, 1.3])
    kwargs = {"r": r} | ({"v_threshold": NO_SPIKE} if name == "IF" else {})
    return MODELS[name].params(**kwargs), x, lambda t: r * x * t


def cuba_like(name):
    tau_syn = np.array([2e-3, 1e-2, 5e-3])
    tau_mem = np.array([1e-2, 1e-2, 3e-2])  # the middle neuron has equal time constants
    r, v_leak, w_in = np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.1, -0.2]), np.array([1.0, 0.5, 2.0])
    x = np.array([0.7, -0.4, 1.3])
    kwargs = {"tau_syn": tau_syn, "tau_mem": tau_mem, "r": r, "v_leak": v_leak, "w_in": w_in}
    if name == "CubaLIF":
        kwargs["v_threshold"] = NO_SPIKE
    i_inf = w_in * x

    def v(t):
        # i(t) = i_inf (1 - e^{-t/ts}); v from variation of constants, written independently.
        out = np.empty((len(t), 3))
        for n in range(3):
            ts, tm = tau_syn[n], tau_mem[n]
            if ts == tm:
                transient = -r[n] * i_inf[n] * (t / tm) * np.exp(-t / tm)
            else:
                transient = -r[n] * i_inf[n] * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
            out[:, n] = v_leak[n] + r[n] * i_inf[n] * (1 - np.exp(-t / tm)) + transient
        return out

    return MODELS[name].params(**kwargs), x, v


ANALYTIC = {
    "LI": lif_like,
    "LIF": lif_like,
    "ALIF": lif_like,
    "MultiSpikeLIF": lif_like,
    "I": integrator_like,
    "IF": integrator_like,
    "CubaLI": cuba_like,
    "CubaLIF": cuba_like,
}


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_exact_method_matches_analytic_subthreshold_solution(name):
    params, x, v_of_t = ANALYTIC[name](name)
    dt, n_steps = 1e-4, 500
    _, state = run_numpy(MODELS[name], params, "exact", dt, np.tile(x, (n_steps, 1)))
    expected = v_of_t(np.array([n_steps * dt]))[-1] if name.startswith("Cuba") else v_of_t(n_steps * dt)
    np.testing.assert_allclose(state.v, expected, rtol=1e-10, atol=1e-12)


def izhikevich_reference(params, x, t_end):
    """scipy's adaptive RK45 at tight tolerance: the reference for the nonlinear model."""
    p = params

    def rhs(_, y):
        v, u = y
        return [(p.k * (v - p.v_rest) * (v - p.v_threshold) - u + x) / p.c_m, p.a * (p.b * (v - p.v_rest) - u)]

    sol = solve_ivp(rhs, (0, t_end), [float(p.v_rest), 0.0], rtol=1e-11, atol=1e-14)
    return sol.y[:, -1]


@pytest.mark.parametrize("method", ["euler", "exp_euler"])
def test_izhikevich_converges_to_reference_solution_with_order_one(method):
    model = MODELS["Izhikevich"]
    params = model.params()
    x, t_end = 30e-12, 0.05  # sub-threshold current
    v_ref, _ = izhikevich_reference(params, x, t_end)
    errors = []
    for dt in (4e-4, 2e-4, 1e-4, 5e-5):
        n = round(t_end / dt)
        _, state = run_numpy(model, params, method, dt, np.full((n, 1), x))
        errors.append(abs(float(state.v[0]) - v_ref))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.8) & (orders < 1.3)), orders
    assert errors[-1] < 1e-5  # volts


# ---- convergence order of forward Euler ------------------------------------------------------


@pytest.mark.parametrize("name", ["LI", "LIF", "CubaLI", "CubaLIF", "ALIF", "MultiSpikeLIF"])
def test_euler_converges_to_exact_with_order_one(name):
    params, x, v_of_t = ANALYTIC[name](name)
    t_end = 0.02
    exact = v_of_t(np.array([t_end]))[-1] if name.startswith("Cuba") else v_of_t(t_end)
    errors = []
    for dt in (4e-4, 2e-4, 1e-4, 5e-5):
        n = round(t_end / dt)
        _, state = run_numpy(MODELS[name], params, "euler", dt, np.tile(x, (n, 1)))
        errors.append(np.max(np.abs(state.v - exact)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.9) & (orders < 1.1)), orders


def test_euler_refuses_a_step_longer_than_tau():
    from neuro.core.errors import DiscretizationError

    with pytest.raises(DiscretizationError) as info:
        MODELS["LIF"].discretize(MODELS["LIF"].params(tau=1e-3), 2e-3, "euler")
    assert info.value.field == "tau"


# ---- golden trajectories and backend equivalence ---------------------------------------------


@pytest.mark.parametrize("case", sorted(GOLDEN.CASES))
def test_golden_trajectory(case):
    stored = np.load(Path(GOLDEN.__file__).parent / f"{case}.npz")
    fresh = GOLDEN.simulate(case)
    assert stored["z"].sum() > 0, "a golden case must exercise spikes or a non-zero readout"
    for key in fresh:
        np.testing.assert_array_equal(fresh[key], stored[key], err_msg=f"{case}: {key}")


def golden_case(case):
    """(model, params, method, input sequence) of a golden case."""
    model_name, method, kwargs, scale = GOLDEN.CASES[case]
    model = MODELS[model_name]
    return model, model.params(**kwargs), method, GOLDEN.make_input(case, scale)


@pytest.mark.parametrize("case", sorted(GOLDEN.CASES))
def test_numba_compiled_update_is_bitwise_equal_to_numpy(case):
    model, params, method, x_seq = golden_case(case)
    z_np, state_np = run_numpy(model, params, method, GOLDEN.DT, x_seq)
    coeffs = model.discretize(params, GOLDEN.DT, method)
    z_nb, state_nb = compile_population(model)(x_seq, model.init_state(params, shape=(4,)), coeffs)
    np.testing.assert_array_equal(z_nb, z_np)
    for a, b in zip(state_nb, state_np, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", sorted(GOLDEN.CASES))
def test_torch_run_of_the_same_update_matches_numpy(case):
    model, params, method, x_seq = golden_case(case)
    z_np, _ = run_numpy(model, params, method, GOLDEN.DT, x_seq)
    coeffs = coeffs_to_torch(model.discretize(params, GOLDEN.DT, method), dtype=torch.float64)
    state = model.state(*(torch.tensor(s) for s in model.init_state(params, shape=(4,))))
    ops = TorchOps(ArcTan())
    zs = []
    for x in torch.tensor(x_seq):
        z, state = model.update(x, state, coeffs, ops)
        zs.append(z)
    # Elementwise float64 arithmetic in the same order: identical results.
    np.testing.assert_array_equal(torch.stack(zs).numpy(), z_np)


# CubaEILIF takes two input channels; tests/core/neurons/test_cuba_ei_lif.py is its suite.
@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.spiking and n != "CubaEILIF"])
def test_surrogate_gradient_flows_through_the_unrolled_update(name):
    model = MODELS[name]
    case = next(c for c, spec in GOLDEN.CASES.items() if spec[0] == name)
    _, method, kwargs, scale = GOLDEN.CASES[case]
    params = model.params(**kwargs)
    coeffs = coeffs_to_torch(model.discretize(params, GOLDEN.DT, method), dtype=torch.float64)
    ops = TorchOps(ArcTan())
    rest = model.init_state(params, shape=(4,))
    x_seq = torch.tensor(GOLDEN.make_input(case, scale)[:30], requires_grad=True)

    def unrolled(x_seq):
        state = model.state(*(torch.tensor(s) for s in rest))
        total = 0
        for x in x_seq:
            z, state = model.update(x, state, coeffs, ops)
            total = total + z + 0.1 * state.v
        return total

    # The step has no true gradient to gradcheck against (tests/core/test_surrogate.py checks
    # each surrogate against its smooth primitive); here the gradient must reach every input.
    out = unrolled(x_seq)
    out.sum().backward()
    assert x_seq.grad is not None
    assert torch.isfinite(x_seq.grad).all()
    assert (x_seq.grad.abs() > 0).any()


def test_every_model_is_an_ir_node_type():
    for name, model in MODELS.items():
        assert NODE_TYPES[name] is model.params
        assert model.params.node_type == name


def test_multispike_count_is_rounded_clipped_membrane():
    model = MODELS["MultiSpikeLIF"]
    params = model.params(tau=1e-2, r=1.0, max_spikes=4, v_threshold=1.0)
    coeffs = model.discretize(params, 1e-3)
    v = np.linspace(-2, 7, 901)
    # Drive the membrane to exactly v from rest: x chosen so that leaky_integrate gives v.
    x = (v - coeffs.decay * 0.0 - coeffs.bias) / coeffs.gain
    z, _ = model.update(x, model.state(v=np.zeros_like(v)), coeffs, NUMPY_OPS)
    v_reached = coeffs.bias + coeffs.gain * x
    expected = np.clip(np.floor(v_reached + 0.5), 0, 4)
    ties = np.isclose(v_reached % 1.0, 0.5)
    np.testing.assert_array_equal(z[~ties], expected[~ties])


def test_multispike_straight_through_gradient_is_a_window_indicator():
    from neuro.core.surrogate import StraightThrough

    model = MODELS["MultiSpikeLIF"]
    params = model.params(tau=1e-2, r=1.0, max_spikes=4, v_threshold=1.0)
    coeffs = coeffs_to_torch(model.discretize(params, 1e-3), dtype=torch.float64)
    v = torch.linspace(-1.5, 5.5, 141, dtype=torch.float64, requires_grad=True)
    x = (v - coeffs.bias) / coeffs.gain
    z, _ = model.update(x, model.state(v=torch.zeros(141, dtype=torch.float64)), coeffs, TorchOps(StraightThrough(1.0)))
    (grad_v,) = torch.autograd.grad(z.sum(), v)
    inside = (v.detach() >= 0) & (v.detach() < 4)
    outside = (v.detach() < 0) | (v.detach() >= 4)
    assert torch.allclose(grad_v[inside], torch.ones_like(grad_v[inside]))
    assert torch.all(grad_v[outside] == 0)
    assert math.isclose(float(z.detach().max()), 4.0)

"""Bad neuron parameters raise ParameterError naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import DiscretizationError, ParameterError
from neuro.core.neurons import MODELS, izhikevich, lif, multispike_lif
from neuro.core.reset import ResetSubtract, reset_from_name


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: lif.Params(tau=-1e-3), "tau"),
        (lambda: lif.Params(tau=np.array([1e-3, 0.0])), "tau"),
        (lambda: lif.Params(tau=1e-3, r=float("nan")), "r"),
        (lambda: lif.Params(tau="fast"), "tau"),
        (lambda: lif.Params(tau=1e-3, v_threshold=0.0, v_reset=0.5), "v_reset"),
        (lambda: lif.Params(tau=1e-3, reset="subtract"), "reset"),
        (lambda: multispike_lif.Params(tau=1e-3, max_spikes=0), "max_spikes"),
        (lambda: multispike_lif.Params(tau=1e-3, max_spikes=2.5), "max_spikes"),
        (lambda: izhikevich.Params(v_reset=0.05), "v_reset"),
        (lambda: MODELS["CubaLIF"].params(tau_syn=0.0, tau_mem=1e-2), "tau_syn"),
    ],
)
def test_invalid_parameters_name_the_field(make, field):
    with pytest.raises(ParameterError) as info:
        make()
    assert info.value.field == field
    assert field in str(info.value)


def test_parameters_that_do_not_broadcast():
    with pytest.raises(ParameterError, match="broadcast"):
        lif.Params(tau=np.ones(3) * 1e-2, r=np.ones(4))


def test_subtract_reset_allows_reset_above_threshold_and_parameters_are_read_only():
    p = lif.Params(tau=1e-2, v_threshold=0.0, v_reset=0.5, reset=ResetSubtract())
    with pytest.raises(ValueError, match="read-only"):
        p.tau[...] = 1.0


@pytest.mark.parametrize(
    ("dt", "method"), [(0.0, "exact"), (-1e-3, "exact"), (float("inf"), "exact"), ("x", "exact"), (1e-3, "rk4")]
)
def test_invalid_time_step_or_method(dt, method):
    with pytest.raises(DiscretizationError):
        lif.discretize(lif.Params(tau=1e-2), dt, method)


def test_izhikevich_has_no_exact_method():
    with pytest.raises(DiscretizationError, match="exp_euler"):
        izhikevich.discretize(izhikevich.Params(), 1e-4, "exact")


def test_unknown_reset_name():
    with pytest.raises(ParameterError, match="reset"):
        reset_from_name("zero")


def test_subtract_reset_keeps_the_overshoot():
    p = lif.Params(tau=1e-2, r=1.0, reset=ResetSubtract())
    c = lif.discretize(p, 1e-3)
    from neuro.core.ops import NUMPY_OPS

    x = (1.3 - c.bias) / c.gain
    z, s = lif.update(np.array([x]), lif.State(v=np.zeros(1)), c, NUMPY_OPS)
    assert z[0] == 1.0
    assert s.v[0] == pytest.approx(0.3)
    p0 = lif.Params(tau=1e-2, r=1.0, v_reset=-0.2)
    z, s = lif.update(np.array([x]), lif.State(v=np.zeros(1)), lif.discretize(p0, 1e-3), NUMPY_OPS)
    assert z[0] == 1.0
    assert s.v[0] == -0.2

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuro.core.errors import ParameterError
from neuro.core.ops import NUMPY_OPS
from neuro.core.surrogate import (
    SURROGATES,
    ArcTan,
    FastSigmoid,
    Sigmoid,
    StraightThrough,
    Triangle,
    surrogate_from_dict,
    surrogate_to_dict,
)
from neuro.torch.ops import spike_fn

# Smooth primitives F with F' = derivative, written independently of neuro.core.surrogate.
PRIMITIVES = {
    ArcTan(3.0): lambda x: np.arctan(math.pi / 2 * 3.0 * x) / math.pi,
    FastSigmoid(10.0): lambda x: x / (1 + 10.0 * np.abs(x)),
    Sigmoid(5.0): lambda x: 1 / (1 + np.exp(-5.0 * x)),
    Triangle(0.5): lambda x: np.where(x < 0, 0.5 * np.clip(1 + x / 0.5, 0, 1) ** 2, 1 - 0.5 * np.clip(1 - x / 0.5, 0, 1) ** 2),
    StraightThrough(0.8): lambda x: np.clip(x / 0.8 + 0.5, 0, 1),
}


@pytest.mark.parametrize("surrogate", list(PRIMITIVES), ids=lambda s: s.name)
def test_derivative_matches_finite_differences_of_its_primitive(surrogate):
    x = np.linspace(-2, 2, 4001)
    x = x[np.abs(np.abs(x) - 0.4) > 1e-3]  # away from the boxcar's corners
    h = 1e-6
    numeric = (PRIMITIVES[surrogate](x + h) - PRIMITIVES[surrogate](x - h)) / (2 * h)
    np.testing.assert_allclose(surrogate.derivative(x, NUMPY_OPS), numeric, atol=1e-5)


@pytest.mark.parametrize("surrogate", [ArcTan(), Sigmoid(), Triangle(), StraightThrough()], ids=lambda s: s.name)
def test_probability_surrogates_integrate_to_one(surrogate):
    x = np.linspace(-200, 200, 2_000_001)
    assert np.trapezoid(surrogate.derivative(x, NUMPY_OPS), x) == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize("surrogate", list(PRIMITIVES), ids=lambda s: s.name)
def test_spike_fn_is_heaviside_forward_and_surrogate_backward(surrogate):
    x = torch.linspace(-1.5, 1.5, 301, dtype=torch.float64, requires_grad=True)
    z = spike_fn(x, surrogate)
    assert torch.equal(z, (x > 0).double())
    (grad,) = torch.autograd.grad(z.sum(), x)
    np.testing.assert_allclose(grad.numpy(), surrogate.derivative(x.detach().numpy(), NUMPY_OPS), rtol=1e-12)


def test_sigmoid_derivative_does_not_overflow_far_from_threshold():
    with np.errstate(over="raise"):
        d = Sigmoid(50.0).derivative(np.array([-1e4, 1e4]), NUMPY_OPS)
    assert np.all(d == 0) or np.all(d < 1e-100)


@pytest.mark.parametrize("cls", list(SURROGATES.values()))
def test_dict_round_trip(cls):
    s = cls()
    assert surrogate_from_dict(surrogate_to_dict(s)) == s


@pytest.mark.parametrize(
    "bad", [lambda: ArcTan(alpha=0.0), lambda: FastSigmoid(slope=-1.0), lambda: Triangle(width=float("nan"))]
)
def test_invalid_surrogate_parameters_raise(bad):
    with pytest.raises(ParameterError):
        bad()


def test_unknown_surrogate_name_is_named():
    with pytest.raises(ParameterError, match="nope"):
        surrogate_from_dict({"name": "nope"})

"""Rate, latency and population encoders: expectations, determinism, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuro.core.errors import ParameterError
from neuro.encoders.latency import encode_latency, latency_times
from neuro.encoders.population import encode_population, gaussian_receptive_fields, receptive_field_centres
from neuro.encoders.rate import encode_rate, poisson_spike_times


def test_bernoulli_rate_preserves_expected_count(rng):
    x = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    n = 20_000
    z = encode_rate(x, n, rng=rng)
    mean = z.mean(axis=0)
    # binomial standard error sqrt(p(1-p)/n) <= 0.0036; 5 sigma
    np.testing.assert_allclose(mean, x, atol=0.02)
    assert z[:, 0].sum() == 0
    assert z[:, -1].sum() == n


def test_poisson_counts_mean_equals_variance(rng):
    z = encode_rate(np.array([0.3, 2.0]), 20_000, rng=rng, mode="poisson")
    assert z.dtype == np.int32
    np.testing.assert_allclose(z.mean(axis=0), [0.3, 2.0], rtol=0.05)
    np.testing.assert_allclose(z.var(axis=0), [0.3, 2.0], rtol=0.08)


def test_max_rate_and_dt_set_probability(rng):
    z = encode_rate(np.array([1.0]), 50_000, rng=rng, max_rate=100.0, dt=1e-3)
    assert abs(z.mean() - 0.1) < 0.01


def test_rate_is_deterministic_under_a_seed():
    x = np.linspace(0, 1, 12).reshape(3, 4)
    a = encode_rate(x, 30, rng=np.random.default_rng(7))
    b = encode_rate(x, 30, rng=np.random.default_rng(7))
    assert a.shape == (30, 3, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, encode_rate(x, 30, rng=np.random.default_rng(8)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "gauss"}, "mode"),
        ({"gain": 1.0, "max_rate": 10.0, "dt": 1e-3}, "gain"),
        ({"max_rate": 10.0}, "dt"),
    ],
)
def test_rate_rejects_bad_options(rng, kwargs, field):
    with pytest.raises(ParameterError) as info:
        encode_rate(np.ones(2), 5, rng=rng, **kwargs)
    assert info.value.field == field


def test_rate_rejects_nan(rng):
    with pytest.raises(ParameterError, match="finite"):
        encode_rate(np.array([np.nan]), 5, rng=rng)


def test_poisson_spike_times_rate_and_dead_time(rng):
    ev = poisson_spike_times(np.array([1.0, 0.5, 0.0]), 2_000_000, 200.0, rng=rng, dead_time_us=2000)
    assert np.all(np.diff(ev["t"]) >= 0)
    assert ev["t"].min() >= 0
    assert ev["t"].max() < 2_000_000
    counts = np.bincount(ev["x"], minlength=3)
    assert counts[2] == 0
    # with dead time d the rate is r / (1 + r d): 200 -> 142.9 Hz, 100 -> 83.3 Hz over 2 s
    np.testing.assert_allclose(counts[:2], [2 * 200 / 1.4, 2 * 100 / 1.2], rtol=0.1)
    for ch in (0, 1):
        assert np.diff(ev["t"][ev["x"] == ch]).min() >= 2000 - 1


def test_latency_log_and_linear_formulas():
    x = np.array([1.0, 0.5, 0.02, 0.01, 0.0])
    t = latency_times(x, code="log", tau=2.0, threshold=0.01)
    np.testing.assert_allclose(t[:3], 2.0 * np.log(x[:3] / (x[:3] - 0.01)))
    assert np.isinf(t[3:]).all()
    np.testing.assert_allclose(latency_times(x[:2], code="linear", tau=10.0), [0.0, 5.0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.integers(1, 50), st.sampled_from(["log", "linear"]))
def test_latency_spikes_at_most_once_and_orders_by_intensity(values, n_steps, code):
    x = np.array(values)
    z = encode_latency(x, n_steps, code=code, normalize=True)
    assert z.shape == (n_steps, len(values))
    assert z.sum(axis=0).max() <= 1
    fired = z.any(axis=0)
    assert not fired[x <= 0.01].any()
    step = z.argmax(axis=0)
    # stronger input never fires later than a weaker one
    idx = np.flatnonzero(fired)
    order = idx[np.argsort(-x[idx], kind="stable")]
    assert np.all(np.diff(step[order]) >= 0)


def test_latency_without_normalize_drops_late_spikes():
    z = encode_latency(np.array([0.9, 0.1]), 5, code="linear", tau=10.0)
    assert z[:, 0].argmax() == 1
    assert z[:, 0].sum() == 1
    assert z[:, 1].sum() == 0  # t = 9 > T - 1 = 4


def test_receptive_fields_follow_bohte_layout():
    mu = receptive_field_centres(6, 0.0, 1.0)
    np.testing.assert_allclose(mu, [-0.125, 0.125, 0.375, 0.625, 0.875, 1.125])
    a = gaussian_receptive_fields(mu, 6)
    np.testing.assert_allclose(np.diag(a), 1.0)
    # neighbour one spacing away: exp(-(beta^2) / 2) with beta = 1.5
    np.testing.assert_allclose(a[1, 2], np.exp(-(1.5**2) / 2))


def test_population_latency_code_fires_nearest_field_first():
    z = encode_population(np.array([0.62]), 6, 20)
    assert z.shape == (20, 1, 6)
    first = z[:, 0, :].argmax(axis=0)
    fired = z[:, 0, :].any(axis=0)
    assert first[3] == 0
    assert fired[3]
    assert not fired[0]  # activation < 0.1 far from the value


def test_population_rate_code_needs_rng(rng):
    with pytest.raises(ParameterError) as info:
        encode_population(np.array([0.5]), 5, 10, code="rate")
    assert info.value.field == "rng"
    z = encode_population(np.array([0.5]), 5, 4000, code="rate", rng=rng)
    a = gaussian_receptive_fields(np.array([0.5]), 5)[0]
    np.testing.assert_allclose(z[:, 0, :].mean(axis=0), np.where(a >= 0.1, a, 0), atol=0.03)

"""The CUBA network builder: structure, connectivity statistics, errors."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import ParameterError
from neuro.models.cuba import W_EXC, W_INH, bernoulli_csr, cuba


def test_structure_routing_and_initial_state():
    graph, init = cuba(1000, seed=2)
    rec = graph.nodes["rec"]
    assert graph.shapes["rec"] == (2000,)
    assert graph.shapes["pop"] == (1000,)
    rows = np.repeat(np.arange(1000), np.diff(rec.indptr))
    inhibitory = rows >= 800
    assert np.all(rec.indices[~inhibitory] < 1000)
    assert np.all(rec.indices[inhibitory] >= 1000)
    assert np.all(rec.weights[~inhibitory] == W_EXC)
    assert np.all(rec.weights[inhibitory] == W_INH)
    v0 = init["pop"][0]
    assert v0.min() >= -0.06
    assert v0.max() < -0.05
    assert rec.delays is None
    assert cuba(100, delay=1e-3)[0].nodes["rec"].delays is not None


def test_bernoulli_connectivity_has_the_right_statistics(rng):
    n, p = 2000, 0.04
    indptr, indices = bernoulli_csr(n, n, p, rng)
    nnz = indptr[-1]
    assert abs(nnz - n * n * p) < 5 * np.sqrt(n * n * p)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    assert np.all((np.diff(indices) > 0) | (rows[1:] != rows[:-1]))  # sorted, no duplicates
    fan_in = np.bincount(indices, minlength=n)
    assert abs(fan_in.mean() - n * p) < 1.0
    assert abs(fan_in.var() - n * p * (1 - p)) < 0.15 * n * p  # binomial fan-in


def test_default_fan_in_is_80_and_errors():
    graph, _ = cuba(8000, seed=0)
    assert abs(graph.nodes["rec"].indptr[-1] / 8000 - 80) < 1
    for kwargs in ({"n": 1}, {"n": 100, "p": 0.0}, {"n": 100, "p": 1.5}, {"n": 100, "delay": -1.0}):
        with pytest.raises(ParameterError):
            cuba(**kwargs)

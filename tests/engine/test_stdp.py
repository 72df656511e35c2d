"""STDP inside run_block: the analytic pair-based weight change, bounds, normalisation, and
numpy == numba bitwise."""

from __future__ import annotations

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import ParameterError, SimulationInputError
from neuro.engine.recurrent import run_block
from neuro.learning import STDP, pair_weight_change

DT = 1e-3
T = 80


def plastic_graph(n_pre: int, n_post: int, dense: bool, w0: float = 0.0) -> ir.Graph:
    if dense:
        proj = ir.Linear(np.full((n_post, n_pre), w0))
    else:
        proj = ir.SparseLinear(
            (n_post, n_pre), np.arange(n_pre + 1) * n_post, np.tile(np.arange(n_post), n_pre), np.full(n_pre * n_post, w0)
        )
    nodes = {"in": ir.Input((n_pre,)), "proj": proj, "pop": ir.LIF(tau=1e-3, r=1.0, v_threshold=1.0), "out": ir.Output()}
    return ir.Graph(nodes, [("in", "proj"), ("proj", "pop"), ("pop", "out")], {"dt": DT})


def spikes_at(steps_per_channel: list[list[int]], batch: int = 1) -> np.ndarray:
    x = np.zeros((T, batch, len(steps_per_channel)))
    for c, steps in enumerate(steps_per_channel):
        x[steps, :, c] = 1.0
    return x


def run(graph, pre, post, rule, backend="numba"):
    kicks = 100.0 * post  # forces a post spike at exactly these steps; the plastic weights stay tiny
    return run_block(
        graph, ["proj", "pop"], {"proj": pre, "pop": kicks}, T, pre.shape[1], DT, backend=backend, dtype=np.float64,
        plasticity={"proj": rule},
    )  # fmt: skip


RULE = STDP(tau_pre=0.02, tau_post=0.03, a_plus=1e-3, a_minus=1.2e-3, w_min=-1.0, w_max=1.0)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize(
    ("pre", "post"),
    [([10], [10]), ([10], [13]), ([10], [40]), ([20], [12]), ([50], [5]), ([5, 20, 33], [8, 21, 60]), ([3, 4, 70], [2, 50])],
)
def test_weight_change_equals_the_analytic_pair_sum(pre, post, dense):
    graph = plastic_graph(1, 1, dense)
    res = run(graph, spikes_at([pre]), spikes_at([post]), RULE)
    t_post, _ = res.outputs["pop"].frames()
    assert list(t_post) == post  # the kicks alone decide the post spikes
    expected = pair_weight_change(pre, post, RULE, DT)
    assert abs(expected) > 1e-5
    np.testing.assert_allclose(res.weights["proj"].ravel()[0], expected, rtol=1e-12, atol=1e-18)


def test_numba_equals_numpy_bitwise_with_bounds_soft_bounds_and_normalisation(rng):
    pre = (rng.uniform(size=(T, 3, 4)) < 0.15).astype(float)
    post = (rng.uniform(size=(T, 3, 3)) < 0.1).astype(float)
    for dense in (False, True):
        for rule in (
            STDP(0.02, 0.02, 0.05, 0.06, 0.0, 0.3),
            STDP(0.01, 0.04, 0.05, 0.04, 0.0, 1.0, multiplicative=True),
            STDP(0.02, 0.02, 0.02, 0.01, 0.0, 1.0, normalize=1.5),
        ):
            graph = plastic_graph(4, 3, dense, w0=0.1)
            a, b = run(graph, pre, post, rule, "numba"), run(graph, pre, post, rule, "numpy")
            np.testing.assert_array_equal(a.weights["proj"], b.weights["proj"])
            w = a.weights["proj"]
            assert np.all((w >= rule.w_min) & (w <= rule.w_max))
            assert not np.allclose(w, 0.1)
            if rule.normalize is not None:
                incoming = w.reshape(4, 3).sum(axis=0) if not dense else w.sum(axis=1)
                np.testing.assert_allclose(incoming, 1.5, rtol=1e-12)
            assert a.counts == b.counts


def test_hard_bounds_clip():
    graph = plastic_graph(1, 1, False)
    rule = STDP(0.02, 0.02, a_plus=0.5, a_minus=0.5, w_min=-0.2, w_max=0.3)
    up = run(graph, spikes_at([[5, 6, 7]]), spikes_at([[8, 9, 10]]), rule)
    down = run(graph, spikes_at([[20, 21]]), spikes_at([[10, 11]]), rule)
    assert up.weights["proj"][0] == 0.3
    assert down.weights["proj"][0] == -0.2


def test_weights_carry_over_across_samples_in_order():
    graph = plastic_graph(1, 1, False)
    pre, post = spikes_at([[10]], batch=2), spikes_at([[12]], batch=2)
    two = run(graph, pre, post, RULE)
    one = run(graph, pre[:, :1], post[:, :1], RULE)
    np.testing.assert_allclose(two.weights["proj"], 2 * one.weights["proj"], rtol=1e-12)


def test_rule_and_placement_errors():
    with pytest.raises(ParameterError) as info:
        STDP(tau_pre=0.0)
    assert info.value.field == "tau_pre"
    with pytest.raises(ParameterError):
        STDP(w_min=1.0, w_max=0.0)
    graph = plastic_graph(1, 1, False)
    with pytest.raises(SimulationInputError, match="not a projection"):
        run_block(graph, ["proj", "pop"], {}, T, 1, DT, plasticity={"pop": RULE})
    delayed = ir.SparseLinear((1, 1), [0, 1], [0], [0.0], delays=[2e-3])
    g2 = ir.Graph(
        {"in": ir.Input((1,)), "proj": delayed, "pop": ir.LIF(tau=1e-3)}, [("in", "proj"), ("proj", "pop")], {"dt": DT}
    )
    with pytest.raises(SimulationInputError, match="delays"):
        run_block(g2, ["proj", "pop"], {}, T, 1, DT, plasticity={"proj": RULE})

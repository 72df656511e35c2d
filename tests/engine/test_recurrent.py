"""Recurrent blocks: numba == numpy bitwise in float64, == torch spikes in float64 on random
recurrent graphs, delay timing by hand, count invariants, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro import ir
from neuro.core.errors import BackendUnavailableError, SimulationInputError, UnsupportedNodeError
from neuro.engine.recurrent import run_block
from neuro.engine.signals import Events
from neuro.torch import build

DT = 1e-3


def random_recurrent(seed: int, n_in: int, n: int, model: str, sparse: bool, affine: bool) -> ir.Graph:
    rng = np.random.default_rng(seed)
    if model == "LIF":
        pop = ir.LIF(tau=rng.uniform(5e-3, 3e-2, n), r=1.0, v_threshold=1.0)
    else:
        pop = ir.CubaLIF(tau_syn=rng.uniform(2e-3, 1e-2, n), tau_mem=rng.uniform(5e-3, 3e-2, n), r=1.0)
    w_in = rng.normal(0.5, 1.0, (n, n_in)) * 8
    fc = ir.Affine(w_in, rng.normal(0, 0.2, n)) if affine else ir.Linear(w_in)
    if sparse:
        mask = rng.uniform(size=(n, n)) < 0.3
        dense = np.where(mask, rng.normal(0, 3.0, (n, n)), 0.0)
        cols = [np.flatnonzero(dense[:, j]) for j in range(n)]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])])
        rec = ir.SparseLinear((n, n), indptr, np.concatenate(cols), np.concatenate([dense[c, j] for j, c in enumerate(cols)]))
    else:
        rec = ir.Linear(rng.normal(0, 3.0, (n, n)))
    nodes = {"in": ir.Input((n_in,)), "fc": fc, "pop": pop, "rec": rec, "out": ir.Output()}
    edges = [("in", "fc"), ("fc", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")]
    return ir.Graph(nodes, edges, {"dt": DT})


def sparse_input(seed: int, n_steps: int, batch: int, n_in: int, density: float) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    return (rng.uniform(size=(n_steps, batch, n_in)) < density).astype(np.float64)


def run(graph, x, backend, dtype=np.float64, **kw):
    return run_block(
        graph,
        ["fc", "pop", "rec"],
        {"fc": Events.from_dense(x)},
        x.shape[0],
        x.shape[1],
        DT,
        backend=backend,
        dtype=dtype,
        **kw,
    )


def assert_same(a, b):
    for name in a.outputs:
        ea, eb = a.outputs[name], b.outputs[name]
        np.testing.assert_array_equal(ea.ptr, eb.ptr, err_msg=name)
        np.testing.assert_array_equal(ea.idx, eb.idx, err_msg=name)
        np.testing.assert_array_equal(ea.to_dense(np.float64), eb.to_dense(np.float64), err_msg=name)
    assert {k: c.to_dict() for k, c in a.counts.items()} == {k: c.to_dict() for k, c in b.counts.items()}
    for name in a.state:
        for sa, sb in zip(a.state[name], b.state[name], strict=True):
            np.testing.assert_array_equal(sa, sb)
    for key in a.traces:
        np.testing.assert_array_equal(a.traces[key], b.traces[key])


CASES = st.tuples(
    st.integers(0, 10_000), st.sampled_from(["LIF", "CubaLIF"]), st.booleans(), st.booleans(), st.floats(0.05, 0.5)
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CASES)
def test_numba_equals_numpy_bitwise_and_torch_spikes_in_float64(case):
    seed, model, sparse, affine, density = case
    graph = random_recurrent(seed, 5, 12, model, sparse, affine)
    x = sparse_input(seed, 40, 3, 5, density)
    record = {"pop": ["v"]}
    a, b = run(graph, x, "numba", record=record), run(graph, x, "numpy", record=record)
    assert_same(a, b)
    net = build(graph, dtype=torch.float64)
    with torch.no_grad():
        expected = net._run_steps(torch.tensor(x))
    np.testing.assert_array_equal(a.outputs["pop"].to_dense(np.float64), expected["pop"].numpy())
    np.testing.assert_array_equal(a.traces[("pop", "v")][-1], b.state["pop"][0])


def test_the_spikes_are_not_trivial():
    """The random cases above spike and use the recurrent path (a test of the test)."""
    graph = random_recurrent(3, 5, 12, "LIF", True, False)
    res = run(graph, sparse_input(3, 40, 3, 5, 0.3), "numba")
    assert res.counts["pop"].out_spikes > 20
    # pop -> rec is a forward edge (rec closes the cycle into pop): every spike reaches rec
    assert res.counts["rec"].in_events == res.counts["pop"].out_spikes


def ring(delays_s=None, delay_node=None):
    """Three LIF neurons in a ring 0 -> 1 -> 2 -> 0, each input strong enough to fire."""
    w = ir.SparseLinear((3, 3), [0, 1, 2, 3], [1, 2, 0], [20.0, 20.0, 20.0], delays=delays_s)
    nodes = {"in": ir.Input((3,)), "pop": ir.LIF(tau=1e-2, r=1.0), "w": w}
    edges = [("in", "pop"), ("pop", "w"), ("w", "pop")]
    if delay_node is not None:
        nodes["d"] = ir.Delay(delay_node)
        edges = [("in", "pop"), ("pop", "w"), ("w", "d"), ("d", "pop")]
    return ir.Graph(nodes, edges, {"dt": DT})


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_delays_follow_the_back_edge_rule(backend):
    x = np.zeros((12, 1, 3))
    x[0, 0, 0] = 20.0
    # no delay: one step per hop (the back edge); synaptic delays of 2 and 0 steps; a Delay
    # node of 1 step in the cycle
    cases = {
        "none": (ring(), ["pop", "w"], [0, 1, 2, 3, 4, 5]),
        "synaptic": (ring(delays_s=[2e-3, 0.0, 1e-3]), ["pop", "w"], [0, 3, 4, 6, 9, 10]),
        "node": (ring(delay_node=1e-3), ["pop", "w", "d"], [0, 2, 4, 6, 8, 10]),
    }
    for name, (graph, nodes, expected) in cases.items():
        res = run_block(graph, nodes, {"pop": x}, 12, 1, DT, backend=backend, dtype=np.float64)
        t, _ = res.outputs["pop"].frames()
        assert list(t[:6]) == expected, name


def test_batches_are_independent_samples():
    graph = random_recurrent(7, 5, 12, "CubaLIF", True, True)
    x = sparse_input(7, 30, 3, 5, 0.3)
    both = run(graph, x, "numba")
    for b in range(3):
        alone = run(graph, x[:, b : b + 1], "numba")
        np.testing.assert_array_equal(alone.outputs["pop"].to_dense()[:, 0], both.outputs["pop"].to_dense()[:, b])


def test_count_invariants():
    graph = random_recurrent(11, 5, 12, "LIF", False, False)
    x = sparse_input(11, 50, 2, 5, 0.3)
    res = run(graph, x, "numba")
    fc, rec, pop = res.counts["fc"], res.counts["rec"], res.counts["pop"]
    assert fc.in_events == int(x.sum())
    assert fc.synops == fc.in_events * 12  # binary dense layer: spikes in x fan-out
    assert fc.synops_dense == 5 * 12 * 50 * 2
    assert rec.synops == rec.in_events * 12
    assert rec.synops <= rec.synops_dense
    assert pop.out_spikes == len(res.outputs["pop"])
    assert pop.updates_active + pop.updates_idle == 12 * 50 * 2
    assert fc.macs == 0
    assert fc.binary_input


def test_valued_external_input_counts_macs_and_dense_input_equals_events():
    graph = random_recurrent(5, 5, 12, "LIF", True, False)
    x = sparse_input(5, 30, 1, 5, 0.3) * 0.7
    dense = run_block(graph, ["fc", "pop", "rec"], {"fc": x}, 30, 1, DT, backend="numba", dtype=np.float64)
    events = run(graph, x, "numba")
    assert dense.counts["fc"].macs == np.count_nonzero(x) * 12
    assert dense.counts["fc"].synops == 0
    np.testing.assert_array_equal(dense.outputs["pop"].to_dense(), events.outputs["pop"].to_dense())


def test_float32_spikes_close_to_float64():
    graph = random_recurrent(13, 5, 12, "LIF", True, False)
    x = sparse_input(13, 60, 2, 5, 0.3)
    z64 = run(graph, x, "numba").outputs["pop"].to_dense()
    z32 = run(graph, x, "numba", dtype=np.float32).outputs["pop"].to_dense()
    assert np.mean(z64 != z32) <= 0.01  # documented float32 tolerance: at most 1 % of entries


def test_typed_errors():
    graph = random_recurrent(1, 5, 12, "LIF", True, False)
    x = sparse_input(1, 10, 1, 5, 0.3)
    with pytest.raises(UnsupportedNodeError, match="'out'"):
        run_block(graph, ["pop", "rec", "out"], {}, 10, 1, DT)
    with pytest.raises(SimulationInputError, match="shape"):
        run_block(graph, ["fc", "pop", "rec"], {"fc": x[:, :, :4]}, 10, 1, DT)
    with pytest.raises(SimulationInputError, match="outside the block"):
        run_block(graph, ["pop", "rec"], {"fc": x}, 10, 1, DT)
    with pytest.raises(SimulationInputError, match="no state fields"):
        run_block(graph, ["pop", "rec"], {}, 10, 1, DT, record={"pop": ["i"]})
    with pytest.raises(SimulationInputError, match="not in the graph"):
        run_block(graph, ["pop", "nope"], {}, 10, 1, DT)
    with pytest.raises(SimulationInputError, match="initial_state"):
        run_block(graph, ["pop", "rec"], {}, 10, 2, DT, initial_state={"pop": (np.zeros(3),)})
    with pytest.raises(BackendUnavailableError):
        run_block(graph, ["pop", "rec"], {}, 10, 1, DT, backend="cuda")

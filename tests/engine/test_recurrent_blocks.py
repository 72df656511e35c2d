"""The numba block loop on populations larger than one update block (1024 neurons): the
spikes found per block (first, last and those between), the counts and the input cleared by
the update loop are bitwise the numpy reference's in float64."""

from __future__ import annotations

import numpy as np

from neuro.engine import _recurrent_numba
from neuro.engine.recurrent import run_block
from neuro.models.cuba import cuba

DT = 1e-4


def drive(rng: np.random.Generator, n_steps: int, batch: int, n: int) -> np.ndarray:
    """Sparse excitatory and inhibitory kicks, strong enough that many neurons of a block spike
    in one step, on ``(T, B, 2 n)`` (excitatory inputs first)."""
    x = np.zeros((n_steps, batch, 2 * n))
    hit = rng.uniform(size=x.shape) < 0.02
    x[hit] = rng.uniform(2e-3, 2e-2, hit.sum())
    x[..., n:] *= -0.5  # inhibitory kicks
    x[5, 0, :n] = 5.0  # one step where most neurons of sample 0 spike (the refractory ones not)
    return x


def run(graph, init, x, backend):
    n_steps, batch = x.shape[:2]
    state = {"pop": tuple(np.broadcast_to(s, (batch, *s.shape)) for s in init["pop"])}
    return run_block(
        graph, ["pop", "rec"], {"pop": x}, n_steps, batch, DT, backend=backend, dtype=np.float64,
        initial_state=state, record={"pop": ["v"]},
    )  # fmt: skip


def test_numba_equals_numpy_across_update_blocks(rng):
    n = 2 * _recurrent_numba.BLOCK + 552  # two full blocks and a partial one
    graph, init = cuba(n, seed=3)
    x = drive(rng, 60, 2, n)
    a, b = run(graph, init, x, "numba"), run(graph, init, x, "numpy")
    za, zb = a.outputs["pop"], b.outputs["pop"]
    np.testing.assert_array_equal(za.ptr, zb.ptr)
    np.testing.assert_array_equal(za.idx, zb.idx)  # order within a step included
    assert {k: c.to_dict() for k, c in a.counts.items()} == {k: c.to_dict() for k, c in b.counts.items()}
    for sa, sb in zip(a.state["pop"], b.state["pop"], strict=True):
        np.testing.assert_array_equal(sa, sb)
    np.testing.assert_array_equal(a.traces[("pop", "v")], b.traces[("pop", "v")])
    # the case exercises every path of the per-block spike listing: blocks with one spike,
    # with two, with spikes between the first and the last, and nearly full blocks
    z = za.to_dense()  # (T, B, n)
    per_block = np.add.reduceat(z, np.arange(0, n, _recurrent_numba.BLOCK), axis=2)
    assert (per_block == 1).any()
    assert (per_block == 2).any()
    assert (per_block >= 3).any()
    assert per_block.max() > _recurrent_numba.BLOCK // 2
    assert a.counts["pop"].updates_active > a.counts["pop"].out_spikes > 0


def test_row_weights_only_when_every_row_is_uniform():
    indptr = np.array([0, 2, 2, 5, 6])  # row 1 empty
    weights = np.array([0.5, 0.5, -1.0, -1.0, -1.0, 2.0], np.float32)
    np.testing.assert_array_equal(_recurrent_numba._uniform_rows(indptr, weights), [0.5, 0.0, -1.0, 2.0])
    weights[3] = -0.75  # a change inside row 2
    assert len(_recurrent_numba._uniform_rows(indptr, weights)) == 0

"""Exact counts (NeuroBench definitions), input handling, element-wise nodes and typed errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import BackendUnavailableError, GraphError, SimulationInputError, UnsupportedNodeError
from neuro.core.events import make_events
from neuro.engine import Events, PoissonInput, run


def linear_graph(w: np.ndarray, **lif) -> ir.Graph:
    return ir.Graph.sequential(
        ir.Input(shape=(w.shape[1],)), ir.Linear(weight=w), ir.LIF(tau=0.01, **lif), ir.Output(), metadata={"dt": 1e-3}
    )


def test_dense_counts_on_binary_input(rng):
    w = rng.normal(0, 1, (7, 5))
    w[:, 2] = 0.0  # input 2 reaches no neuron
    x = (rng.random((30, 4, 5)) < 0.3).astype(np.float32)
    c = run(linear_graph(w), x).counts["linear_1"]
    per_input = x.sum(axis=(0, 1))
    assert c.in_events == int(x.sum())
    assert c.synops == int(per_input.sum() - per_input[2]) * 7
    assert c.macs == 0
    assert c.binary_input
    assert c.synops_dense == 7 * 5 * 30 * 4
    assert c.synops <= c.synops_dense


def test_counts_on_graded_input_are_macs(rng):
    w = rng.normal(0, 1, (3, 4))
    x = rng.integers(0, 3, (10, 2, 4)).astype(np.float32)
    c = run(linear_graph(w), x).counts["linear_1"]
    assert not c.binary_input
    assert c.synops == 0
    assert c.macs == int(np.count_nonzero(x)) * 3


def test_conv_counts_equal_a_binarised_rerun(rng):
    """NeuroBench's method: re-run the layer with binarised weights on binarised inputs."""
    w = rng.normal(0, 1, (4, 2, 3, 3)) * (rng.random((4, 2, 3, 3)) < 0.6)
    conv = ir.Conv2d(weight=w, stride=2, padding=1)
    graph = ir.Graph.sequential(ir.Input(shape=(2, 9, 9)), conv, ir.IF(), ir.Output(), metadata={"dt": 1e-3})
    x = (rng.random((6, 3, 2, 9, 9)) < 0.25).astype(np.float64)
    c = run(graph, x).counts["conv2d_1"]
    binarised = ir.Graph.sequential(
        ir.Input(shape=(2, 9, 9)),
        ir.Conv2d(weight=(w != 0).astype(float), stride=2, padding=1),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    rerun = run(binarised, x, backend="numpy", dtype=np.float64).output()
    assert c.synops == round(rerun.sum())
    ones = ir.Graph.sequential(
        ir.Input(shape=(2, 9, 9)), ir.Conv2d(weight=np.ones_like(w), stride=2, padding=1), ir.Output(), metadata={"dt": 1e-3}
    )
    assert c.synops_dense == round(run(ones, np.ones_like(x), backend="numpy", dtype=np.float64).output().sum())


def test_neuron_counts(rng):
    w = np.abs(rng.normal(0, 1, (6, 5)))
    x = np.zeros((20, 2, 5), np.float32)
    x[3, 0, 1] = 1.0
    x[9, 1, :] = 1.0
    result = run(linear_graph(w, v_threshold=0.5), x, dtype=np.float64)
    c = result.counts["lif_2"]
    spikes = result.spikes["lif_2"].to_dense()
    assert c.out_spikes == int(spikes.sum()) > 0
    # active: steps with input, or a spike (the membrane only changes then, v_leak = 0, v0 = 0
    # means a neuron without input since the start stays at rest)
    assert c.updates_active == int(np.count_nonzero((x @ w.T != 0) | (spikes != 0)))
    assert c.updates_active + c.updates_idle == 20 * 2 * 6


def test_sensor_events_are_binned_at_dt():
    ev = make_events(x=[0, 1, 1, 3], y=[0, 2, 2, 1], t=[0, 999, 1500, 4200], p=[1, 0, 0, 1])
    graph = ir.Graph.sequential(ir.Input(shape=(2, 3, 4)), ir.Flatten(), ir.Output(), metadata={"dt": 1e-3})
    out = run(graph, [ev, ev[:1]]).output()
    assert out.shape == (5, 2, 24)
    frames = out.reshape(5, 2, 2, 3, 4)
    assert frames[0, 0, 1, 0, 0] == 1
    assert frames[0, 0, 0, 2, 1] == 1
    assert frames[1, 0, 0, 2, 1] == 1
    assert frames[4, 0, 1, 1, 3] == 1
    assert frames[:, 1].sum() == 1
    assert frames.sum() == 5
    two_in_one_bin = run(graph, ev, dt=2e-3).output().reshape(-1, 1, 2, 3, 4)
    assert two_in_one_bin[0, 0, 0, 2, 1] == 2  # counts add up within a bin
    assert run(graph, ev, n_steps=2).n_steps == 2


def test_poisson_input_rate_and_seed():
    graph = ir.Graph.sequential(ir.Input(shape=(100,)), ir.Output(), metadata={"dt": 1e-3})
    a = run(graph, PoissonInput(rates=50.0, n_steps=2000, batch=2, seed=4)).output()
    b = run(graph, PoissonInput(rates=50.0, n_steps=2000, batch=2, seed=4)).output()
    np.testing.assert_array_equal(a, b)
    assert 45 < a.mean() / 1e-3 < 55


def test_delay_scale_and_sparse_delays():
    graph = ir.Graph.sequential(
        ir.Input(shape=(3,)),
        ir.Delay(delay=np.array([0.0, 2e-3, 5e-3])),
        ir.Scale(scale=np.array([1.0, 2.0, 3.0])),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    x = np.zeros((8, 1, 3))
    x[1] = 1.0
    out = run(graph, x, dtype=np.float64).output()[:, 0]
    assert out[1, 0] == 1
    assert out[3, 1] == 2
    assert out[6, 2] == 3
    assert out.sum() == 6
    sparse = ir.SparseLinear(
        shape=(2, 3), indptr=[0, 2, 3, 3], indices=[0, 1, 1], weights=[0.5, 1.5, -1.0], delays=[0.0, 3e-3, 1e-3]
    )
    sg = ir.Graph.sequential(ir.Input(shape=(3,)), sparse, ir.Output(), metadata={"dt": 1e-3})
    x = np.zeros((6, 1, 3))
    x[0, 0, [0, 1]] = 1.0
    expected = np.zeros((6, 2))
    expected[0, 0] += 0.5
    expected[3, 1] += 1.5
    expected[1, 1] += -1.0
    for be in ("numba", "numpy"):
        np.testing.assert_array_equal(run(sg, x, backend=be, dtype=np.float64).output()[:, 0], expected)


def test_typed_errors(rng):
    graph = linear_graph(rng.normal(0, 1, (3, 4)))
    with pytest.raises(SimulationInputError, match=r"\(T, B, \*\(4,\)\)"):
        run(graph, np.zeros((5, 4)))
    with pytest.raises(SimulationInputError, match="NaN"):
        run(graph, np.full((5, 1, 4), np.nan))
    with pytest.raises(BackendUnavailableError, match="unknown engine backend"):
        run(graph, np.zeros((5, 1, 4)), backend="fpga")
    with pytest.raises(BackendUnavailableError, match="cuda"):
        run(graph, np.zeros((5, 1, 4)), backend="cuda")
    with pytest.raises(SimulationInputError, match="rate"):
        run(graph, PoissonInput(rates=2000.0, n_steps=5))
    with pytest.raises(GraphError, match="dt"):
        run(ir.Graph(dict(graph.nodes), list(graph.edges)), np.zeros((5, 1, 4)))
    with pytest.raises(SimulationInputError, match="monitor"):
        run(graph, np.zeros((5, 1, 4)), monitors={"nope": ["v"]})
    with pytest.raises(SimulationInputError, match="state fields"):
        run(graph, np.zeros((5, 1, 4)), monitors={"lif_2": ["i_syn"]})
    sensor = ir.Graph.sequential(ir.Input(shape=(2, 3, 4)), ir.Output(), metadata={"dt": 1e-3})
    with pytest.raises(SimulationInputError, match="x=4 outside"):
        run(sensor, make_events(x=[4], y=[0], t=[0], p=[0]))
    with pytest.raises(SimulationInputError, match="microseconds"):
        run(sensor, make_events(x=[1], y=[0], t=[0], p=[0]), dt=1.5e-6)
    threshold_graph = ir.Graph.sequential(ir.Input(shape=(2,)), ir.Threshold(threshold=0.5), ir.Output(), metadata={"dt": 1e-3})
    assert run(threshold_graph, np.ones((2, 1, 2))).spikes["threshold_1"].binary
    with pytest.raises(SimulationInputError, match="frame shape"):
        run(graph, Events(np.zeros(2, np.int64), np.zeros(0, np.int32), None, 1, 1, (5,)))


def test_unsupported_node_is_named():
    from neuro.engine.ops import make_op

    with pytest.raises(UnsupportedNodeError, match="'mystery'"):
        make_op("mystery", ir.Input(shape=(2,)), (2,), (2,), 1e-3, np.float32, "exact")


@pytest.mark.slow
def test_second_process_loads_compiled_loops_from_the_cache(tmp_path):
    """The generated population loops and the kernels come from Numba's on-disk cache, also for
    MultiSpikeLIF, whose ``update`` (a loop over spike levels) LLVM does not inline by itself."""
    code = (
        "import numpy as np\n"
        "from neuro import ir\n"
        "from neuro.engine import run\n"
        "from neuro.engine.populations import _numba_module\n"
        "from neuro.core.neurons import MODELS\n"
        "from neuro.engine import kernels\n"
        "g = ir.Graph.sequential(ir.Input(shape=(3,)), ir.Linear(weight=np.ones((2, 3))), ir.LIF(tau=0.01),"
        " ir.Linear(weight=np.ones((2, 2))), ir.MultiSpikeLIF(tau=0.01, max_spikes=3), ir.Output(), metadata={'dt': 1e-3})\n"
        "run(g, np.ones((4, 1, 3)))\n"
        "hits = [len(_numba_module(MODELS[m], 'float32').run.stats.cache_hits) for m in ('LIF', 'MultiSpikeLIF')]\n"
        "print(*hits, len(kernels.dense_events.stats.cache_hits))\n"
    )
    env = dict(os.environ, NEURO_CACHE=str(tmp_path))
    outs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
        for _ in range(2)
    ]
    assert outs[0][:2] == ["0", "0"]  # a fresh cache folder: compiled
    assert outs[1] == ["1", "1", "1"]  # the second process loaded all three from disk

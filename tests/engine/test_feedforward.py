"""Feed-forward graphs on the engine: numba == numpy == torch in float64, tolerance in float32."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro import ir
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.torch import build

SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def torch_run(graph: ir.Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-node outputs of the torch module (forward hooks on a float64 build)."""
    net = build(graph, dtype=torch.float64)
    values = net._run_sequences(torch.tensor(x, dtype=torch.float64))
    return {k: v.detach().numpy() for k, v in values.items()}


def conv_graph(seed: int, c_in: int, size: int, stride: int, padding: int, groups: int, pool: bool) -> ir.Graph:
    rng = np.random.default_rng(seed)
    c1 = 2 * groups
    nodes = [
        ir.Input(shape=(c_in * groups, size, size)),
        ir.Conv2d(
            weight=rng.normal(0.3, 0.8, (c1, c_in, 3, 3)),
            bias=rng.normal(0, 0.1, c1),
            stride=stride,
            padding=padding,
            groups=groups,
        ),
        ir.LIF(tau=0.005, r=1.0, v_threshold=0.6, reset=ResetSubtract()),
    ]
    if pool:
        nodes += [ir.SumPool2d(kernel_size=(2, 2), stride=(1, 1) if stride == 2 else None)]
    nodes += [ir.Conv2d(weight=rng.normal(0.2, 0.6, (3, c1, 2, 2)), dilation=1, padding=(1, 0)), ir.IF(v_threshold=0.5)]
    g = ir.Graph.sequential(*nodes, metadata={"dt": 1e-3})
    n_flat = int(np.prod(g.shapes[list(g.nodes)[-1]]))
    readout = ir.Affine(weight=rng.normal(0.1, 0.5, (4, n_flat)), bias=rng.normal(0, 0.1, 4))
    tail = [ir.Flatten(), readout, ir.LI(tau=0.02), ir.Output()]
    return ir.Graph.sequential(*nodes, *tail, metadata={"dt": 1e-3})


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    c_in=st.integers(1, 2),
    size=st.integers(7, 10),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    groups=st.integers(1, 2),
    pool=st.booleans(),
    density=st.floats(0.05, 0.6),
)
def test_conv_graphs_identical_in_float64(seed, c_in, size, stride, padding, groups, pool, density):
    graph = conv_graph(seed, c_in, size, stride, padding, groups, pool)
    rng = np.random.default_rng(seed + 1)
    x = (rng.random((12, 2, *graph.shapes["input_0"])) < density).astype(np.float64)
    expected = torch_run(graph, x)
    results = {be: run(graph, x, backend=be, dtype=np.float64) for be in ("numba", "numpy")}
    for name, spikes in results["numba"].spikes.items():
        np.testing.assert_array_equal(spikes.to_dense(np.float64), expected[name], err_msg=name)
        np.testing.assert_array_equal(results["numpy"].spikes[name].to_dense(np.float64), expected[name])
    for r in results.values():
        np.testing.assert_allclose(r.output(), expected[graph.outputs[0]], rtol=1e-12, atol=1e-12)
    assert results["numba"].counts.to_dict() == results["numpy"].counts.to_dict()


@SETTINGS
@given(seed=st.integers(0, 2**16), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=3), density=st.floats(0.0, 1.0))
def test_dense_graphs_identical_in_float64(seed, sizes, density):
    rng = np.random.default_rng(seed)
    n_in = 30
    nodes: list = [ir.Input(shape=(n_in,))]
    models = [
        lambda: ir.LIF(tau=rng.uniform(0.002, 0.05), v_threshold=0.5),
        lambda: ir.CubaLIF(tau_mem=0.01, tau_syn=0.005, v_threshold=0.3),
        lambda: ir.ALIF(tau=0.02, tau_adapt=0.1, beta_adapt=0.2, v_threshold=0.4),
        lambda: ir.IF(v_threshold=rng.uniform(0.3, 1.0, size)),
    ]
    prev = n_in
    for i, size in enumerate(sizes):
        w = rng.normal(0.1, 0.6, (size, prev)) * (rng.random((size, prev)) < 0.8)
        nodes += [ir.Linear(weight=w) if i % 2 else ir.Affine(weight=w, bias=rng.normal(0, 0.1, size))]
        nodes += [models[(seed + i) % len(models)]()]
        prev = size
    nodes += [ir.Output()]
    graph = ir.Graph.sequential(*nodes, metadata={"dt": 1e-3})
    x = (rng.random((20, 3, n_in)) < density).astype(np.float64)
    expected = torch_run(graph, x)
    for be in ("numba", "numpy"):
        result = run(graph, x, backend=be, dtype=np.float64)
        for name, spikes in result.spikes.items():
            np.testing.assert_array_equal(spikes.to_dense(np.float64), expected[name], err_msg=f"{be} {name}")


def test_float32_within_documented_tolerance():
    """float32 against the float64 torch run: at most 1 % of spike entries differ per layer
    (threshold crossings within float32 rounding), the first layer fed by exact inputs."""
    graph = conv_graph(7, 2, 16, 1, 1, 1, True)
    rng = np.random.default_rng(3)
    x = (rng.random((40, 4, *graph.shapes["input_0"])) < 0.15).astype(np.float64)
    expected = torch_run(graph, x)
    result = run(graph, x, backend="numba", dtype=np.float32)
    total = 0
    for name, spikes in result.spikes.items():
        got = spikes.to_dense(np.float64)
        differ = np.count_nonzero(got != expected[name])
        total += expected[name].sum()
        assert differ <= 0.01 * max(expected[name].sum(), 1), (name, differ)
    assert total > 1000  # the network is active enough for the comparison to mean something


def test_multispike_and_readout_values():
    rng = np.random.default_rng(0)
    graph = ir.Graph.sequential(
        ir.Input(shape=(6,)),
        ir.Linear(weight=rng.uniform(0.5, 2.0, (5, 6))),
        ir.MultiSpikeLIF(tau=0.01, v_threshold=0.5, max_spikes=4),
        ir.Linear(weight=rng.normal(0, 1, (3, 5))),
        ir.LI(tau=0.01),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    x = (rng.random((15, 2, 6)) < 0.5).astype(np.float64)
    expected = torch_run(graph, x)
    result = run(graph, x, dtype=np.float64)
    spikes = result.spikes["multispikelif_2"]
    assert not spikes.binary
    assert spikes.val.max() > 1
    np.testing.assert_array_equal(spikes.to_dense(np.float64), expected["multispikelif_2"])
    np.testing.assert_allclose(result.output(), expected["output_5"], rtol=1e-12)
    assert result.counts["multispikelif_2"].out_spikes == int(expected["multispikelif_2"].sum())
    assert result.counts["linear_3"].macs > 0
    assert result.counts["linear_3"].synops == 0


def test_monitors_record_state_like_the_reference():
    rng = np.random.default_rng(1)
    graph = ir.Graph.sequential(
        ir.Input(shape=(4,)), ir.Linear(weight=rng.uniform(0, 1, (3, 4))), ir.LIF(tau=0.01, v_threshold=0.8), ir.Output(),
        metadata={"dt": 1e-3},
    )  # fmt: skip
    x = (rng.random((25, 2, 4)) < 0.5).astype(np.float64)
    traces = [
        run(graph, x, backend=be, dtype=np.float64, monitors={"lif_2": ["v"]}).traces[("lif_2", "v")]
        for be in ("numba", "numpy")
    ]
    assert traces[0].shape == (25, 2, 3)
    np.testing.assert_array_equal(traces[0], traces[1])
    assert np.ptp(traces[0]) > 0


def test_two_channel_neurons_outside_a_cycle_run_in_the_block_loop():
    """CubaEILIF takes excitatory and inhibitory channels (input 2n, output n): the engine
    steps it with the block loop even in a feed-forward graph."""
    rng = np.random.default_rng(0)
    w = np.abs(rng.normal(0, 5e-3, (10, 8)))
    w[5:] *= -1.0  # the inhibitory half
    w[:5] *= 2.0
    graph = ir.Graph.sequential(ir.Input(shape=(8,)), ir.Linear(weight=w), ir.CubaEILIF(), ir.Output(), metadata={"dt": 1e-4})
    x = (rng.random((200, 2, 8)) < 0.3).astype(np.float64)
    a, b = (run(graph, x, backend=be, dtype=np.float64) for be in ("numba", "numpy"))
    np.testing.assert_array_equal(a.spikes["cubaeilif_2"].to_dense(), b.spikes["cubaeilif_2"].to_dense())
    assert a.counts["cubaeilif_2"].out_spikes == len(a.spikes["cubaeilif_2"]) > 0

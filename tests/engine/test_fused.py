"""The fused convolution -> neuron (-> pooling) loop of the numba backend
(:mod:`neuro.engine.fused`) gives bitwise the node-by-node results and counts, and it ran."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from neuro import ir
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.engine.fused import FusedConvOp

engine_run = importlib.import_module("neuro.engine.run")  # the module (neuro.engine.run is the function)


def conv_net(rng: np.random.Generator, neuron: ir.Node, stride: int, groups: int, padding: int, pool: ir.Node | None):
    nodes = [
        ir.Input(shape=(2 * groups, 9, 9)),
        ir.Conv2d(rng.normal(0.3, 0.9, (4, 2, 3, 3)), bias=rng.normal(0, 0.2, 4), stride=stride, padding=padding,
                  groups=groups),
        neuron,
    ]  # fmt: skip
    if pool is not None:
        nodes.append(pool)
    shape = ir.Graph.sequential(*nodes, metadata={"dt": 1e-3}).shapes
    n_flat = int(np.prod(shape[list(shape)[-1]]))
    nodes += [ir.Flatten(), ir.Affine(rng.normal(0, 0.5, (3, n_flat)), np.zeros(3)), ir.LI(tau=0.02), ir.Output()]
    return ir.Graph.sequential(*nodes, metadata={"dt": 1e-3})


def unfused(graph: ir.Graph, x: np.ndarray, monkeypatch: pytest.MonkeyPatch, **kw):
    with monkeypatch.context() as m:
        m.setattr(engine_run, "_fused", lambda *a: {})
        return run(graph, x, **kw)


def assert_same(a, b) -> None:
    assert a.nodes_run == b.nodes_run
    assert a.spikes.keys() == b.spikes.keys()
    for k in b.spikes:
        np.testing.assert_array_equal(a.spikes[k].ptr, b.spikes[k].ptr, err_msg=k)
        np.testing.assert_array_equal(a.spikes[k].idx, b.spikes[k].idx, err_msg=k)
        assert (a.spikes[k].val is None) == (b.spikes[k].val is None), k
        if b.spikes[k].val is not None:
            np.testing.assert_array_equal(a.spikes[k].val, b.spikes[k].val, err_msg=k)
    for k in b.state:
        for fa, fb in zip(a.state[k], b.state[k], strict=True):
            assert fa.shape == fb.shape
            np.testing.assert_array_equal(fa, fb, err_msg=k)
    for k in b.outputs:
        np.testing.assert_array_equal(a.outputs[k], b.outputs[k], err_msg=k)
    assert list(a.counts.nodes) == list(b.counts.nodes)
    for k in b.counts.nodes:
        assert a.counts.nodes[k] == b.counts.nodes[k], k


@pytest.fixture
def fused_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The member names of every fused step that ran (the path sentinel)."""
    calls: list[list[str]] = []
    original = FusedConvOp.step

    def step(self, *args, **kwargs):
        calls.append(list(self.names))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FusedConvOp, "step", step)
    return calls


NEURONS = {
    "lif": lambda: ir.LIF(tau=0.005, r=1.0, v_threshold=0.6),
    "lif_subtract_per_neuron_tau": lambda: ir.LIF(
        tau=np.random.default_rng(5).uniform(3e-3, 9e-3, (4, 7, 7)), v_threshold=0.5, reset=ResetSubtract()
    ),
    "cubalif": lambda: ir.CubaLIF(tau_mem=0.005, tau_syn=0.004, r=1.0, v_threshold=0.3),
    "multispike": lambda: ir.MultiSpikeLIF(tau=0.01, v_threshold=0.4, max_spikes=3),
    "if": lambda: ir.IF(r=400.0, v_threshold=0.7),
}


@pytest.mark.parametrize("neuron", sorted(NEURONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_equals_node_by_node(neuron, dtype, rng, monkeypatch, fused_calls):
    graph = conv_net(rng, NEURONS[neuron](), 1, 1, 0, ir.SumPool2d((2, 2), (2, 2)))
    x = rng.poisson(0.4, (12, 3, 2, 9, 9)).astype(np.float64)
    expected = unfused(graph, x, monkeypatch, dtype=dtype)
    assert not fused_calls
    got = run(graph, x, dtype=dtype)
    names = list(graph.nodes)
    assert fused_calls == [names[1:4]]
    assert_same(got, expected)
    assert got.counts[names[2]].out_spikes > 0


@pytest.mark.parametrize(
    ("stride", "groups", "padding", "pool"),
    [
        (2, 1, 1, None),
        (1, 2, 1, ir.AvgPool2d((2, 2), (1, 1))),
        (1, 1, 1, ir.SumPool2d((3, 3), (2, 2), padding=(1, 1))),
    ],
)
def test_fused_geometries(stride, groups, padding, pool, rng, monkeypatch, fused_calls):
    graph = conv_net(rng, ir.LIF(tau=0.005, v_threshold=0.5), stride, groups, padding, pool)
    x = (rng.random((10, 4, *graph.shapes["input_0"])) < 0.3).astype(np.float32)
    expected = unfused(graph, x, monkeypatch)
    got = run(graph, x)
    assert len(fused_calls) == 1
    assert len(fused_calls[0]) == (2 if pool is None else 3)
    assert_same(got, expected)


def test_monitored_or_shared_nodes_are_not_fused(rng, monkeypatch, fused_calls):
    graph = conv_net(rng, ir.LIF(tau=0.005, v_threshold=0.5), 1, 1, 0, ir.SumPool2d((2, 2), (2, 2)))
    x = (rng.random((8, 2, 2, 9, 9)) < 0.3).astype(np.float32)
    monitored = run(graph, x, monitors={"lif_2": ["v"]})
    assert not fused_calls
    assert_same(run(graph, x), monitored)
    assert len(fused_calls) == 1
    # the convolution's output also read by an Output node: it must exist, so no fusion
    nodes = dict(graph.nodes)
    nodes["tap"] = ir.Output()
    shared = ir.Graph(nodes, [*graph.edges, ("conv2d_1", "tap")], metadata={"dt": 1e-3})
    fused_calls.clear()
    result = run(shared, x)
    assert not fused_calls
    assert result.outputs["tap"].shape == (8, 2, *graph.shapes["conv2d_1"])

"""build(graph) and to_ir(module): build then export is the identity; export then build
reproduces the module's spikes exactly in float64; batch norm folds; unsupported layers are named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from neuro import ir
from neuro.core.errors import GraphError, UnsupportedNodeError
from neuro.core.neurons import cuba_lif, iaf, li, lif
from neuro.core.reset import ResetSubtract
from neuro.torch import (
    Dropout,
    MaskedLinear,
    Neurons,
    Recurrent,
    Residual,
    Sequential,
    SpikeMonitor,
    SumPool2d,
    build,
    to_ir,
)
from neuro.torch.build import BUILDERS

DT = 1e-3


def lif_params(n, rng, reset=None):
    return lif.Params(
        tau=rng.uniform(3e-3, 2e-2, n), r=rng.uniform(50, 150, n), v_threshold=1.0, reset=reset or ResetSubtract()
    )


def conv_graph(rng):
    nodes = {
        "in": ir.Input((2, 10, 10)),
        "conv": ir.Conv2d(rng.normal(0, 0.3, (4, 2, 3, 3)), rng.normal(0, 0.1, 4), padding=1),
        "lif1": lif.Params(tau=np.full((4, 10, 10), 5e-3), r=120.0, v_threshold=1.0),
        "pool": ir.SumPool2d((2, 2)),
        "flat": ir.Flatten(0),
        "fc": ir.Affine(rng.normal(0, 0.2, (5, 100)), rng.normal(0, 0.1, 5)),
        "out_lif": cuba_lif.Params(tau_syn=5e-3, tau_mem=1e-2, r=np.full(5, 80.0), v_threshold=np.full(5, 1.0)),
        "out": ir.Output(),
    }
    names = list(nodes)
    return ir.Graph(nodes, list(itertools.pairwise(names)), {"dt": DT})


def residual_graph(rng):
    nodes = {
        "in": ir.Input((6,)),
        "fc1": ir.Linear(rng.normal(0, 0.5, (6, 6))),
        "lif1": lif_params(6, rng),
        "fc2": ir.Linear(rng.normal(0, 0.5, (6, 6))),
        "lif2": lif_params(6, rng),
        "readout": ir.Affine(rng.normal(0, 0.5, (3, 6)), np.zeros(3)),
        "li": li.Params(tau=np.full(3, 1e-2), r=np.full(3, 1.0)),
        "out": ir.Output(),
    }
    edges = [("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "readout"), ("lif1", "readout"),
             ("readout", "li"), ("li", "out")]  # fmt: skip
    return ir.Graph(nodes, edges, {"dt": DT})


def recurrent_graph(rng):
    nodes = {
        "in": ir.Input((4,)),
        "fc": ir.Linear(rng.normal(0, 1.0, (8, 4))),
        "pop": lif_params(8, rng),
        "rec": ir.Linear(rng.normal(0, 0.3, (8, 8))),
        "out": ir.Output(),
    }
    edges = [("in", "fc"), ("fc", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")]
    return ir.Graph(nodes, edges, {"dt": DT})


GRAPHS = {"conv": conv_graph, "residual": residual_graph, "recurrent": recurrent_graph}


def test_registries_cover_every_node_type(rng):
    """Each IR node type is a neuron model, Input/Output, Delay (refused), or built by BUILDERS,
    and every module BUILDERS makes has an exporter back to the IR."""
    from neuro.core.neurons import MODELS
    from neuro.torch.export import EXPORTERS

    samples = {
        "Linear": ir.Linear(np.ones((2, 3))),
        "Affine": ir.Affine(np.ones((2, 3)), np.zeros(2)),
        "Conv2d": ir.Conv2d(np.ones((2, 1, 3, 3))),
        "Conv1d": ir.Conv1d(np.ones((2, 1, 3))),
        "SumPool2d": ir.SumPool2d((2, 2)),
        "AvgPool2d": ir.AvgPool2d((2, 2)),
        "Flatten": ir.Flatten(0),
        "Scale": ir.Scale(np.ones(3)),
        "Threshold": ir.Threshold(np.ones(3)),
        "SparseLinear": ir.SparseLinear((2, 2), np.array([0, 1, 2]), np.array([0, 1]), np.ones(2)),
    }
    for node_type in ir.NODE_TYPES:
        if node_type in MODELS or node_type in ("Input", "Output", "Delay"):
            continue
        assert node_type in BUILDERS, node_type
        module = BUILDERS[node_type](samples[node_type], torch.float64)
        assert type(module) in EXPORTERS, (node_type, type(module))
        assert EXPORTERS[type(module)](module).node_type == node_type


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_build_then_export_is_the_identity(name, rng):
    graph = GRAPHS[name](rng)
    net = build(graph, dtype=torch.float64)
    assert to_ir(net, graph.shapes["in"]).equals(graph)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_built_graph_runs_and_spikes(name, rng):
    graph = GRAPHS[name](rng)
    net = build(graph, dtype=torch.float64)
    x = torch.from_numpy(rng.uniform(0, 1, (15, 3, *graph.shapes["in"])))
    out = net(x)
    assert out.shape == (15, 3, *graph.shapes[graph.predecessors("out")[0]])
    assert torch.isfinite(out).all()


def model_with_every_layer(rng):
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 4, 3, padding=1)
    body = Sequential(nn.Conv2d(4, 4, 3, padding=1), Neurons(lif.Params(tau=5e-3, r=100.0), DT))
    return Sequential(
        conv,
        nn.BatchNorm2d(4),
        Neurons(lif.Params(tau=np.full((4, 1, 1), 5e-3), r=100.0, reset=ResetSubtract()), DT),
        Residual(body),
        SumPool2d(2),
        nn.Flatten(),
        Dropout(0.2),
        nn.Linear(4 * 5 * 5, 8),
        Recurrent(Neurons(iaf.Params(r=200.0), DT), nn.Linear(8, 8, bias=False)),
        MaskedLinear(torch.randn(3, 8), torch.rand(3, 8) > 0.5),
        Neurons(li.Params(tau=1e-2, r=1.0), DT),
    )


def test_export_then_build_reproduces_spikes_exactly(rng):
    model = model_with_every_layer(rng).double()
    bn = model[1]
    with torch.no_grad():  # non-trivial batch-norm statistics
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.1, 0.1)
    model.eval()
    graph = to_ir(model, (2, 10, 10))
    assert graph.dt == DT
    # batch norm has no IR node: it is folded into the first convolution's weights
    convs = [n for n in graph.nodes.values() if isinstance(n, ir.Conv2d)]
    assert len(convs) == 2
    assert not np.allclose(convs[0].weight, model[0].weight.detach().numpy())
    x = torch.from_numpy(rng.uniform(0, 1, (12, 2, 2, 10, 10)))
    with torch.no_grad():
        expected = model(x)
        rebuilt = build(graph, dtype=torch.float64)(x)
    # batch norm folded into the convolution changes rounding only
    torch.testing.assert_close(rebuilt, expected, rtol=1e-9, atol=1e-9)


def test_export_then_build_is_bitwise_without_batchnorm(rng):
    torch.manual_seed(3)
    model = Sequential(
        nn.Linear(5, 7), Neurons(lif.Params(tau=5e-3, r=80.0), DT), nn.Linear(7, 4), Neurons(lif.Params(tau=1e-2, r=60.0), DT)
    ).double()
    x = torch.from_numpy(rng.uniform(0, 1, (25, 3, 5)))
    graph = to_ir(model, (5,))
    out = build(graph, dtype=torch.float64)(x)
    assert out.sum() > 0
    assert torch.equal(out, model(x))


def test_unsupported_module_is_named():
    model = Sequential(nn.Conv2d(2, 2, 3), nn.MaxPool2d(2))
    with pytest.raises(UnsupportedNodeError, match="MaxPool2d") as info:
        to_ir(model, (2, 8, 8))
    assert info.value.nodes == ["1"]


def test_mixed_time_steps_and_wrong_dt_are_errors():
    model = Sequential(
        nn.Linear(2, 2), Neurons(lif.Params(tau=0.01), 1e-3), nn.Linear(2, 2), Neurons(lif.Params(tau=0.01), 5e-4)
    )
    with pytest.raises(GraphError, match="time steps"):
        to_ir(model, (2,))
    with pytest.raises(GraphError, match="disagrees"):
        to_ir(Sequential(nn.Linear(2, 2), Neurons(lif.Params(tau=0.01), 1e-3)), (2,), dt=1e-4)


def test_build_needs_dt_for_neurons_and_refuses_delays(rng):
    g = ir.Graph.sequential(ir.Input((2,)), ir.Linear(np.ones((2, 2))), ir.LIF(tau=0.01))
    with pytest.raises(GraphError, match="dt"):
        build(g)
    g = ir.Graph.sequential(ir.Input((2,)), ir.Delay(np.ones(2)), metadata={"dt": DT})
    with pytest.raises(UnsupportedNodeError, match="Delay"):
        build(g)


def test_monitor_counts_spikes_without_touching_modules(rng):
    model = Sequential(
        nn.Linear(4, 6), Neurons(lif.Params(tau=5e-3, r=200.0), DT), nn.Linear(6, 2), Neurons(li.Params(tau=0.01), DT)
    )
    before = {name: set(vars(m)) for name, m in model.named_modules()}
    x = torch.rand(10, 3, 4)
    with SpikeMonitor(model) as mon:
        z = model.layers[1](model.layers[0](x.reshape(30, 4)).reshape(10, 3, 6))[0]
        mon.reset()
        model(x)
    assert set(mon.counts()) == {"layers.1"}  # the LI readout does not spike
    assert mon.counts()["layers.1"] == float(z.detach().sum())
    assert mon.neurons() == {"layers.1": 6}
    assert mon.rates()["layers.1"] == pytest.approx(float(z.detach().mean()))
    assert {name: set(vars(m)) for name, m in model.named_modules()} == before
    assert all(not m._forward_hooks for m in model.modules())


def test_dropout_shares_its_mask_over_time():
    torch.manual_seed(0)
    layer = Dropout(0.5)
    y, _ = layer(torch.ones(6, 2, 50), None)
    assert torch.equal(y[0], y[5])
    layer.eval()
    assert torch.equal(layer(torch.ones(3, 1, 4), None)[0], torch.ones(3, 1, 4))


def test_masked_linear_keeps_its_sparsity_under_training():
    torch.manual_seed(0)
    layer = MaskedLinear(torch.randn(4, 5), torch.rand(4, 5) > 0.5)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.randn(8, 5)).pow(2).sum().backward()
    opt.step()
    assert torch.all((layer.weight * ~layer.mask) == 0)

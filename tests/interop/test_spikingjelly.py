"""neuro -> NIR -> SpikingJelly 2.0.0 through its own importer
(``spikingjelly.activation_based.nir_exchange.import_from_nir``), verdicts asserted."""

from __future__ import annotations

import numpy as np
import pytest

from neuro import ir
from neuro.core.reset import ResetSubtract
from neuro.interop import UnsupportedByToolError, check_fidelity, export_nir
from tests.interop.test_fidelity import _conv, _mlp, _spikes_in
from tests.interop.tools import require

sj = require("spikingjelly")
pytestmark = pytest.mark.interop


def test_version_is_the_one_the_conventions_describe():
    from importlib.metadata import version

    assert version("spikingjelly") == "2.0.0"


@pytest.mark.parametrize("net", ["mlp", "conv"])
def test_neuro_to_spikingjelly_is_faithful(rng, net):
    graph, shape = (_mlp(rng), (4,)) if net == "mlp" else (_conv(rng), (1, 6, 6))
    report = check_fidelity(graph, "spikingjelly", _spikes_in(rng, shape))
    assert report.verdict == "faithful", report.layers
    assert all(lay.spikes_neuro > 0 for lay in report.layers.values())
    assert all(lay.membrane_error is not None and lay.membrane_error < 1e-4 for lay in report.layers.values())


def test_if_layer_is_faithful(rng):
    g = ir.Graph.sequential(
        ir.Input((4,)),
        ir.Affine(rng.normal(0.2, 1.0, size=(5, 4)), np.zeros(5)),
        ir.IF(r=np.full(5, 100.0), v_threshold=np.full(5, 1.0)),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    report = check_fidelity(g, "spikingjelly", _spikes_in(rng, (4,)))
    assert report.verdict == "faithful", report.layers
    node = report.export.nir_graph.nodes[next(iter(report.layers))]
    np.testing.assert_allclose(node.r, 1e4)  # SpikingJelly's IF import demands r = 1/dt


def test_reset_by_subtraction_is_explained(rng):
    report = check_fidelity(_mlp(rng, reset=ResetSubtract()), "spikingjelly", _spikes_in(rng, (4,), steps=60))
    assert [i.cause for i in report.export.cannot] == ["reset", "reset"]
    assert report.verdict == "divergent"
    assert report.causes == ["reset"]


def test_unadapted_neuro_nir_is_refused_with_the_nodes_named(rng):
    """SpikingJelly 2.0.0 accepts only r = 1 or r = tau/dt: neuro's r = 2 at dt = 1 ms is refused."""
    g = _mlp(rng)
    with pytest.raises(UnsupportedByToolError, match="r must equal 1 or tau / dt") as err:
        check_fidelity(g, "spikingjelly", _spikes_in(rng, (4,)), adapt=False)
    assert err.value.nodes == [n for n, v in g.nodes.items() if v.node_type == "LIF"]


def test_per_neuron_parameters_are_listed(rng):
    g = ir.Graph.sequential(
        ir.Input((2,)),
        ir.Affine(np.eye(2), np.zeros(2)),
        ir.LIF(tau=np.array([0.01, 0.02])),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    report = export_nir(g, consumer="spikingjelly")
    # tau differs, so do r = tau/dt_c and the rescaled threshold; v_reset and v_leak (0) do not.
    assert [i.message.split(" per layer")[0].split("one ")[1] for i in report.cannot] == ["tau", "r", "v_threshold"]
    assert {i.cause for i in report.cannot} == {"scaling"}

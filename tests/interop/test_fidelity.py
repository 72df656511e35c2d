"""check_fidelity against the engine, snnTorch 1.0.0 and Norse 1.1.0 on small networks.

Every verdict here is asserted, including the cases the tools cannot express.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro import ir
from neuro.core.reset import ResetSubtract
from neuro.interop import UnknownToolError, UnsupportedByToolError, check_fidelity, export_nir, van_rossum
from tests.interop.tools import require


def _mlp(rng, reset=None, dt=1e-3, v_leak=0.0) -> ir.Graph:
    kw = {} if reset is None else {"reset": reset}
    return ir.Graph.sequential(
        ir.Input((4,)),
        ir.Affine(rng.normal(0.0, 1.0, size=(8, 4)), np.zeros(8)),
        ir.LIF(tau=np.full(8, 0.02), r=np.full(8, 2.0), v_leak=np.full(8, v_leak), v_threshold=np.full(8, 0.5), **kw),
        ir.Affine(rng.normal(0.5, 1.0, size=(3, 8)), np.zeros(3)),
        ir.LIF(tau=np.full(3, 0.01), **kw),
        ir.Output(),
        metadata={"dt": dt},
    )


def _conv(rng) -> ir.Graph:
    return ir.Graph.sequential(
        ir.Input((1, 6, 6)),
        ir.Conv2d(weight=rng.normal(0.3, 0.5, size=(2, 1, 3, 3)), bias=np.zeros(2), stride=1, padding=0),
        ir.LIF(tau=np.full((2, 4, 4), 0.02)),
        ir.Flatten(start_dim=0),
        ir.Affine(rng.normal(0.3, 0.5, size=(3, 32)), np.zeros(3)),
        ir.LIF(tau=np.full(3, 0.02)),
        ir.Output(),
        metadata={"dt": 1e-3},
    )


def _spikes_in(rng, shape, steps=40, batch=2):
    return (rng.random((steps, batch, *shape)) < 0.4).astype(np.float64) * 3.0


def test_van_rossum_counts_one_lone_spike():
    a = np.zeros((200, 1))
    b = a.copy()
    b[10, 0] = 1
    assert van_rossum(a, a, 5.0) == 0.0
    assert van_rossum(a, b, 5.0) == pytest.approx(np.sqrt(1 / (1 - np.exp(-2 / 5)) / 5), rel=1e-6)


def test_engine_round_trip_is_faithful(rng):
    report = check_fidelity(_mlp(rng, reset=ResetSubtract()), "engine", _spikes_in(rng, (4,)))
    assert report.verdict == "faithful"
    assert all(lay.membrane_error == 0.0 for lay in report.layers.values())
    assert sum(lay.spikes_neuro for lay in report.layers.values()) > 10


def test_bad_tool_names_are_typed(rng):
    with pytest.raises(UnknownToolError, match="brian2"):
        check_fidelity(_mlp(rng), "brian2", _spikes_in(rng, (4,)))


@pytest.mark.interop
@pytest.mark.parametrize("tool", ["snntorch", "norse"])
@pytest.mark.parametrize("net", ["mlp", "conv"])
def test_neuro_to_tool_is_faithful(rng, tool, net):
    require(tool)
    graph, shape = (_mlp(rng), (4,)) if net == "mlp" else (_conv(rng), (1, 6, 6))
    report = check_fidelity(graph, tool, _spikes_in(rng, shape))
    assert report.verdict == "faithful", report.layers
    assert all(lay.spikes_neuro > 0 for lay in report.layers.values())
    assert all(lay.membrane_error is not None and lay.membrane_error < 1e-4 for lay in report.layers.values())


@pytest.mark.interop
@pytest.mark.parametrize("tool", ["snntorch", "norse"])
def test_reset_by_subtraction_is_explained(rng, tool):
    require(tool)
    report = check_fidelity(_mlp(rng, reset=ResetSubtract()), tool, _spikes_in(rng, (4,), steps=60))
    assert not report.export.expressible
    assert report.verdict != "faithful"
    assert "reset" in report.causes


@pytest.mark.interop
def test_norse_default_dt_diverges_without_adaptation(rng):
    require("norse")
    report = check_fidelity(_mlp(rng), "norse", _spikes_in(rng, (4,)), dt=1e-4, adapt=False)
    assert report.verdict == "divergent"
    assert "dt" in report.causes


@pytest.mark.interop
def test_snntorch_cannot_import_li_readout(rng):
    require("snntorch")
    g = ir.Graph.sequential(
        ir.Input((4,)), ir.Affine(np.eye(4), np.zeros(4)), ir.LI(tau=np.full(4, 0.02)), ir.Output(), metadata={"dt": 1e-3}
    )
    with pytest.raises(UnsupportedByToolError, match="LI") as err:
        check_fidelity(g, "snntorch", _spikes_in(rng, (4,)))
    assert err.value.nodes == [n for n, v in g.nodes.items() if v.node_type == "LI"]


def test_export_lists_v_leak_for_snntorch(rng):
    report = export_nir(_mlp(rng, v_leak=0.1), consumer="snntorch")
    assert [(i.cause, "v_leak" in i.message) for i in report.cannot] == [("scaling", True)]
    assert export_nir(_mlp(rng, v_leak=0.1), consumer="norse").expressible


@pytest.mark.interop
@pytest.mark.parametrize("tool", ["snntorch", "norse"])
def test_if_layer_is_faithful(rng, tool):
    """snnTorch 1.0.0 would read nir.IF as beta = 0.9; the export writes a LIF with beta = 1."""
    require(tool)
    g = ir.Graph.sequential(
        ir.Input((4,)),
        ir.Affine(rng.normal(0.2, 1.0, size=(5, 4)), np.zeros(5)),
        ir.IF(r=np.full(5, 100.0), v_threshold=np.full(5, 1.0)),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    report = check_fidelity(g, tool, _spikes_in(rng, (4,)))
    assert report.verdict == "faithful", report.layers
    assert next(iter(report.layers.values())).spikes_neuro > 5

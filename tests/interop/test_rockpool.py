"""Rockpool 3.1.0 <-> NIR <-> neuro, with nir 1.0.8 and nirtorch 2.6 (Rockpool installed
without its nir extra, which pins nir<=1.0.4). Verdicts asserted; the released version's bugs
with this nir are asserted with the version, not hidden.

Rockpool's simulator (neuro.interop.conventions): ``LIFNeuronTorch`` (-> nir.LIF) steps
``v' = a v + x + bias``; ``LIFTorch`` (-> nir.CubaLIF) ``i' = b (i + x)``, ``v' = a v + i' + bias``
with ``a = exp(-dt/tau_mem)``, ``b = exp(-dt/tau_syn)``; both reset by subtraction and emit
``floor(v/threshold)`` spikes a step. ``to_nir`` hides dt in ``r = tau exp(-dt/tau)/dt``.
"""

from __future__ import annotations

import warnings

import nir
import numpy as np
import pytest

from neuro import ir
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.interop import UnsupportedByToolError, check_fidelity, export_nir, import_nir
from neuro.interop._runners import RUNNERS
from tests.interop.test_fidelity import _mlp
from tests.interop.tools import require

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(autouse=True)
def _rockpool():
    """Import Rockpool when a test runs, never while pytest collects: ``import rockpool``
    imports Brian2, after which pytest's doctest collection of later packages fails inside
    ``brian2.tests.collect`` (the reason the Brian2 tests import it inside the tests too)."""
    return require("rockpool")


def _modules():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFNeuronTorch, LIFTorch, LinearTorch

    return Sequential, LinearTorch, LIFTorch, LIFNeuronTorch


def _net(cuba: bool, has_rec: bool = False):
    """Linear -> LIF or CubaLIF, dt = 1 ms, threshold 1. Non-negative weights below 0.2 (LIF)
    and 0.05 (CubaLIF: the synapse sums about b/(1 - b) = 4.5 steps of input) keep every
    membrane below twice the threshold: one spike a step at most."""
    Sequential, LinearTorch, LIFTorch, LIFNeuronTorch = _modules()
    torch.manual_seed(0)
    lin = LinearTorch((4, 6), weight=torch.rand(4, 6) * (0.05 if cuba else 0.2), has_bias=False)
    if cuba:
        neuron = LIFTorch(6, tau_mem=0.02, tau_syn=0.005, dt=1e-3, has_rec=has_rec)
    else:
        neuron = LIFNeuronTorch(6, tau_mem=0.02, dt=1e-3)
    return Sequential(lin, neuron)


def _export(net):
    from rockpool.nn.modules.torch.nir import to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_nir(net)


def _inputs(rng, amplitude: float = 1.0):
    return (rng.random((80, 2, 4)) < 0.6).astype(np.float64) * amplitude


def _source_spikes(net, x) -> np.ndarray:
    """The source Rockpool model's output spikes ``(T, B, N)`` (its own evolve, whole sequence)."""
    with torch.no_grad():
        out, _, _ = net(torch.as_tensor(np.transpose(x, (1, 0, 2)), dtype=torch.float32))
    return np.transpose(out.numpy().astype(np.float64), (1, 0, 2))


def _neuro_spikes(nir_graph, x, **kw) -> tuple[np.ndarray, object]:
    graph, report = import_nir(nir_graph, **kw)
    (node,) = [n for n, v in graph.nodes.items() if v.node_type in ("LIF", "CubaLIF")]
    res = run(graph, x, backend="numpy", dtype=np.float64, method=report.method)
    return res.spikes[node].to_dense(np.float64).reshape(x.shape[0], x.shape[1], -1), report


def test_version_is_the_one_the_conventions_describe():
    from importlib.metadata import version

    assert version("rockpool") == "3.1.0"
    assert version("nir") == "1.0.8"


def test_rockpool_graph_is_detected_and_dt_solved():
    _, report = _neuro_spikes(_export(_net(cuba=True)), np.zeros((2, 1, 4)))
    assert (report.producer, report.detected, report.method, report.reset) == ("rockpool", True, "euler", "subtract")
    assert report.dt == 1e-3  # solved from r = tau exp(-dt/tau)/dt (float32), rounded to 6 digits


def test_rockpool_lif_to_neuro_reproduces_the_source_model(rng):
    """LIFNeuronTorch -> nir.LIF -> neuro: identical spikes."""
    net, x = _net(cuba=False), _inputs(rng)
    ours, _ = _neuro_spikes(_export(net), x)
    src = _source_spikes(net, x)
    assert src.sum() > 20
    assert src.max() == 1.0
    np.testing.assert_array_equal(ours, src)


def test_rockpool_cubalif_to_neuro_is_exactly_one_step_late(rng):
    """LIFTorch -> nir.CubaLIF -> neuro: Rockpool feeds the same step's synaptic current to the
    membrane, neuro the previous one: neuro's spikes are the source's, one step later."""
    net, x = _net(cuba=True), _inputs(rng)
    ours, report = _neuro_spikes(_export(net), x)
    src = _source_spikes(net, x)
    assert src.sum() > 20
    assert src.max() == 1.0
    assert not np.array_equal(ours, src)
    np.testing.assert_array_equal(ours[1:], src[:-1])
    assert any("one step later" in n for n in report.notes)


def test_rockpool_cannot_import_its_own_lif():
    """Rockpool 3.1.0: from_nir's nir.LIF branch reads node.tau_mem (nir.LIF has tau)."""
    from rockpool.nn.modules.torch.nir import from_nir

    with pytest.raises(AttributeError, match="tau_mem"):
        from_nir(_export(_net(cuba=False)))


def test_rockpool_own_round_trip_changes_dt():
    """Rockpool 3.1.0: to_nir writes r = tau exp(-dt/tau)/dt, from_nir reads dt = tau/(1 + r)."""
    from rockpool.nn.modules.torch.nir import from_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = from_nir(_export(_net(cuba=True)))
    (lif,) = [m for m in back.modules() if type(m).__name__ == "LIFTorch"]
    assert float(lif.dt) != pytest.approx(1e-3, rel=1e-4)
    assert float(lif.dt) == pytest.approx(0.02 / (1 + 0.02 * np.exp(-0.05) / 1e-3), rel=1e-5)


def test_rockpool_file_fails_nir_type_check_but_imports(tmp_path):
    """Rockpool 3.1.0 writes its sample's batch dimension into Input/Output ([1, 4])."""
    path = tmp_path / "rockpool.nir"
    nir.write(path, _export(_net(cuba=True)))
    with pytest.raises(ValueError, match="Type inference error"):
        nir.read(path)
    graph, report = import_nir(path)
    assert report.producer == "rockpool"
    assert graph.nodes["input"].shape == (4,)


def test_recurrent_weights_are_not_written():
    """Rockpool 3.1.0: LIFTorch(has_rec=True) is exported as a plain CubaLIF, w_rec dropped."""
    net = _net(cuba=True, has_rec=True)
    assert float(net[1].w_rec.abs().sum()) > 0
    g = _export(net)
    assert sorted(type(v).__name__ for v in g.nodes.values()) == ["CubaLIF", "Input", "Linear", "Output"]
    assert all(a != b for a, b in g.edges)


def _cuba(rng, method: str, reset=None, v_leak: float = 0.0) -> ir.Graph:
    return ir.Graph.sequential(
        ir.Input((4,)),
        ir.Affine(rng.normal(0.5, 1.0, size=(6, 4)), np.zeros(6)),
        ir.CubaLIF(
            tau_syn=np.full(6, 0.005),
            tau_mem=np.full(6, 0.01),
            r=np.full(6, 2.0),
            w_in=np.full(6, 0.5),
            v_leak=np.full(6, v_leak),
            v_threshold=np.full(6, 0.3),
            reset=reset or ResetSubtract(),
        ),
        ir.Output(),
        metadata={"dt": 1e-3, "method": method},
    )


def test_neuro_cubalif_to_rockpool_is_exactly_one_step_early(rng):
    g, x = _cuba(rng, "euler"), (rng.random((60, 2, 4)) < 0.4).astype(np.float64)
    export = export_nir(g, consumer="rockpool")
    assert [i.cause for i in export.cannot] == ["dynamics"]
    (node,) = export.voltage_scale
    np.testing.assert_allclose(export.nir_graph.nodes[node].tau_mem / (1 + export.nir_graph.nodes[node].r), 1e-3)
    other, _ = RUNNERS["rockpool"](export.nir_graph, x)
    ours = run(g, x, backend="numpy", dtype=np.float64, method="euler").spikes[node].to_dense(np.float64)
    ours = ours.reshape(other[node].shape)
    assert ours.sum() > 50
    assert other[node].max() == 1.0
    np.testing.assert_array_equal(other[node][:-1], ours[1:])
    report = check_fidelity(g, "rockpool", x)
    assert report.verdict != "faithful"
    assert report.causes == ["dynamics"]


def test_neuro_cubalif_exact_to_rockpool_is_explained(rng):
    report = check_fidelity(_cuba(rng, "exact"), "rockpool", (rng.random((60, 2, 4)) < 0.4).astype(np.float64))
    assert report.verdict != "faithful"
    assert report.causes == ["dynamics"]


def test_reset_to_value_and_v_leak_are_listed(rng):
    from neuro.core.reset import ResetToValue

    report = export_nir(_cuba(rng, "euler", reset=ResetToValue(), v_leak=0.1), consumer="rockpool")
    assert sorted(i.cause for i in report.cannot) == ["dynamics", "reset", "scaling"]


def test_lif_is_refused_with_the_nodes_named(rng):
    g = _mlp(rng, reset=ResetSubtract())
    with pytest.raises(UnsupportedByToolError, match="LIF") as err:
        check_fidelity(g, "rockpool", (rng.random((20, 1, 4)) < 0.4).astype(np.float64))
    assert err.value.nodes == [n for n, v in g.nodes.items() if v.node_type == "LIF"]

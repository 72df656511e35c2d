"""CubaLIF into snnTorch 1.0.0 (``Synaptic``), SpikingJelly 2.0.0 (``CUBALIFNode``) and Norse
1.1.0 (``LIBoxCell`` then ``LIFBoxCell``), with neuro's Euler and exact discretisations, and
Norse's own CubaLIF (``LIFCell``) -> NIR -> neuro.

Both importers demand unit gains (``r = tau_mem/dt``, ``w_in = tau_syn/dt``; snnTorch asserts
``r``, and divides the threshold by ``w_in dt/tau_syn`` otherwise), and all three feed the *same*
step's synaptic current to the membrane (``syn' = alpha syn + x; mem' = beta mem + syn'``)
where neuro's Euler step uses the previous one. The consumer's membrane at step t is therefore
neuro's at t + 1: with the export's scaling its spikes are neuro's, exactly one step early. The
``dynamics`` cause is asserted as that measured shift, not hidden.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro import ir
from neuro.engine import run
from neuro.interop import check_fidelity, export_nir, import_nir
from neuro.interop._runners import RUNNERS
from tests.interop.test_fidelity import _spikes_in
from tests.interop.tools import require

pytestmark = pytest.mark.interop


def _cuba(rng, v_leak: float = 0.0) -> ir.Graph:
    return ir.Graph.sequential(
        ir.Input((4,)),
        ir.Affine(rng.normal(0.5, 1.0, size=(6, 4)), np.zeros(6)),
        ir.CubaLIF(
            tau_syn=np.full(6, 0.005),
            tau_mem=np.full(6, 0.01),
            r=np.full(6, 2.0),
            w_in=np.full(6, 0.5),
            v_leak=np.full(6, v_leak),
            v_threshold=np.full(6, 0.05),
        ),
        ir.Output(),
        metadata={"dt": 1e-3, "method": "euler"},
    )


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly"])
def test_export_writes_unit_gains(rng, tool):
    report = export_nir(_cuba(rng), consumer=tool)
    node = report.nir_graph.nodes[next(n for n in report.voltage_scale)]
    np.testing.assert_allclose(node.r, node.tau_mem / 1e-4)
    np.testing.assert_allclose(node.w_in, node.tau_syn / 1e-4)
    assert [i.cause for i in report.cannot] == ["dynamics"]


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly", "norse"])
def test_same_step_current_makes_spikes_exactly_one_step_early(rng, tool):
    require(tool)
    g, x = _cuba(rng), _spikes_in(rng, (4,), steps=60)
    export = export_nir(g, consumer=tool)
    other, _ = RUNNERS[tool](export.nir_graph, x)
    (node,) = other
    ours = run(g, x, backend="numpy", dtype=np.float64, method="euler").spikes[node].to_dense(np.float64)
    ours = ours.reshape(other[node].shape)
    assert ours.sum() > 100
    assert not np.array_equal(other[node], ours)
    np.testing.assert_array_equal(other[node][:-1], ours[1:])  # the whole difference is the lead


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly", "norse"])
def test_fidelity_verdict_names_dynamics(rng, tool):
    require(tool)
    report = check_fidelity(_cuba(rng), tool, _spikes_in(rng, (4,), steps=60))
    (layer,) = report.layers.values()
    assert layer.verdict == "approximate"  # one-step lead: counts differ by the last step only
    assert report.causes == ["dynamics"]
    assert layer.first_divergence is not None
    assert layer.first_divergence < 5
    strict = check_fidelity(_cuba(rng), tool, _spikes_in(rng, (4,), steps=60), tolerance=0.005)
    assert strict.verdict == "divergent"


def test_v_leak_is_listed(rng):
    report = export_nir(_cuba(rng, v_leak=0.1), consumer="snntorch")
    assert sorted(i.cause for i in report.cannot) == ["dynamics", "scaling"]


def test_exact_cubalif_round_trips_through_neuros_nir(rng):
    """neuro -> NIR -> neuro keeps the exact (zero-order hold) discretisation: identical."""
    report = check_fidelity(_cuba(rng).with_metadata(method="exact"), "engine", _spikes_in(rng, (4,), steps=60))
    assert report.method == "exact"
    assert report.verdict == "faithful"
    assert all(lay.membrane_error == 0.0 for lay in report.layers.values())
    assert sum(lay.spikes_neuro for lay in report.layers.values()) > 50


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly", "norse"])
def test_exact_cubalif_into_euler_tools_is_explained(rng, tool):
    """The tools step CubaLIF with Euler and the same step's current; neuro's exact step also
    feeds the input straight into the membrane (c_vx): no parameter choice matches it."""
    require(tool)
    g = _cuba(rng).with_metadata(method="exact")
    export = export_nir(g, consumer=tool)
    assert [i.cause for i in export.cannot] == ["dynamics"]
    assert "approximately for exact" in export.cannot[0].message
    report = check_fidelity(g, tool, _spikes_in(rng, (4,), steps=60))
    assert report.verdict != "faithful"
    assert report.causes == ["dynamics"]


def _norse_lifcell():
    torch = pytest.importorskip("torch")
    nt = require("norse").torch
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 6, bias=False)
    with torch.no_grad():
        lin.weight.uniform_(0.0, 0.5)
    p = nt.LIFParameters(
        tau_mem_inv=torch.full((6,), 100.0),
        tau_syn_inv=torch.full((6,), 200.0),
        v_th=torch.full((6,), 0.3),
        v_leak=torch.zeros(6),
        v_reset=torch.zeros(6),
    )
    return nt.SequentialState(lin, nt.LIFCell(p)), nt


def _norse_spikes(model, x) -> np.ndarray:
    torch = pytest.importorskip("torch")
    out = []
    for b in range(x.shape[1]):
        state, zs = None, []
        with torch.no_grad():
            for t in range(x.shape[0]):
                z, state = model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32), state)
                zs.append(z.numpy().astype(np.float64).ravel())
        out.append(np.stack(zs))
    return np.stack(out, axis=1)


def test_norse_lifcell_to_neuro_is_exactly_one_step_late(rng):
    """Norse 1.1.0's LIFCell (i += x; v += dt/tau_mem (v_leak - v + i); i decays) exported with
    its to_nir: neuro reads tau back from dt*tau and the unscaled input as w_in = tau_syn/dt,
    and its spikes are the source's one step later (LIFCell's membrane takes this step's current)."""
    net, nt = _norse_lifcell()
    g = nt.to_nir(net, pytest.importorskip("torch").zeros(1, 4))
    x = (rng.random((60, 2, 4)) < 0.5).astype(np.float64)
    src = _norse_spikes(net, x)
    graph, report = import_nir(g)
    assert (report.producer, report.dt, report.method) == ("norse", 1e-3, "euler")
    (node,) = [n for n, v in graph.nodes.items() if v.node_type == "CubaLIF"]
    np.testing.assert_allclose(graph.nodes[node].tau_mem, 0.01, rtol=1e-6)
    np.testing.assert_allclose(graph.nodes[node].w_in, 5.0, rtol=1e-6)
    ours = run(graph, x, backend="numpy", dtype=np.float64, method="euler").spikes[node].to_dense(np.float64)
    ours = ours.reshape(src.shape)
    assert src.sum() > 100
    np.testing.assert_array_equal(ours[1:], src[:-1])
    fid = check_fidelity(g, "norse", x)
    assert fid.verdict != "faithful"
    assert fid.causes == ["dynamics"]


def test_norse_1_1_0_to_nir_writes_dt_times_tau():
    """Known bug of Norse 1.1.0: to_nir(dt=1e-3) writes tau = dt/tau_inv, so a 10 ms neuron is
    written with tau_mem = 1e-5 s, and Norse's own from_nir reads that back as written."""
    net, nt = _norse_lifcell()
    g = nt.to_nir(net, pytest.importorskip("torch").zeros(1, 4))
    (node,) = [v for v in g.nodes.values() if type(v).__name__ == "CubaLIF"]
    np.testing.assert_allclose(node.tau_mem, 1e-5, rtol=1e-5)
    np.testing.assert_allclose(node.w_in, 1.0)
    back = nt.from_nir(g)
    (cell,) = [m for m in back.modules() if type(m).__name__ == "LIFBoxCell"]
    np.testing.assert_allclose(cell.p.tau_mem_inv.numpy(), 1e5, rtol=1e-5)


def test_norse_1_1_0_to_nir_needs_vector_parameters():
    """Known limitation of Norse 1.1.0 with nir 1.0.8: LIFParameters' scalar v_leak default next to
    per-neuron time constants fails nir.CubaLIF's same-shape check."""
    torch = pytest.importorskip("torch")
    nt = require("norse").torch
    p = nt.LIFParameters(tau_mem_inv=torch.full((6,), 100.0), tau_syn_inv=torch.full((6,), 200.0))
    with pytest.raises(AssertionError, match="same shape"):
        nt.to_nir(nt.SequentialState(torch.nn.Linear(4, 6), nt.LIFCell(p)), torch.zeros(1, 4))

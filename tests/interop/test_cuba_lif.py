"""CubaLIF into snnTorch 1.0.0 (``Synaptic``) and SpikingJelly 2.0.0 (``CUBALIFNode``).

Both importers demand unit gains (``r = tau_mem/dt``, ``w_in = tau_syn/dt``; snnTorch asserts
``r``, and divides the threshold by ``w_in dt/tau_syn`` otherwise), and both feed the *same*
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
from neuro.interop import check_fidelity, export_nir
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


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly"])
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


@pytest.mark.parametrize("tool", ["snntorch", "spikingjelly"])
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

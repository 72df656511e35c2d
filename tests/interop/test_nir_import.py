"""import_nir: conventions applied per producer, detection, and typed errors on bad input."""

from __future__ import annotations

import dataclasses

import nir
import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import UnsupportedNodeError
from neuro.interop import (
    AmbiguousProducerError,
    ConventionConflictError,
    MissingTimeStepError,
    UnknownToolError,
    detect_producer,
    import_nir,
)


def _lif(tau: float, r: float, n: int = 3) -> nir.LIF:
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def _chain(*nodes, metadata=None) -> nir.NIRGraph:
    g = nir.NIRGraph.from_list(*nodes)
    g.metadata = dict(metadata or {})
    return g


def _affine(rng, n_in: int = 2, n_out: int = 3) -> nir.Affine:
    return nir.Affine(rng.normal(size=(n_out, n_in)), np.zeros(n_out))


def test_snntorch_pattern_is_detected_and_read_as_euler_at_1e4(rng):
    graph, report = import_nir(_chain(_affine(rng), _lif(1e-3, 10.0)))
    assert (report.producer, report.detected, report.dt, report.method) == ("snntorch", True, 1e-4, "euler")
    assert graph.metadata["dt"] == 1e-4
    assert graph.metadata["method"] == "euler"
    # snnTorch's Leaky defaults to subtraction but writes v_reset = 0: the report says so.
    assert report.reset == "value"
    assert any("reset='subtract'" in n for n in report.notes)


def test_sinabs_steps_scaled_to_seconds(rng):
    graph, report = import_nir(_chain(_affine(rng), _lif(10.0, 1.0)), dt=1e-3)
    assert report.producer == "sinabs"
    assert report.method == "exact"
    lif = next(v for v in graph.nodes.values() if v.node_type == "LIF")
    np.testing.assert_allclose(lif.tau, 10.0 * 1e-3)


def test_rockpool_dt_solved_from_r(rng):
    tau, dt = 0.02, 1e-3
    _graph, report = import_nir(_chain(_affine(rng), _lif(tau, tau * np.exp(-dt / tau) / dt)))
    assert report.producer == "rockpool"
    assert report.dt == pytest.approx(dt, rel=1e-6)


def test_neuro_metadata_wins_and_round_trips(rng):
    g = ir.Graph.sequential(
        ir.Input((2,)),
        ir.Affine(rng.normal(size=(3, 2)), np.zeros(3)),
        ir.LIF(tau=np.full(3, 0.02)),
        ir.Output(),
        metadata={"dt": 5e-4},
    )
    _report_graph, report = import_nir(ir.to_nir(g))
    assert (report.producer, report.dt, report.dt_source) == ("neuro", 5e-4, "metadata")


def test_r_equal_one_is_ambiguous_between_tools(rng):
    with pytest.raises(AmbiguousProducerError) as err:
        import_nir(_chain(_affine(rng), _lif(0.01, 1.0)))
    assert set(err.value.candidates) == {"norse", "spikingjelly"}
    _graph, report = import_nir(_chain(_affine(rng), _lif(0.01, 1.0)), producer="norse")
    assert report.dt == 1e-3
    assert not report.detected


def test_missing_dt_is_a_typed_error(rng):
    with pytest.raises(MissingTimeStepError, match="dt="):
        import_nir(_chain(_affine(rng), _lif(0.01, 1.0)), producer="neuro")


def test_conflicting_dt_and_producer_are_typed_errors(rng):
    g = _chain(_affine(rng), _lif(1e-3, 10.0))
    with pytest.raises(ConventionConflictError) as err:
        import_nir(g, producer="snntorch", dt=1e-3)
    assert err.value.field == "dt"
    tagged = _chain(_affine(rng), _lif(1e-3, 10.0), metadata={"dt": 1e-4, "producer": "neuro"})
    with pytest.raises(ConventionConflictError) as err:
        import_nir(tagged, producer="snntorch")
    assert err.value.field == "producer"
    with pytest.raises(ConventionConflictError, match=r"dt=0\.002"):
        import_nir(tagged, dt=2e-3)
    with pytest.raises(UnknownToolError, match="brian"):
        import_nir(g, producer="brian")


def test_unsupported_node_named(rng):
    @dataclasses.dataclass(eq=False)
    class Spiky(nir.NIRNode):
        gain: np.ndarray

    g = _chain(_affine(rng), _lif(1e-3, 10.0))
    g.nodes["odd"] = Spiky(np.ones(3))
    g.edges.append(("output", "odd"))
    with pytest.raises(UnsupportedNodeError, match=r"odd \(Spiky\)") as err:
        import_nir(g)
    assert err.value.nodes == ["odd"]


def test_detect_without_neurons_asks_for_producer(rng):
    with pytest.raises(AmbiguousProducerError, match="producer="):
        detect_producer(_chain(_affine(rng)))


def test_sinabs_gain_and_reset_follow_its_importer(rng):
    """Sinabs' from_nir adds the input unscaled (norm_input=False) and resets by subtraction."""
    graph, report = import_nir(_chain(_affine(rng), _lif(10.0, 1.0)), dt=1e-3)
    lif = next(v for v in graph.nodes.values() if v.node_type == "LIF")
    np.testing.assert_allclose(lif.r * -np.expm1(-1e-3 / lif.tau), 1.0)
    assert (report.reset, lif.reset.name) == ("subtract", "subtract")


def test_rockpool_detected_by_node_names_and_read_as_its_simulator(rng):
    """rockpool's LIFNeuronTorch: v' = exp(-dt/tau) v + x, written with r = tau exp(-dt/tau)/dt."""
    tau, dt = 0.02, 1e-3
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "0_LinearTorch": nir.Linear(rng.normal(size=(3, 2))),
            "1_LIFNeuronTorch": _lif(tau, tau * np.exp(-dt / tau) / dt),
            "output": nir.Output(np.array([3])),
        },
        edges=[("input", "0_LinearTorch"), ("0_LinearTorch", "1_LIFNeuronTorch"), ("1_LIFNeuronTorch", "output")],
    )
    graph, report = import_nir(g)
    assert (report.producer, report.method, report.reset) == ("rockpool", "euler", "subtract")
    assert "node names" in report.evidence[0]
    lif = graph.nodes["1_LIFNeuronTorch"]
    decay = 1.0 - report.dt / lif.tau  # Euler
    np.testing.assert_allclose(decay, np.exp(-dt / tau))
    np.testing.assert_allclose(lif.r * report.dt / lif.tau, 1.0)  # input gain 1


def test_norse_time_constants_below_dt_are_read_as_its_to_nir(rng):
    """Norse 1.1.0's to_nir writes tau = dt/tau_inv (dt * tau): a 10 ms neuron as 1e-5 s."""
    cuba = nir.CubaLIF(
        tau_syn=np.full(3, 5e-6),
        tau_mem=np.full(3, 1e-5),
        r=np.ones(3),
        v_leak=np.zeros(3),
        v_threshold=np.ones(3),
        w_in=np.ones(3),
    )
    graph, report = import_nir(_chain(_affine(rng), cuba), producer="norse")
    node = next(v for v in graph.nodes.values() if v.node_type == "CubaLIF")
    np.testing.assert_allclose(node.tau_mem, 0.01)
    np.testing.assert_allclose(node.w_in, 5.0)  # tau_syn/dt: LIFCell adds its input unscaled
    assert any("every time constant is below dt" in n for n in report.notes)
    _, plain = import_nir(_chain(_affine(rng), _lif(0.01, 1.0)), producer="norse")
    assert not any("every time constant is below dt" in n for n in plain.notes)

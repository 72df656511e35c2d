"""estimate / compare: the ground-truth cases of the reference, unpriced and all-in rules, and
an end-to-end run engine -> activity -> estimate on every preset."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from neuro import ir
from neuro.engine import PoissonInput, run
from neuro.hardware import (
    BASELINE,
    PRESETS,
    ChipSpec,
    Const,
    EnergyTable,
    Evidence,
    Family,
    LayerActivity,
    activity_from_engine,
    compare,
    estimate,
    get_chip,
)


def layer(name="fc", n_in=784, n_out=128, T=1, samples=1, synops=0, dense=None, binary=True, na=0, ni=0, spikes=0, **kw):
    return LayerActivity(
        name=name,
        neuron=f"{name}_lif" if na + ni else None,
        kind=kw.pop("kind", "dense"),
        n_in=n_in,
        n_out=n_out,
        weights=n_in * n_out,
        nonzero_weights=n_in * n_out,
        fan_in_max=n_in,
        fan_out_max=n_out,
        timesteps=T,
        samples=samples,
        in_events=synops // max(n_out, 1),
        binary_input=binary,
        synops_effective=synops,
        synops_dense=n_in * n_out * T * samples if dense is None else dense,
        out_spikes=spikes,
        neuron_updates_active=na,
        neuron_updates_idle=ni,
        weight_shape=(n_out, n_in),
        **kw,
    )


def test_g1_keras_spiking_dense_784_128_on_cpu():
    """keras-spiking doctest: (100,352 + 128) x 8.6 nJ = 8.6413e-4 J; a custom device 1.029e-5 J."""
    fc = layer(binary=False, na=128)
    assert fc.synops_dense == 100_352
    rep = estimate([fc], "keras_spiking_compat.cpu")
    assert rep.total_J == pytest.approx((100_352 + 128) * 8.6e-9, rel=1e-12)
    assert round(rep.total_J, 6) == pytest.approx(8.64e-4)
    src = "kerasspiking2023:model_energy.py"
    custom = ChipSpec(
        "custom_device",
        Family.DIGITAL_OPS,
        "keras-spiking doc example",
        None,
        energy=EnergyTable(
            synop=Const(1e-10, "J", src, Evidence.CONVENTION),
            mac=Const(1e-10, "J", src, Evidence.CONVENTION),
            neuron_active=Const(2e-9, "J", src, Evidence.CONVENTION),
        ),
        event_driven=False,
    )
    assert estimate([fc], custom).total_J == pytest.approx(1.02912e-5, rel=1e-12)


def scaled(acts, k):
    fields = ("timesteps", "in_events", "synops_effective", "synops_dense", "out_spikes")
    fields += ("neuron_updates_active", "neuron_updates_idle")
    return [dataclasses.replace(a, **{f: getattr(a, f) * k for f in fields}) for a in acts]


def test_g1b_linearity_in_T_on_every_preset():
    """keras-spiking test: loihi energy at T = 46 is twice that at T = 23 (same rates)."""
    acts = [
        layer("a", 100, 50, T=23, synops=23 * 50 * 7, na=300, ni=23 * 50 - 300, spikes=40),
        layer("b", 50, 10, T=23, synops=900),
    ]
    for name in PRESETS:
        one, two = estimate(acts, name), estimate(scaled(acts, 2), name)
        assert two.dynamic_J == pytest.approx(2 * one.dynamic_J, rel=1e-12), name
        assert two.static_J == pytest.approx(2 * one.static_J, rel=1e-12), name
    k23 = estimate(acts, "keras_spiking_compat").total_J
    assert estimate(scaled(acts, 2), "keras_spiking_compat").total_J == pytest.approx(2 * k23, rel=1e-12)


def test_g2_spikingformer_8_768_is_13_68_mJ():
    """12.54 G SOPs x 0.9 pJ + (3 x 96 x 9 x 224 x 224 x 4 = 520.2 M) MACs x 4.6 pJ = 13.68 mJ."""
    macs = 3 * 96 * 9 * 224 * 224 * 4
    assert macs == pytest.approx(520.2e6, rel=1e-4)
    conv1 = layer("conv1", 3 * 224 * 224, 96 * 224 * 224, T=4, synops=macs, binary=False, kind="conv")
    rest = layer("rest", 1, 1, T=4, synops=12_540_000_000)
    rep = estimate([conv1, rest], "digital45_snn")
    assert rep.dynamic_J == pytest.approx(13.68e-3, rel=1e-3)
    assert rep.evidence_floor is Evidence.DERIVED  # the 4.6 pJ MAC is derived (3.7 + 0.9)
    assert not rep.complete
    assert "rest.weight_read" in rep.unpriced


def gsc_graph(rng):
    sizes = [20, 256, 256, 256, 35]
    nodes = [ir.Input(shape=(20,))]
    for a, b in itertools.pairwise(sizes):
        nodes += [ir.Affine(weight=rng.normal(0, 0.5, (b, a)), bias=np.zeros(b)), ir.LIF(tau=0.02, v_threshold=1.0)]
    return ir.Graph.sequential(*nodes, ir.Output(), metadata={"dt": 1e-3})


def test_g3_neurobench_gsc_dense_synops_and_priced_regression(rng):
    """NeuroBench GSC (20-256-256-256-35, T = 200): dense synops 29,030,400 exactly; priced
    with 3.29 M effective ACs: Loihi 77.6 uJ, keras-spiking Loihi 89.2 uJ, 45 nm SNN 2.96 uJ,
    dense fp32 133.5 uJ."""
    graph = gsc_graph(rng)
    acts = activity_from_engine(graph, run(graph, PoissonInput(50.0, 200, 1, 0), backend="numpy").counts)
    assert [a.n_out for a in acts] == [256, 256, 256, 35]
    assert sum(a.synops_dense for a in acts) == 29_030_400
    assert sum(a.weights for a in acts) + 803 == 145_955  # parameters: weights + biases
    assert estimate(acts, BASELINE).dynamic_J == pytest.approx(29_030_400 * 4.6e-12)
    total_s, dense = 3_289_834, [5120, 65536, 65536, 8960]
    acts = [dataclasses.replace(a, synops_effective=total_s * d // 145_152) for a, d in zip(acts, dense, strict=True)]
    s = sum(a.synops_effective for a in acts)
    assert s == pytest.approx(total_s, rel=1e-5)
    synop = {
        n: sum(t.joules for le in estimate(acts, n).per_layer for t in le.terms if t.name == "synop")
        for n in ("loihi", "keras_spiking_compat", "digital45_snn")
    }
    assert synop["loihi"] == pytest.approx(77.6e-6, rel=2e-3)
    assert synop["keras_spiking_compat"] == pytest.approx(89.2e-6, rel=2e-3)
    assert synop["digital45_snn"] == pytest.approx(2.96e-6, rel=2e-3)
    assert estimate(acts, BASELINE).dynamic_J == pytest.approx(133.5e-6, rel=1e-3)
    loihi_neurons = 803 * 200 * 81e-12
    assert loihi_neurons == pytest.approx(13.0e-6, rel=1e-2)


def test_unpriced_is_listed_never_zero():
    acts = [layer(T=10, synops=5000, na=400, ni=880, spikes=30)]
    rep = estimate(acts, "speck")  # no published prices until calibrated
    assert rep.total_J == 0.0
    assert not rep.complete
    assert set(rep.unpriced) == {"fc.synop", "fc.neuron_active", "fc.neuron_idle", "fc.spike_out", "fc.weight_read", "static"}
    terms = {t.name: t for t in rep.per_layer[0].terms}
    assert terms["synop"].joules is None
    assert terms["synop"].count == 5000
    assert terms["mac"].count == 0
    assert not terms["mac"].unpriced
    loihi = estimate(acts, "loihi")
    assert loihi.unpriced == ("fc.weight_read",)  # Loihi publishes no memory-access energy
    priced = sum(t.joules for t in loihi.per_layer[0].terms if t.joules is not None)
    assert loihi.total_J == pytest.approx(priced + loihi.static_J)


def test_all_in_is_never_stacked():
    acts = [layer(T=10, synops=5000, na=400, ni=880, spikes=30)]
    truenorth = estimate(acts, "truenorth")  # 46 GSOPS/W all-in (Merolla 2014)
    assert [t.name for t in truenorth.per_layer[0].terms] == ["all_in"]
    assert truenorth.total_J == pytest.approx(5000 / 46e9)
    assert truenorth.static_J == 0.0
    assert truenorth.latency_s == pytest.approx(10 * 1e-3)  # the 1 ms tick
    rep = estimate(acts, "fpga_zynq_us_corradi")
    assert [t.name for t in rep.per_layer[0].terms] == ["all_in"]
    assert rep.total_J == pytest.approx(5000 * 151e-12)
    assert rep.static is None
    assert rep.static_J == 0.0
    assert rep.complete
    assert any("all-in" in a for a in rep.assumptions)


def test_loihi_latency_static_and_evidence_floor():
    acts = [layer(n_out=2048, T=10, samples=2, synops=40_000, na=10_000, ni=30_960, spikes=500)]
    rep = estimate(acts, "loihi")
    per_core_step = (40_000 * 3.5e-9 + 10_000 * 8.4e-9 + 30_960 * 5.3e-9) / (10 * 2 * 2)  # 2 cores of 1,024
    assert rep.latency_s == pytest.approx(10 * (per_core_step + 113e-9))
    assert rep.static_J == pytest.approx(0.104 * rep.latency_s * 2)
    assert rep.per_sample["total_J"] == pytest.approx(rep.total_J / 2)
    assert rep.evidence_floor is Evidence.DERIVED  # static power is derived from Frady 2020
    assert estimate(acts, "loihi", wall_time_s=1e-3).static_J == pytest.approx(0.104 * 1e-3 * 2)
    assert estimate(acts, "loihi2").evidence_floor is Evidence.UNVERIFIED
    only_acs = estimate(acts, "digital45_snn")
    assert only_acs.evidence_floor is Evidence.CONVENTION  # no MAC used: only the 0.9 pJ convention


def test_clock_driven_charges_dense_and_event_driven_charges_effective():
    acts = [layer(T=10, synops=1000, na=100, ni=1180)]
    ann = estimate(acts, BASELINE)
    assert ann.dynamic_J == pytest.approx(784 * 128 * 10 * 4.6e-12)
    snn = estimate(acts, "digital45_snn")
    assert snn.dynamic_J == pytest.approx(1000 * 0.9e-12)
    conv = [dataclasses.replace(acts[0], kind="conv")]
    assert estimate(conv, "loihi_sanafe").per_layer[0].terms[0].joules == pytest.approx(1000 * 24.0e-12)


def test_compare_always_has_the_ann_baseline():
    acts = [layer("a", T=5, synops=2000, na=50, ni=590), layer("b", 128, 10, T=5, synops=300)]
    cmp = compare(acts, ["loihi", "digital45_snn"])
    assert [t["chip"] for t in cmp.totals] == ["loihi", "digital45_snn", BASELINE]
    assert len(cmp.rows) == 2 * 3
    assert {r["layer"] for r in cmp.rows} == {"a", "b"}
    base = next(t for t in cmp.totals if t["baseline"])
    assert base["vs_baseline"] == 1.0
    snn = next(t for t in cmp.totals if t["chip"] == "digital45_snn")
    assert snn["vs_baseline"] == pytest.approx(2300 * 0.9e-12 / base["total_J"])
    assert len(compare(acts, [BASELINE]).totals) == 1


def test_rram_vs_digital_snn_same_order_of_magnitude():
    """G10 (ratio only): the RRAM preset against digital45_snn on an LSM-sized layer."""
    acts = [layer("res", 256, 200, T=50, synops=256 * 200 * 50 // 10, na=2000, ni=8000)]
    ratio = estimate(acts, "rram_crossbar").dynamic_J / estimate(acts, "digital45_snn").dynamic_J
    assert 0.1 < ratio < 10


def small_graph(rng):
    return ir.Graph.sequential(
        ir.Input(shape=(30,)),
        ir.Linear(weight=rng.normal(0.3, 0.3, (40, 30))),
        ir.LIF(tau=0.01, v_threshold=1.0),
        ir.Linear(weight=rng.normal(0.2, 0.3, (5, 40))),
        ir.LIF(tau=0.01, v_threshold=1.0),
        ir.Output(),
        metadata={"dt": 1e-3},
    )


def test_end_to_end_every_preset_and_more_spikes_cost_more(rng):
    graph = small_graph(rng)
    low = activity_from_engine(graph, run(graph, PoissonInput(20.0, 100, 2, 1), backend="numpy").counts)
    high = activity_from_engine(graph, run(graph, PoissonInput(300.0, 100, 2, 1), backend="numpy").counts)
    assert sum(a.synops_effective for a in high) > sum(a.synops_effective for a in low)
    for name, chip in PRESETS.items():
        lo, hi = estimate(low, name), estimate(high, name)
        assert lo.total_J >= 0
        assert len(lo.per_layer) == 2
        assert lo.complete == (not lo.unpriced)
        if chip.event_driven and get_chip(name).energy.synop is not None:
            assert hi.dynamic_J > lo.dynamic_J, name
        if not chip.event_driven:
            assert hi.dynamic_J == pytest.approx(lo.dynamic_J), name
    assert compare(low, list(PRESETS)).totals[-1]["chip"] == list(PRESETS)[-1]

"""CUBA against Brian2 2.9 (the `reference` extra): identical spikes on a small network with the
same connectivity, initial state and exact integration in float64; firing rate and CV of the
inter-spike intervals at N = 4000 within Brian2's own spread over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.models.cuba import W_EXC, W_INH, cuba, run_cuba

pytestmark = pytest.mark.reference


def _brian2():
    # Imported inside the tests, never at collection: importing brian2 imports brian2.tests,
    # which replaces pytest's doctest collector with one that fails on package __init__ files.
    return pytest.importorskip("brian2")


def brian2_cuba(graph, init, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Brian2's examples/CUBA.py with the synapses and initial membrane of ``graph``
    (runtime target numpy: no fast-math, float64). Returns (step, neuron) of every spike."""
    b2 = _brian2()
    b2.prefs.codegen.target = "numpy"
    pop, rec = graph.nodes["pop"], graph.nodes["rec"]
    n = graph.shapes["pop"][0]
    dt = float(graph.metadata["dt"])
    volt = b2.volt
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    ns = {
        "taum": float(pop.tau_mem) * b2.second, "taue": float(pop.tau_syn_exc) * b2.second,
        "taui": float(pop.tau_syn_inh) * b2.second, "El": float(pop.v_leak) * volt,
        "Vt": float(pop.v_threshold) * volt, "Vr": float(pop.v_reset) * volt,
        "we": W_EXC * volt, "wi": W_INH * volt,
    }  # fmt: skip
    clock = b2.Clock(dt * b2.second)
    group = b2.NeuronGroup(
        n, eqs, threshold="v>Vt", reset="v = Vr", refractory=float(pop.t_refrac) * b2.second,
        method="exact", namespace=ns, clock=clock,
    )  # fmt: skip
    group.v = init["pop"][0] * volt
    pre = np.repeat(np.arange(n), np.diff(rec.indptr))
    post = np.asarray(rec.indices) % n
    inhibitory = np.asarray(rec.indices) >= n
    syn_e = b2.Synapses(group, group, on_pre="ge += we", namespace=ns, clock=clock)
    syn_e.connect(i=pre[~inhibitory], j=post[~inhibitory])
    syn_i = b2.Synapses(group, group, on_pre="gi += wi", namespace=ns, clock=clock)
    syn_i.connect(i=pre[inhibitory], j=post[inhibitory])
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(group, syn_e, syn_i, monitor)
    net.run(duration * b2.second)
    return np.rint(np.asarray(monitor.t / b2.second) / dt).astype(np.int64), np.asarray(monitor.i, np.int64)


def neuro_spikes(graph, init, duration):
    res = run_cuba(graph, init, duration, dtype=np.float64)
    t, _ = res.outputs["pop"].frames()
    return t.astype(np.int64), res.outputs["pop"].idx.astype(np.int64)


def test_identical_spikes_on_a_small_network_in_float64():
    _brian2()
    graph, init = cuba(300, p=0.1, seed=3)
    duration = 0.1
    ours = set(zip(*neuro_spikes(graph, init, duration), strict=True))
    theirs = set(zip(*brian2_cuba(graph, init, duration), strict=True))
    assert len(theirs) > 150  # the network is active: recurrent excitation and inhibition matter
    assert sorted(ours - theirs)[:5] == sorted(theirs - ours)[:5] == []


def rate_and_cv(steps, neurons, n, duration, dt):
    rate = len(steps) / n / duration
    cvs = []
    order = np.lexsort((steps, neurons))
    steps, neurons = steps[order], neurons[order]
    bounds = np.flatnonzero(np.diff(neurons)) + 1
    for s in np.split(steps, bounds):
        if len(s) >= 3:
            isi = np.diff(s) * dt
            cvs.append(isi.std() / isi.mean())
    return rate, float(np.mean(cvs))


def test_rate_and_cv_at_4000_within_brian2_spread():
    _brian2()
    n, duration, dt = 4000, 1.0, 1e-4
    ours, theirs = [], []
    for seed in range(3):
        graph, init = cuba(n, seed=seed)
        ours.append(rate_and_cv(*neuro_spikes(graph, init, duration), n, duration, dt))
        theirs.append(rate_and_cv(*brian2_cuba(graph, init, duration), n, duration, dt))
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    spread = theirs_a.max(axis=0) - theirs_a.min(axis=0)
    assert np.all(spread > 0)
    # each of our runs lies within Brian2's range over seeds, widened by that range
    lo, hi = theirs_a.min(axis=0) - spread, theirs_a.max(axis=0) + spread
    assert np.all((ours_a >= lo) & (ours_a <= hi)), (ours_a, theirs_a)
    assert np.all(np.abs(ours_a.mean(axis=0) - theirs_a.mean(axis=0)) <= spread), (ours_a, theirs_a)
    assert 3.0 < theirs_a[:, 0].mean() < 9.0  # the CUBA regime (≈ 5.6 Hz)

"""lava-dl netx HDF5: layout as lava reads it, round trips through neuro's reader, lint and errors."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import DataFormatError, UnsupportedNodeError
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.export.errors import ExportFeatureError, ExportPrecisionError
from neuro.export.netx import netx_lint, read_netx, write_netx
from neuro.hardware import Violation
from neuro.hardware.violations import Kind

DT = 1e-3
A = 1.0 - 200 / 4096  # a decay that 12 bits hold exactly
TAU = -DT / np.log(A)
S = 2.0**4  # the scale the writer picks for the weights below


def _on_grid(rng: np.random.Generator) -> ir.Graph:
    """Dense + LI current + conv layers whose values are exactly Loihi's integers / 2**4."""
    w_conv = 2 * rng.integers(-100, 100, (4, 2, 3, 3)) / S
    w1 = 2 * rng.integers(-100, 100, (12, 4 * 4 * 4)) / S
    w2 = 2 * rng.integers(-100, 100, (5, 12)) / S
    unit = {"tau": TAU, "r": 1 / (1 - A)}
    nodes = {
        "in": ir.Input((2, 6, 6)),
        "conv": ir.Conv2d(w_conv),
        "c_lif": ir.LIF(**unit, v_threshold=151 / S),
        "flat": ir.Flatten(),
        "fc1": ir.Linear(w1),
        "lif1": ir.IF(r=1 / DT, v_threshold=301 / S),
        "fc2": ir.Linear(w2),
        "cur2": ir.LI(**unit),
        "lif2": ir.LIF(**unit, v_threshold=201 / S),
        "out": ir.Output(),
    }
    names = list(nodes)
    return ir.Graph(nodes, list(itertools.pairwise(names)), {"dt": DT})


def test_layout_is_what_lava_netx_reads(tmp_path, rng):
    path = tmp_path / "net.h5"
    write_netx(_on_grid(rng), path)
    with h5py.File(path, "r") as f:
        layer = f["layer"]
        assert [layer[str(i)]["type"][0] for i in range(len(layer))] == [b"input", b"conv", b"flatten", b"dense", b"dense"]
        assert list(layer["0/shape"][()]) == [2, 6, 6]
        conv = layer["1"]
        assert conv["weight"].shape == (4, 2, 3, 3)
        assert list(conv["shape"][()]) == [4, 4, 4]
        assert list(conv["stride"][()]) == [1, 1]
        assert int(conv["groups"][()]) == 1
        neuron = conv["neuron"]
        assert neuron["type"][()] == b"CUBA"
        assert int(neuron["refDelay"][()]) == 1
        assert int(neuron["iDecay"][()]) == 4096
        assert int(neuron["vDecay"][()]) == 200
        assert int(neuron["vThMant"][()]) == 151
        dense = layer["3"]
        assert int(dense["inFeatures"][()]) == 64
        assert int(dense["outFeatures"][()]) == 12
        assert int(dense["neuron/vDecay"][()]) == 0  # IF: no leak
        w = dense["weight"][()]
        assert w.dtype.kind == "i"
        assert np.all(w % 2 == 0)
        assert w.min() >= -256
        assert w.max() <= 254
        assert int(layer["4/neuron/iDecay"][()]) == 200  # the LI current stage


def test_round_trip_runs_the_same_spikes(tmp_path, rng):
    g = _on_grid(rng)
    write_netx(g, tmp_path / "net.h5")
    back = read_netx(tmp_path / "net.h5")
    x = (rng.random((60, 3, 2, 6, 6)) < 0.4).astype(float)
    ref = run(g, x, dtype=np.float64, backend="numpy").output()
    got = run(back, x, dtype=np.float64, backend="numpy").output()
    assert ref.sum() > 0
    np.testing.assert_array_equal(got, ref)
    # writing what was read gives the same integers
    write_netx(back, tmp_path / "again.h5")
    with h5py.File(tmp_path / "net.h5") as a, h5py.File(tmp_path / "again.h5") as b:
        for i in ("1", "3", "4"):
            np.testing.assert_array_equal(a[f"layer/{i}/weight"][()], b[f"layer/{i}/weight"][()])
            for key in ("iDecay", "vDecay", "vThMant"):
                assert a[f"layer/{i}/neuron/{key}"][()] == b[f"layer/{i}/neuron/{key}"][()]


def test_off_grid_weights_are_rounded_within_half_a_step(tmp_path, rng):
    w = rng.normal(0, 1, (8, 6))
    g = ir.Graph.sequential(ir.Input((6,)), ir.Linear(w), ir.LIF(tau=0.02, r=50.0), metadata={"dt": DT})
    (q,) = write_netx(g, tmp_path / "n.h5")
    back = read_netx(tmp_path / "n.h5")
    step = 2.0 / 2.0**q.scale_exp
    gain = -np.expm1(-DT / 0.02) * 50.0
    assert np.abs(back.nodes["dense_0"].weight - w * gain).max() <= step / 2 + 1e-12
    assert np.abs(q.weight).max() > 128  # the scale uses the word's range


def test_read_a_slayer_style_file(tmp_path):
    """Written the way slayer's export_hdf5 writes it: no neuro attributes, vector weight."""
    path = tmp_path / "slayer.net"
    with h5py.File(path, "w") as f:
        g = f.create_group("layer/0")
        g.create_dataset("type", (1,), "S10", [b"input"])
        g.create_dataset("shape", data=np.array([3]))
        g = f.create_group("layer/1")
        g.create_dataset("type", (1,), "S10", [b"dense"])
        g.create_dataset("shape", data=np.array([2]))
        g.create_dataset("weight", data=np.array([[10.0, 0, 0], [0, 20, 0]]))
        for key, value in {"type": "CUBA", "iDecay": 4096, "vDecay": 0, "vThMant": 15, "refDelay": 1,
                           "gradedSpike": False}.items():  # fmt: skip
            g.create_dataset(f"neuron/{key}", data=value)
    back = read_netx(path)
    assert isinstance(back.nodes["neuron_0"], ir.IF)
    assert back.dt == 1e-3
    x = np.zeros((4, 1, 3))
    x[:, 0, 0] = 1  # neuron 0 gets 10 per step: v = 10, 20 -> spike (> 15), reset to 0
    spikes = run(back, x, dtype=np.float64, backend="numpy").output()[:, 0, 0]
    np.testing.assert_array_equal(spikes, [0, 1, 0, 1])


def test_lint_lists_what_loihi_cannot_express(rng):
    g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(rng.normal(size=(3, 4))),
                            ir.LIF(tau=0.02, reset=ResetSubtract()), ir.Linear(rng.normal(size=(2, 3))),
                            ir.CubaLIF(tau_syn=0.005, tau_mem=0.02), metadata={"dt": DT})  # fmt: skip
    found = {(v.layer, v.constraint, v.kind) for v in netx_lint(g, binary_input=False)}
    assert ("lif_2", "reset", Kind.UNSUPPORTED) in found
    assert ("cubalif_4", "cuba_timing", Kind.UNCHECKED) in found
    assert ("input_0", "input_message_bits", Kind.UNCHECKED) in found
    assert all(isinstance(v, Violation) for v in netx_lint(g))


def test_unsupported_node_is_named(tmp_path, rng):
    g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(rng.normal(size=(3, 4))),
                            ir.ALIF(tau=0.02, tau_adapt=0.1, beta_adapt=0.1), metadata={"dt": DT})  # fmt: skip
    with pytest.raises(UnsupportedNodeError) as err:
        write_netx(g, tmp_path / "n.h5")
    assert "alif_2" in err.value.nodes
    assert "ALIF" in str(err.value)
    assert not (tmp_path / "n.h5").exists()


def test_reset_by_subtraction_is_refused(tmp_path, rng):
    g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(rng.normal(size=(3, 4))),
                            ir.LIF(tau=0.02, reset=ResetSubtract()), metadata={"dt": DT})  # fmt: skip
    with pytest.raises(ExportFeatureError, match=r"lif_2.*reset"):
        write_netx(g, tmp_path / "n.h5")


def test_weights_that_do_not_fit_the_chosen_exponent(tmp_path):
    g = ir.Graph.sequential(ir.Input((2,)), ir.Linear(np.array([[1.0, -30.0]])), ir.IF(r=1 / DT), metadata={"dt": DT})
    with pytest.raises(ExportPrecisionError, match="weight_bits") as err:
        write_netx(g, tmp_path / "n.h5", weight_exp=4)  # mantissa -30 * 16 / 2 = -240 needs 9 bits
    assert err.value.violations[0].layer == "if_2"
    assert err.value.violations[0].required == 9
    write_netx(g, tmp_path / "n.h5")  # the automatic exponent fits
    tiny = ir.Graph.sequential(ir.Input((2,)), ir.Linear(np.array([[1e4, 1.0]])), ir.IF(r=1 / DT, v_threshold=1e-4),
                               metadata={"dt": DT})  # fmt: skip
    with pytest.raises(ExportPrecisionError, match="vThMant"):
        write_netx(tiny, tmp_path / "t.h5")


def test_bad_files_name_the_layer(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layer/0")
        g.create_dataset("type", (1,), "S10", [b"input"])
        g.create_dataset("shape", data=np.array([3]))
        f.create_group("layer/1").create_dataset("type", (1,), "S10", [b"pool"])
    with pytest.raises(DataFormatError, match=r"layer/1.*'pool'"):
        read_netx(path)
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(DataFormatError, match="not a netx file"):
        read_netx(tmp_path / "empty.h5")

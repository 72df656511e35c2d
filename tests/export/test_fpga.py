"""FPGA memory images and schedule: hex encoding, reader round trip, spikes, bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import DataFormatError, UnsupportedNodeError
from neuro.core.reset import ResetSubtract
from neuro.engine import run
from neuro.export.errors import ExportPrecisionError
from neuro.export.fpga import quantize_fpga, read_fpga, write_fpga
from neuro.hardware.fpga import FpgaConfig

DT = 1e-3


def _graph(rng: np.random.Generator) -> ir.Graph:
    nodes = {
        "in": ir.Input((1, 8, 8)),
        "conv": ir.Conv2d(rng.normal(0, 0.6, (3, 1, 3, 3)), rng.normal(0, 0.05, 3), stride=2, padding=1),
        "c_lif": ir.LIF(tau=0.01, r=20.0, v_threshold=0.5, reset=ResetSubtract()),
        "flat": ir.Flatten(),
        "fc1": ir.Affine(rng.normal(0, 0.4, (10, 48)), rng.normal(0, 0.02, 10)),
        "cur": ir.LI(tau=0.004, r=5.0),
        "lif1": ir.LIF(tau=0.02, r=50.0, v_threshold=0.3),
        "fc2": ir.Linear(rng.normal(0, 0.5, (4, 10))),
        "cuba": ir.CubaLIF(tau_syn=0.005, tau_mem=0.02, r=10.0, v_threshold=0.2),
        "out": ir.Output(),
    }
    names = list(nodes)
    return ir.Graph(nodes, list(itertools.pairwise(names)), {"dt": DT})


def test_round_trip_gives_the_quantised_graph_and_its_spikes(tmp_path, rng):
    g = _graph(rng)
    schedule = write_fpga(g, tmp_path, FpgaConfig(weight_bits=6, state_bits=14), time_steps=50)
    back = read_fpga(tmp_path)
    quantised = quantize_fpga(g, FpgaConfig(weight_bits=6, state_bits=14))
    assert back.equals(quantised)
    x = rng.random((50, 2, 1, 8, 8))  # graded input into the first layer
    ref = run(quantised, x, dtype=np.float64, backend="numpy").output()
    got = run(back, x, dtype=np.float64, backend="numpy").output()
    assert ref.sum() > 0
    np.testing.assert_array_equal(got, ref)
    # the quantised weights sit within half a step of the folded float weights
    w = np.load(tmp_path / schedule["layers"][2]["files"]["weight"]["npy"])
    assert np.abs(w).max() <= 31  # 6-bit two's complement
    assert schedule["layers"][0]["reset"] == "subtract_threshold"
    assert schedule["time_steps"] == 50


def test_schedule_describes_layers_and_leaks(tmp_path):
    a = 1.0 - 2.0**-3  # a decay the hardware does with a shift
    g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.array([[1.0, -1.0, 0.5]])),
                            ir.LIF(tau=-DT / np.log(a), r=1 / (1 - a)), metadata={"dt": DT})  # fmt: skip
    s = write_fpga(g, tmp_path, FpgaConfig(weight_bits=8))
    layer = s["layers"][0]
    assert layer["voltage_leak"] == {"mode": "shift", "shift": 3}
    assert layer["current_leak"] is None
    assert layer["frac_bits"] == 6  # 127 / 1.0 -> 2^6
    assert (tmp_path / "layer0_weight.mem").read_text().split() == ["40", "c0", "20"]  # 64, -64, 32
    assert json.loads((tmp_path / "network.json").read_text())["layers"][0]["threshold"] == 64
    g2 = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.ones((1, 3))), ir.LIF(tau=0.02, r=1.0), metadata={"dt": DT})
    leak = write_fpga(g2, tmp_path / "m", decay_bits=12)["layers"][0]["voltage_leak"]
    assert leak == {"mode": "multiplier", "value": round(np.exp(-DT / 0.02) * 4096), "bits": 12}


def test_precision_that_does_not_fit(tmp_path):
    g = ir.Graph.sequential(ir.Input((2,)), ir.Linear(np.array([[1.0, 2.0]])), ir.IF(r=1 / DT, v_threshold=1e3),
                            metadata={"dt": DT})  # fmt: skip
    with pytest.raises(ExportPrecisionError, match="threshold_bits") as err:
        write_fpga(g, tmp_path, FpgaConfig(weight_bits=8, state_bits=12))
    assert err.value.violations[0].layer == "if_2"
    with pytest.raises(ExportPrecisionError, match="weight_bits"):
        write_fpga(g, tmp_path, FpgaConfig(weight_bits=8, state_bits=32), frac_bits=7)  # 2 * 128 > 127
    assert not (tmp_path / "network.json").exists()


def test_unsupported_node(tmp_path, rng):
    g = ir.Graph.sequential(ir.Input((1, 4, 4)), ir.SumPool2d(2), ir.Flatten(), ir.Linear(rng.normal(size=(2, 4))),
                            ir.LIF(tau=0.02), metadata={"dt": DT})  # fmt: skip
    with pytest.raises(UnsupportedNodeError) as err:
        write_fpga(g, tmp_path)
    assert err.value.nodes == ["sumpool2d_1"]


def test_corrupt_images_name_layer_and_file(tmp_path, rng):
    write_fpga(_graph(rng), tmp_path)
    mem = tmp_path / "layer1_weight.mem"
    mem.write_text(mem.read_text().replace("\n", "\nzz\n", 1))
    with pytest.raises(DataFormatError, match=r"layers\[1\].*weight"):
        read_fpga(tmp_path / "network.json")
    (tmp_path / "network.json").write_text('{"format": "other"}')
    with pytest.raises(DataFormatError, match="format"):
        read_fpga(tmp_path)

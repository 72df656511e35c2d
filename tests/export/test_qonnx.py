"""QONNX: a valid model (onnx.checker), power-of-two Quant scales, and the documented rate semantics,
read back and executed with onnx's reference evaluator (Quant implemented from the QONNX spec)."""

from __future__ import annotations

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import UnsupportedNodeError
from neuro.core.reset import ResetSubtract
from neuro.engine import run

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402
from onnx.reference.op_run import OpRun  # noqa: E402

from neuro.export.qonnx import QONNX_DOMAIN, write_qonnx  # noqa: E402

DT = 1e-3


class Quant(OpRun):
    op_domain = QONNX_DOMAIN

    def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
        bits = int(bitwidth)
        lo, hi = (-(2 ** (bits - 1)) + narrow, 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1 - narrow)
        y = x / scale + zeropt
        y = np.floor(y) if rounding_mode == "FLOOR" else np.round(y)
        return (((np.clip(y, lo, hi) - zeropt) * scale).astype(np.float32),)


def _evaluate(path, x):
    model = onnx.load(str(path))
    return ReferenceEvaluator(model, new_ops=[Quant]).run(None, {"input": x.astype(np.float32)})[0]


def test_model_is_valid_and_scales_are_powers_of_two(tmp_path, rng):
    conv = ir.Conv2d(rng.normal(size=(2, 1, 3, 3)), padding=1)
    g = ir.Graph.sequential(ir.Input((1, 6, 6)), conv, ir.IF(r=1 / DT), ir.Flatten(),
                            ir.Linear(rng.normal(size=(3, 72))), ir.IF(r=1 / DT), metadata={"dt": DT})  # fmt: skip
    summary = write_qonnx(g, tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model)
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    assert all(n.domain == QONNX_DOMAIN for n in quants)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in quants:
        scale = float(inits[n.input[1]])
        assert scale == 2.0 ** round(np.log2(scale))
    ops = [n.op_type for n in model.graph.node if n.op_type != "Quant"]
    assert ops == ["Conv", "Relu", "Flatten", "MatMul", "Add", "Relu"]
    assert summary["time_steps"] == 15
    assert _evaluate(tmp_path / "m.onnx", rng.random((2, 1, 6, 6))).shape == (2, 3)


def test_counts_follow_the_if_rate_of_the_engine(tmp_path, rng):
    """One IF layer with reset by subtraction on constant input: ONNX counts = engine spike counts (±1)."""
    w = rng.normal(0, 0.5, (6, 4))
    g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(w), ir.IF(r=1 / DT, v_threshold=1.0, reset=ResetSubtract()),
                            metadata={"dt": DT})  # fmt: skip
    write_qonnx(g, tmp_path / "m.onnx", weight_bits=12, count_bits=4)
    x = np.round(rng.random((5, 4)) * 128) / 128  # exactly representable by the input Quant
    counts = _evaluate(tmp_path / "m.onnx", x)
    spikes = run(g, np.broadcast_to(x, (15, 5, 4)).copy(), dtype=np.float64, backend="numpy").output().sum(axis=0)
    assert spikes.sum() > 5
    assert np.abs(counts - spikes).max() <= 1


def test_unsupported_node(tmp_path, rng):
    g = ir.Graph.sequential(ir.Input((4,)), ir.Linear(rng.normal(size=(3, 4))), ir.Threshold(0.5), metadata={"dt": DT})
    with pytest.raises(UnsupportedNodeError) as err:
        write_qonnx(g, tmp_path / "m.onnx")
    assert err.value.nodes == ["threshold_2"]

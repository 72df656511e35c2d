"""The exporter registry and ``neuro export GRAPH --format``."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from neuro import ir
from neuro.cli.main import app
from neuro.core.errors import ParameterError
from neuro.engine import run
from neuro.export import EXPORTERS, READERS, export_graph, format_of, read_graph

DT = 1e-3


def _graph() -> ir.Graph:
    w = np.array([[2.0, -1.0, 0.5], [1.0, 1.0, -2.0]])
    return ir.Graph.sequential(ir.Input((3,)), ir.Linear(w), ir.LIF(tau=0.02, r=50.0, v_threshold=1.0),
                               metadata={"dt": DT})  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_every_reader_reads_its_writer(tmp_path, fmt):
    g = _graph()
    path = export_graph(g, fmt, tmp_path / f"model_{fmt}")
    back = read_graph(path, fmt)
    x = np.zeros((30, 1, 3))
    x[:, 0, 0] = 1.0
    ref = run(g, x, dtype=np.float64, backend="numpy").output()
    got = run(back, x, dtype=np.float64, backend="numpy").output()
    assert ref.sum() > 0
    np.testing.assert_array_equal(got, ref)  # the rounding to 8-bit weights and 12-bit decays does not move these spikes


def test_registry_and_format_errors(tmp_path):
    assert set(READERS) <= set(EXPORTERS)
    assert "qonnx" in EXPORTERS
    with pytest.raises(ParameterError, match="unknown export format 'onnx2'"):
        export_graph(_graph(), "onnx2", tmp_path / "x")
    with pytest.raises(ParameterError, match="suffix"):
        format_of(tmp_path / "model.bin")


def test_cli_converts_a_graph_file(tmp_path):
    src = tmp_path / "model.ir.json"
    ir.write_json(_graph(), src)
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(src), "--format", "netx"])
    assert result.exit_code == 0, result.output
    assert read_graph(tmp_path / "model.net").nodes["neuron_0"].node_type == "LIF"
    result = runner.invoke(app, ["export", str(src), "--format", "fpga", "-o", str(tmp_path / "hw")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hw" / "network.json").exists()


def test_cli_reports_unsupported_graphs(tmp_path):
    g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.ones((2, 3))), ir.ALIF(tau=0.02, tau_adapt=0.1),
                            metadata={"dt": DT})  # fmt: skip
    ir.write_json(g, tmp_path / "alif.ir.json")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "alif.ir.json"), "--format", "netx"])
    assert result.exit_code == 2
    assert "alif_2" in result.output

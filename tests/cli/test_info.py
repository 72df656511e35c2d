from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from neuro import __version__
from neuro.cli.main import app
from neuro.core.neurons import MODELS
from neuro.ir import NODE_TYPES


def test_info_json_reports_version_backends_models_and_nodes():
    result = CliRunner().invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["version"] == __version__
    assert {b["name"] for b in data["backends"]} == {"numpy", "numba", "cuda"}
    numba_row = next(b for b in data["backends"] if b["name"] == "numba")
    assert numba_row["requirements_met"] is True  # numba is a core dependency
    assert [m["name"] for m in data["neuron_models"]] == list(MODELS)
    assert {n["name"] for n in data["ir_nodes"]} == set(NODE_TYPES)
    extensions = {"ALIF", "CubaEILIF", "Izhikevich", "MultiSpikeLIF", "SparseLinear"}
    assert {n["name"] for n in data["ir_nodes"] if not n["nir"]} == extensions


def test_info_table_through_the_console_script():
    result = subprocess.run([sys.executable, "-m", "neuro.cli.main", "info"], capture_output=True, text=True, check=True)
    for word in ("Engine backends", "Neuron models", "MultiSpikeLIF", "CubaLIF", "neuro[gpu]"):
        assert word in result.stdout


def test_cuda_backend_says_what_is_missing_without_a_gpu():
    from neuro.engine.backends import BACKENDS

    ok, detail = BACKENDS["cuda"].probe()
    if not ok:
        assert "cupy" in detail or "CUDA" in detail

"""neuro check fidelity: verdict, exit status and typed errors; neuro check hardware stays."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from neuro import ir
from neuro.cli.main import app
from neuro.core.reset import ResetSubtract


def _write(tmp_path, rng, **kw):
    g = ir.Graph.sequential(
        ir.Input((3,)),
        ir.Affine(rng.normal(0.5, 1.0, size=(4, 3)), np.zeros(4)),
        ir.LIF(tau=np.full(4, 0.02), v_threshold=np.full(4, 0.3), **kw),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    path = tmp_path / "g.nir"
    ir.write_nir(g, path)
    return path


def test_fidelity_engine_json(tmp_path, rng):
    path = _write(tmp_path, rng, reset=ResetSubtract())
    out = CliRunner().invoke(app, ["check", "fidelity", str(path), "--against", "engine", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["verdict"] == "faithful"
    assert data["layers"][0]["spikes_neuro"] > 0


def test_fidelity_bad_input_exit_2(tmp_path, rng):
    path = _write(tmp_path, rng)
    out = CliRunner().invoke(app, ["check", "fidelity", str(path), "--against", "brian2"])
    assert out.exit_code == 2
    assert "brian2" in out.output
    out = CliRunner().invoke(app, ["check", "fidelity", str(tmp_path / "none.nir"), "--against", "engine"])
    assert out.exit_code == 2


def test_hardware_command_still_registered():
    out = CliRunner().invoke(app, ["check", "--help"])
    assert "hardware" in out.output
    assert "fidelity" in out.output

"""neuro check fidelity: verdict, exit status and typed errors; neuro check hardware stays."""

from __future__ import annotations

import json

import numpy as np
import pytest
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


@pytest.mark.interop
def test_fidelity_against_sinabs_on_a_sinabs_file(tmp_path, rng):
    """`neuro check fidelity sinabs.nir --against sinabs`: sinabs -> NIR -> neuro -> sinabs."""
    from tests.interop.test_sinabs import _export, _net
    from tests.interop.tools import require

    require("sinabs")
    import nir

    path = tmp_path / "sinabs.nir"
    nir.write(path, _export(_net()))
    np.save(tmp_path / "x.npy", (rng.random((60, 2, 4)) < 0.7).astype(np.float64))
    args = ["check", "fidelity", str(path), "--against", "sinabs", "--input", str(tmp_path / "x.npy"), "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["verdict"] == "faithful"
    assert all(row["spikes_neuro"] > 10 for row in data["layers"])


@pytest.mark.interop
def test_fidelity_against_rockpool_names_dynamics(tmp_path, rng):
    """A Rockpool CubaLIF file checked against Rockpool: exit 1, cause dynamics (same-step current)."""
    from tests.interop.test_rockpool import _export, _net
    from tests.interop.tools import require

    require("rockpool")
    import nir

    path = tmp_path / "rockpool.nir"
    nir.write(path, _export(_net(cuba=True)))
    np.save(tmp_path / "x.npy", (rng.random((60, 2, 4)) < 0.6).astype(np.float64))
    args = ["check", "fidelity", str(path), "--against", "rockpool", "--input", str(tmp_path / "x.npy"), "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["verdict"] != "faithful"
    assert [row["cause"] for row in data["layers"]] == ["dynamics"]
    assert any("same step" in msg for msg in data["cannot"])

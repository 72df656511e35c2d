"""``neuro hw list``, ``neuro hw show``, ``neuro energy``: output, JSON, plot, errors (status 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neuro import ir
from neuro.cli.main import app
from neuro.cli.simulate import counts_document
from neuro.engine import PoissonInput, run
from neuro.hardware import BASELINE, PRESETS, estimate

runner = CliRunner()


def test_hw_list_names_every_preset():
    out = runner.invoke(app, ["hw", "list"])
    assert out.exit_code == 0, out.output
    for name in PRESETS:
        assert name in out.output
    assert "unverified" in out.output  # loihi2's weakest grade


def test_hw_show_lists_constants_sources_and_unchecked_limits():
    out = runner.invoke(app, ["hw", "show", "loihi"])
    assert out.exit_code == 0, out.output
    assert "23.6 pJ" in out.output
    assert "davies2018loihi:Table2" in out.output
    assert "simulated" in out.output
    assert "unchecked" in out.output  # Loihi has no per-neuron fan-in cap
    bad = runner.invoke(app, ["hw", "show", "loihi9"])
    assert bad.exit_code == 2
    assert "unknown chip 'loihi9'" in bad.output


@pytest.fixture
def simulated(tmp_path, rng):
    graph = ir.Graph.sequential(
        ir.Input(shape=(12,)),
        ir.Linear(weight=rng.normal(0.4, 0.3, (16, 12))),
        ir.LIF(tau=0.01, v_threshold=1.0),
        ir.Output(),
        metadata={"dt": 1e-3},
    )
    result = run(graph, PoissonInput(100.0, 50, 2, 0), backend="numpy")
    gpath, cpath = tmp_path / "net.json", tmp_path / "counts.json"
    ir.write_json(graph, gpath)
    cpath.write_text(json.dumps(counts_document(result, "float32")))
    return gpath, cpath, graph, result


def test_energy_json_matches_estimate_and_has_the_baseline(simulated):
    gpath, cpath, graph, result = simulated
    out = runner.invoke(app, ["energy", str(gpath), "--counts", str(cpath), "--chip", "loihi", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    chips = [t["chip"] for t in doc["totals"]]
    assert chips == ["loihi", BASELINE]
    from neuro.hardware import activity_from_engine

    expected = estimate(activity_from_engine(graph, result.counts), "loihi")
    assert doc["totals"][0]["total_J"] == pytest.approx(expected.total_J)
    assert doc["reports"]["loihi"]["unpriced"] == list(expected.unpriced)


def test_energy_table_and_plot(simulated, tmp_path):
    gpath, cpath, _, _ = simulated
    png = tmp_path / "energy.png"
    out = runner.invoke(app, ["energy", str(gpath), "--counts", str(cpath), "--chip", "truenorth", "--plot", str(png)])
    assert out.exit_code == 0, out.output
    assert "truenorth" in out.output
    assert "ANN baseline" in out.output
    assert png.stat().st_size > 1000


def test_energy_errors_exit_2(simulated, tmp_path):
    gpath, cpath, _, _ = simulated
    cases = [
        (["--counts", str(cpath), "--chip", "nochip"], "unknown chip"),
        (["--counts", str(tmp_path / "missing.json")], "no counts file"),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    cases.append((["--counts", str(bad)], "not JSON"))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"nodes": {"ghost": {"kind": "projection"}}}))
    cases.append((["--counts", str(other)], "ghost"))
    for args, message in cases:
        out = runner.invoke(app, ["energy", str(gpath), *args])
        assert out.exit_code == 2, (args, out.output)
        assert message in out.output
        assert len(out.output.strip().splitlines()) == 1


def test_energy_accepts_a_chip_yaml(simulated, tmp_path):
    from neuro.hardware import dump_chip_yaml, get_chip

    gpath, cpath, _, _ = simulated
    chip_file = tmp_path / "mine.yaml"
    chip_file.write_text(dump_chip_yaml(get_chip("spinnaker2")).replace("name: spinnaker2", "name: my_spinnaker"))
    out = runner.invoke(app, ["energy", str(gpath), "--counts", str(cpath), "--chip", str(chip_file), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["totals"][0]["chip"] == "my_spinnaker"
    assert np.isfinite(json.loads(out.output)["totals"][0]["total_J"])

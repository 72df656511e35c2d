"""``neuro check hardware``: output, exit status 0 / 1 / 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neuro import ir
from neuro.cli.main import app


def write(graph, path):
    ir.write_json(graph, path)
    return str(path)


@pytest.fixture
def small(rng, tmp_path):
    g = ir.Graph.sequential(ir.Input((100,)), ir.Linear(rng.integers(-50, 51, (50, 100)).astype(float)), ir.LIF(tau=0.01))
    return write(g, tmp_path / "small.json")


@pytest.fixture
def wide(rng, tmp_path):
    g = ir.Graph.sequential(ir.Input((300,)), ir.Linear(rng.integers(-50, 51, (20, 300)).astype(float)), ir.LIF(tau=0.01))
    return write(g, tmp_path / "wide.json")


def run(*args):
    return CliRunner().invoke(app, ["check", "hardware", *args])


def test_fits_exit_zero_and_lists_unchecked(small):
    result = run(small, "--chip", "loihi")
    assert result.exit_code == 0, result.output
    assert "fits" in result.output
    assert "unchecked" in result.output
    assert "max_fan_in" in result.output


def test_violation_exit_one_with_hint(wide):
    result = run(wide, "--chip", "truenorth")
    assert result.exit_code == 1, result.output
    assert "does not fit" in result.output
    assert "fan_in" in result.output
    assert "summing tree" in result.output


def test_precision_violation_and_json(small):
    result = run(small, "--chip", "loihi", "--weight-bits", "12", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    (v,) = [v for v in data["violations"] if v["constraint"] == "weight_bits"]
    assert (v["kind"], v["required"], v["limit"]) == ("precision", 12, 9)
    assert "quantise to 9 bit" in v["hint"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chip", "no_such_chip"], "no_such_chip"),
        (["--chip", "loihi", "--max-chips", "0"], "max-chips"),
    ],
)
def test_bad_input_exit_two(small, args, message):
    result = run(small, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_or_bad_graph_exit_two(tmp_path):
    result = run(str(tmp_path / "none.json"), "--chip", "loihi")
    assert result.exit_code == 2
    assert "none.json" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run(str(bad), "--chip", "loihi").exit_code == 2
    weird = tmp_path / "net.txt"
    weird.write_text("x")
    assert run(str(weird), "--chip", "loihi").exit_code == 2


def test_np_weights_untouched(rng, tmp_path):
    w = rng.normal(size=(4, 3))
    path = write(ir.Graph.sequential(ir.Input((3,)), ir.Linear(w), ir.LIF(tau=0.01)), tmp_path / "g.json")
    assert run(path, "--chip", "rram_crossbar").exit_code == 0
    np.testing.assert_array_equal(ir.read_json(path).nodes["linear_1"].weight, w)

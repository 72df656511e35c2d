"""``neuro data``: list, build and show, on a small n-digits build in a temporary cache."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from neuro.cli.data import parse_options
from neuro.cli.main import app


def run(*args):
    result = CliRunner().invoke(app, ["data", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_parse_options_reads_json_and_text():
    assert parse_options(["limit=20", "holdout=flite", 'conditions=["blur"]']) == {
        "limit": 20,
        "holdout": "flite",
        "conditions": ["blur"],
    }
    with pytest.raises(typer.BadParameter):
        parse_options(["limit"])


def test_list_build_show(tmp_path):
    rows = {r["name"]: r for r in json.loads(run("list", "--json", "--root", str(tmp_path)))}
    assert rows["n-digits"]["default_cache"] == "not built"
    assert "limit" in rows["n-digits"]["options"]
    out = run("build", "n-digits", "-o", "limit=30", "--workers", "1", "--root", str(tmp_path))
    assert "30 samples" in out
    assert len(list(tmp_path.glob("n-digits-*.npz"))) == 1
    png = tmp_path / "grid.png"
    run("show", "n-digits", "--split", "all", "--index", "2", "-o", "limit=30", "--out", str(png), "--root", str(tmp_path))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gif = tmp_path / "anim.gif"
    run("show", "n-digits", "--split", "all", "-o", "limit=30", "--out", str(gif), "--root", str(tmp_path))
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert len(list(tmp_path.glob("n-digits-*.npz"))) == 1  # show reused the build


def test_unknown_dataset_is_an_error_naming_the_choices(tmp_path):
    result = CliRunner().invoke(app, ["data", "build", "mnist", "--root", str(tmp_path)])
    assert result.exit_code != 0
    assert "n-digits" in str(result.exception)


def test_show_an_image_dataset(tmp_path):
    png = tmp_path / "place.png"
    opts = ["-o", "n_places=12", "-o", "image_size=16", "-o", 'conditions=["blur"]', "--root", str(tmp_path)]
    run("show", "vpr-traverse", "--split", "query-blur", "--index", "5", "--out", str(png), *opts)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = CliRunner().invoke(app, ["data", "show", "vpr-traverse", "--split", "query-noise", *opts])
    assert result.exit_code != 0
    assert "query-noise" in str(result.exception)

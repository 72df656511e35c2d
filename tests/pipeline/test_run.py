"""The pipeline end to end on a small n-digits run, through the CLI: files, report, resume,
eval and export on the run folder, and a config error that stops before any work."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from neuro import ir
from neuro.cli.main import app


def small_config(tmp_path, epochs=2):
    cfg = {
        "name": "small",
        "out_dir": str(tmp_path / "run"),
        "data": {"options": {"limit": 120}, "n_time_bins": 6, "workers": 1, "cache": str(tmp_path / "cache")},
        "model": {"channels": [4]},
        "train": {"epochs": epochs, "batch_size": 16, "progress": False},
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def invoke(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_run_writes_everything_and_resumes(tmp_path):
    config = small_config(tmp_path)
    out = invoke("run", str(config))
    run = tmp_path / "run"
    assert "test accuracy" in out
    for name in ("config.yaml", "metrics.jsonl", "model.nir", "model.ir.json", "summary.json", "report/index.html",
                 "report/raster.png", "report/learning_curves.png", "checkpoints/best/manifest.json"):  # fmt: skip
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["train"]["epochs"] == 2
    assert summary["export"]["nir_rebuild_identical"] is True
    assert 0.0 <= summary["evaluate"]["test_accuracy"] <= 1.0
    graph = ir.read_json(run / "model.ir.json")
    assert graph.dt == 1e-3
    assert len(json.loads((run / "metrics.jsonl").read_text().splitlines()[0])) > 3
    # a second run with more epochs continues from the checkpoint instead of starting over
    config = small_config(tmp_path, epochs=3)
    invoke("run", str(config))
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    evaluation = json.loads(invoke("eval", str(config), "--json"))
    assert evaluation["test_samples"] == json.loads((run / "summary.json").read_text())["data"]["test"]
    (run / "model.nir").unlink()
    invoke("export", str(config))
    assert (run / "model.nir").is_file()


def test_print_config_and_bad_config(tmp_path):
    out = invoke("run", "--print-config")
    assert yaml.safe_load(out)["data"]["dataset"] == "n-digits"
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: zero\n")
    result = CliRunner().invoke(app, ["run", str(bad), "--out", str(tmp_path / "never")])
    assert result.exit_code == 2
    assert "train.epochs" in result.output
    assert not (tmp_path / "never").exists()


def test_train_under_torchrun_with_two_cpu_processes(tmp_path):
    import subprocess
    import sys

    config = small_config(tmp_path, epochs=1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "neuro.cli.main", "train", str(config)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("train     done") == 1  # only rank 0 reports
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["train"]["epochs"] == 1
    assert (tmp_path / "run" / "checkpoints" / "last" / "manifest.json").is_file()

"""The engine step of ``neuro run`` on a tiny n-digits run: agreement with torch (identical
spikes in float64), counts that match the input, the report section, resuming, config checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuro.pipeline import ConfigError, load_config, run_pipeline
from neuro.pipeline.steps import RunContext, step_data


def tiny_config(tmp_path, **engine):
    return load_config(
        {
            "name": "tiny",
            "out_dir": str(tmp_path / "run"),
            "data": {"options": {"limit": 120}, "n_time_bins": 6, "workers": 1, "cache": str(tmp_path / "cache")},
            "model": {"channels": [4]},
            "train": {"epochs": 1, "batch_size": 16, "progress": False},
            "engine": {"samples": 12, "batch": 5, "float64_samples": 6, **engine},
        }
    )


def test_engine_step_agrees_with_torch_counts_the_input_and_resumes(tmp_path):
    cfg = tiny_config(tmp_path)
    results = run_pipeline(cfg)
    engine = results["engine"]
    run = tmp_path / "run"
    assert engine["samples"] == 12
    # the spikes match torch's exactly in float64, and the network does spike (else the check is empty)
    exact = engine["float64_check"]
    assert exact["samples"] == 6
    assert exact["spikes_identical"] is True
    assert exact["readout_max_abs_diff"] == 0.0
    assert set(exact["mismatched"]) == {"lif_2"}
    lif = engine["layers"]["lif_2"]
    assert lif["engine"] > 0
    assert lif["mismatched"] >= abs(lif["engine"] - lif["torch"])
    assert lif["identical_fraction"] > 0.99  # float32: the documented tolerance, not exactness
    assert engine["readout_max_abs_diff"] < 1e-3
    assert engine["predictions_identical"] >= 0.9
    # the engine's accuracy is that of its own predictions
    ctx = RunContext(cfg, run)
    step_data(ctx)
    test = ctx.splits["test"]
    labels = test.labels[:12].numpy()
    assert engine["accuracy"] == pytest.approx(float((np.asarray(engine["predictions"]) == labels).mean()))
    # counts: the first layer receives exactly the non-zero entries of the frames torch sees
    counts = json.loads((run / "report" / "counts.json").read_text())
    frames = test.frames[:12].numpy()
    assert counts["nodes"]["conv2d_1"]["in_events"] == int(np.count_nonzero(frames))
    assert counts["nodes"]["conv2d_1"]["samples"] == 12
    assert counts["nodes"]["lif_2"]["out_spikes"] == engine["layers"]["lif_2"]["engine"]
    per_sample = engine["counts_per_sample"]["conv2d_1"]
    assert per_sample["macs"] == pytest.approx(counts["nodes"]["conv2d_1"]["macs"] / 12)
    assert per_sample["synops_dense"] > per_sample["macs"] > 0
    # the report shows the section and its plot
    page = (run / "report" / "index.html").read_text()
    assert "Event-driven engine" in page
    assert "lif_2" in page
    assert (run / "report" / "engine_operations.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # resuming: the same graph and config reuse the results; another config recomputes
    stamp = (run / "engine.json").stat().st_mtime_ns
    again = run_pipeline(cfg, steps=["engine"])["engine"]
    assert (run / "engine.json").stat().st_mtime_ns == stamp
    assert again == json.loads(json.dumps(engine))
    fewer = run_pipeline(tiny_config(tmp_path, samples=3, float64_samples=0), steps=["engine"])["engine"]
    assert fewer["samples"] == 3
    assert "float64_check" not in fewer
    assert json.loads((run / "report" / "counts.json").read_text())["nodes"]["conv2d_1"]["samples"] == 3


def test_numpy_backend_in_float64_is_identical_to_torch(tmp_path):
    cfg = tiny_config(tmp_path, backend="numpy", dtype="float64", samples=4, float64_samples=0)
    engine = run_pipeline(cfg, steps=["train", "engine"])["engine"]
    assert engine["spikes_identical"] is True
    assert engine["readout_max_abs_diff"] == 0.0
    assert engine["predictions_identical"] == 1.0


@pytest.mark.parametrize(
    ("section", "field"),
    [({"samples": 0}, "engine.samples"), ({"backend": "tpu"}, "engine.backend"), ({"dtype": "float16"}, "engine.dtype"),
     ({"samples_typo": 3}, "engine.samples_typo")],
)  # fmt: skip
def test_engine_config_is_validated(section, field):
    with pytest.raises(ConfigError, match=field):
        load_config({"engine": section})


def test_an_unusable_backend_is_refused_with_what_is_missing(monkeypatch):
    from neuro.engine.cuda import arrays

    monkeypatch.setattr(arrays, "probe", lambda: (False, "missing cupy (pip install 'neuro[gpu]')"))
    with pytest.raises(ConfigError, match=r"engine\.backend.*cupy"):
        load_config({"engine": {"backend": "cuda"}})


def test_engine_is_a_step_between_export_and_report():
    from neuro.pipeline.config import STEP_NAMES
    from neuro.pipeline.steps import STEPS

    assert list(STEPS) == list(STEP_NAMES)
    assert STEP_NAMES.index("export") < STEP_NAMES.index("engine") < STEP_NAMES.index("report")
    assert load_config().steps == STEP_NAMES

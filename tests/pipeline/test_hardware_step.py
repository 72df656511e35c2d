"""The hardware step of ``neuro run``: the engine's counts priced per chip with the ANN
baseline, the mapping per chip, energy.json and the report section."""

from __future__ import annotations

import json

import pytest

from neuro.pipeline import ConfigError, load_config, run_pipeline


def test_hardware_step_prices_the_engine_counts(tmp_path):
    cfg = load_config(
        {
            "name": "tiny",
            "out_dir": str(tmp_path / "run"),
            "data": {"options": {"limit": 120}, "n_time_bins": 6, "workers": 1, "cache": str(tmp_path / "cache")},
            "model": {"channels": [4]},
            "train": {"epochs": 1, "batch_size": 16, "progress": False},
            "engine": {"samples": 8, "batch": 8, "float64_samples": 0},
            "hardware": {"chips": ["digital45_snn", "loihi"]},
        }
    )
    results_all = run_pipeline(cfg)
    results = results_all["hardware"]
    report = tmp_path / "run" / "report"
    counts = json.loads((report / "counts.json").read_text())["nodes"]
    totals = {t["chip"]: t for t in results["totals"]}
    assert set(totals) == {"digital45_snn", "loihi", "digital45_ann_fp32"}
    assert totals["digital45_ann_fp32"]["baseline"]
    # the 45 nm SNN convention by hand: 0.9 pJ per accumulate, 4.6 pJ per MAC, per sample
    synops = sum(c["synops"] for c in counts.values())
    macs = sum(c["macs"] for c in counts.values())
    assert macs > 0  # the first layer takes event counts
    expected = (synops * 0.9e-12 + macs * 4.6e-12) / 8
    assert totals["digital45_snn"]["total_J_per_sample"] == pytest.approx(expected, rel=1e-9)
    # the dense ANN baseline prices every connection at every step at 4.6 pJ
    dense = sum(c["synops_dense"] for c in counts.values())
    assert totals["digital45_ann_fp32"]["total_J_per_sample"] >= dense * 4.6e-12 / 8 * (1 - 1e-9)
    assert totals["digital45_snn"]["vs_baseline"] < 1
    assert set(results["mapping"]) == set(totals)
    assert isinstance(results["mapping"]["loihi"]["fits"], bool)
    saved = json.loads((report / "energy.json").read_text())
    assert saved["totals"] == json.loads(json.dumps(results["totals"], default=str))
    assert (report / "energy.png").stat().st_size > 1000
    page = (report / "index.html").read_text()
    assert "Energy and mapping per chip" in page
    # the export step says where the network deploys unchanged: every consumer resets to a value,
    # the trained network resets by subtraction, and netx has no pooling layer
    deployment = results_all["export"]["deployment"]
    for consumer in ("snntorch", "norse", "spikingjelly"):
        assert any("(reset)" in line for line in deployment["nir"][consumer]["cannot"]), consumer
    # Sinabs 3.1.3 imports no convolutional LIF and no LI, Rockpool 3.1.0 no Conv2d or plain LIF
    for consumer in ("sinabs", "rockpool"):
        assert any("(node)" in line for line in deployment["nir"][consumer]["cannot"]), consumer
    assert any("SumPool2d" in line for line in deployment["netx"])
    assert "Deployment" in page
    assert "digital45_ann_fp32 (ANN baseline)" in page


def test_unknown_chip_fails_before_any_work():
    with pytest.raises(ConfigError, match=r"hardware\.chips"):
        load_config({"hardware": {"chips": ["loihi", "no_such_chip"]}})

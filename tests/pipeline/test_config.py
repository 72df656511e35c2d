"""Run configs: defaults, YAML overrides, errors that name the field path before any work."""

from __future__ import annotations

import pytest
import yaml

from neuro.pipeline import ConfigError, dump_config, load_config


def test_defaults_and_partial_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: quick\ntrain:\n  epochs: 3\nmodel:\n  channels: [4, 8]\n")
    cfg = load_config(path)
    assert cfg.name == "quick"
    assert cfg.train.epochs == 3
    assert cfg.train.lr == load_config().train.lr  # untouched fields keep the default
    assert cfg.model.channels == (4, 8)
    assert str(cfg.output_dir()).endswith("runs/quick")


def test_dump_is_a_loadable_fixed_point(tmp_path):
    cfg = load_config({"train": {"epochs": 5}, "data": {"options": {"limit": 10}}})
    path = tmp_path / "again.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg
    assert yaml.safe_load(dump_config(cfg))["data"]["options"] == {"limit": 10}


@pytest.mark.parametrize(
    ("update", "path"),
    [
        ({"train": {"epohcs": 3}}, "train.epohcs"),
        ({"train": {"lr": -1.0}}, "train.lr"),
        ({"model": {"reset": "zero"}}, "model.reset"),
        ({"data": {"n_time_bins": 0}}, "data.n_time_bins"),
        ({"colour": "blue"}, "colour"),
        ({"steps": ["data", "simulate"]}, "steps"),
        ({"data": {"val_split": None}}, "train.monitor"),
    ],
)
def test_bad_fields_are_named_by_path(update, path):
    with pytest.raises(ConfigError) as info:
        load_config(update)
    assert f"  {path}:" in str(info.value)


def test_unreadable_and_non_mapping_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")

"""The configuration of ``neuro run``: YAML validated by pydantic, errors naming the field path.

Every section refuses unknown keys. :func:`load_config` reads a YAML file (or a mapping) on top
of the built-in default, so a config file only needs the fields it changes.

Example:
    >>> cfg = load_config({"train": {"epochs": 2}, "data": {"n_time_bins": 8}})
    >>> cfg.train.epochs, cfg.data.dataset, cfg.model.channels
    (2, 'n-digits', (12, 32))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neuro.core.errors import NeuroError
from neuro.models.conv_snn import ConvSNNConfig
from neuro.train.config import TrainConfig


class ConfigError(NeuroError, ValueError):
    """A run configuration is invalid; the message names each offending field path."""


class DataConfig(BaseModel):
    """Which dataset, and how events become frames.

    Attributes:
        dataset: a generated dataset (``neuro data list``).
        options: generation options of that dataset (part of its cache key).
        n_time_bins: frames per sample (equal time bins over each sample's duration).
        train_split, val_split, test_split: split names; ``val_split`` None disables validation.
        workers: processes used if the dataset must be generated.
        cache: cache folder (default: ``$NEURO_CACHE`` or ``~/.cache/neuro``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "n-digits"
    options: dict[str, Any] = Field(default_factory=dict)
    n_time_bins: int = Field(16, ge=1)
    train_split: str = "train"
    val_split: str | None = "val"
    test_split: str = "test"
    workers: int = Field(2, ge=1)
    cache: str | None = None


class ExportConfig(BaseModel):
    """What the export step writes into the run folder.

    Attributes:
        nir: write ``model.nir`` (NIR HDF5).
        ir_json: write ``model.ir.json`` (the project's IR).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    nir: bool = True
    ir_json: bool = True


class ReportConfig(BaseModel):
    """Report options.

    Attributes:
        raster_sample: index in the test split of the sample whose spikes are drawn.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    raster_sample: int = Field(0, ge=0)


class EngineConfig(BaseModel):
    """The ``engine`` step: the trained network on the event-driven engine, compared with torch.

    Attributes:
        samples: test samples simulated (the first ones of the test split; fewer if it is smaller).
        backend: engine backend (``numba``, the ``numpy`` reference, or ``cuda``); one that
            cannot run on this machine is refused when the config is loaded.
        dtype: ``float32`` or ``float64`` (torch runs in the same dtype for the comparison).
        batch: samples per engine call.
        float64_samples: samples re-run in float64 to check the spikes equal torch's (0: skip).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(64, ge=1)
    backend: Literal["numba", "numpy", "cuda"] = "numba"
    dtype: Literal["float32", "float64"] = "float32"
    batch: int = Field(64, ge=1)
    float64_samples: int = Field(4, ge=0)

    @field_validator("backend")
    @classmethod
    def _usable(cls, backend: str) -> str:
        from neuro.engine.backends import BACKENDS

        ok, detail = BACKENDS[backend].probe()
        if not ok:
            raise ValueError(f"the {backend!r} engine backend cannot run here: {detail}")
        return backend


class HardwareConfig(BaseModel):
    """The ``hardware`` step: the engine's counts priced on chips, and the mapping of the graph.

    Attributes:
        chips: preset names (``neuro hw list``); the dense-ANN baseline is always added.
        weight_bits: precision the mapping checks the weights at (None: the fewest bits that
            keep every weight within 1 % of the largest).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    chips: tuple[str, ...] = ("digital45_snn", "loihi", "loihi_sanafe", "spinnaker2")
    weight_bits: int | None = Field(None, ge=1, le=32)

    @field_validator("chips")
    @classmethod
    def _known(cls, chips: tuple[str, ...]) -> tuple[str, ...]:
        from neuro.hardware import PRESETS

        unknown = [c for c in chips if c not in PRESETS]
        if unknown:
            raise ValueError(f"unknown chip(s) {unknown}; presets: {sorted(PRESETS)}")
        return chips


STEP_NAMES = ("data", "train", "evaluate", "export", "engine", "hardware", "report")
"""The pipeline's steps, in order."""


class RunConfig(BaseModel):
    """Everything ``neuro run`` does.

    Attributes:
        name: run name (the default output folder is ``runs/<name>``).
        out_dir: output folder (default ``runs/<name>``).
        steps: the steps to run, in pipeline order.
        data, model, train, export, engine, report: the sections.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    out_dir: str | None = None
    steps: tuple[str, ...] = STEP_NAMES
    data: DataConfig = Field(default_factory=DataConfig)
    model: ConvSNNConfig = Field(default_factory=ConvSNNConfig)
    train: TrainConfig = Field(
        default_factory=lambda: TrainConfig(
            epochs=8, batch_size=32, lr=2e-3, loss="membrane_ce", decode="max_membrane", schedule="cosine"
        )
    )
    export: ExportConfig = Field(default_factory=ExportConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)

    def output_dir(self) -> Path:
        """The run folder."""
        return Path(self.out_dir) if self.out_dir else Path("runs") / self.name


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(
            f"  {path}: {err['msg']}" + (f" (got {err['input']!r})" if "input" in err and err["type"] != "missing" else "")
        )
    return "invalid run config:\n" + "\n".join(lines)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "options":
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> RunConfig:
    """The default config updated by ``source`` (a YAML file path or a mapping).

    Raises:
        ConfigError: unreadable YAML, a non-mapping document, an unknown key or a bad value
            (each offending field path is named), or an unknown step.
    """
    update: Any = {}
    if isinstance(source, Mapping):
        update = source
    elif source is not None:
        path = Path(source)
        try:
            update = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(update, Mapping):
            raise ConfigError(f"{path} must hold a mapping of sections, got {type(update).__name__}")
    base = RunConfig().model_dump(mode="json")
    try:
        cfg = RunConfig.model_validate(_merge(base, update))
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from None
    unknown = [s for s in cfg.steps if s not in STEP_NAMES]
    if unknown:
        raise ConfigError(f"invalid run config:\n  steps: unknown step(s) {unknown}; available: {list(STEP_NAMES)}")
    if cfg.data.val_split is None and cfg.train.monitor.startswith("val"):
        raise ConfigError(
            f"invalid run config:\n  train.monitor: {cfg.train.monitor!r} needs a validation split "
            "(data.val_split is null); use train_accuracy or train_loss"
        )
    return cfg


def dump_config(cfg: RunConfig) -> str:
    """The effective config as YAML (what ``neuro run --print-config`` prints)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)

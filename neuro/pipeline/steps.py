"""The steps of ``neuro run``: data, train, evaluate, export, engine, report.

Each step is a function ``step(ctx) -> None`` that reads what earlier steps put into the
:class:`RunContext` and adds its own results; :data:`STEPS` maps step names to functions in
pipeline order. The energy estimate joins as one more step when the hardware package lands;
nothing else changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuro.core.io import atomic_write_text
from neuro.pipeline.config import RunConfig

log = logging.getLogger(__name__)


class FrameDataset(torch.utils.data.Dataset):
    """Samples already converted to frames: ``(T, P, H, W)`` float32 tensors and labels."""

    def __init__(self, frames: torch.Tensor, labels: torch.Tensor) -> None:
        self.frames, self.labels = frames, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.frames[index], int(self.labels[index])


@dataclass
class RunContext:
    """What the steps share."""

    config: RunConfig
    out: Path
    splits: dict[str, FrameDataset] = field(default_factory=dict)
    input_shape: tuple[int, ...] = ()
    classes: tuple[str, ...] = ()
    model: torch.nn.Module | None = None
    graph: Any = None
    results: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def _frames(ds: Any, n_bins: int) -> FrameDataset:
    from neuro.core.events import to_frames

    frames = np.stack([to_frames(e, ds.sensor_size, n_time_bins=n_bins) for e, _ in ds]).astype(np.float32)
    return FrameDataset(torch.from_numpy(frames), torch.as_tensor(ds.labels, dtype=torch.int64))


def step_data(ctx: RunContext) -> None:
    """Load (generating on first use) the dataset splits and turn every sample into frames."""
    from neuro.datasets import load_splits

    cfg = ctx.config.data
    names = {"train": cfg.train_split, "test": cfg.test_split}
    if cfg.val_split:
        names["val"] = cfg.val_split
    loaded = load_splits(cfg.dataset, list(names.values()), root=cfg.cache, workers=cfg.workers, **cfg.options)
    for role, split in names.items():
        ds = loaded[split]
        ctx.splits[role] = _frames(ds, cfg.n_time_bins)
        ctx.classes = ds.classes
        ctx.input_shape = (ds.sensor_size[2], ds.sensor_size[1], ds.sensor_size[0])
    ctx.results["data"] = {role: len(d) for role, d in ctx.splits.items()}


def build_model(ctx: RunContext) -> torch.nn.Module:
    """The configured network for this dataset."""
    from neuro.models import build_conv_snn

    torch.manual_seed(ctx.config.train.seed)
    return build_conv_snn(ctx.config.model, ctx.input_shape, len(ctx.classes))


def step_train(ctx: RunContext, *, resume: bool = True) -> None:
    """Train with checkpoints in ``<run>/checkpoints``; resumes a killed run; keeps the best weights."""
    from neuro.ir import to_json
    from neuro.torch import to_ir
    from neuro.train import Trainer, load_checkpoint

    model = build_model(ctx)
    ir = json.loads(to_json(to_ir(model, ctx.input_shape)))  # JSON-safe form of graph.to_dict()
    trainer = Trainer(model, ctx.config.train, ctx.splits["train"], ctx.splits.get("val"), out_dir=ctx.out, ir=ir)
    result = trainer.fit(resume=resume)
    best = trainer.best_path if (trainer.best_path / "manifest.json").is_file() else trainer.last_path
    load_checkpoint(best, model)
    ctx.model, ctx.history = model.eval(), result.history
    ctx.results["train"] = {
        "epochs": result.epochs_completed,
        "best_metric": result.best_metric,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "weights": str(best),
    }


def _ensure_model(ctx: RunContext) -> torch.nn.Module:
    """The trained model: from the train step, or the run folder's best checkpoint."""
    if ctx.model is not None:
        return ctx.model
    from neuro.train import load_checkpoint

    model = build_model(ctx)
    for name in ("best", "last"):
        folder = ctx.out / "checkpoints" / name
        if (folder / "manifest.json").is_file():
            load_checkpoint(folder, model)
            ctx.model = model.eval()
            return ctx.model
    raise FileNotFoundError(f"no trained model: {ctx.out / 'checkpoints'} has no checkpoint (run the train step first)")


def step_evaluate(ctx: RunContext) -> None:
    """Test accuracy, spikes per sample and per-layer firing rates on the test split."""
    from neuro.torch import SpikeMonitor
    from neuro.train import decode

    model = _ensure_model(ctx)
    test = ctx.splits["test"]
    correct, spikes, total = 0, 0.0, len(test)
    predictions = []
    with torch.no_grad(), SpikeMonitor(model) as mon:
        for start in range(0, total, 128):
            x = test.frames[start : start + 128].transpose(0, 1)
            out = model(x)
            pred = decode(out, ctx.config.train.decode)
            predictions.append(pred)
            correct += int((pred == test.labels[start : start + 128]).sum())
        spikes = sum(mon.counts().values())
        rates = mon.rates()
    ctx.results["evaluate"] = {
        "test_accuracy": correct / total,
        "test_samples": total,
        "spikes_per_sample": spikes / total,
        "firing_rates": rates,
        "predictions": torch.cat(predictions).tolist(),
    }


def step_export(ctx: RunContext) -> None:
    """Write the trained network as NIR and IR JSON, and check the NIR file rebuilds to the
    same outputs on a test batch (float64)."""
    from neuro import ir
    from neuro.torch import build, to_ir

    model = _ensure_model(ctx)
    graph = to_ir(model, ctx.input_shape)
    ctx.graph = graph
    files = {}
    if ctx.config.export.ir_json:
        ir.write_json(graph, ctx.out / "model.ir.json")
        files["ir_json"] = str(ctx.out / "model.ir.json")
    check: dict[str, Any] = {}
    if ctx.config.export.nir:
        path = ctx.out / "model.nir"
        ir.write_nir(graph, path)
        files["nir"] = str(path)
        rebuilt = build(ir.read_nir(path), dtype=torch.float64).eval()
        x = ctx.splits["test"].frames[:16].transpose(0, 1).double()
        reference = build(graph, dtype=torch.float64).eval()
        with torch.no_grad():
            same = torch.equal(rebuilt(x), reference(x))
        check = {"nir_rebuild_identical": bool(same), "nodes": len(graph.nodes)}
        if not same:
            log.warning("the NIR file does not rebuild to the same outputs")
    from neuro.pipeline.deploy import deployment_report

    ctx.results["export"] = {**files, **check, "deployment": deployment_report(graph)}


def step_engine(ctx: RunContext) -> None:
    """Simulate test samples on the event-driven engine with the frames torch sees; record the
    engine-vs-torch agreement, the engine's accuracy and the counts per layer
    (:mod:`neuro.pipeline.simulate`)."""
    from neuro.pipeline.simulate import simulate_test_split
    from neuro.torch import to_ir

    graph = ctx.graph if ctx.graph is not None else to_ir(_ensure_model(ctx), ctx.input_shape)
    ctx.graph = graph
    ctx.results["engine"] = simulate_test_split(ctx, graph)


def step_hardware(ctx: RunContext) -> None:
    """Price the engine step's counts on the configured chips (with the dense-ANN baseline) and
    map the graph onto each chip (:mod:`neuro.pipeline.hardware`)."""
    from neuro.pipeline.hardware import price_and_map
    from neuro.torch import to_ir

    graph = ctx.graph if ctx.graph is not None else to_ir(_ensure_model(ctx), ctx.input_shape)
    ctx.graph = graph
    ctx.results["hardware"] = price_and_map(ctx, graph)


def step_report(ctx: RunContext) -> None:
    """Plots and an HTML page in ``<run>/report``."""
    from neuro.report.run import write_report

    model = _ensure_model(ctx)
    ctx.results["report"] = {"index": str(write_report(ctx, model))}


STEPS: dict[str, Callable[..., None]] = {
    "data": step_data,
    "train": step_train,
    "evaluate": step_evaluate,
    "export": step_export,
    "engine": step_engine,
    "hardware": step_hardware,
    "report": step_report,
}


def write_summary(ctx: RunContext) -> Path:
    """``<run>/summary.json`` with every step's results."""
    path = ctx.out / "summary.json"
    atomic_write_text(path, json.dumps(ctx.results, indent=1, default=str))
    return path

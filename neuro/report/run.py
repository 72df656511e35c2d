"""The report of a ``neuro run``: learning curves, a spike raster, firing rates, a confusion
matrix and an HTML page linking them, in ``<run>/report/``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuro.core.io import atomic_write_text
from neuro.report.events import _pyplot


def _history(ctx: Any) -> list[dict[str, Any]]:
    if ctx.history:
        return ctx.history
    path = ctx.out / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_learning_curves(history: list[dict[str, Any]], path: Path) -> Path | None:
    """Loss and accuracy per epoch (train and validation)."""
    if not history:
        return None
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        for split in ("train", "val"):
            values = [h.get(f"{split}_{key}") for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], marker="o", label=split)
        ax.set(xlabel="epoch", ylabel=key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_raster(spikes: dict[str, torch.Tensor], frames: torch.Tensor, dt: float, path: Path, title: str) -> Path:
    """Input events and the spikes of every layer for one sample, stacked over time."""
    plt = _pyplot()
    rows = len(spikes) + 1
    fig, axes = plt.subplots(rows, 1, figsize=(8, 1.6 * rows), sharex=True, squeeze=False)
    t_ms = np.arange(frames.shape[0]) * dt * 1e3
    counts = frames.reshape(frames.shape[0], -1).numpy()
    steps, cells = np.nonzero(counts)
    axes[0, 0].scatter(t_ms[steps], cells, s=0.5, c="k", linewidths=0)
    axes[0, 0].set_ylabel("input\npixel")
    for ax, (name, z) in zip(axes[1:, 0], spikes.items(), strict=True):
        flat = z[:, 0].reshape(z.shape[0], -1).numpy()
        steps, cells = np.nonzero(flat)
        ax.scatter(t_ms[steps], cells, s=1.0, c="tab:red", linewidths=0)
        ax.set_ylabel(f"{name}\nneuron", fontsize=7)
    axes[-1, 0].set_xlabel("time step (ms at the model's dt)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_firing_rates(rates: dict[str, float], path: Path) -> Path | None:
    """Spikes per neuron per time step of each spiking layer."""
    if not rates:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.bar(list(rates), list(rates.values()), color="tab:red")
    ax.set(ylabel="spikes / neuron / step", title="firing rates on the test split")
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_confusion(labels: np.ndarray, predictions: np.ndarray, classes: tuple[str, ...], path: Path) -> Path:
    """Confusion matrix (rows: true class, columns: predicted)."""
    plt = _pyplot()
    n = len(classes)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=6)
    ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes, xlabel="predicted", ylabel="true")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(ctx: Any, model: torch.nn.Module) -> Path:
    """Write the plots and ``index.html``; returns the page's path."""
    from neuro.pipeline.config import dump_config
    from neuro.torch.monitor import SpikeRecorder

    folder = ctx.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, Path | None]] = [
        ("Learning curves", plot_learning_curves(_history(ctx), folder / "learning_curves.png"))
    ]
    test = ctx.splits["test"]
    index = min(ctx.config.report.raster_sample, len(test) - 1)
    x = test.frames[index : index + 1].transpose(0, 1)
    with torch.no_grad(), SpikeRecorder(model) as recorder:
        model(x)
    label = ctx.classes[int(test.labels[index])]
    title = f"test sample {index} (label {label})"
    images.append(("Spike raster", plot_raster(recorder.spikes(), x[:, 0], ctx.config.model.dt, folder / "raster.png", title)))
    evaluation = ctx.results.get("evaluate", {})
    images.append(("Firing rates", plot_firing_rates(evaluation.get("firing_rates", {}), folder / "firing_rates.png")))
    if "predictions" in evaluation:
        labels = test.labels.numpy()
        preds = np.asarray(evaluation["predictions"])
        images.append(("Confusion matrix", plot_confusion(labels, preds, ctx.classes, folder / "confusion.png")))
    summary = {k: v for k, v in ctx.results.items() if k != "report"}
    for step in ("evaluate", "engine"):
        if step in summary:
            summary[step] = {k: v for k, v in summary[step].items() if k != "predictions"}
    parts = [
        "<!doctype html><meta charset='utf-8'><title>neuro run: " + html.escape(ctx.config.name) + "</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}pre{background:#f4f4f4;padding:1em}</style>",
        f"<h1>neuro run: {html.escape(ctx.config.name)}</h1>",
    ]
    if "test_accuracy" in evaluation:
        accuracy = 100 * evaluation["test_accuracy"]
        parts.append(
            f"<p><b>Test accuracy: {accuracy:.2f} %</b> on {evaluation['test_samples']} samples; "
            f"{evaluation['spikes_per_sample']:.0f} spikes per sample.</p>"
        )
    for caption, image in images:
        if image is not None:
            parts.append(f"<h2>{caption}</h2><img src='{image.name}' style='max-width:100%'>")
    if "engine" in ctx.results:
        from neuro.report.engine import engine_section

        parts.extend(engine_section(ctx.results["engine"], folder))
    if "export" in ctx.results:
        from neuro.report.export import export_section

        parts.extend(export_section(ctx.results["export"]))
    if "hardware" in ctx.results:
        from neuro.report.hardware import hardware_section

        parts.extend(hardware_section(ctx.results["hardware"], folder))
    parts.append("<h2>Results</h2><pre>" + html.escape(json.dumps(summary, indent=1, default=str)) + "</pre>")
    parts.append("<h2>Configuration</h2><pre>" + html.escape(dump_config(ctx.config)) + "</pre>")
    page = folder / "index.html"
    atomic_write_text(page, "\n".join(parts))
    return page

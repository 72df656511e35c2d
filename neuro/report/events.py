"""Pictures of event data: an event grid (2-D sensors), a raster (1-D sensors), an animation.

Everything renders off-screen with matplotlib's Agg backend and writes a file; nothing opens a
window. ON events are drawn red and OFF events blue.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.events import check_sensor_size, is_audio, to_frames


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _rgb(frame: np.ndarray) -> np.ndarray:
    """``(P, H, W)`` counts → ``(H, W, 3)`` image: ON red, OFF blue, scaled to the maximum."""
    on = frame[1] if frame.shape[0] > 1 else frame[0]
    off = frame[0] if frame.shape[0] > 1 else np.zeros_like(on)
    peak = max(float(frame.max()), 1.0)
    return np.stack([on / peak, np.zeros_like(on, dtype=float), off / peak], axis=-1)


def plot_event_grid(
    events: np.ndarray,
    sensor_size: Sequence[int],
    path: str | os.PathLike[str],
    *,
    n_bins: int = 8,
    title: str = "",
) -> Path:
    """Write a row of ``n_bins`` event-count frames (2-D sensors) or a raster (1-D sensors).

    Args:
        events: an event array.
        sensor_size: ``(W, H, P)``.
        path: output image file (the suffix picks the format: ``.png``, ``.svg``, ``.pdf``).
        n_bins: number of equal time bins (2-D sensors).
        title: figure title.

    Returns:
        ``path`` as a Path.
    """
    size = check_sensor_size(sensor_size)
    if n_bins < 1:
        raise ParameterError(f"n_bins must be positive, got {n_bins}", "n_bins")
    plt = _pyplot()
    path = Path(path)
    if is_audio(events) or size[1] == 1:
        fig, ax = plt.subplots(figsize=(8, 4))
        colour = np.where(events["p"] > 0, "tab:red", "tab:blue")
        ax.scatter(events["t"] * 1e-3, events["x"], s=1.5, c=colour, linewidths=0)
        ax.set(xlabel="time (ms)", ylabel="channel", ylim=(-0.5, size[0] - 0.5))
    else:
        frames = to_frames(events, size, n_time_bins=n_bins) if len(events) else np.zeros((n_bins, size[2], size[1], size[0]))
        fig, axes = plt.subplots(1, n_bins, figsize=(1.6 * n_bins, 2.0), squeeze=False)
        t0, t1 = (int(events["t"][0]), int(events["t"][-1])) if len(events) else (0, 0)
        edges = np.linspace(t0, t1, n_bins + 1) * 1e-3
        for k, ax in enumerate(axes[0]):
            ax.imshow(_rgb(frames[k]), interpolation="nearest")
            ax.set_title(f"{edges[k]:.0f}-{edges[k + 1]:.0f} ms", fontsize=7)
            ax.set_axis_off()
    fig.suptitle(title or f"{len(events)} events", fontsize=9)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def animate_events(
    events: np.ndarray,
    sensor_size: Sequence[int],
    path: str | os.PathLike[str],
    *,
    frame_us: int = 10_000,
    fps: int = 20,
) -> Path:
    """Write a GIF of event-count frames of ``frame_us`` each (2-D sensors)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    size = check_sensor_size(sensor_size)
    if is_audio(events) or size[1] == 1:
        raise ParameterError("animations need a 2-D sensor; use plot_event_grid for 1-D sensors", "sensor_size")
    if len(events) == 0:
        raise ParameterError("cannot animate an empty event array", "events")
    plt = _pyplot()
    frames = to_frames(events, size, time_window=int(frame_us))
    if len(frames) == 0:
        frames = to_frames(events, size, n_time_bins=1)
    fig, ax = plt.subplots(figsize=(3, 3))
    image = ax.imshow(_rgb(frames[0]), interpolation="nearest")
    ax.set_axis_off()

    def update(k: int) -> list[Any]:
        image.set_data(_rgb(frames[k]))
        ax.set_title(f"{k * frame_us * 1e-3:.0f} ms", fontsize=8)
        return [image]

    animation = FuncAnimation(fig, update, frames=len(frames), blit=False)
    path = Path(path)
    animation.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path


def plot_images(images: np.ndarray, labels: Sequence[Any], path: str | os.PathLike[str], *, title: str = "") -> Path:
    """Write a row of grey images with their labels (image datasets such as ``vpr-traverse``)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(1.6 * len(images), 2.0), squeeze=False)
    for ax, image, label in zip(axes[0], images, labels, strict=True):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(str(label), fontsize=7)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

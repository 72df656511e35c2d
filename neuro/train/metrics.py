"""Metrics over time-first outputs ``(T, B, C)``: accuracy, output spikes, per-layer firing rates.

Decoding turns an output sequence into one score per class:

* ``"rate"``: spike count (sum over time) of each output neuron;
* ``"max_membrane"``: peak over time of a membrane readout;
* ``"mean_membrane"``: mean over time of a membrane readout.

Ties are broken towards the lowest class index (``argmax``), so a silent network scores as if
it always answered class 0.

Per-layer firing rates come from ``neuro.torch.monitor.SpikeMonitor`` (forward hooks on the
spiking layers); :func:`firing_rates` raises :class:`~neuro.core.errors.MissingToolError` when
that module is not available.

Example:
    >>> import torch
    >>> out_seq = torch.zeros(3, 2, 4)
    >>> out_seq[:, 0, 2] = 1.0
    >>> out_seq[0, 1, 3] = 1.0
    >>> decode(out_seq, "rate").tolist(), accuracy(out_seq, torch.tensor([2, 0])), spikes_per_sample(out_seq)
    ([2, 3], 0.5, 2.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch

from neuro.core.errors import MissingToolError, ParameterError

Decoding = Literal["rate", "max_membrane", "mean_membrane"]

__all__ = ["DECODINGS", "Decoding", "LayerActivity", "accuracy", "correct", "decode", "firing_rates", "spikes_per_sample"]

DECODINGS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "rate": lambda out_seq: out_seq.sum(dim=0),
    "max_membrane": lambda out_seq: out_seq.max(dim=0).values,
    "mean_membrane": lambda out_seq: out_seq.mean(dim=0),
}
"""Per-class scores ``(B, C)`` from an output sequence ``(T, B, C)``, by decoding name."""


def _check_seq(out_seq: torch.Tensor) -> None:
    if out_seq.ndim != 3:
        raise ParameterError(f"out_seq must be time-first (T, B, C), got shape {tuple(out_seq.shape)}", field="out_seq")


def decode(out_seq: torch.Tensor, how: Decoding = "rate") -> torch.Tensor:
    """Predicted class per sample.

    Args:
        out_seq: output spikes or membrane ``(T, B, C)``.
        how: a key of :data:`DECODINGS`.

    Shape:
        ``(T, B, C)`` -> ``(B,)``.

    Returns:
        int64 class indices ``(B,)``.

    Raises:
        ParameterError: ``out_seq`` is not 3-D (field ``out_seq``) or ``how`` is unknown (field ``decode``).
    """
    _check_seq(out_seq)
    if how not in DECODINGS:
        raise ParameterError(f"unknown decoding {how!r}; choose one of {sorted(DECODINGS)}", field="decode")
    return DECODINGS[how](out_seq.detach()).argmax(dim=1)


def correct(out_seq: torch.Tensor, target: torch.Tensor, how: Decoding = "rate") -> int:
    """Number of samples whose decoded class equals ``target``.

    Args:
        out_seq: output ``(T, B, C)``.
        target: class indices ``(B,)``.
        how: decoding name.

    Returns:
        The count of correct predictions.

    Raises:
        ParameterError: bad shapes or decoding.
    """
    pred = decode(out_seq, how)
    if target.shape != pred.shape:
        raise ParameterError(f"target must have shape {tuple(pred.shape)}, got {tuple(target.shape)}", field="target")
    return int((pred == target.to(pred.device)).sum())


def accuracy(out_seq: torch.Tensor, target: torch.Tensor, how: Decoding = "rate") -> float:
    """Fraction of samples classified correctly (0.0 for an empty batch).

    Args:
        out_seq: output ``(T, B, C)``.
        target: class indices ``(B,)``.
        how: decoding name.

    Returns:
        Accuracy in ``[0, 1]``.

    Raises:
        ParameterError: bad shapes or decoding.
    """
    n = out_seq.shape[1] if out_seq.ndim == 3 else 0
    return correct(out_seq, target, how) / n if n else 0.0


def spikes_per_sample(out_seq: torch.Tensor) -> float:
    """Mean number of output spikes per sample (all output neurons, all steps).

    Args:
        out_seq: output spikes ``(T, B, C)``.

    Returns:
        ``out_seq.sum() / B`` (0.0 for an empty batch).

    Raises:
        ParameterError: ``out_seq`` is not 3-D.
    """
    _check_seq(out_seq)
    n = out_seq.shape[1]
    return float(out_seq.detach().float().sum()) / n if n else 0.0


@dataclass
class LayerActivity:
    """Spike totals per layer accumulated over batches.

    Attributes:
        spikes: total spikes per layer name.
        neuron_steps: neurons x samples x time steps seen per layer name.
    """

    spikes: dict[str, float] = field(default_factory=dict)
    neuron_steps: dict[str, float] = field(default_factory=dict)

    def add(self, counts: Mapping[str, float], neurons: Mapping[str, int], sample_steps: Mapping[str, int] | int) -> None:
        """Accumulate one batch.

        Args:
            counts: total spikes per layer in the batch.
            neurons: neurons per sample per layer.
            sample_steps: time steps x batch size seen per layer, or one number for all layers.
        """
        for name, count in counts.items():
            steps = sample_steps if isinstance(sample_steps, int) else sample_steps.get(name, 0)
            self.spikes[name] = self.spikes.get(name, 0.0) + float(count)
            self.neuron_steps[name] = self.neuron_steps.get(name, 0.0) + float(neurons.get(name, 0)) * steps

    def rates(self) -> dict[str, float]:
        """Spikes per neuron per time step, by layer (0.0 for a layer with no neurons).

        Returns:
            Firing rate per layer name, sorted by name.
        """
        return {
            name: (self.spikes[name] / self.neuron_steps[name] if self.neuron_steps.get(name) else 0.0)
            for name in sorted(self.spikes)
        }


def _spike_monitor() -> type:
    try:
        from neuro.torch.monitor import SpikeMonitor  # optional: written in parallel
    except ImportError as exc:
        raise MissingToolError(
            f"per-layer firing rates need neuro.torch.monitor.SpikeMonitor, which is not importable ({exc})"
        ) from exc
    return SpikeMonitor


def firing_rates(
    model: torch.nn.Module, x: torch.Tensor, forward: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> tuple[torch.Tensor, dict[str, float], dict[str, int], dict[str, int]]:
    """Run ``model`` on ``x`` under a ``SpikeMonitor``.

    Args:
        model: maps ``(T, B, ...)`` to ``(T, B, C)``; the monitor watches its layers.
        x: time-first input batch.
        forward: what to call instead of ``model`` (for example its DistributedDataParallel
            wrapper, so that layer names stay those of ``model``).

    Returns:
        ``(out_seq, counts, neurons, sample_steps)``: the output, then per layer the total spikes,
        the neurons per sample and the sample-steps seen (``T * B`` when the monitor has no
        ``steps()``); feed the last three to :meth:`LayerActivity.add`.

    Raises:
        MissingToolError: ``neuro.torch.monitor`` is not available.
    """
    monitor_cls = _spike_monitor()
    with monitor_cls(model) as mon:
        out_seq = (forward or model)(x)
        counts = {str(k): float(v) for k, v in mon.counts().items()}
        neurons = {str(k): int(v) for k, v in mon.neurons().items()}
        default = int(x.shape[0] * x.shape[1])
        steps_fn = getattr(mon, "steps", None)
        steps = {str(k): int(v) for k, v in steps_fn().items()} if steps_fn else dict.fromkeys(counts, default)
    return out_seq, counts, neurons, steps

"""Training configuration, optimiser and schedule builders, early stopping.

:class:`TrainConfig` is a pydantic model (extra fields are refused and a bad field is named in
the error), so a YAML file validates straight into it. Schedules step once per epoch.

Mixed precision (``precision``): ``"auto"`` autocasts the forward pass to bfloat16 on CUDA
devices that support it and stays in float32 on the CPU; ``"bf16"`` forces bf16 autocast (also
on the CPU), ``"fp32"`` turns it off. bf16 is off by default on the CPU because its 8
significant bits change which neurons cross threshold (the network then no longer matches the
float32 engine spike for spike) and its speed depends on the processor's bf16 support (see
docs/training.md for a measurement). bf16 has float32's exponent range, so no gradient scaler
is needed; float16 is not offered.

Example:
    >>> import torch
    >>> cfg = TrainConfig(epochs=4, optimizer="sgd", lr=0.1, schedule="cosine")
    >>> opt = build_optimizer(cfg, torch.nn.Linear(2, 2).parameters())
    >>> sched = build_scheduler(cfg, opt)
    >>> type(opt).__name__, type(sched).__name__
    ('SGD', 'CosineAnnealingLR')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from neuro.core.errors import ParameterError

__all__ = ["EarlyStopping", "TrainConfig", "build_optimizer", "build_scheduler", "metric_mode"]


class TrainConfig(BaseModel):
    """Everything that decides the trained weights (plus a few display options).

    Attributes:
        epochs: epochs to train.
        batch_size: samples per *global* batch (split over data-parallel ranks).
        loss: a name in :data:`neuro.train.losses.LOSSES`.
        loss_options: keyword options of that loss.
        decode: how accuracy decodes the output (:data:`neuro.train.metrics.DECODINGS`).
        optimizer: ``adam``, ``adamw`` or ``sgd`` (with ``momentum``, optionally Nesterov).
        lr: learning rate.
        weight_decay: L2 (adam, sgd) or decoupled (adamw) weight decay.
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        betas: Adam/AdamW betas.
        schedule: ``none``, ``cosine`` (to ``min_lr`` at the last epoch) or ``step``.
        step_size: epochs between decays of the ``step`` schedule.
        gamma: decay factor of the ``step`` schedule.
        min_lr: final learning rate of the ``cosine`` schedule.
        grad_clip: clip the global gradient L2 norm to this value; None disables.
        precision: ``auto``, ``fp32`` or ``bf16`` (see the module docstring).
        monitor: the metric for early stopping and ``best``: ``val_accuracy``, ``val_loss``,
            ``train_accuracy`` or ``train_loss``.
        patience: epochs without improvement before stopping; None disables early stopping.
        min_delta: smallest change that counts as an improvement.
        seed: seeds the initial RNG state and every epoch's data order.
        shuffle: shuffle the training data each epoch.
        drop_last: drop a final incomplete training batch.
        num_workers: DataLoader worker processes.
        firing_rates: log per-layer firing rates (needs ``neuro.torch.monitor``).
        progress: show rich progress bars on rank 0.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    loss: str = "rate_ce"
    loss_options: dict[str, Any] = Field(default_factory=dict)
    decode: Literal["rate", "max_membrane", "mean_membrane"] = "rate"
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["none", "cosine", "step"] = "none"
    step_size: int = Field(10, ge=1)
    gamma: float = Field(0.1, gt=0)
    min_lr: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    monitor: Literal["val_accuracy", "val_loss", "train_accuracy", "train_loss"] = "val_accuracy"
    patience: int | None = Field(None, ge=1)
    min_delta: float = Field(0.0, ge=0)
    seed: int = Field(0, ge=0)
    shuffle: bool = True
    drop_last: bool = False
    num_workers: int = Field(0, ge=0)
    firing_rates: bool = True
    progress: bool = True


RESUMABLE_CHANGES = frozenset({"epochs", "patience", "num_workers", "firing_rates", "progress"})
"""Config fields that may differ between a checkpoint and the run resuming from it."""


def build_optimizer(config: TrainConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimiser named by ``config.optimizer``.

    Args:
        config: the training config.
        params: parameters to optimise.

    Returns:
        A torch optimiser.
    """
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay
    )


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-epoch learning-rate schedule named by ``config.schedule``.

    Args:
        config: the training config.
        optimizer: the optimiser to schedule.

    Returns:
        A scheduler; ``none`` is a constant ``LambdaLR`` so every run has one (its state is
        saved like the others).
    """
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.min_lr)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def metric_mode(name: str) -> Literal["min", "max"]:
    """``min`` for losses, ``max`` for accuracies.

    Args:
        name: a metric name.

    Returns:
        The direction of improvement.
    """
    return "min" if name.endswith("loss") else "max"


@dataclass
class EarlyStopping:
    """Stop when a metric has not improved by ``min_delta`` for ``patience`` epochs.

    Attributes:
        mode: ``min`` or ``max``.
        patience: epochs without improvement allowed; None never stops.
        min_delta: smallest improvement that counts.
        best: best value seen, or None.
        best_epoch: epoch (1-based count) of the best value, or None.
        bad_epochs: epochs since the last improvement.
    """

    mode: Literal["min", "max"] = "max"
    patience: int | None = None
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record one epoch's value.

        Args:
            value: the monitored metric (NaN never improves).
            epoch: the number of completed epochs.

        Returns:
            True when the value is a new best.
        """
        better = not math.isnan(value) and (
            self.best is None
            or (value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta)
        )
        if better:
            self.best, self.best_epoch, self.bad_epochs = float(value), epoch, 0
        else:
            self.bad_epochs += 1
        return better

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs have passed without improvement."""
        return self.patience is not None and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state.

        Returns:
            The fields as a dict.
        """
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (``patience`` keeps its current value).

        Args:
            state: a dict from :meth:`state_dict`.

        Raises:
            ParameterError: a field is missing (field ``early_stopping``).
        """
        try:
            self.mode = state["mode"]
            self.min_delta = float(state["min_delta"])
            self.best = None if state["best"] is None else float(state["best"])
            self.best_epoch = state["best_epoch"]
            self.bad_epochs = int(state["bad_epochs"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"malformed early-stopping state: {exc!r}", field="early_stopping") from exc

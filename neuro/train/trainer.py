"""The training loop: deterministic, resumable, data-parallel.

:class:`Trainer` trains any ``torch.nn.Module`` that maps a time-first batch ``(T, B, ...)`` to
a time-first output ``(T, B, C)`` (output spikes, or the membrane of a readout). Every epoch it
writes ``<out_dir>/checkpoints/last`` (and ``best`` when the monitored metric improves) and
rewrites ``<out_dir>/metrics.jsonl``, one JSON line per completed epoch.

Determinism: the batches of epoch ``e`` come from ``(seed, e)`` alone
(:func:`neuro.train.data.global_batches`); a fresh run seeds torch, numpy and ``random`` from
``(seed, rank)``; each checkpoint stores every rank's generator states, which ``resume=True``
restores. A run stopped after epoch ``k`` and resumed therefore ends with exactly the weights
of an uninterrupted run (on the same hardware, threads and library versions).

Data parallelism: launch the same script with ``torchrun --nproc_per_node N``; the trainer
joins the process group (gloo on CPU, NCCL on GPU), wraps the model in
``DistributedDataParallel``, gives each rank a strided shard of every global batch and lets
rank 0 alone write files. All ranks must see the same ``out_dir`` to resume.

Example:
    >>> import tempfile, torch
    >>> from torch.utils.data import TensorDataset
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> x, y = torch.rand(8, 5, 4), torch.randint(0, 3, (8,))  # (N, T, features)
    >>> class PerStep(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = torch.nn.Linear(4, 3)
    ...     def forward(self, x):  # (T, B, 4) -> (T, B, 3)
    ...         return self.fc(x)
    >>> collate = lambda items: (torch.stack([a for a, _ in items], 1), torch.stack([b for _, b in items]))
    >>> cfg = TrainConfig(epochs=2, batch_size=4, loss="membrane_ce", decode="max_membrane",
    ...                   monitor="train_loss", progress=False, firing_rates=False)
    >>> result = Trainer(PerStep(), cfg, TensorDataset(x, y), out_dir=tempfile.mkdtemp(), collate_fn=collate).fit()
    >>> result.epochs_completed, len(result.history)
    (2, 2)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch.utils.data import DataLoader, Dataset

from neuro.core.errors import MissingToolError, ParameterError
from neuro.core.io import atomic_write_text
from neuro.train.checkpoint import MANIFEST, CheckpointError, load_checkpoint, save_checkpoint
from neuro.train.config import (
    RESUMABLE_CHANGES,
    EarlyStopping,
    TrainConfig,
    build_optimizer,
    build_scheduler,
    metric_mode,
)
from neuro.train.data import (
    DistInfo,
    all_gather_objects,
    epoch_seed,
    global_batches,
    init_distributed,
    loss_scale,
    reduce_sum,
    seed_worker,
    shard,
)
from neuro.train.losses import get_loss
from neuro.train.metrics import LayerActivity, correct, firing_rates
from neuro.train.rng import RngState, capture_rng_state, restore_rng_state, seed_everything

__all__ = ["FitResult", "Trainer", "fit"]

log = logging.getLogger("neuro.train")
BatchHook = Callable[[int, int, float], None]
"""``hook(epoch, batch, loss)`` after every optimiser step (0-based epoch and batch)."""


@dataclass
class FitResult:
    """What a :meth:`Trainer.fit` call ended with.

    Attributes:
        epochs_completed: epochs completed in total (including resumed ones).
        best_metric: best value of the monitored metric, or None.
        best_epoch: the epoch count at which it was reached, or None.
        stopped_early: True when early stopping ended the run.
        history: one dict per completed epoch, as in ``metrics.jsonl``.
    """

    epochs_completed: int
    best_metric: float | None
    best_epoch: int | None
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Train a time-first model with checkpoints, metrics, early stopping and DDP.

    Args:
        model: maps ``(T, B, ...)`` to ``(T, B, C)``.
        config: the training config.
        train_data: a map-style dataset of ``(x, label)`` pairs.
        val_data: optional validation dataset.
        out_dir: folder for ``checkpoints/`` and ``metrics.jsonl``.
        collate_fn: turns a list of pairs into ``(x (T, B, ...), labels (B,))``; default
            :func:`~neuro.datasets.torch_data.pad_time_collate` (imported only then: importing
            ``neuro.datasets`` costs over a second).
        device: training device; default ``cuda:LOCAL_RANK`` when available, else CPU.
        ir: ``graph.to_dict()`` of the network, stored in every checkpoint.
        on_batch_end: optional :data:`BatchHook`.
        find_unused_parameters: passed to ``DistributedDataParallel``.

    Raises:
        ParameterError: unknown loss or options; a ``val_*`` monitor without validation data.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        train_data: Dataset[Any],
        val_data: Dataset[Any] | None = None,
        *,
        out_dir: str | Path,
        collate_fn: Callable[[list[Any]], tuple[torch.Tensor, torch.Tensor]] | None = None,
        device: torch.device | str | None = None,
        ir: Mapping[str, Any] | None = None,
        on_batch_end: BatchHook | None = None,
        find_unused_parameters: bool = False,
    ) -> None:
        if config.monitor.startswith("val") and val_data is None:
            raise ParameterError(f"monitor {config.monitor!r} needs val_data", field="monitor")
        self.config = config
        self.loss_fn = get_loss(config.loss, **config.loss_options)
        self.dist: DistInfo = init_distributed(device=device)
        self.model = model.to(self.dist.device)
        self.train_data, self.val_data = train_data, val_data
        self.out_dir = Path(out_dir)
        if collate_fn is None:
            from neuro.datasets.torch_data import pad_time_collate

            collate_fn = pad_time_collate
        self.collate_fn, self.ir, self.on_batch_end = collate_fn, ir, on_batch_end
        self.find_unused_parameters = find_unused_parameters
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.scheduler = build_scheduler(config, self.optimizer)
        self.early = EarlyStopping(metric_mode(config.monitor), config.patience, config.min_delta)
        self.history: list[dict[str, Any]] = []
        self._rates_on = config.firing_rates
        dev = self.dist.device
        bf16 = config.precision == "bf16" or (
            config.precision == "auto" and dev.type == "cuda" and torch.cuda.is_bf16_supported()
        )
        self._bf16 = bf16

    @property
    def last_path(self) -> Path:
        """The ``last`` checkpoint folder."""
        return self.out_dir / "checkpoints" / "last"

    @property
    def best_path(self) -> Path:
        """The ``best`` checkpoint folder."""
        return self.out_dir / "checkpoints" / "best"

    @property
    def log_path(self) -> Path:
        """The metrics log, one JSON line per completed epoch."""
        return self.out_dir / "metrics.jsonl"

    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> FitResult:
        """Train until ``config.epochs`` (or early stopping, or ``stop_after``).

        Args:
            resume: continue from ``checkpoints/last`` when it exists (a fresh start otherwise).
            stop_after: return once this many epochs are complete in total (the schedule still
                follows ``config.epochs``), for time-boxed jobs.

        Returns:
            The :class:`FitResult`.

        Raises:
            CheckpointError: the ``last`` checkpoint is corrupt or its config differs from this
                one in a field outside ``RESUMABLE_CHANGES``.
        """
        if resume and not (self.last_path / MANIFEST).is_file():
            log.info("no checkpoint at %s: starting from epoch 0", self.last_path)
        start = self._resume() if resume and (self.last_path / MANIFEST).is_file() else self._fresh()
        net = self._wrap()
        end = min(self.config.epochs, stop_after if stop_after is not None else self.config.epochs)
        stopped = self.early.should_stop
        show = self.config.progress and self.dist.is_main
        with _progress(show) as bars:
            epochs_bar = bars.add_task("epochs", total=self.config.epochs, completed=start) if bars else None
            for epoch in range(start, end):
                if stopped:
                    break
                row = self._epoch(net, epoch, bars)
                improved = self.early.update(row[self.config.monitor], epoch + 1)
                self.history.append(row)
                self._save(epoch + 1, improved)
                stopped = self.early.should_stop
                if bars and epochs_bar is not None:
                    bars.update(epochs_bar, advance=1, description=f"epoch {epoch + 1} loss {row['train_loss']:.4f}")
        if self.dist.world_size > 1:
            dist.barrier()
        return FitResult(len(self.history), self.early.best, self.early.best_epoch, stopped, list(self.history))

    def _fresh(self) -> int:
        seed_everything(epoch_seed(self.config.seed, 0, self.dist.rank, 1))
        return 0

    def _resume(self) -> int:
        ckpt = load_checkpoint(self.last_path, self.model, self.optimizer, self.scheduler)
        saved = dict(ckpt.config or {})
        current = self.config.model_dump(mode="json")
        changed = sorted(k for k in set(saved) | set(current) if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k))
        if changed:
            raise CheckpointError(f"config differs from the checkpoint's in {changed}; cannot resume", self.last_path)
        if self.dist.rank < len(ckpt.rng_states):
            restore_rng_state(ckpt.rng_states[self.dist.rank])
        else:
            log.warning("checkpoint has no RNG state for rank %d; reseeding (resume not bitwise exact)", self.dist.rank)
            seed_everything(epoch_seed(self.config.seed, ckpt.epoch, self.dist.rank, 1))
        if ckpt.early_stopping is not None:
            self.early.load_state_dict(ckpt.early_stopping)
        self.early.patience = self.config.patience
        self.history = [dict(r) for r in ckpt.extra.get("history", [])][: ckpt.epoch]
        if self.dist.is_main:
            self._write_log()
        log.info("resumed from %s after epoch %d", self.last_path, ckpt.epoch)
        return ckpt.epoch

    def _wrap(self) -> torch.nn.Module:
        if self.dist.world_size == 1:
            return self.model
        ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(
            self.model, device_ids=ids, find_unused_parameters=self.find_unused_parameters
        )

    def _loader(self, data: Dataset[Any], batches: list[list[int]], epoch: int, salt: int) -> DataLoader[Any]:
        gen = torch.Generator().manual_seed(epoch_seed(self.config.seed, epoch, self.dist.rank, salt))
        return DataLoader(
            data,
            batch_sampler=batches,
            collate_fn=self.collate_fn,
            num_workers=self.config.num_workers,
            worker_init_fn=seed_worker,
            generator=gen,
            pin_memory=self.dist.device.type == "cuda",
        )

    def _epoch(self, net: torch.nn.Module, epoch: int, bars: Any) -> dict[str, Any]:
        cfg, world, rank = self.config, self.dist.world_size, self.dist.rank
        began = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        n = len(self.train_data)  # type: ignore[arg-type]
        batches = [
            b
            for b in global_batches(n, cfg.batch_size, seed=cfg.seed, epoch=epoch, shuffle=cfg.shuffle, drop_last=cfg.drop_last)
            if len(b) >= world
        ]
        if not batches:
            raise ParameterError(f"no training batch: {n} samples, batch_size {cfg.batch_size}", field="batch_size")
        local = [shard(b, rank, world).tolist() for b in batches]
        activity = LayerActivity() if self.val_data is None else None
        net.train()
        total_loss = n_correct = n_seen = spikes = 0.0
        task = bars.add_task(f"epoch {epoch + 1}", total=len(local)) if bars else None
        for b, (x, y) in enumerate(self._loader(self.train_data, local, epoch, 0)):
            x, y = x.to(self.dist.device, non_blocking=True), y.to(self.dist.device, non_blocking=True)
            with torch.autocast(self.dist.device.type, dtype=torch.bfloat16, enabled=self._bf16):
                out = self._forward(net, x, activity)
            loss = self.loss_fn(out.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            (loss * loss_scale(len(y), len(batches[b]), world)).backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            value = float(loss.detach())
            total_loss += value * len(y)
            n_correct += correct(out, y, cfg.decode)
            n_seen += len(y)
            spikes += float(out.detach().float().sum())
            if bars and task is not None:
                bars.update(task, advance=1)
            if self.on_batch_end is not None:
                self.on_batch_end(epoch, b, value)
        if bars and task is not None:
            bars.remove_task(task)
        total_loss, n_correct, n_seen, spikes = reduce_sum([total_loss, n_correct, n_seen, spikes], self.dist)
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": total_loss / n_seen,
            "train_accuracy": n_correct / n_seen,
            "lr": lr,
            # output spikes per sample; a membrane readout has no spikes to count
            "spikes_per_sample": spikes / n_seen if cfg.decode == "rate" else None,
        }
        if self.val_data is not None:
            activity = LayerActivity()
            row.update(self._validate(epoch, activity))
        row["firing_rates"] = self._reduce_rates(activity)
        self.scheduler.step()
        row["seconds"] = time.perf_counter() - began
        return row

    def _forward(self, net: torch.nn.Module, x: torch.Tensor, activity: LayerActivity | None) -> torch.Tensor:
        if activity is not None and self._rates_on:
            try:
                out, counts, neurons, steps = firing_rates(self.model, x, forward=net)
            except MissingToolError as exc:
                log.warning("firing rates skipped: %s", exc)
                self._rates_on = False
                return net(x)
            activity.add(counts, neurons, steps)
            return out
        return net(x)

    @torch.no_grad()
    def _validate(self, epoch: int, activity: LayerActivity) -> dict[str, float]:
        cfg, world, rank = self.config, self.dist.world_size, self.dist.rank
        if self.val_data is None:
            return {}
        n = len(self.val_data)  # type: ignore[arg-type]
        local = [
            s.tolist()
            for b in global_batches(n, cfg.batch_size, seed=cfg.seed, epoch=epoch, shuffle=False)
            if len(s := shard(b, rank, world))
        ]
        self.model.eval()
        total_loss = n_correct = n_seen = 0.0
        for x, y in self._loader(self.val_data, local, epoch, 1):
            x, y = x.to(self.dist.device), y.to(self.dist.device)
            with torch.autocast(self.dist.device.type, dtype=torch.bfloat16, enabled=self._bf16):
                out = self._forward(self.model, x, activity)
            total_loss += float(self.loss_fn(out.float(), y)) * len(y)
            n_correct += correct(out, y, cfg.decode)
            n_seen += len(y)
        total_loss, n_correct, n_seen = reduce_sum([total_loss, n_correct, n_seen], self.dist)
        if not n_seen:
            return {"val_loss": math.nan, "val_accuracy": math.nan}
        return {"val_loss": total_loss / n_seen, "val_accuracy": n_correct / n_seen}

    def _reduce_rates(self, activity: LayerActivity | None) -> dict[str, float] | None:
        if activity is None or not self._rates_on:
            return None
        names = sorted(activity.spikes)
        if self.dist.world_size > 1:
            gathered = all_gather_objects(names, self.dist)
            names = sorted({str(k) for g in gathered for k in g})  # type: ignore[attr-defined]
        sums = reduce_sum(
            [activity.spikes.get(k, 0.0) for k in names] + [activity.neuron_steps.get(k, 0.0) for k in names], self.dist
        )
        return {k: (sums[i] / sums[len(names) + i] if sums[len(names) + i] else 0.0) for i, k in enumerate(names)}

    def _save(self, epochs_done: int, improved: bool) -> None:
        states: list[Any] = all_gather_objects(capture_rng_state(), self.dist)
        if not self.dist.is_main:
            return
        rng: list[RngState] = states
        kwargs: dict[str, Any] = {
            "epoch": epochs_done,
            "best_metric": self.early.best,
            "config": self.config.model_dump(mode="json"),
            "ir": self.ir,
            "early_stopping": self.early.state_dict(),
            "extra": {"history": self.history},
            "rng_states": rng,
        }
        save_checkpoint(self.last_path, self.model, self.optimizer, self.scheduler, **kwargs)
        if improved:
            save_checkpoint(self.best_path, self.model, self.optimizer, self.scheduler, **kwargs)
        self._write_log()

    def _write_log(self) -> None:
        text = "".join(json.dumps(row, allow_nan=True, sort_keys=False) + "\n" for row in self.history)
        atomic_write_text(self.log_path, text)


@contextlib.contextmanager
def _progress(show: bool) -> Iterator[Any]:
    if not show:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bars:
        yield bars


def fit(
    model: torch.nn.Module,
    config: TrainConfig,
    train_data: Dataset[Any],
    val_data: Dataset[Any] | None = None,
    *,
    out_dir: str | Path,
    resume: bool = False,
    **options: Any,
) -> FitResult:
    """Build a :class:`Trainer` and call :meth:`Trainer.fit`.

    Args:
        model: maps ``(T, B, ...)`` to ``(T, B, C)``.
        config: the training config.
        train_data: training dataset.
        val_data: optional validation dataset.
        out_dir: folder for checkpoints and the metrics log.
        resume: continue from the last checkpoint.
        **options: further keyword arguments of :class:`Trainer`.

    Returns:
        The :class:`FitResult`.
    """
    return Trainer(model, config, train_data, val_data, out_dir=out_dir, **options).fit(resume=resume)

"""Deterministic epoch order, data-parallel sharding and the torch.distributed plumbing.

The order of epoch ``e`` is a permutation drawn from ``numpy.random.default_rng([seed, e])``:
it depends on nothing else (no global RNG state), so a resumed run sees the same batches as an
uninterrupted one. The permutation is cut into *global* batches of ``batch_size``; with ``W``
data-parallel ranks, rank ``r`` takes ``batch[r::W]`` of every global batch (DistributedSampler
style, but per batch), so ``W`` ranks together see exactly the global batches a single process
sees. Each rank scales its loss by ``W * local / global`` so that DDP's gradient average equals
the gradient of the global-batch mean (:func:`loss_scale`).

Example:
    >>> [b.tolist() for b in global_batches(5, 2, seed=0, epoch=0, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> shard(np.array([0, 1, 2, 3]), rank=1, world_size=2).tolist()
    [1, 3]
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist

from neuro.core.errors import ParameterError

__all__ = [
    "DistInfo",
    "all_gather_objects",
    "current_distributed",
    "epoch_order",
    "epoch_seed",
    "global_batches",
    "init_distributed",
    "loss_scale",
    "reduce_sum",
    "seed_worker",
    "shard",
]


def epoch_seed(seed: int, epoch: int, *extra: int) -> int:
    """A 63-bit seed derived from ``(seed, epoch, *extra)`` through numpy's SeedSequence.

    Args:
        seed: the run seed.
        epoch: the epoch index.
        *extra: further keys (for example a rank).

    Returns:
        A non-negative int usable by ``torch.Generator.manual_seed``.
    """
    return int(np.random.SeedSequence([seed, epoch, *extra]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def epoch_order(n: int, seed: int, epoch: int, *, shuffle: bool = True) -> np.ndarray:
    """Sample order of one epoch.

    Args:
        n: dataset length.
        seed: the run seed.
        epoch: the epoch index.
        shuffle: False gives ``0..n-1``.

    Returns:
        int64 indices ``(n,)``.
    """
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64)


def global_batches(
    n: int, batch_size: int, *, seed: int, epoch: int, shuffle: bool = True, drop_last: bool = False
) -> list[np.ndarray]:
    """The global batches of one epoch.

    Args:
        n: dataset length.
        batch_size: samples per global batch (over all ranks).
        seed: the run seed.
        epoch: the epoch index.
        shuffle: permute the samples.
        drop_last: drop a final batch smaller than ``batch_size``.

    Returns:
        Index arrays, one per batch.

    Raises:
        ParameterError: ``batch_size`` is not positive.
    """
    if batch_size < 1:
        raise ParameterError(f"batch_size must be >= 1, got {batch_size}", field="batch_size")
    order = epoch_order(n, seed, epoch, shuffle=shuffle)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def shard(batch: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """The part of a global batch that ``rank`` processes.

    Args:
        batch: indices of one global batch.
        rank: this rank.
        world_size: number of ranks.

    Returns:
        ``batch[rank::world_size]``.
    """
    return batch[rank::world_size]


def loss_scale(local: int, global_: int, world_size: int) -> float:
    """Factor on a rank's batch-mean loss so that averaged gradients equal the global-batch mean.

    Args:
        local: samples on this rank.
        global_: samples in the global batch.
        world_size: number of ranks.

    Returns:
        ``world_size * local / global_`` (exactly 1.0 for a single process).
    """
    return 1.0 if world_size == 1 else world_size * local / global_


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoader workers: numpy and ``random`` from torch's per-worker seed.

    Args:
        worker_id: the worker index (unused; torch already mixes it into the seed).
    """
    del worker_id
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)  # noqa: NPY002 (code in workers may use the global generator)
    random.seed(seed)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a data-parallel job.

    Attributes:
        rank: global rank.
        world_size: number of processes.
        local_rank: rank on this machine (the GPU index with NCCL).
        device: the device this rank trains on.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that writes logs and checkpoints."""
        return self.rank == 0


def _default_device(local_rank: int) -> torch.device:
    return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def current_distributed(device: torch.device | str | None = None) -> DistInfo:
    """Describe the running process group (a single process when none is initialised).

    Args:
        device: the training device; default CUDA (``cuda:local_rank``) when available, else CPU.

    Returns:
        The :class:`DistInfo`.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(device) if device is not None else _default_device(local_rank)
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, dev)
    return DistInfo(0, 1, 0, dev)


def init_distributed(backend: str | None = None, device: torch.device | str | None = None) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    With ``WORLD_SIZE`` unset or 1 nothing is initialised. The backend defaults to NCCL when
    CUDA is available and gloo otherwise.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default as above.
        device: the training device (default as in :func:`current_distributed`).

    Returns:
        The :class:`DistInfo`.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and dist.is_available() and not dist.is_initialized():
        chosen = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if chosen == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=chosen)
    return current_distributed(device)


def reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum float values over all ranks (identity for one process).

    Args:
        values: this rank's values.
        info: the process group description.

    Returns:
        The sums, in the same order.
    """
    if info.world_size == 1 or not values:
        return list(values)
    device = info.device if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return [float(v) for v in t.cpu()]


def all_gather_objects(obj: object, info: DistInfo) -> list[object]:
    """Gather one in-memory object from every rank (``[obj]`` for one process).

    Args:
        obj: this rank's object (sent between processes, never written to disk).
        info: the process group description.

    Returns:
        One object per rank, in rank order.
    """
    if info.world_size == 1:
        return [obj]
    out: list[object] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out

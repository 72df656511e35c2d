"""Thin torch wrappers: a ``torch.utils.data.Dataset`` over event datasets and a padding collate.

Events are ragged, so a transform turns each sample into a dense array first, for example
frames ``(T, P, H, W)``; samples of different length ``T`` are zero-padded at the end of the
time axis by :func:`pad_time_collate`, which returns time-first batches ``(T, B, ...)`` (the
project's convention) and the labels.

Example:
    >>> import numpy as np, torch
    >>> from neuro.core.events import make_events, to_frames
    >>> from neuro.datasets.base import PackedEventDataset
    >>> a = make_events(x=[0, 1], y=[0, 0], t=[0, 2500], p=[1, 0])
    >>> b = make_events(x=[1, 0], y=[1, 1], t=[500, 1500], p=[1, 1])
    >>> ds = PackedEventDataset.from_samples("toy", [a, b], [0, 1], (2, 2, 2), ("a", "b"))
    >>> frames = TorchEventDataset(ds, lambda e: to_frames(e, (2, 2, 2), time_window=1000))
    >>> frames[0][0].shape[0], frames[1][0].shape[0]  # time bins per sample
    (2, 1)
    >>> x, y = pad_time_collate([frames[0], frames[1]])
    >>> tuple(x.shape), y.tolist(), float(x[1, 1].sum())  # (T, B, P, H, W); b is zero-padded
    ((2, 2, 2, 2, 2), [0, 1], 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from neuro.datasets.base import AbstractEventDataset


class TorchEventDataset(torch.utils.data.Dataset):
    """``(transform(events), target_transform(label))`` pairs as tensors.

    Args:
        dataset: any event dataset (generated or read from files).
        transform: events → array (for example frames); default returns the raw events,
            which a DataLoader cannot batch.
        target_transform: label → target.
        dtype: tensor dtype for numeric transform outputs.
    """

    def __init__(
        self,
        dataset: AbstractEventDataset,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.dataset = dataset
        self.transform = transform
        self.target_transform = target_transform
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        events, label = self.dataset[index]
        x: Any = events if self.transform is None else self.transform(events)
        if isinstance(x, np.ndarray) and x.dtype.names is None:
            x = torch.as_tensor(x, dtype=self.dtype)
        target = label if self.target_transform is None else self.target_transform(label)
        return x, target


def pad_time_collate(
    batch: Sequence[tuple[torch.Tensor, Any]], *, time_first: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(x, label)`` pairs whose ``x`` is ``(T_i, ...)``, zero-padding time to the longest.

    Args:
        batch: pairs from :class:`TorchEventDataset`.
        time_first: return ``(T, B, ...)`` (default) or ``(B, T, ...)``.

    Returns:
        ``(x, labels)`` with labels as an int64 tensor.

    Raises:
        ValueError: samples differ in any dimension other than time.
    """
    xs = [torch.as_tensor(x) for x, _ in batch]
    tails = {tuple(x.shape[1:]) for x in xs}
    if len(tails) > 1:
        raise ValueError(f"samples differ beyond the time axis: {sorted(tails)}")
    n_steps = max(x.shape[0] for x in xs)
    out = xs[0].new_zeros((len(xs), n_steps, *xs[0].shape[1:]))
    for i, x in enumerate(xs):
        out[i, : x.shape[0]] = x
    labels = torch.as_tensor([int(y) for _, y in batch], dtype=torch.int64)
    return (out.transpose(0, 1) if time_first else out), labels

"""neuro.datasets: offline event datasets, readers for real recordings, transforms.

Nothing is downloaded, at import time or ever: generated datasets are built from data that
ships inside installed packages and cached under :func:`~neuro.datasets.cache.cache_dir`;
readers take paths to files the user already has.

Example:
    >>> from neuro.datasets import DATASETS
    >>> "n-digits" in DATASETS
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neuro.core.errors import DatasetError
from neuro.datasets.base import AbstractEventDataset, PackedEventDataset
from neuro.datasets.cache import cache_dir
from neuro.datasets.registry import DATASETS, build_dataset, get_entry
from neuro.datasets.spoken_digits import SpokenDigitsParams
from neuro.datasets.transforms import (
    CenterCrop,
    Compose,
    Denoise,
    Downsample,
    DropByArea,
    DropByTime,
    DropEvents,
    EventTransform,
    MergePolarities,
    RandomCrop,
    RandomFlipLR,
    RandomFlipPolarity,
    RandomFlipUD,
    RandomTimeReversal,
    RefractoryFilter,
    TimeJitter,
    ToFrames,
    ToVoxelGrid,
)
from neuro.datasets.vpr import VPRParams, VPRTraverse, load_vpr, patch_normalise

__all__ = [
    "DATASETS",
    "AbstractEventDataset",
    "CenterCrop",
    "Compose",
    "Denoise",
    "Downsample",
    "DropByArea",
    "DropByTime",
    "DropEvents",
    "EventTransform",
    "MergePolarities",
    "PackedEventDataset",
    "RandomCrop",
    "RandomFlipLR",
    "RandomFlipPolarity",
    "RandomFlipUD",
    "RandomTimeReversal",
    "RefractoryFilter",
    "SpokenDigitsParams",
    "TimeJitter",
    "ToFrames",
    "ToVoxelGrid",
    "VPRParams",
    "VPRTraverse",
    "build_dataset",
    "cache_dir",
    "load",
    "load_splits",
    "load_vpr",
    "patch_normalise",
]


def load_splits(
    name: str,
    splits: Sequence[str],
    *,
    root: str | Path | None = None,
    rebuild: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Several splits of one generated dataset, read (or built) once; see :func:`load`.

    Returns:
        split name → dataset.

    Raises:
        DatasetError: unknown name, split or option.
    """
    entry = get_entry(name)
    for split in splits:
        if split not in entry.splits:
            raise DatasetError(f"{name}: unknown split {split!r}; splits are {list(entry.splits)}")
    selection = {k: options.pop(k) for k in entry.selection_options if k in options}
    ds = build_dataset(name, root=root, rebuild=rebuild, workers=workers, progress=progress, **options)
    return {split: entry.select(ds, split, **selection) for split in splits}


def load(
    name: str,
    split: str = "train",
    *,
    root: str | Path | None = None,
    rebuild: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> Any:
    """Load a generated dataset split, building and caching it on first use.

    Args:
        name: a key of :data:`DATASETS` (``neuro data list`` prints them).
        split: one of the entry's splits (``"train"``, ``"val"``, ``"test"``, ``"all"``...).
        root: cache folder (default :func:`~neuro.datasets.cache.cache_dir`).
        rebuild: regenerate even if a valid cache entry exists.
        workers: processes used when generating.
        progress: ``progress(done, total)`` callback while generating.
        **options: generation options (fields of the entry's parameter dataclass, part of
            the cache key) and selection options (such as ``holdout``).

    Returns:
        The split as a dataset of ``(events, label)`` with ``sensor_size`` and ``classes``.

    Raises:
        DatasetError: unknown name, split or option.
    """
    kwargs = {"root": root, "rebuild": rebuild, "workers": workers, "progress": progress}
    return load_splits(name, [split], **kwargs, **options)[split]

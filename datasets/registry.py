"""The registry behind :func:`neuro.datasets.load`: one entry per generated dataset.

Each entry knows its parameter dataclass (every field is a generation option and part of the
cache key), its splits, and how to build and select. Options that only select samples (such
as ``holdout``) are not part of the cache key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from neuro.core.errors import DatasetError, ParameterError
from neuro.datasets import ndigits, spoken_digits, vpr
from neuro.datasets.base import PackedEventDataset
from neuro.datasets.cache import cache_path, cached, cached_arrays


@dataclass(frozen=True)
class DatasetEntry:
    """How to build, cache and split one generated dataset.

    Attributes:
        name: the name given to :func:`load`.
        summary: one line for ``neuro data list``.
        params_type: frozen dataclass of generation options (all part of the cache key).
        splits: the split names :func:`load` accepts.
        load_all: ``load_all(params, root, rebuild, workers, progress) -> dataset`` (every split).
        select: ``select(dataset, split, **selection) -> dataset`` of one split.
        selection_options: option names passed to ``select`` instead of ``params_type``.
        requires: external programs generation needs (shown by ``neuro data list``).
        cache_params: ``cache_params(params) -> dict`` hashed into the cache key.
    """

    name: str
    summary: str
    params_type: type
    splits: tuple[str, ...]
    load_all: Callable[..., Any]
    select: Callable[..., Any]
    selection_options: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    cache_params: Callable[[Any], dict[str, Any]] = dataclasses.asdict


def packed_entry(
    name: str,
    summary: str,
    params_type: type,
    generate: Callable[..., PackedEventDataset],
    splits: tuple[str, ...],
    select_indices: Callable[..., np.ndarray],
    selection_options: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
) -> DatasetEntry:
    """An entry for a generator producing a :class:`PackedEventDataset` cached as one file."""

    def cache_params(params: Any) -> dict[str, Any]:
        return {"name": name, **dataclasses.asdict(params)}

    def load_all(params: Any, root: Any, rebuild: bool, workers: int, progress: Any) -> PackedEventDataset:
        build = lambda: generate(params, workers=workers, progress=progress)  # noqa: E731
        return cached(name, cache_params(params), build, root=root, rebuild=rebuild)

    def select(ds: PackedEventDataset, split: str, **selection: Any) -> PackedEventDataset:
        return ds.subset(select_indices(ds, split, **selection), name=f"{name}/{split}")

    return DatasetEntry(name, summary, params_type, splits, load_all, select, selection_options, requires, cache_params)


def _select_by_split(ds: PackedEventDataset, split: str) -> np.ndarray:
    if split == "all":
        return np.arange(len(ds))
    return np.flatnonzero(ds.extras["split"] == split)


def _load_vpr(params: vpr.VPRParams, root: Any, rebuild: bool, workers: int, progress: Any) -> vpr.VPRTraverse:
    arrays = cached_arrays(vpr.NAME, params.cache_params(), lambda: vpr.generate(params), root=root, rebuild=rebuild)
    return vpr.VPRTraverse.from_arrays(arrays, params.n_places)


def _select_traverse(data: vpr.VPRTraverse, split: str) -> vpr.VPRTraverse:
    return data if split == "all" else data.split(split)


def _entries() -> dict[str, DatasetEntry]:
    entries = [
        packed_entry(
            ndigits.NAME,
            "scikit-learn's 1,797 handwritten digits in N-MNIST's saccades through a DVS emulator (34x34x2)",
            ndigits.NDigitsParams,
            ndigits.generate,
            ("train", "val", "test", "all"),
            _select_by_split,
        ),
        packed_entry(
            spoken_digits.NAME,
            "the ten digits spoken by every espeak-ng and flite voice, augmented, through a gammatone cochlea "
            "(SHD layout); holdout=<engine> tests on an unseen TTS engine",
            spoken_digits.SpokenDigitsParams,
            spoken_digits.generate,
            ("train", "val", "test"),
            spoken_digits.select,
            selection_options=("holdout",),
            requires=("espeak-ng", "flite"),
        ),
        DatasetEntry(
            vpr.NAME,
            "place recognition: a route of places cut from bundled photographs, reference and query traverses "
            "(illumination, contrast, noise, blur, viewpoint, hard); grey images, label = place",
            vpr.VPRParams,
            ("reference", "reference-2", *(f"query-{c}" for c in vpr.CONDITIONS), "all"),
            _load_vpr,
            _select_traverse,
            cache_params=vpr.VPRParams.cache_params,
        ),
    ]
    return {e.name: e for e in entries}


DATASETS: Mapping[str, DatasetEntry] = MappingProxyType(_entries())


def get_entry(name: str) -> DatasetEntry:
    """The registry entry of ``name``.

    Raises:
        DatasetError: unknown name (the message lists the known ones).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def make_params(entry: DatasetEntry, options: Mapping[str, Any]) -> Any:
    """Build ``entry.params_type`` from ``options``, naming any unknown option."""
    fields = {f.name for f in dataclasses.fields(entry.params_type)}
    unknown = sorted(set(options) - fields)
    if unknown:
        allowed = sorted(fields | set(entry.selection_options))
        raise DatasetError(f"{entry.name}: unknown option(s) {unknown}; options are {allowed}")
    try:
        return entry.params_type(**options)
    except TypeError as exc:
        raise ParameterError(f"{entry.name}: {exc}") from exc


def build_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    rebuild: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> Any:
    """The whole generated dataset ``name`` (all splits), from the cache or freshly built."""
    entry = get_entry(name)
    params = make_params(entry, options)
    return entry.load_all(params, root, rebuild, workers, progress)


def dataset_cache_path(name: str, root: str | Path | None = None, **options: Any) -> Path:
    """Where ``name`` generated with ``options`` is cached."""
    entry = get_entry(name)
    params = make_params(entry, options)
    return cache_path(name, entry.cache_params(params), root)

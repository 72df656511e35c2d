"""Event datasets: a sequence of ``(events, label)`` with its sensor and class names.

Two concrete kinds share one interface, :class:`AbstractEventDataset`:

- :class:`PackedEventDataset` holds every sample in memory as one concatenated event array plus
  offsets (what the offline generators produce and cache);
- the readers in :mod:`neuro.datasets.readers` read files on demand.

Per-sample annotations other than the label (speaker, TTS engine, traverse, place index...)
live in ``extras``: a mapping of name to an array with one entry per sample.

Example:
    >>> import numpy as np
    >>> from neuro.core.events import make_events
    >>> a = make_events(x=[0, 1], y=[0, 0], t=[0, 5], p=[1, 0])
    >>> b = make_events(x=[2], y=[1], t=[3], p=[1])
    >>> ds = PackedEventDataset.from_samples("toy", [a, b], [0, 1], (3, 2, 2), ("zero", "one"))
    >>> len(ds), ds[1][1], ds[1][0]["x"].tolist()
    (2, 1, [2])
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro.core.errors import DatasetError
from neuro.core.events import AUDIO_DTYPE, EVENT_DTYPE, SensorSize, check_sensor_size, to_canonical


class AbstractEventDataset(abc.ABC):
    """A sized, indexable collection of ``(events, label)`` samples.

    Attributes:
        name: dataset name.
        sensor_size: ``(W, H, P)``; audio datasets use ``(channels, 1, 1)``.
        classes: class names, indexed by label.
    """

    name: str
    sensor_size: SensorSize
    classes: tuple[str, ...]

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def sample(self, index: int) -> tuple[np.ndarray, int]:
        """Return sample ``index`` (already range-checked and non-negative)."""

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        n = len(self)
        i = int(index)
        if i != index or not -n <= i < n:
            raise IndexError(f"{self.name}: index {index} out of range for {n} samples")
        return self.sample(i % n if n else i)

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        for i in range(len(self)):
            yield self.sample(i)

    @property
    def labels(self) -> np.ndarray:
        """All labels as an int64 array (readers may override with a faster version)."""
        return np.array([self.sample(i)[1] for i in range(len(self))], dtype=np.int64)


def _check_extras(extras: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    out = {}
    for key, values in extras.items():
        arr = np.asarray(values)
        if arr.ndim == 0 or len(arr) != n:
            raise DatasetError(f"extra {key!r} must have one entry per sample ({n}), got shape {arr.shape}")
        out[key] = arr
    return out


@dataclass(frozen=True, eq=False)
class PackedEventDataset(AbstractEventDataset):
    """All samples in memory: ``events[offsets[i]:offsets[i + 1]]`` is sample ``i``.

    Attributes:
        name: dataset name.
        events: concatenated events in the canonical dtype, each sample sorted in time.
        offsets: int64 array of ``len + 1`` boundaries, starting at 0 and non-decreasing.
        label_array: int64 label per sample.
        sensor_size: ``(W, H, P)``.
        classes: class names indexed by label.
        extras: per-sample annotations (one entry per sample each).
        metadata: free-form description (generator parameters, source, licence).
    """

    name: str
    events: np.ndarray
    offsets: np.ndarray
    label_array: np.ndarray
    sensor_size: SensorSize
    classes: tuple[str, ...]
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensor_size", check_sensor_size(self.sensor_size))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        offsets = np.asarray(self.offsets, dtype=np.int64)
        labels = np.asarray(self.label_array, dtype=np.int64)
        n = len(labels)
        if offsets.shape != (n + 1,) or (n + 1 and offsets[0] != 0) or np.any(np.diff(offsets) < 0):
            raise DatasetError(f"{self.name}: offsets must be {n + 1} non-decreasing values from 0")
        if offsets[-1] != len(self.events):
            raise DatasetError(f"{self.name}: offsets end at {offsets[-1]} but there are {len(self.events)} events")
        if n and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise DatasetError(f"{self.name}: labels must lie in [0, {len(self.classes)})")
        object.__setattr__(self, "events", to_canonical(self.events))
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "label_array", labels)
        object.__setattr__(self, "extras", _check_extras(self.extras, n))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @classmethod
    def from_samples(
        cls,
        name: str,
        samples: Sequence[np.ndarray],
        labels: Sequence[int],
        sensor_size: Sequence[int],
        classes: Sequence[str],
        extras: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PackedEventDataset:
        """Pack a list of per-sample event arrays."""
        if len(samples) != len(labels):
            raise DatasetError(f"{name}: {len(samples)} samples but {len(labels)} labels")
        canon = [to_canonical(s) for s in samples]
        audio = bool(canon) and "y" not in canon[0].dtype.names
        dtype = AUDIO_DTYPE if audio else EVENT_DTYPE
        events = np.concatenate(canon) if canon else np.empty(0, dtype)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in canon], dtype=np.int64)])
        return cls(
            name, events, offsets, np.asarray(labels), tuple(sensor_size), tuple(classes),
            extras or {}, metadata or {},
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.label_array)

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        return self.events[self.offsets[index] : self.offsets[index + 1]], int(self.label_array[index])

    @property
    def labels(self) -> np.ndarray:
        return self.label_array

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> PackedEventDataset:
        """A new dataset holding the samples at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"{self.name}: subset index out of range for {len(self)} samples")
        idx = idx % max(len(self), 1)
        starts, stops = self.offsets[idx], self.offsets[idx + 1]
        sizes = stops - starts
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)]) if idx.size else np.empty(0, int)
        return PackedEventDataset(
            name or self.name,
            self.events[take],
            np.concatenate([[0], np.cumsum(sizes)]),
            self.label_array[idx],
            self.sensor_size,
            self.classes,
            {k: v[idx] for k, v in self.extras.items()},
            self.metadata,
        )

"""N-MNIST and N-Caltech101 files (Orchard et al. 2015, CC BY-SA 4.0).

Codec: 5 bytes (40 bits) per event, big-endian bit order::

    byte 0      x (8 bits)
    byte 1      y (8 bits)
    byte 2      bit 7: polarity (1 = ON), bits 6..0: timestamp bits 22..16
    bytes 3, 4  timestamp bits 15..0 (µs)

An event with ``y == 240`` is not an event but a timestamp-overflow marker: every later
timestamp is increased by ``2**13`` µs (the documented format; N-MNIST samples last about
300 ms, far below the 23-bit range, so real N-MNIST files contain no marker).

Example:
    >>> from neuro.datasets.readers.nmnist import NMNIST, read_nmnist
    >>> events = read_nmnist("Train/3/00012.bin")  # doctest: +SKIP
    >>> train = NMNIST("~/data/N-MNIST", split="train")  # doctest: +SKIP
    >>> events, label = train[0]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neuro.core.errors import DataFormatError
from neuro.core.events import SensorSize
from neuro.datasets.base import AbstractEventDataset
from neuro.datasets.readers._common import check_split, finish_events, first_existing, require_dir, require_file, sorted_files

NMNIST_SENSOR: SensorSize = (34, 34, 2)
BYTES_PER_EVENT = 5
OVERFLOW_Y = 240
OVERFLOW_STEP_US = 2**13
FIRST_SACCADE_US = 100_000

NMNIST_LAYOUT = """\
  <root>/Train/0/*.bin ... <root>/Train/9/*.bin
  <root>/Test/0/*.bin  ... <root>/Test/9/*.bin
(<root>/NMNIST/Train/... is accepted too)"""


def read_nmnist(path: str | Path, sensor_size: Sequence[int] | None = NMNIST_SENSOR) -> np.ndarray:
    """Read one N-MNIST or N-Caltech101 ``.bin`` file.

    Args:
        path: the ``.bin`` file.
        sensor_size: ``(W, H, P)`` every event must fit; the default is N-MNIST's
            ``(34, 34, 2)``. Pass None for N-Caltech101, whose recordings differ in size.

    Returns:
        Events in the canonical dtype (x, y, t µs, p), sorted by time, overflow markers removed.

    Raises:
        DatasetError: the file does not exist.
        DataFormatError: the length is not a multiple of 5, or an event lies outside the sensor
            (the message names the file and the event's byte offset).
    """
    file = require_file(path, "N-MNIST file")
    raw = np.fromfile(file, dtype=np.uint8)
    extra = len(raw) % BYTES_PER_EVENT
    if extra:
        raise DataFormatError(
            f"truncated N-MNIST file: {len(raw)} bytes is not a multiple of {BYTES_PER_EVENT} ({extra} trailing bytes)",
            str(file),
            len(raw) - extra,
        )
    rec = raw.reshape(-1, BYTES_PER_EVENT).astype(np.int64)
    x, y = rec[:, 0], rec[:, 1]
    p = rec[:, 2] >> 7
    t = ((rec[:, 2] & 0x7F) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    overflow = y == OVERFLOW_Y
    t = t + np.cumsum(overflow) * OVERFLOW_STEP_US
    keep = ~overflow
    offsets = np.flatnonzero(keep) * BYTES_PER_EVENT
    return finish_events(file, x=x[keep], y=y[keep], t=t[keep], p=p[keep], sensor_size=sensor_size, offsets=offsets)


class NMNIST(AbstractEventDataset):
    """The N-MNIST dataset from the unzipped standard folders, read lazily (one file per sample).

    Args:
        root: folder holding ``Train/`` and ``Test/`` (see the layout in :data:`NMNIST_LAYOUT`).
        split: ``"train"`` or ``"test"``.
        first_saccade_only: keep only events with ``t < 100 ms`` (the first of three saccades),
            as tonic's option of the same name.

    Raises:
        DatasetError: an unknown split, or a missing split or digit folder (the message shows
            the expected layout).

    Example:
        >>> ds = NMNIST("~/data/N-MNIST", split="test", first_saccade_only=True)  # doctest: +SKIP
        >>> events, label = ds[0]  # doctest: +SKIP
        >>> ds.classes[label]  # doctest: +SKIP
        '0'
    """

    name = "NMNIST"
    sensor_size: SensorSize = NMNIST_SENSOR
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __init__(self, root: str | Path, split: str = "train", first_saccade_only: bool = False) -> None:
        check_split(split, ("train", "test"), self.name)
        folder = first_existing(root, ["Train" if split == "train" else "Test", "NMNIST/" + split.capitalize()], NMNIST_LAYOUT)
        files: list[Path] = []
        labels: list[int] = []
        for digit in range(10):
            digit_dir = require_dir(folder / str(digit), NMNIST_LAYOUT)
            found = sorted_files(digit_dir, (".bin",))
            files += found
            labels += [digit] * len(found)
        self.root = folder
        self.split = split
        self.first_saccade_only = bool(first_saccade_only)
        self.files: tuple[Path, ...] = tuple(files)
        self._labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        events = read_nmnist(self.files[index])
        if self.first_saccade_only:
            events = events[events["t"] < FIRST_SACCADE_US]
        return events, int(self._labels[index])

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

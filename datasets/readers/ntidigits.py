"""N-TIDIGITS18 (Anumula, Neil, Delbruck, Liu, Front. Neurosci. 2018): TIDIGITS through a silicon cochlea.

The single file ``n-tidigits.hdf5`` holds, for ``split`` in ``train`` and ``test``::

    <split>_labels               sample ids such as b"man-ae-1a" or b"woman-gn-o3z5a"
    <split>_addresses/<id>       cochlea channel (0..63) of each spike
    <split>_timestamps/<id>      spike times in seconds

The spoken digit sequence is the last ``-`` part of the id (as in tonic). Samples are audio
events (``t`` µs, ``x`` channel, ``p = 1``) on a ``(64, 1, 1)`` sensor. With
``single_digits=True`` only one-digit utterances are kept and the 11 classes are
``o, 1, ..., 9, z`` ("oh" and "zero"); otherwise every distinct sequence found in the file
(both splits, sorted) is a class, so labels agree between the splits.

Example:
    >>> from neuro.datasets.readers.ntidigits import NTIDIGITS18
    >>> ds = NTIDIGITS18("~/data/n-tidigits.hdf5", split="test", single_digits=True)  # doctest: +SKIP
    >>> events, label = ds[0]  # doctest: +SKIP
    >>> ds.classes[label], ds.extras["sample_id"][0]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.core.errors import DataFormatError
from neuro.core.events import SensorSize
from neuro.datasets.base import AbstractEventDataset
from neuro.datasets.readers._common import (
    audio_events,
    check_split,
    decode_strings,
    open_hdf5,
    require_datasets,
    require_file,
)

NTIDIGITS_CHANNELS = 64
SINGLE_DIGIT_CLASSES = ("o", "1", "2", "3", "4", "5", "6", "7", "8", "9", "z")
NTIDIGITS_LAYOUT = """\
  {train,test}_labels (sample ids), {train,test}_addresses/<id> (channels),
  {train,test}_timestamps/<id> (seconds)"""


def _sequence(sample_id: str) -> str:
    return sample_id.split("-")[-1]


class NTIDIGITS18(AbstractEventDataset):
    """N-TIDIGITS18 from its HDF5 file, read lazily (the file is reopened for each sample).

    Args:
        path: ``n-tidigits.hdf5``.
        split: ``"train"`` or ``"test"``.
        single_digits: keep only one-digit utterances, with the 11 classes ``o, 1..9, z``.

    Raises:
        DatasetError: an unknown split, or the file does not exist or is still an archive.
        DataFormatError: the file is not HDF5 or lacks ``<split>_labels``,
            ``<split>_addresses`` or ``<split>_timestamps``.
    """

    name = "NTIDIGITS18"
    sensor_size: SensorSize = (NTIDIGITS_CHANNELS, 1, 1)

    def __init__(self, path: str | Path, split: str = "train", single_digits: bool = False) -> None:
        check_split(split, ("train", "test"), self.name)
        self.path = require_file(path, "N-TIDIGITS18 HDF5 file")
        with open_hdf5(self.path) as f:
            names = [f"{split}_labels", f"{split}_addresses", f"{split}_timestamps"]
            require_datasets(self.path, f, names, NTIDIGITS_LAYOUT)
            ids = decode_strings(f[f"{split}_labels"][()])
            everything = [
                s for part in ("train", "test") if f"{part}_labels" in f for s in decode_strings(f[f"{part}_labels"][()])
            ]
        if single_digits:
            ids = [i for i in ids if len(_sequence(i)) == 1]
            unknown = sorted({_sequence(i) for i in ids} - set(SINGLE_DIGIT_CLASSES))
            if unknown:
                raise DataFormatError(f"{split}_labels holds digits {unknown} outside {SINGLE_DIGIT_CLASSES}", str(self.path))
            self.classes: tuple[str, ...] = SINGLE_DIGIT_CLASSES
        else:
            self.classes = tuple(sorted({_sequence(i) for i in everything}))
        index = {c: k for k, c in enumerate(self.classes)}
        self.split = split
        self.single_digits = bool(single_digits)
        self.sample_ids: tuple[str, ...] = tuple(ids)
        self._labels = np.asarray([index[_sequence(i)] for i in ids], dtype=np.int64)
        self.extras: dict[str, np.ndarray] = {"sample_id": np.asarray(ids, dtype=str)}

    def __len__(self) -> int:
        return len(self.sample_ids)

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        key = self.sample_ids[index]
        with open_hdf5(self.path) as f:
            groups = (f[f"{self.split}_addresses"], f[f"{self.split}_timestamps"])
            for g in groups:
                if key not in g:
                    raise DataFormatError(f"sample {key!r} is listed but {g.name}/{key} is missing", str(self.path))
            channels = np.asarray(groups[0][key][()])
            seconds = np.asarray(groups[1][key][()])
        events = audio_events(self.path, seconds, channels, self.sensor_size, f"sample {key!r}", "address")
        return events, int(self._labels[index])

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

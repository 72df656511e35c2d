"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC) HDF5 files.

Cramer, Stradmann, Schemmel, Zenke, IEEE TNNLS 2020. Each file (``shd_train.h5``,
``shd_test.h5``, ``ssc_train.h5``, ``ssc_valid.h5``, ``ssc_test.h5``) holds::

    spikes/times    ragged float arrays, spike times in seconds, one per sample
    spikes/units    ragged integer arrays, the channel (0..699) of each spike
    labels          class index per sample
    extra/speaker   speaker id per sample (optional)
    extra/keys      class names (optional)

Samples are audio events (``t`` µs rounded from seconds, ``x`` channel, ``p = 1``) on a
``(700, 1, 1)`` sensor; the speaker is in ``extras["speaker"]``. The downloads are gzip
files: decompress them first (``gunzip shd_train.h5.gz``).

Example:
    >>> from neuro.datasets.readers.shd import SHD
    >>> train = SHD("~/data/shd_train.h5")  # doctest: +SKIP
    >>> events, label = train[0]  # doctest: +SKIP
    >>> train.extras["speaker"][0], train.classes[label]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.core.errors import DataFormatError
from neuro.core.events import SensorSize
from neuro.datasets.base import AbstractEventDataset
from neuro.datasets.readers._common import (
    audio_events,
    decode_strings,
    open_hdf5,
    require_datasets,
    require_file,
)

HEIDELBERG_CHANNELS = 700
HEIDELBERG_LAYOUT = """\
  spikes/times (ragged float seconds), spikes/units (ragged int), labels (int),
  optional extra/speaker (int), extra/keys (class names)"""


class _HeidelbergFile(AbstractEventDataset):
    """One SHD or SSC HDF5 file, read lazily (the file is reopened for each sample).

    Args:
        path: the unpacked ``.h5`` file.

    Raises:
        DatasetError: the file does not exist or is still a gzip/zip archive.
        DataFormatError: the file is not HDF5, lacks a required dataset, or its arrays
            disagree in length or hold labels outside the class list.
    """

    name = "Heidelberg"
    sensor_size: SensorSize = (HEIDELBERG_CHANNELS, 1, 1)

    def __init__(self, path: str | Path) -> None:
        self.path = require_file(path, f"{self.name} HDF5 file")
        with open_hdf5(self.path) as f:
            require_datasets(self.path, f, ("spikes/times", "spikes/units", "labels"), HEIDELBERG_LAYOUT)
            labels = np.asarray(f["labels"][()], dtype=np.int64).ravel()
            n_times, n_units = len(f["spikes/times"]), len(f["spikes/units"])
            keys = decode_strings(f["extra/keys"][()]) if "extra/keys" in f else []
            speaker = np.asarray(f["extra/speaker"][()]).ravel() if "extra/speaker" in f else None
        if not n_times == n_units == len(labels):
            raise DataFormatError(
                f"spikes/times has {n_times} samples, spikes/units {n_units}, labels {len(labels)}", str(self.path)
            )
        n_classes = max(len(keys), int(labels.max()) + 1 if len(labels) else 0)
        if len(labels) and labels.min() < 0:
            raise DataFormatError(f"negative label {int(labels.min())}", str(self.path))
        if keys and len(keys) < n_classes:
            raise DataFormatError(f"label {int(labels.max())} but extra/keys names only {len(keys)} classes", str(self.path))
        self.classes: tuple[str, ...] = tuple(keys) if keys else tuple(str(i) for i in range(n_classes))
        self._labels = labels
        self.extras: dict[str, np.ndarray] = {}
        if speaker is not None:
            if len(speaker) != len(labels):
                raise DataFormatError(f"extra/speaker has {len(speaker)} entries for {len(labels)} samples", str(self.path))
            self.extras["speaker"] = speaker.astype(np.int64)

    def __len__(self) -> int:
        return len(self._labels)

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        with open_hdf5(self.path) as f:
            seconds = np.asarray(f["spikes/times"][index])
            units = np.asarray(f["spikes/units"][index])
        events = audio_events(self.path, seconds, units, self.sensor_size, f"sample {index}", "unit")
        return events, int(self._labels[index])

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()


class SHD(_HeidelbergFile):
    """Spiking Heidelberg Digits: spoken digits 0-9 in English and German, 20 classes.

    Args:
        path: the unpacked ``.h5`` file of one split.

    Raises:
        DatasetError: the file does not exist or is still a gzip/zip archive.
        DataFormatError: the file is not HDF5, lacks a required dataset, or its arrays
            disagree in length or hold labels outside the class list.
    """

    name = "SHD"


class SSC(_HeidelbergFile):
    """Spiking Speech Commands: Google Speech Commands v2 through the same cochlea model, 35 classes.

    Args:
        path: the unpacked ``.h5`` file of one split.

    Raises:
        DatasetError: the file does not exist or is still a gzip/zip archive.
        DataFormatError: the file is not HDF5, lacks a required dataset, or its arrays
            disagree in length or hold labels outside the class list.
    """

    name = "SSC"

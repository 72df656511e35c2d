"""CIFAR10-DVS (Li et al., Front. Neurosci. 2017): CIFAR-10 images moved on a monitor, DVS128.

The ten class archives unpack to one folder per class::

    <root>/airplane/cifar10_airplane_0.aedat ... cifar10_airplane_999.aedat
    <root>/automobile/...
    ...
    <root>/truck/...

The original files are AEDAT 2.0 (jAER, DVS128 addresses); the AEDAT 4 copies that tonic
distributes (``.aedat4``) are read as well. There is no official train/test split. Samples
are shifted in time so that the first event is at ``t = 0``.

Example:
    >>> from neuro.datasets.readers.cifar10dvs import CIFAR10DVS
    >>> ds = CIFAR10DVS("~/data/CIFAR10DVS")  # doctest: +SKIP
    >>> events, label = ds[0]  # doctest: +SKIP
    >>> ds.classes[label]  # doctest: +SKIP
    'airplane'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.core.errors import DatasetError
from neuro.core.events import SensorSize, validate_events
from neuro.datasets.base import AbstractEventDataset
from neuro.datasets.readers._common import sorted_files
from neuro.datasets.readers.aedat import read_aedat

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

CIFAR10DVS_LAYOUT = """\
  <root>/airplane/*.aedat (or *.aedat4) ... <root>/truck/*.aedat
(<root>/CIFAR10DVS/<class>/... is accepted too)"""


class CIFAR10DVS(AbstractEventDataset):
    """CIFAR10-DVS read lazily, one recording per sample, labels from the class folders.

    Args:
        root: the folder holding the ten class folders.

    Raises:
        DatasetError: a class folder is missing (the message shows the expected layout).
    """

    name = "CIFAR10DVS"
    sensor_size: SensorSize = (128, 128, 2)
    classes: tuple[str, ...] = CIFAR10_CLASSES

    def __init__(self, root: str | Path) -> None:
        base = Path(root).expanduser()
        if not (base / CIFAR10_CLASSES[0]).is_dir() and (base / "CIFAR10DVS" / CIFAR10_CLASSES[0]).is_dir():
            base = base / "CIFAR10DVS"
        files: list[Path] = []
        labels: list[int] = []
        for label, cls in enumerate(CIFAR10_CLASSES):
            folder = base / cls
            if not folder.is_dir():
                raise DatasetError(f"{folder}: class folder not found; expected layout:\n{CIFAR10DVS_LAYOUT}")
            found = sorted_files(folder, (".aedat", ".aedat4"))
            files += found
            labels += [label] * len(found)
        self.root = base
        self.files: tuple[Path, ...] = tuple(files)
        self._labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        events = read_aedat(self.files[index], self.sensor_size).events.copy()
        if len(events):
            events["t"] -= events["t"][0]
        return validate_events(events, self.sensor_size), int(self._labels[index])

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

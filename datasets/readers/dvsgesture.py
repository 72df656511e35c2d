"""IBM DVS128 Gesture (Amir et al., CVPR 2017) from the original recordings.

The archive ``DvsGesture.tar.gz`` unpacks to one folder::

    DvsGesture/
        trials_to_train.txt              one recording name per line (user01..user23)
        trials_to_test.txt               (user24..user29)
        user01_fluorescent.aedat         AEDAT 3.1, DVS128
        user01_fluorescent_labels.csv    class,startTime_usec,endTime_usec (class 1..11)
        ...

Each labelled row is one sample: the events with ``start <= t < end``, with time shifted so
that ``t = 0`` is the labelled start. The per-sample ``extras`` hold ``user`` (int),
``lighting`` (``fluorescent``, ``led``, ``lab``, ``natural``, ``fluorescent_led``),
``start_us`` and ``recording``.

Example:
    >>> from neuro.datasets.readers.dvsgesture import DVSGesture
    >>> test = DVSGesture("~/data/DvsGesture", split="test")  # doctest: +SKIP
    >>> events, label = test[0]  # doctest: +SKIP
    >>> test.classes[label]  # doctest: +SKIP
    'hand_clapping'
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neuro.core.errors import DataFormatError, DatasetError
from neuro.core.events import SensorSize, validate_events
from neuro.datasets.base import AbstractEventDataset
from neuro.datasets.readers._common import check_split, first_existing, require_file
from neuro.datasets.readers.aedat import read_aedat

GESTURE_CLASSES = (
    "hand_clapping",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_clockwise",
    "right_arm_counter_clockwise",
    "left_arm_clockwise",
    "left_arm_counter_clockwise",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
)

DVSGESTURE_LAYOUT = """\
  <root>/trials_to_train.txt, <root>/trials_to_test.txt
  <root>/user01_fluorescent.aedat + <root>/user01_fluorescent_labels.csv, ...
(<root>/DvsGesture/... is accepted too)"""


def read_gesture_labels(path: str | Path) -> list[tuple[int, int, int]]:
    """Rows ``(label, start_us, end_us)`` of a ``*_labels.csv`` file, label 0-based.

    Args:
        path: the CSV file (header ``class,startTime_usec,endTime_usec``; class 1..11).

    Raises:
        DatasetError: the file does not exist.
        DataFormatError: a row that is not three integers, a class outside 1..11, or an end
            not after its start (the message names the byte offset of the line).
    """
    file = require_file(path, "gesture label file")
    rows: list[tuple[int, int, int]] = []
    offset = 0
    for line in file.read_bytes().splitlines(keepends=True):
        text = line.decode("latin-1").strip()
        here, offset = offset, offset + len(line)
        if not text or text.lower().startswith("class"):
            continue
        cells = [c.strip() for c in re.split(r"[,\t]", text)]
        if len(cells) != 3 or not all(c.isdigit() for c in cells):
            raise DataFormatError(f"expected 'class,startTime_usec,endTime_usec', got {text!r}", str(file), here)
        cls, start, end = (int(c) for c in cells)
        if not 1 <= cls <= len(GESTURE_CLASSES):
            raise DataFormatError(f"class {cls} is outside 1..{len(GESTURE_CLASSES)}", str(file), here)
        if end <= start:
            raise DataFormatError(f"end time {end} is not after start time {start}", str(file), here)
        rows.append((cls - 1, start, end))
    return rows


class DVSGesture(AbstractEventDataset):
    """DVS128 Gesture, one sample per labelled gesture of the original AEDAT 3.1 recordings.

    Recordings are read on demand; the last decoded recording is kept so that reading the
    gestures of one recording in order decodes its file once.

    Args:
        root: the unpacked ``DvsGesture`` folder (or its parent).
        split: ``"train"`` (``trials_to_train.txt``) or ``"test"`` (``trials_to_test.txt``).

    Raises:
        DatasetError: an unknown split, or a missing trial list, recording or label file (the
            message shows the expected layout).
        DataFormatError: a malformed label file.
    """

    name = "DVSGesture"
    sensor_size: SensorSize = (128, 128, 2)
    classes: tuple[str, ...] = GESTURE_CLASSES

    def __init__(self, root: str | Path, split: str = "train") -> None:
        check_split(split, ("train", "test"), self.name)
        trials = f"trials_to_{split}.txt"
        folder = first_existing(root, ["", "DvsGesture"], DVSGESTURE_LAYOUT)
        if not (folder / trials).is_file() and (folder / "DvsGesture" / trials).is_file():
            folder = folder / "DvsGesture"
        listing = folder / trials
        if not listing.is_file():
            raise DatasetError(f"{listing}: trial list not found; expected layout:\n{DVSGESTURE_LAYOUT}")
        cuts: list[tuple[Path, int, int, int]] = []
        for name in listing.read_text(encoding="latin-1").split():
            recording = folder / name
            labels = folder / (Path(name).stem + "_labels.csv")
            for f in (recording, labels):
                if not f.is_file():
                    raise DatasetError(f"{f}: listed in {listing.name} but not found; expected layout:\n{DVSGESTURE_LAYOUT}")
            cuts += [(recording, label, start, end) for label, start, end in read_gesture_labels(labels)]
        self.root = folder
        self.split = split
        self.recordings: tuple[Path, ...] = tuple(c[0] for c in cuts)
        self._labels = np.asarray([c[1] for c in cuts], dtype=np.int64)
        self._bounds = np.asarray([(c[2], c[3]) for c in cuts], dtype=np.int64).reshape(-1, 2)
        meta = [re.match(r"user(\d+)_(.+)", f.stem) for f in self.recordings]
        self.extras: dict[str, np.ndarray] = {
            "user": np.asarray([int(m.group(1)) if m else -1 for m in meta], dtype=np.int64),
            "lighting": np.asarray([m.group(2) if m else "" for m in meta], dtype=str),
            "start_us": self._bounds[:, 0].copy(),
            "recording": np.asarray([f.name for f in self.recordings], dtype=str),
        }
        self._cache: tuple[Path, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._labels)

    def _events_of(self, recording: Path) -> np.ndarray:
        if self._cache is None or self._cache[0] != recording:
            self._cache = (recording, read_aedat(recording, self.sensor_size).events)
        return self._cache[1]

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        events = self._events_of(self.recordings[index])
        start, end = (int(v) for v in self._bounds[index])
        lo, hi = np.searchsorted(events["t"], [start, end], side="left")
        cut = events[lo:hi].copy()
        cut["t"] -= start
        return validate_events(cut, self.sensor_size), int(self._labels[index])

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

"""Readers for real event datasets from local files (nothing is downloaded).

Each reader takes the path of files the user downloaded; a truncated or corrupt file raises
:class:`~neuro.core.errors.DataFormatError` naming the file and, where the format has one,
the byte offset. See the "Reading real datasets" page of the documentation for layouts.
"""

from __future__ import annotations

from neuro.datasets.readers.aedat import AedatRecording, read_aedat
from neuro.datasets.readers.cifar10dvs import CIFAR10_CLASSES, CIFAR10DVS
from neuro.datasets.readers.dvsgesture import GESTURE_CLASSES, DVSGesture, read_gesture_labels
from neuro.datasets.readers.nmnist import NMNIST, read_nmnist
from neuro.datasets.readers.ntidigits import NTIDIGITS18, SINGLE_DIGIT_CLASSES
from neuro.datasets.readers.shd import SHD, SSC
from neuro.datasets.readers.tonic_adapter import TonicDataset, convert_tonic_events, from_tonic

__all__ = [
    "CIFAR10DVS",
    "CIFAR10_CLASSES",
    "GESTURE_CLASSES",
    "NMNIST",
    "NTIDIGITS18",
    "SHD",
    "SINGLE_DIGIT_CLASSES",
    "SSC",
    "AedatRecording",
    "DVSGesture",
    "TonicDataset",
    "convert_tonic_events",
    "from_tonic",
    "read_aedat",
    "read_gesture_labels",
    "read_nmnist",
]

"""Use a tonic dataset as a neuro dataset, without depending on tonic.

tonic (GPL-3.0) is never imported here: the adapter only needs an object with ``__len__``,
``__getitem__`` returning ``(events, target)`` and a ``sensor_size``. tonic's datasets declare
different field orders (``xytp``, ``txyp``, ``xypt``, ``ptxy``, ``txp``) and bool or int64
polarities; events are converted **by field name** (numpy's structured ``astype`` would map
them by position) into the canonical dtype, ``p`` as an integer, sorted by time.

Example:
    >>> import numpy as np
    >>> class Fake:  # anything shaped like a tonic dataset
    ...     sensor_size = (4, 2, 2)
    ...     classes = ["a", "b"]
    ...     dtype = np.dtype([("t", np.int64), ("x", np.int64), ("y", np.int64), ("p", bool)])
    ...     def __len__(self):
    ...         return 1
    ...     def __getitem__(self, i):
    ...         return np.array([(5, 3, 1, True), (2, 0, 0, False)], dtype=self.dtype), 1
    >>> ds = from_tonic(Fake())
    >>> events, label = ds[0]
    >>> events["t"].tolist(), events["p"].tolist(), ds.classes[label]
    ([2, 5], [0, 1], 'b')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from neuro.core.errors import DatasetError, EventFieldError, EventValueError
from neuro.core.events import AUDIO_DTYPE, EVENT_DTYPE, SensorSize, check_sensor_size, validate_events
from neuro.datasets.base import AbstractEventDataset


class TonicLike(Protocol):
    """What the adapter needs from a tonic dataset."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[Any, Any]: ...


def _names(values: Any) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, dict):  # tonic sometimes keeps {name: index}
        return tuple(str(k) for k, _ in sorted(values.items(), key=lambda kv: kv[1]))
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel())


def convert_tonic_events(events: Any, sensor_size: Sequence[int] | None = None) -> np.ndarray:
    """Copy a tonic event array into the canonical dtype, field by field, sorted by time.

    Args:
        events: a structured array with fields ``t``, ``x``, ``p`` and (2-D sensors) ``y`` in
            any order and of any integer, bool or whole-valued float type.
        sensor_size: ``(W, H, P)`` to validate against, or None.

    Returns:
        Events in :data:`~neuro.core.events.EVENT_DTYPE` (``AUDIO_DTYPE`` without ``y``).

    Raises:
        EventFieldError: not a structured array, or a missing field.
        EventValueError: values outside the sensor, negative or non-integral.
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise EventFieldError(f"tonic events must be a structured numpy array, got {type(events).__name__}")
    names = events.dtype.names
    dtype = EVENT_DTYPE if "y" in names else AUDIO_DTYPE
    missing = [n for n in dtype.names or () if n not in names]
    if missing:
        raise EventFieldError(f"tonic events have no field {missing[0]!r} (fields: {names})", missing[0])
    columns: dict[str, np.ndarray] = {}
    for n in dtype.names or ():
        col = np.asarray(events[n])
        if col.dtype.kind == "b":
            col = col.astype(np.int8)
        elif n == "t" and col.dtype.kind == "f":  # e.g. after a time-jitter transform
            if not np.isfinite(col).all():
                i = int(np.flatnonzero(~np.isfinite(col))[0])
                raise EventValueError(f"field 't' is not finite at index {i}", "t", i)
            col = np.round(col).astype(np.int64)
        columns[n] = col
    raw = np.empty(len(events), dtype=[(n, c.dtype) for n, c in columns.items()])
    for n, c in columns.items():
        raw[n] = c
    if len(raw) > 1 and (np.diff(raw["t"]) < 0).any():
        raw = raw[np.argsort(raw["t"], kind="stable")]
    return validate_events(raw, sensor_size)


class TonicDataset(AbstractEventDataset):
    """A tonic(-like) dataset seen through neuro's interface (build it with :func:`from_tonic`).

    Attributes:
        source: the wrapped dataset.
    """

    def __init__(
        self,
        source: TonicLike,
        *,
        name: str | None = None,
        sensor_size: Sequence[int] | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        self.source = source
        self.name = name or type(source).__name__
        size = sensor_size if sensor_size is not None else getattr(source, "sensor_size", None)
        if size is None or len(tuple(size)) != 3:
            raise DatasetError(
                f"{self.name}: sensor_size is {size!r}; pass sensor_size=(W, H, P) "
                "(tonic leaves it None for datasets such as NCALTECH101)"
            )
        self.sensor_size: SensorSize = check_sensor_size(tuple(size))
        names = _names(classes) if classes is not None else _names(getattr(source, "classes", None))
        if not names:
            raise DatasetError(f"{self.name}: the dataset has no 'classes'; pass classes=[...] (one name per label)")
        self.classes: tuple[str, ...] = names

    def __len__(self) -> int:
        return len(self.source)

    def _label(self, target: Any, index: int) -> int:
        if isinstance(target, bytes):
            target = target.decode()
        if isinstance(target, str):
            if target not in self.classes:
                raise DatasetError(f"{self.name}: sample {index} has target {target!r}, not one of the classes")
            return self.classes.index(target)
        value = np.asarray(target)
        if value.ndim != 0 or value.dtype.kind not in "iub":
            raise DatasetError(
                f"{self.name}: sample {index} has target {target!r}; expected an integer label or a class name "
                "(drop target transforms such as one-hot encodings)"
            )
        label = int(value)
        if not 0 <= label < len(self.classes):
            raise DatasetError(f"{self.name}: sample {index} has label {label} outside [0, {len(self.classes)})")
        return label

    def sample(self, index: int) -> tuple[np.ndarray, int]:
        item = self.source[index]
        if not isinstance(item, tuple) or len(item) != 2:
            raise DatasetError(f"{self.name}: sample {index} is not an (events, target) pair")
        events, target = item
        return convert_tonic_events(events, self.sensor_size), self._label(target, index)


def from_tonic(
    dataset: TonicLike,
    *,
    name: str | None = None,
    sensor_size: Sequence[int] | None = None,
    classes: Sequence[str] | None = None,
) -> TonicDataset:
    """Wrap a tonic dataset (or anything shaped like one) as a neuro dataset.

    Args:
        dataset: has ``__len__``, ``__getitem__ -> (events, target)`` and ``sensor_size``;
            its transforms must leave structured event arrays (not frames).
        name: dataset name; defaults to the class name.
        sensor_size: ``(W, H, P)``, needed when the dataset's own is None.
        classes: class names, needed when the dataset has no ``classes`` attribute
            (e.g. tonic's CIFAR10DVS). Targets may be integer labels or class names.

    Returns:
        A :class:`TonicDataset`; events come back canonical, sorted and checked against the
        sensor.

    Raises:
        DatasetError: no usable ``sensor_size`` or ``classes``; later, a target that is neither
            an integer label nor a class name.
    """
    return TonicDataset(dataset, name=name, sensor_size=sensor_size, classes=classes)

"""Parameter and event checks shared by the event transforms, and a fast record copy.

Everything here raises the project's typed errors: :class:`ParameterError` naming the field
for parameters, and the errors of :func:`neuro.core.events.validate_events` for events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from neuro.core.errors import EventFieldError, ParameterError
from neuro.core.events import AUDIO_DTYPE, EVENT_DTYPE, SensorSize, check_sensor_size, is_audio, validate_events
from neuro.datasets import _transform_kernels as kernels


def check_rng(rng: Any) -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``.

    Raises:
        ParameterError: anything else, ``None`` included (field ``rng``).
    """
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(
            f"a random transform needs an explicit numpy.random.Generator, e.g. rng=np.random.default_rng(seed); "
            f"got {type(rng).__name__}",
            field="rng",
        )
    return rng


def check_real(value: Any, field: str, *, low: float = 0.0, high: float = math.inf, high_open: bool = False) -> float:
    """Return ``value`` as a float after checking ``low <= value <= high`` (``< high`` if ``high_open``).

    Raises:
        ParameterError: not a finite real number in range (names ``field``).
    """
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = low <= v and (v < high if high_open else v <= high)
    if not ok:
        bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ParameterError(f"{field} must be a finite number in {bound}, got {value!r}", field=field)
    return float(value)


def check_int(value: Any, field: str, *, low: int = 0, high: int = kernels.MAX_TIME_PARAMETER) -> int:
    """Return ``value`` as an int after checking it is a whole number in ``[low, high]``.

    Raises:
        ParameterError: anything else (names ``field``).
    """
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    ok = ok and float(value) == int(value) and low <= int(value) <= high
    if not ok:
        raise ParameterError(f"{field} must be a whole number in [{low}, {high}], got {value!r}", field=field)
    return int(value)


def check_size2(value: Any, field: str, sensor_size: SensorSize | None = None) -> tuple[int, int]:
    """Return ``(W, H)`` of two positive integers, at most the sensor's when ``sensor_size`` is given.

    Raises:
        ParameterError: anything else (names ``field``).
    """
    try:
        size = tuple(int(v) for v in value)
        ok = len(size) == 2 and all(s > 0 and s == v for s, v in zip(size, value, strict=True))
    except (TypeError, ValueError):
        ok = False
    if ok and sensor_size is not None:
        ok = size[0] <= sensor_size[0] and size[1] <= sensor_size[1]
    if not ok:
        limit = f" no larger than the sensor {sensor_size[:2]}" if sensor_size is not None else ""
        raise ParameterError(f"{field} must be two positive integers (W, H){limit}, got {value!r}", field=field)
    return size  # type: ignore[return-value]


def require_2d(events: np.ndarray, what: str) -> None:
    """Raise :class:`EventFieldError` (field ``y``) if ``events`` are 1-D; ``what`` names the caller."""
    if is_audio(events):
        raise EventFieldError(f"{what} needs 2-D events with a 'y' field (x, y, t, p), got 1-D (t, x, p) events", "y")


def take(events: np.ndarray, index: Any = slice(None)) -> np.ndarray:
    """A new array of ``events[index]`` (a mask, indices or a slice), copied as raw records.

    numpy copies a packed structured dtype such as :data:`EVENT_DTYPE` (13 bytes, unaligned)
    field by field, up to 10x slower than copying opaque ``void`` records of the same size.
    """
    raw = events.view(np.dtype((np.void, events.dtype.itemsize)))[index]
    if isinstance(index, slice):  # a view: copy it (masks and index arrays already copy)
        raw = raw.copy()
    return raw.view(events.dtype)


def check_events(events: Any, sensor_size: Sequence[int] | None = None) -> tuple[np.ndarray, SensorSize | None]:
    """Validated canonical events: one compiled pass for canonical arrays, else ``validate_events``."""
    size = check_sensor_size(sensor_size) if sensor_size is not None else None
    if isinstance(events, np.ndarray) and events.ndim == 1 and events.dtype in (EVENT_DTYPE, AUDIO_DTYPE):
        if kernels.first_invalid(events, size) < 0:
            return events, size
    return validate_events(events, size), size

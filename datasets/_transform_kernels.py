"""Numba loops behind the per-event transforms (denoise, refractory filter).

Both filters depend on the history of every pixel, so they are a single pass over the events in
time order with one timestamp per pixel: a per-event loop that numpy cannot vectorise and that
tonic runs in Python. The loops are plain Python functions compiled lazily with ``numba.njit``
on first use (importing this module does not import Numba); :func:`compiled` returns the
compiled dispatcher so tests can prove the fast path ran.

Pixel memories use the sentinel :data:`NEVER` for "no event yet", so a pixel that never fired
can never satisfy a time condition (timestamps are non-negative and time parameters are
bounded by :data:`MAX_TIME_PARAMETER`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

NEVER = -(2**62)
"""Timestamp stored for a pixel that has not fired (far below any valid ``t - filter_time``)."""

MAX_TIME_PARAMETER = 2**60
"""Upper bound for ``filter_time`` and ``delta`` (µs) so that ``t - parameter`` stays above NEVER."""


def _denoise_loop(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, width: int, height: int, filter_time: int, diagonal: bool
) -> np.ndarray:
    # Padded (H + 2) x (W + 2) memory: border cells never fire, so no bounds checks are needed.
    w2 = width + 2
    last = np.full((height + 2) * w2, NEVER, dtype=np.int64)
    keep = np.zeros(t.shape[0], dtype=np.bool_)
    for i in range(t.shape[0]):
        ti = t[i]
        c = (np.int64(y[i]) + 1) * w2 + np.int64(x[i]) + 1
        last[c] = ti
        lo = ti - filter_time  # a neighbour counts if it fired at tn > lo, i.e. ti - tn < filter_time
        if last[c - 1] > lo or last[c + 1] > lo or last[c - w2] > lo or last[c + w2] > lo:
            keep[i] = True
        elif diagonal and (last[c - w2 - 1] > lo or last[c - w2 + 1] > lo or last[c + w2 - 1] > lo or last[c + w2 + 1] > lo):
            keep[i] = True
    return keep


def _refractory_loop(
    x: np.ndarray, y: np.ndarray, use_y: bool, t: np.ndarray, width: int, height: int, delta: int
) -> np.ndarray:
    last = np.full(width * height, NEVER, dtype=np.int64)
    keep = np.zeros(t.shape[0], dtype=np.bool_)
    for i in range(t.shape[0]):
        k = np.int64(x[i])
        if use_y:
            k += np.int64(y[i]) * width
        ti = t[i]
        if ti - last[k] >= delta:
            keep[i] = True
            last[k] = ti
    return keep


def _first_invalid_loop(
    x: np.ndarray, y: np.ndarray, use_y: bool, t: np.ndarray, p: np.ndarray, width: int, height: int, n_p: int
) -> int:
    previous = 0
    for i in range(t.shape[0]):
        ti = t[i]
        if ti < previous or x[i] < 0 or x[i] >= width or p[i] < 0 or p[i] >= n_p:
            return i
        if use_y and (y[i] < 0 or y[i] >= height):
            return i
        previous = ti
    return -1


_LOOPS: dict[str, Callable[..., Any]] = {
    "denoise": _denoise_loop,
    "refractory": _refractory_loop,
    "first_invalid": _first_invalid_loop,
}


@functools.cache
def compiled(name: str) -> Any:
    """The ``numba.njit`` dispatcher of loop ``name`` (``"denoise"``, ``"refractory"``, ``"first_invalid"``),
    compiled once.

    Raises:
        KeyError: unknown loop name.
    """
    import numba

    return numba.njit(nogil=True)(_LOOPS[name])


def denoise_mask(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, width: int, height: int, filter_time: int, diagonal: bool
) -> np.ndarray:
    """Keep-mask of the denoise filter (see :func:`neuro.datasets.transforms.denoise`).

    Event ``i`` is kept if a 4-neighbour (8-neighbour with ``diagonal``) of its pixel fired at
    ``tn`` with ``t[i] - tn < filter_time`` at an earlier index (events are processed in array
    order). The inputs must be valid: coordinates inside ``width x height``, ``t`` sorted.
    """
    return compiled("denoise")(x, y, t, int(width), int(height), int(filter_time), bool(diagonal))


def refractory_mask(x: np.ndarray, y: np.ndarray | None, t: np.ndarray, width: int, height: int, delta: int) -> np.ndarray:
    """Keep-mask of the refractory filter (see :func:`neuro.datasets.transforms.filter_refractory`).

    Event ``i`` is kept if its pixel (``y * width + x``, or channel ``x`` when ``y`` is None) has
    no kept event yet or its last kept event is at least ``delta`` µs earlier.
    """
    use_y = y is not None
    return compiled("refractory")(x, y if use_y else x, use_y, t, int(width), int(height), int(delta))


def first_invalid(events: np.ndarray, sensor_size: tuple[int, int, int] | None) -> int:
    """Index of the first event that breaks an event-array rule, or -1 if all are valid.

    One compiled pass over an array that already has a canonical dtype, checking what
    :func:`neuro.core.events.validate_events` checks for it: ``t`` non-negative and
    non-decreasing, coordinates non-negative and, with ``sensor_size``, inside the sensor, and
    ``0 <= p < max(P, 2)``. Callers re-run ``validate_events`` on failure for its typed error.
    """
    big = np.iinfo(np.int32).max
    w, h, n_p = (big, big, big) if sensor_size is None else (sensor_size[0], sensor_size[1], max(sensor_size[2], 2))
    names = events.dtype.names or ()
    use_y = "y" in names
    y = events["y"] if use_y else events["x"]
    return int(compiled("first_invalid")(events["x"], y, use_y, events["t"], events["p"], w, h, n_p))

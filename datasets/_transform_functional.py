"""Pure functions over event arrays: the functional forms of :mod:`neuro.datasets.transforms`.

Every function validates its input (:func:`neuro.core.events.validate_events`, against the
sensor when it takes one), never modifies it, and returns a new canonical, time-sorted array.
Functions that draw random numbers take a required ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neuro.core.errors import EventValueError, ParameterError
from neuro.core.events import SensorSize, check_sensor_size, is_audio
from neuro.datasets import _transform_kernels as kernels
from neuro.datasets._transform_checks import check_events, check_int, check_real, check_rng, check_size2, require_2d, take


def denoise(events: np.ndarray, sensor_size: Sequence[int], filter_time: int, *, diagonal: bool = False) -> np.ndarray:
    """Drop events that no neighbouring pixel supports in time (a background-activity filter).

    An event at pixel ``(x, y)`` and time ``t`` is kept if one of its 4 neighbours (8 with
    ``diagonal``) fired at ``tn`` with ``t - tn < filter_time``, counting only events earlier in
    the array (simultaneous events count in array order). The event's own pixel does not count.
    Unlike tonic, pixels that never fired never support an event (tonic initialises its memory
    to ``filter_time``, so it keeps every event with a neighbour and ``t < filter_time``).

    Args:
        events: 2-D events.
        sensor_size: ``(W, H, P)``.
        filter_time: support window in µs, positive.
        diagonal: also count the 4 diagonal neighbours.

    Returns:
        The kept events, in order.

    Raises:
        ParameterError: ``filter_time`` not a positive whole number.
        EventFieldError: 1-D (audio) events.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 1, 5], y=[0, 0, 5], t=[0, 10, 20], p=[1, 1, 1])
        >>> denoise(e, (8, 8, 2), filter_time=100)["x"].tolist()
        [1]
    """
    events, size = check_events(events, sensor_size)
    require_2d(events, "denoise")
    ft = check_int(filter_time, "filter_time", low=1)
    w, h, _ = size  # type: ignore[misc]
    return take(events, kernels.denoise_mask(events["x"], events["y"], events["t"], w, h, ft, bool(diagonal)))


def filter_refractory(events: np.ndarray, sensor_size: Sequence[int], delta: int) -> np.ndarray:
    """Drop every event that comes less than ``delta`` µs after its pixel's previous kept event.

    Pixels are ``(x, y)`` (polarities share one refractory state); 1-D events use the channel
    ``x``. ``delta = 0`` keeps everything. tonic's ``RefractoryPeriod`` differs: it measures from
    the pixel's previous event whether kept or not, and needs ``t - t_prev > delta``.

    Args:
        events: 2-D or 1-D events.
        sensor_size: ``(W, H, P)`` (audio ``(C, 1, 1)``).
        delta: refractory period in µs, non-negative.

    Returns:
        The kept events, in order.

    Raises:
        ParameterError: ``delta`` not a non-negative whole number.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 0, 0, 1], y=[0, 0, 0, 0], t=[0, 5, 12, 13], p=[1, 0, 1, 1])
        >>> filter_refractory(e, (2, 1, 2), delta=10)["t"].tolist()
        [0, 12, 13]
    """
    events, size = check_events(events, sensor_size)
    d = check_int(delta, "delta")
    w, h, _ = size  # type: ignore[misc]
    y = None if is_audio(events) else events["y"]
    return take(events, kernels.refractory_mask(events["x"], y, events["t"], w, 1 if y is None else h, d))


def downsampled_sensor_size(
    sensor_size: Sequence[int],
    *,
    spatial_factor: float | tuple[float, float] | None = None,
    target_size: tuple[int, int] | None = None,
) -> SensorSize:
    """Sensor size after :func:`downsample` with the same spatial arguments.

    With a factor ``f`` a width ``W`` becomes ``floor((W - 1) f) + 1`` (the largest coordinate
    plus one); with ``target_size`` it is the target.

    Raises:
        ParameterError: invalid sensor size, factor or target.
    """
    size = check_sensor_size(sensor_size)
    fx, fy, target = _spatial_rule(size, spatial_factor, target_size)
    if target is not None:
        return (target[0], target[1], size[2])
    return (math.floor((size[0] - 1) * fx) + 1, math.floor((size[1] - 1) * fy) + 1, size[2])


def _spatial_rule(size: SensorSize, spatial_factor: Any, target_size: Any) -> tuple[float, float, tuple[int, int] | None]:
    if spatial_factor is not None and target_size is not None:
        raise ParameterError("give spatial_factor or target_size, not both", field="target_size")
    if target_size is not None:
        target = check_size2(target_size, "target_size", size)
        return target[0] / size[0], target[1] / size[1], target
    factor = 1.0 if spatial_factor is None else spatial_factor
    pair = factor if isinstance(factor, tuple | list) else (factor, factor)
    if len(pair) != 2:
        raise ParameterError(f"spatial_factor must be a number or a pair, got {factor!r}", field="spatial_factor")
    fx, fy = (check_real(f, "spatial_factor", high=1.0) for f in pair)
    if fx == 0 or fy == 0:
        raise ParameterError(f"spatial_factor must be positive, got {factor!r}", field="spatial_factor")
    return fx, fy, None


def downsample(
    events: np.ndarray,
    sensor_size: Sequence[int],
    *,
    spatial_factor: float | tuple[float, float] | None = None,
    target_size: tuple[int, int] | None = None,
    time_factor: float = 1.0,
) -> np.ndarray:
    """Scale pixel coordinates (and optionally time) down; no event is dropped.

    ``x' = floor(x * fx)``, ``y' = floor(y * fy)`` with ``0 < f <= 1``, or, with
    ``target_size = (W', H')``, the exact integer map ``x' = (x * W') // W``. Time becomes
    ``floor(t * time_factor)`` (monotone, so the order is kept). 1-D events scale their channel
    ``x`` only. Several events may land on one pixel; all are kept.

    Args:
        events: 2-D or 1-D events.
        sensor_size: ``(W, H, P)``.
        spatial_factor: one factor or ``(fx, fy)`` in ``(0, 1]``; default 1.
        target_size: ``(W', H')`` no larger than the sensor, instead of a factor (1-D sensors:
            ``(C', 1)``).
        time_factor: positive multiplier of timestamps (e.g. ``1e-3`` for ms).

    Returns:
        Events on the sensor :func:`downsampled_sensor_size` gives.

    Raises:
        ParameterError: both or invalid spatial arguments, or a non-positive ``time_factor``.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 3, 127], y=[1, 2, 127], t=[0, 10, 25], p=[1, 0, 1])
        >>> downsample(e, (128, 128, 2), target_size=(32, 32))["x"].tolist()
        [0, 0, 31]
    """
    events, size = check_events(events, sensor_size)
    fx, fy, target = _spatial_rule(size, spatial_factor, target_size)  # type: ignore[arg-type]
    tf = check_real(time_factor, "time_factor", high=math.inf)
    if tf == 0:
        raise ParameterError("time_factor must be positive, got 0", field="time_factor")
    out = take(events)
    axes = (("x", 0, fx),) if is_audio(events) else (("x", 0, fx), ("y", 1, fy))
    for name, axis, f in axes:
        if target is not None:
            out[name] = events[name].astype(np.int64) * target[axis] // size[axis]  # type: ignore[index]
        elif f != 1.0:
            out[name] = np.floor(events[name] * f).astype(np.int64)
    if tf != 1.0:
        out["t"] = np.floor(events["t"] * tf).astype(np.int64)
    return out


def jitter_time(events: np.ndarray, std: float, rng: np.random.Generator, *, drop_negative: bool = True) -> np.ndarray:
    """Add Gaussian noise ``N(0, std²)`` µs to every timestamp, round, and re-sort in time.

    Events pushed below ``t = 0`` are dropped (``drop_negative``, tonic's ``clip_negative``) or
    clamped to 0. The sort is stable, so events that end up simultaneous keep their order.

    Args:
        events: 2-D or 1-D events.
        std: standard deviation in µs, non-negative.
        rng: the random generator.
        drop_negative: drop events with a negative new time instead of clamping them to 0.

    Returns:
        The jittered events, sorted by time.

    Raises:
        ParameterError: negative ``std`` or no Generator.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 1], y=[0, 0], t=[1000, 2000], p=[1, 1])
        >>> len(jitter_time(e, std=10.0, rng=np.random.default_rng(0)))
        2
    """
    events, _ = check_events(events)
    s = check_real(std, "std")
    rng = check_rng(rng)
    t = np.rint(events["t"] + rng.normal(0.0, s, len(events))).astype(np.int64) if s > 0 else events["t"].copy()
    out = take(events)
    if drop_negative:
        keep = t >= 0
        out, t = take(out, keep), t[keep]
    else:
        np.maximum(t, 0, out=t)
    order = np.argsort(t, kind="stable")
    out = take(out, order)
    out["t"] = t[order]
    return out


def drop_events(events: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Drop each event independently with probability ``p`` (the kept count is ``Binomial(n, 1 - p)``).

    tonic's ``DropEvent`` instead drops exactly ``round(p n)`` events.

    Args:
        events: 2-D or 1-D events.
        p: drop probability in ``[0, 1]``.
        rng: the random generator.

    Returns:
        The kept events, in order.

    Raises:
        ParameterError: ``p`` outside ``[0, 1]`` or no Generator.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 1, 2], y=[0, 0, 0], t=[0, 1, 2], p=[1, 1, 1])
        >>> len(drop_events(e, 1.0, np.random.default_rng(0)))
        0
    """
    events, _ = check_events(events)
    q = check_real(p, "p", high=1.0)
    rng = check_rng(rng)
    return take(events, rng.random(len(events)) >= q)


def drop_by_time(events: np.ndarray, duration_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Drop the events of one random time window covering ``duration_ratio`` of the recording.

    With ``span = t_last - t_first + 1`` and ``d = floor(duration_ratio * span)``, the window is
    ``[s, s + d)`` with ``s`` uniform in ``[t_first, t_first + span - d]``.

    Args:
        events: 2-D or 1-D events.
        duration_ratio: fraction of the span in ``[0, 1)``.
        rng: the random generator.

    Returns:
        The events outside the window, in order.

    Raises:
        ParameterError: ``duration_ratio`` outside ``[0, 1)`` or no Generator.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0] * 4, y=[0] * 4, t=[0, 10, 20, 30], p=[1] * 4)
        >>> len(drop_by_time(e, 0.0, np.random.default_rng(0)))
        4
    """
    events, _ = check_events(events)
    r = check_real(duration_ratio, "duration_ratio", high=1.0, high_open=True)
    rng = check_rng(rng)
    if len(events) == 0:
        return take(events)
    t = events["t"]
    span = int(t[-1]) - int(t[0]) + 1
    d = math.floor(r * span)
    start = int(t[0]) + int(rng.integers(0, span - d + 1))
    lo, hi = np.searchsorted(t, [start, start + d], side="left")
    return take(events, np.r_[0:lo, hi : len(events)])


def drop_by_area(events: np.ndarray, sensor_size: Sequence[int], area_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Drop the events inside one random box of ``floor(W r) x floor(H r)`` pixels.

    The box's corner is uniform over all positions that keep it inside the sensor.

    Args:
        events: 2-D events.
        sensor_size: ``(W, H, P)``.
        area_ratio: side ratio ``r`` in ``[0, 1)``.
        rng: the random generator.

    Returns:
        The events outside the box, in order.

    Raises:
        ParameterError: ``area_ratio`` outside ``[0, 1)`` or no Generator.
        EventFieldError: 1-D (audio) events.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 1, 2], y=[0, 0, 0], t=[0, 1, 2], p=[1, 1, 1])
        >>> len(drop_by_area(e, (3, 1, 2), 0.0, np.random.default_rng(0)))
        3
    """
    events, size = check_events(events, sensor_size)
    require_2d(events, "drop_by_area")
    r = check_real(area_ratio, "area_ratio", high=1.0, high_open=True)
    rng = check_rng(rng)
    w, h, _ = size  # type: ignore[misc]
    cw, ch = math.floor(w * r), math.floor(h * r)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    x, y = events["x"], events["y"]
    inside = (x >= x0) & (x < x0 + cw) & (y >= y0) & (y < y0 + ch)
    return take(events, ~inside)


def crop(events: np.ndarray, sensor_size: Sequence[int], origin: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Keep the events inside the window ``[x0, x0 + w) x [y0, y0 + h)``, shifted to start at 0.

    Args:
        events: 2-D events.
        sensor_size: ``(W, H, P)``.
        origin: ``(x0, y0)``, non-negative.
        size: ``(w, h)``; the window must fit inside the sensor.

    Returns:
        Events on the sensor ``(w, h, P)``, in order.

    Raises:
        ParameterError: a window that does not fit (field ``origin`` or ``size``).
        EventFieldError: 1-D (audio) events.

    Example:
        >>> from neuro.core.events import make_events
        >>> e = make_events(x=[0, 2, 3], y=[0, 1, 1], t=[0, 1, 2], p=[1, 1, 1])
        >>> crop(e, (4, 2, 2), origin=(2, 0), size=(2, 2))["x"].tolist()
        [0, 1]
    """
    events, sensor = check_events(events, sensor_size)
    require_2d(events, "crop")
    w, h = check_size2(size, "size", sensor)
    x0 = check_int(origin[0], "origin", high=sensor[0] - w)  # type: ignore[index]
    y0 = check_int(origin[1], "origin", high=sensor[1] - h)  # type: ignore[index]
    x, y = events["x"], events["y"]
    out = take(events, (x >= x0) & (x < x0 + w) & (y >= y0) & (y < y0 + h))
    out["x"] -= x0
    out["y"] -= y0
    return out


def flip_lr(events: np.ndarray, sensor_size: Sequence[int]) -> np.ndarray:
    """Mirror left-right: ``x' = W - 1 - x``.

    Example:
        >>> from neuro.core.events import make_events
        >>> flip_lr(make_events(x=[0, 3], y=[0, 0], t=[0, 1], p=[1, 1]), (4, 1, 2))["x"].tolist()
        [3, 0]
    """
    events, size = check_events(events, sensor_size)
    require_2d(events, "flip_lr")
    out = take(events)
    out["x"] = size[0] - 1 - events["x"]  # type: ignore[index]
    return out


def flip_ud(events: np.ndarray, sensor_size: Sequence[int]) -> np.ndarray:
    """Mirror up-down: ``y' = H - 1 - y``.

    Example:
        >>> from neuro.core.events import make_events
        >>> flip_ud(make_events(x=[0, 0], y=[0, 2], t=[0, 1], p=[1, 1]), (1, 3, 2))["y"].tolist()
        [2, 0]
    """
    events, size = check_events(events, sensor_size)
    require_2d(events, "flip_ud")
    out = take(events)
    out["y"] = size[1] - 1 - events["y"]  # type: ignore[index]
    return out


def _inverted_polarity(events: np.ndarray) -> np.ndarray:
    p = events["p"]
    if len(p) and p.max() > 1:
        i = int(np.flatnonzero(p > 1)[0])
        raise EventValueError(f"polarity flip needs p in {{0, 1}}, got p = {p[i]} at index {i}", "p", i)
    return 1 - p


def flip_polarity(events: np.ndarray) -> np.ndarray:
    """Swap ON and OFF: ``p' = 1 - p``.

    Raises:
        EventValueError: a polarity other than 0 or 1.

    Example:
        >>> from neuro.core.events import make_events
        >>> flip_polarity(make_events(x=[0, 0], y=[0, 0], t=[0, 1], p=[1, 0]))["p"].tolist()
        [0, 1]
    """
    events, _ = check_events(events)
    out = take(events)
    out["p"] = _inverted_polarity(events)
    return out


def reverse_time(events: np.ndarray, *, flip_polarities: bool = True) -> np.ndarray:
    """Play the recording backwards: ``t' = t_first + t_last - t``, array order reversed.

    The reflection keeps the recording's time span and is its own inverse (exactly, including
    the order of simultaneous events). For recordings that start at ``t = 0`` it equals tonic's
    ``t' = max(t) - t``. A brightness increase seen backwards is a decrease, so polarities are
    swapped by default.

    Example:
        >>> from neuro.core.events import make_events
        >>> r = reverse_time(make_events(x=[0, 1], y=[0, 0], t=[5, 8], p=[1, 1]))
        >>> r["t"].tolist(), r["x"].tolist(), r["p"].tolist()
        ([5, 8], [1, 0], [0, 0])
    """
    events, _ = check_events(events)
    out = take(events, slice(None, None, -1))
    if len(out):
        out["t"] = int(events["t"][0]) + int(events["t"][-1]) - out["t"]
        if flip_polarities:
            out["p"] = _inverted_polarity(out)
    return out


def merge_polarities(events: np.ndarray) -> np.ndarray:
    """Set every polarity to 0 (the output sensor has ``P = 1``).

    Example:
        >>> from neuro.core.events import make_events
        >>> merge_polarities(make_events(x=[0, 0], y=[0, 0], t=[0, 1], p=[1, 0]))["p"].tolist()
        [0, 0]
    """
    events, _ = check_events(events)
    out = take(events)
    out["p"] = 0
    return out

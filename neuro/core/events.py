"""Event arrays: creation, validation and conversion to dense tensors.

Events follow tonic's convention without depending on tonic: a 1-D numpy structured array with
named fields ``x, y, t, p`` (audio and other 1-D sensors: ``t, x, p``), ``t`` in integer
microseconds, sorted in time, and ``sensor_size = (W, H, P)`` (audio: ``(channels, 1, 1)``).
Fields are always read **by name**: numpy's structured ``astype`` maps fields by position and
silently scrambles arrays whose field order differs (tonic's datasets use xytp, txyp, xypt,
ptxy...), so :func:`to_canonical` copies field by field.

Dense outputs are time-first: frames ``(T, P, H, W)``; audio frames ``(T, P, 1, C)``.
With a single polarity channel (``P == 1``) polarities 0 and 1 are both accepted and merged
(tonic writes ``p = 1`` for audio).

Example:
    >>> import numpy as np
    >>> from neuro.core import events as ev
    >>> e = ev.make_events(x=[0, 3, 1], y=[1, 0, 1], t=[0, 10, 25], p=[1, 0, 1])
    >>> ev.to_frames(e, (4, 2, 2), n_time_bins=2).shape
    (2, 2, 2, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neuro.core.errors import EventFieldError, EventValueError, ParameterError

EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])
"""Canonical dtype of 2-D sensor events (x, y: int16; t: int64 µs; p: int8)."""

AUDIO_DTYPE = np.dtype([("t", "<i8"), ("x", "<i2"), ("p", "<i1")])
"""Canonical dtype of 1-D sensor events such as cochlea channels (SHD layout)."""

SensorSize = tuple[int, int, int]


def is_audio(events: np.ndarray) -> bool:
    """True if ``events`` has no ``y`` field (the 1-D ``t, x, p`` layout)."""
    return events.dtype.names is not None and "y" not in events.dtype.names


def make_events(
    *,
    t: Any,
    x: Any,
    p: Any,
    y: Any = None,
    sensor_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Build a validated event array in the canonical dtype.

    Args:
        t: timestamps in integer microseconds, non-decreasing.
        x: pixel column (or channel of a 1-D sensor).
        y: pixel row; omit it for 1-D sensors.
        p: polarity (0 = OFF, 1 = ON).
        sensor_size: ``(W, H, P)``; when given, coordinates and polarities are checked.

    Returns:
        A structured array of dtype :data:`EVENT_DTYPE` (or :data:`AUDIO_DTYPE` without ``y``).

    Raises:
        EventFieldError, EventValueError: see :func:`validate_events`.
    """
    columns = {"t": t, "x": x, "p": p} if y is None else {"x": x, "y": y, "t": t, "p": p}
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    lengths = {k: a.shape for k, a in arrays.items()}
    if any(a.ndim != 1 for a in arrays.values()) or len({a.shape for a in arrays.values()}) != 1:
        raise EventFieldError(f"event fields must be 1-D and of equal length, got shapes {lengths}")
    raw = np.empty(len(arrays["t"]), dtype=[(k, a.dtype) for k, a in arrays.items()])
    for k, a in arrays.items():
        raw[k] = a
    return validate_events(raw, sensor_size)


def check_sensor_size(sensor_size: Sequence[int]) -> SensorSize:
    """Validate ``(W, H, P)``: three positive integers.

    Raises:
        ParameterError: anything else.
    """
    try:
        size = tuple(int(s) for s in sensor_size)
        ok = len(size) == 3 and all(s > 0 and s == v for s, v in zip(size, sensor_size, strict=True))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(
            f"sensor_size must be three positive integers (W, H, P), got {sensor_size!r}",
            field="sensor_size",
        )
    return size  # type: ignore[return-value]


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_integral(events: np.ndarray, name: str) -> np.ndarray:
    values = events[name]
    kind = values.dtype.kind
    if kind in "iub":
        return values
    if kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            i = _first(bad)
            raise EventValueError(f"field {name!r} is not finite at index {i}: {values[i]}", name, i)
        frac = values != np.round(values)
        if frac.any():
            i = _first(frac)
            raise EventValueError(
                f"field {name!r} must hold whole numbers, got {values[i]} at index {i}", name, i
            )
        return values
    raise EventFieldError(
        f"field {name!r} must be integer, bool or whole-valued float, got dtype {values.dtype}",
        name,
    )


def validate_events(
    events: Any,
    sensor_size: Sequence[int] | None = None,
    *,
    allow_empty: bool = True,
) -> np.ndarray:
    """Check an event array and return it in the canonical dtype (fields copied by name).

    Checks, in order: a structured array with fields ``t``, ``x``, ``p`` (and ``y`` unless it
    is a 1-D sensor); integer ``t``; whole-numbered, finite ``x``, ``y``, ``p``; non-negative,
    non-decreasing ``t``; and, when ``sensor_size`` is given, ``0 <= x < W``, ``0 <= y < H``
    and ``0 <= p < max(P, 2)``.

    Raises:
        EventFieldError: not a structured array, a missing field, or a wrong dtype kind
            (``.field`` names it).
        EventValueError: NaN, negative or decreasing time, a coordinate or polarity outside
            the sensor, or an empty array when ``allow_empty`` is False (``.field`` and
            ``.index`` name the first offending event).
        ParameterError: ``sensor_size`` is not three positive integers.
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise EventFieldError(
            "events must be a numpy structured array with named fields x, y, t, p "
            f"(or t, x, p), got {type(events).__name__}"
            + (f" of dtype {events.dtype}" if isinstance(events, np.ndarray) else "")
        )
    if events.ndim != 1:
        raise EventFieldError(f"events must be 1-D, got shape {events.shape}")
    names = events.dtype.names
    audio = "y" not in names
    for required in ("t", "x", "p"):
        if required not in names:
            raise EventFieldError(f"events have no field {required!r} (fields: {names})", required)
    if not allow_empty and len(events) == 0:
        raise EventValueError("the event array is empty")
    t = events["t"]
    if t.dtype.kind not in "iu":
        raise EventFieldError(
            f"field 't' must be integer microseconds, got dtype {t.dtype}; convert seconds "
            "with np.round(t * 1e6).astype(np.int64)",
            "t",
        )
    for name in ("x", "p") if audio else ("x", "y", "p"):
        _check_integral(events, name)
    if len(t):
        if (t < 0).any():
            i = _first(t < 0)
            raise EventValueError(f"negative timestamp {t[i]} at index {i}", "t", i)
        dec = np.diff(t) < 0
        if dec.any():
            i = _first(dec) + 1
            raise EventValueError(
                f"timestamps decrease at index {i} ({t[i - 1]} -> {t[i]}); sort with "
                "events[np.argsort(events['t'], kind='stable')]",
                "t",
                i,
            )
    for name in ("x", "p") if audio else ("x", "y", "p"):
        negative = events[name] < 0
        if negative.any():
            i = _first(negative)
            raise EventValueError(f"field {name!r} is negative at index {i}", name, i)
    if sensor_size is not None:
        w, h, n_p = check_sensor_size(sensor_size)
        limits = {"x": w, "p": max(n_p, 2)} if audio else {"x": w, "y": h, "p": max(n_p, 2)}
        for name, upper in limits.items():
            values = events[name]
            bad = (values < 0) | (values >= upper)
            if bad.any():
                i = _first(bad)
                raise EventValueError(
                    f"field {name!r} = {values[i]} at index {i} is outside [0, {upper}) for "
                    f"sensor_size {tuple(sensor_size)}",
                    name,
                    i,
                )
    return to_canonical(events)


def to_canonical(events: np.ndarray) -> np.ndarray:
    """Copy ``events`` into :data:`EVENT_DTYPE` / :data:`AUDIO_DTYPE`, field by field by name.

    Returns ``events`` itself when it already has the canonical dtype.
    """
    dtype = AUDIO_DTYPE if is_audio(events) else EVENT_DTYPE
    if events.dtype == dtype:
        return events
    out = np.empty(len(events), dtype=dtype)
    for name in dtype.names:  # type: ignore[union-attr]
        src = events[name]
        if len(src) and src.dtype.kind in "iuf":
            info = np.iinfo(dtype[name])
            over = (src < info.min) | (src > info.max)
            if over.any():
                i = _first(over)
                raise EventValueError(
                    f"field {name!r} = {src[i]} at index {i} does not fit {dtype[name]}", name, i
                )
        out[name] = src
    return out


def _coords(events: np.ndarray, sensor_size: SensorSize) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = events["x"].astype(np.int64)
    y = np.zeros_like(x) if is_audio(events) else events["y"].astype(np.int64)
    p = events["p"].astype(np.int64)
    if sensor_size[2] == 1:
        p = np.zeros_like(p)
    return x, y, p


def _frame_shape(events: np.ndarray, sensor_size: SensorSize) -> tuple[int, int, int]:
    w, h, n_p = sensor_size
    return (n_p, 1, w) if is_audio(events) else (n_p, h, w)


def _accumulate(events: np.ndarray, sensor_size: SensorSize, bins: list[tuple[int, int]]) -> np.ndarray:
    """Count events of each index range ``[lo, hi)`` into one frame per range."""
    x, y, p = _coords(events, sensor_size)
    n_p, h, w = _frame_shape(events, sensor_size)
    flat = (p * h + (0 if is_audio(events) else y)) * w + x
    frames = np.zeros((len(bins), n_p * h * w), dtype=np.int32)
    for k, (lo, hi) in enumerate(bins):
        frames[k] = np.bincount(flat[lo:hi], minlength=n_p * h * w)
    return frames.reshape(len(bins), n_p, h, w)


def _one_of(**kwargs: Any) -> str:
    given = [k for k, v in kwargs.items() if v is not None]
    if len(given) != 1:
        raise ParameterError(
            f"give exactly one of {sorted(kwargs)}, got {given or 'none'}", field=given[0] if given else None
        )
    return given[0]


def to_frames(
    events: np.ndarray,
    sensor_size: Sequence[int],
    *,
    time_window: int | None = None,
    event_count: int | None = None,
    n_time_bins: int | None = None,
    overlap: int = 0,
    include_incomplete: bool = False,
    start_time: int | None = None,
    end_time: int | None = None,
) -> np.ndarray:
    """Count events into frames.

    Exactly one slicing rule:

    * ``time_window`` (µs): frames over ``[start + k s, start + k s + time_window)`` with stride
      ``s = time_window - overlap`` (``overlap`` in µs); the last, incomplete window is kept
      only with ``include_incomplete``;
    * ``event_count``: frames of that many consecutive events (``overlap`` in events);
    * ``n_time_bins``: ``[start, end)`` cut into that many equal bins.

    ``start_time`` defaults to the first event, ``end_time`` (exclusive) to one past the last.

    Shape:
        ``(T, P, H, W)``, int32 counts; 1-D sensors give ``(T, P, 1, C)``.

    Raises:
        ParameterError: not exactly one slicing rule, or a non-positive window, count or
            stride.
        EventFieldError, EventValueError: invalid events (see :func:`validate_events`).
    """
    size = check_sensor_size(sensor_size)
    events = validate_events(events, size)
    rule = _one_of(time_window=time_window, event_count=event_count, n_time_bins=n_time_bins)
    value = {"time_window": time_window, "event_count": event_count, "n_time_bins": n_time_bins}[rule]
    if int(value) <= 0:  # type: ignore[arg-type]
        raise ParameterError(f"{rule} must be positive, got {value}", field=rule)
    t = events["t"]
    start = int(t[0]) if start_time is None and len(t) else int(start_time or 0)
    end = int(t[-1]) + 1 if end_time is None and len(t) else int(end_time or start)
    bins: list[tuple[int, int]] = []
    if rule == "n_time_bins":
        edges = start + (np.arange(n_time_bins + 1) * (end - start)) // n_time_bins  # type: ignore[operator]
        idx = np.searchsorted(t, edges, side="left")
        bins = [(int(idx[k]), int(idx[k + 1])) for k in range(n_time_bins)]  # type: ignore[arg-type]
    else:
        stride = int(value) - int(overlap)  # type: ignore[arg-type]
        if stride <= 0:
            raise ParameterError(f"overlap {overlap} must be smaller than {rule} {value}", "overlap")
        if rule == "time_window":
            k = 0
            while start + k * stride < end:
                lo_t = start + k * stride
                hi_t = lo_t + int(time_window)  # type: ignore[arg-type]
                if hi_t > end and not include_incomplete:
                    break
                lo, hi = np.searchsorted(t, [lo_t, hi_t], side="left")
                bins.append((int(lo), int(hi)))
                k += 1
        else:
            lo_i = int(np.searchsorted(t, start, side="left"))
            hi_i = int(np.searchsorted(t, end, side="left"))
            k = lo_i
            while k < hi_i:
                hi = k + int(event_count)  # type: ignore[arg-type]
                if hi > hi_i and not include_incomplete:
                    break
                bins.append((k, min(hi, hi_i)))
                k += stride
    return _accumulate(events, size, bins)


def to_voxel_grid(events: np.ndarray, sensor_size: Sequence[int], n_time_bins: int) -> np.ndarray:
    """Voxel grid of Zhu et al. (2019): each event adds its polarity (+1 ON, -1 OFF) to the two
    nearest time bins, weighted linearly by distance.

    Timestamps are normalised to ``[0, n_time_bins - 1]`` over the array's time span.
    Polarity is cast to an integer first (on bool arrays ``p == 0 -> -1`` is a no-op).

    Shape:
        ``(n_time_bins, 1, H, W)`` float64; 1-D sensors give ``(n_time_bins, 1, 1, C)``.
    """
    size = check_sensor_size(sensor_size)
    events = validate_events(events, size)
    if int(n_time_bins) <= 0:
        raise ParameterError(f"n_time_bins must be positive, got {n_time_bins}", "n_time_bins")
    _, h, w = _frame_shape(events, size)
    grid = np.zeros((n_time_bins, h * w), dtype=np.float64)
    if len(events):
        t = events["t"].astype(np.float64)
        span = t[-1] - t[0]
        tn = (t - t[0]) * ((n_time_bins - 1) / span) if span > 0 else np.zeros_like(t)
        x = events["x"].astype(np.int64)
        y = np.zeros_like(x) if is_audio(events) else events["y"].astype(np.int64)
        pol = np.where(events["p"].astype(np.int64) > 0, 1.0, -1.0)
        lower = np.floor(tn).astype(np.int64)
        frac = tn - lower
        flat = y * w + x
        size_flat = n_time_bins * h * w
        # weighted bincount over (bin, pixel): the upper tap of the last bin falls off the grid
        upper = lower + 1
        keep = upper < n_time_bins
        grid = np.bincount(lower * (h * w) + flat, pol * (1.0 - frac), minlength=size_flat)
        grid += np.bincount((upper * (h * w) + flat)[keep], (pol * frac)[keep], minlength=size_flat)
    return grid.reshape(n_time_bins, 1, h, w)


def slice_by_time(events: np.ndarray, start: int, end: int) -> np.ndarray:
    """The events with ``start <= t < end`` (µs), as a view."""
    events = validate_events(events)
    lo, hi = np.searchsorted(events["t"], [start, end], side="left")
    return events[lo:hi]


def concatenate(arrays: Sequence[np.ndarray], offsets: Sequence[int] | None = None) -> np.ndarray:
    """Join event arrays in time.

    Array ``k`` is shifted by ``offsets[k]`` µs. Without offsets, each array starts one
    microsecond after the previous array's last event, its own timing kept (offset ``k`` is
    the sum of ``t_last + 1`` over the arrays before it).

    Raises:
        EventFieldError: the arrays mix 2-D and 1-D layouts, or ``offsets`` has the wrong
            length.
        EventValueError: the shifted timestamps are not non-decreasing.
    """
    parts = [validate_events(a) for a in arrays]
    if not parts:
        return np.empty(0, dtype=EVENT_DTYPE)
    if len({is_audio(a) for a in parts}) > 1:
        raise EventFieldError("cannot concatenate 2-D (x, y, t, p) and 1-D (t, x, p) events")
    if offsets is None:
        ends = [int(a["t"][-1]) + 1 if len(a) else 0 for a in parts]
        offsets = [int(v) for v in np.concatenate([[0], np.cumsum(ends[:-1])])]
    if len(offsets) != len(parts):
        raise EventFieldError(f"got {len(offsets)} offsets for {len(parts)} arrays", "t")
    shifted = []
    for a, off in zip(parts, offsets, strict=True):
        b = a.copy()
        b["t"] += int(off)
        shifted.append(b)
    return validate_events(np.concatenate(shifted))

"""Event transforms: pure functions over event arrays and thin frozen-dataclass wrappers.

Every transform takes a structured event array (``x, y, t, p``; 1-D sensors ``t, x, p``, see
:mod:`neuro.core.events`), validates it against the sensor it carries, leaves it untouched and
returns a **new canonical, time-sorted** array; :class:`ToFrames` and :class:`ToVoxelGrid` end
a pipeline with a dense tensor. Transforms that change the sensor (:class:`RandomCrop`,
:class:`CenterCrop`, :class:`Downsample`, :class:`MergePolarities`) expose
``output_sensor_size`` for the next step.

**Randomness rule.** Every transform is called as ``transform(events, rng=None)``. Random
transforms need an explicit ``numpy.random.Generator`` and raise :class:`ParameterError`
(field ``rng``) when given ``None``: there is no hidden global or default seed, and the
output is a deterministic function of the events and the generator's state. Deterministic
transforms accept and ignore ``rng``, so :class:`Compose` passes one generator through the
whole chain. Give each data-loader worker its own generator (``np.random.default_rng(seed).spawn``).

The functional forms (``denoise``, ``filter_refractory``, ...) are the pure functions behind
the classes; the two per-pixel filters run a compiled Numba loop.

Example:
    >>> import numpy as np
    >>> from neuro.core.events import make_events
    >>> e = make_events(x=[0, 1, 5, 6], y=[0, 0, 5, 5], t=[0, 10, 20, 30], p=[1, 0, 1, 1])
    >>> pipeline = Compose([Denoise((8, 8, 2), filter_time=100), RandomFlipLR((8, 8, 2), p=1.0)])
    >>> pipeline(e, rng=np.random.default_rng(0))["x"].tolist()
    [6, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.events import SensorSize, check_sensor_size, to_frames, to_voxel_grid
from neuro.datasets._transform_checks import check_events, check_int, check_real, check_rng, check_size2, require_2d, take
from neuro.datasets._transform_functional import (
    crop,
    denoise,
    downsample,
    downsampled_sensor_size,
    drop_by_area,
    drop_by_time,
    drop_events,
    filter_refractory,
    flip_lr,
    flip_polarity,
    flip_ud,
    jitter_time,
    merge_polarities,
    reverse_time,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "Denoise",
    "Downsample",
    "DropByArea",
    "DropByTime",
    "DropEvents",
    "EventTransform",
    "MergePolarities",
    "RandomCrop",
    "RandomFlipLR",
    "RandomFlipPolarity",
    "RandomFlipUD",
    "RandomTimeReversal",
    "RefractoryFilter",
    "TimeJitter",
    "ToFrames",
    "ToVoxelGrid",
    "crop",
    "denoise",
    "downsample",
    "downsampled_sensor_size",
    "drop_by_area",
    "drop_by_time",
    "drop_events",
    "filter_refractory",
    "flip_lr",
    "flip_polarity",
    "flip_ud",
    "jitter_time",
    "merge_polarities",
    "reverse_time",
]


class EventTransform(Protocol):
    """Anything called as ``transform(events, rng=None)`` that returns events (or a tensor at the end)."""

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray: ...


def _set_sensor(obj: Any) -> SensorSize:
    size = check_sensor_size(obj.sensor_size)
    object.__setattr__(obj, "sensor_size", size)
    return size


def _check_p(p: Any) -> None:
    check_real(p, "p", high=1.0)


def _unchanged(events: np.ndarray, sensor_size: SensorSize | None = None, *, need_2d: str = "") -> np.ndarray:
    events, _ = check_events(events, sensor_size)
    if need_2d:
        require_2d(events, need_2d)  # the same error whatever the random draw
    return take(events)


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order, passing the same ``rng`` to each.

    Attributes:
        transforms: the transforms (any sequence; stored as a tuple).
    """

    transforms: Sequence[EventTransform]

    def __post_init__(self) -> None:
        items = tuple(self.transforms)
        for i, t in enumerate(items):
            if not callable(t):
                raise ParameterError(f"transforms[{i}] is not callable: {t!r}", field="transforms")
        object.__setattr__(self, "transforms", items)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            events = t(events, rng=rng)
        return events


@dataclass(frozen=True)
class Denoise:
    """Background-activity filter: keep an event only if a neighbour fired less than
    ``filter_time`` µs before (see :func:`denoise`). 2-D events only.

    Attributes:
        sensor_size: ``(W, H, P)``.
        filter_time: support window in µs.
        diagonal: 8-neighbourhood instead of 4.
    """

    sensor_size: SensorSize
    filter_time: int = 10_000
    diagonal: bool = False

    def __post_init__(self) -> None:
        _set_sensor(self)
        check_int(self.filter_time, "filter_time", low=1)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return denoise(events, self.sensor_size, self.filter_time, diagonal=self.diagonal)


@dataclass(frozen=True)
class RefractoryFilter:
    """Drop events less than ``delta`` µs after their pixel's (or channel's) previous kept
    event (see :func:`filter_refractory`).

    Attributes:
        sensor_size: ``(W, H, P)``; audio ``(C, 1, 1)``.
        delta: refractory period in µs.
    """

    sensor_size: SensorSize
    delta: int = 1_000

    def __post_init__(self) -> None:
        _set_sensor(self)
        check_int(self.delta, "delta")

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return filter_refractory(events, self.sensor_size, self.delta)


@dataclass(frozen=True)
class Downsample:
    """Scale coordinates by a factor or to a target size, and time by ``time_factor``
    (see :func:`downsample`).

    Attributes:
        sensor_size: input ``(W, H, P)``.
        spatial_factor: factor or ``(fx, fy)`` in ``(0, 1]``; exclusive with ``target_size``.
        target_size: ``(W', H')``.
        time_factor: positive multiplier of timestamps.
    """

    sensor_size: SensorSize
    spatial_factor: float | tuple[float, float] | None = None
    target_size: tuple[int, int] | None = None
    time_factor: float = 1.0

    def __post_init__(self) -> None:
        _set_sensor(self)
        if check_real(self.time_factor, "time_factor") == 0:
            raise ParameterError("time_factor must be positive, got 0", field="time_factor")
        self.output_sensor_size  # noqa: B018 -- validates the spatial arguments

    @property
    def output_sensor_size(self) -> SensorSize:
        """The sensor size of the output events."""
        return downsampled_sensor_size(self.sensor_size, spatial_factor=self.spatial_factor, target_size=self.target_size)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return downsample(
            events,
            self.sensor_size,
            spatial_factor=self.spatial_factor,
            target_size=self.target_size,
            time_factor=self.time_factor,
        )


@dataclass(frozen=True)
class TimeJitter:
    """Random: Gaussian time jitter of ``std`` µs, re-sorted (see :func:`jitter_time`).

    Attributes:
        std: standard deviation in µs.
        drop_negative: drop events pushed below 0 (else clamp to 0).
    """

    std: float
    drop_negative: bool = True

    def __post_init__(self) -> None:
        check_real(self.std, "std")

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return jitter_time(events, self.std, check_rng(rng), drop_negative=self.drop_negative)


@dataclass(frozen=True)
class DropEvents:
    """Random: drop each event independently with probability ``p`` (see :func:`drop_events`).

    Attributes:
        p: drop probability in ``[0, 1]``.
    """

    p: float

    def __post_init__(self) -> None:
        _check_p(self.p)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return drop_events(events, self.p, check_rng(rng))


@dataclass(frozen=True)
class DropByTime:
    """Random: drop one time window covering ``duration_ratio`` of the recording
    (see :func:`drop_by_time`).

    Attributes:
        duration_ratio: in ``[0, 1)``.
    """

    duration_ratio: float = 0.2

    def __post_init__(self) -> None:
        check_real(self.duration_ratio, "duration_ratio", high=1.0, high_open=True)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return drop_by_time(events, self.duration_ratio, check_rng(rng))


@dataclass(frozen=True)
class DropByArea:
    """Random: drop the events of one box of ``floor(W r) x floor(H r)`` pixels
    (see :func:`drop_by_area`).

    Attributes:
        sensor_size: ``(W, H, P)``.
        area_ratio: side ratio ``r`` in ``[0, 1)``.
    """

    sensor_size: SensorSize
    area_ratio: float = 0.2

    def __post_init__(self) -> None:
        _set_sensor(self)
        check_real(self.area_ratio, "area_ratio", high=1.0, high_open=True)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return drop_by_area(events, self.sensor_size, self.area_ratio, check_rng(rng))


@dataclass(frozen=True)
class RandomCrop:
    """Random: crop a ``target_size`` window at a uniformly drawn position (see :func:`crop`).

    Attributes:
        sensor_size: input ``(W, H, P)``.
        target_size: ``(w, h)``, at most the sensor's.
    """

    sensor_size: SensorSize
    target_size: tuple[int, int]

    def __post_init__(self) -> None:
        size = _set_sensor(self)
        object.__setattr__(self, "target_size", check_size2(self.target_size, "target_size", size))

    @property
    def output_sensor_size(self) -> SensorSize:
        """``(w, h, P)``."""
        return (*self.target_size, self.sensor_size[2])

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = check_rng(rng)
        (w, h, _), (cw, ch) = self.sensor_size, self.target_size
        origin = (int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)))
        return crop(events, self.sensor_size, origin, self.target_size)


@dataclass(frozen=True)
class CenterCrop:
    """Crop the central ``target_size`` window, corner ``((W - w) // 2, (H - h) // 2)``.

    Attributes:
        sensor_size: input ``(W, H, P)``.
        target_size: ``(w, h)``, at most the sensor's.
    """

    sensor_size: SensorSize
    target_size: tuple[int, int]

    def __post_init__(self) -> None:
        size = _set_sensor(self)
        object.__setattr__(self, "target_size", check_size2(self.target_size, "target_size", size))

    @property
    def output_sensor_size(self) -> SensorSize:
        """``(w, h, P)``."""
        return (*self.target_size, self.sensor_size[2])

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        (w, h, _), (cw, ch) = self.sensor_size, self.target_size
        return crop(events, self.sensor_size, ((w - cw) // 2, (h - ch) // 2), self.target_size)


@dataclass(frozen=True)
class RandomFlipLR:
    """Random: with probability ``p``, mirror left-right (see :func:`flip_lr`).

    Attributes:
        sensor_size: ``(W, H, P)``.
        p: flip probability in ``[0, 1]``.
    """

    sensor_size: SensorSize
    p: float = 0.5

    def __post_init__(self) -> None:
        _set_sensor(self)
        _check_p(self.p)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if check_rng(rng).random() < self.p:
            return flip_lr(events, self.sensor_size)
        return _unchanged(events, self.sensor_size, need_2d="flip_lr")


@dataclass(frozen=True)
class RandomFlipUD:
    """Random: with probability ``p``, mirror up-down (see :func:`flip_ud`).

    Attributes:
        sensor_size: ``(W, H, P)``.
        p: flip probability in ``[0, 1]``.
    """

    sensor_size: SensorSize
    p: float = 0.5

    def __post_init__(self) -> None:
        _set_sensor(self)
        _check_p(self.p)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if check_rng(rng).random() < self.p:
            return flip_ud(events, self.sensor_size)
        return _unchanged(events, self.sensor_size, need_2d="flip_ud")


@dataclass(frozen=True)
class RandomFlipPolarity:
    """Random: with probability ``p``, swap ON and OFF for the whole recording
    (see :func:`flip_polarity`).

    Attributes:
        p: flip probability in ``[0, 1]``.
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        _check_p(self.p)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if check_rng(rng).random() < self.p:
            return flip_polarity(events)
        return _unchanged(events)


@dataclass(frozen=True)
class RandomTimeReversal:
    """Random: with probability ``p``, play the recording backwards (see :func:`reverse_time`).

    Attributes:
        p: probability in ``[0, 1]``.
        flip_polarities: also swap ON and OFF.
    """

    p: float = 0.5
    flip_polarities: bool = True

    def __post_init__(self) -> None:
        _check_p(self.p)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if check_rng(rng).random() < self.p:
            return reverse_time(events, flip_polarities=self.flip_polarities)
        return _unchanged(events)


@dataclass(frozen=True)
class MergePolarities:
    """Set every polarity to 0 (see :func:`merge_polarities`).

    Attributes:
        sensor_size: input ``(W, H, P)``.
    """

    sensor_size: SensorSize

    def __post_init__(self) -> None:
        _set_sensor(self)

    @property
    def output_sensor_size(self) -> SensorSize:
        """``(W, H, 1)``."""
        return (self.sensor_size[0], self.sensor_size[1], 1)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return merge_polarities(check_events(events, self.sensor_size)[0])


@dataclass(frozen=True)
class ToFrames:
    """Count events into frames ``(T, P, H, W)`` with :func:`neuro.core.events.to_frames`.

    Exactly one of ``time_window`` (µs), ``event_count`` or ``n_time_bins``.

    Attributes:
        sensor_size: ``(W, H, P)``.
        time_window: frame length in µs.
        event_count: events per frame.
        n_time_bins: number of equal time bins.
        overlap: overlap in µs (time windows) or events (event counts).
        include_incomplete: keep the last, incomplete frame.
    """

    sensor_size: SensorSize
    time_window: int | None = None
    event_count: int | None = None
    n_time_bins: int | None = None
    overlap: int = 0
    include_incomplete: bool = False

    def __post_init__(self) -> None:
        _set_sensor(self)
        rules = {"time_window": self.time_window, "event_count": self.event_count, "n_time_bins": self.n_time_bins}
        given = [k for k, v in rules.items() if v is not None]
        if len(given) != 1:
            raise ParameterError(f"give exactly one of {sorted(rules)}, got {given or 'none'}", field=(given or [None])[0])
        value = check_int(rules[given[0]], given[0], low=1)
        check_int(self.overlap, "overlap", high=0 if given[0] == "n_time_bins" else value - 1)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return to_frames(
            events,
            self.sensor_size,
            time_window=self.time_window,
            event_count=self.event_count,
            n_time_bins=self.n_time_bins,
            overlap=self.overlap,
            include_incomplete=self.include_incomplete,
        )


@dataclass(frozen=True)
class ToVoxelGrid:
    """Zhu et al. (2019) voxel grid ``(n_time_bins, 1, H, W)`` with
    :func:`neuro.core.events.to_voxel_grid`.

    Attributes:
        sensor_size: ``(W, H, P)``.
        n_time_bins: number of time bins.
    """

    sensor_size: SensorSize
    n_time_bins: int = field(default=10)

    def __post_init__(self) -> None:
        _set_sensor(self)
        check_int(self.n_time_bins, "n_time_bins", low=1)

    def __call__(self, events: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return to_voxel_grid(events, self.sensor_size, self.n_time_bins)

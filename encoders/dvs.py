r"""A DVS pixel emulator: frame sequences to ON/OFF events (the v2e / ESIM contrast model).

Each pixel sees the log intensity :math:`L = \ln(\epsilon + I)` of its frame intensity
:math:`I \in [0, 1]`, linearly interpolated between frames. It keeps a memorised reference
:math:`L_\mathrm{ref}` (set by the first frame) and emits

- an ON event when :math:`L - L_\mathrm{ref} \ge C_\mathrm{on}`, then :math:`L_\mathrm{ref} \mathrel{+}= C_\mathrm{on}`;
- an OFF event when :math:`L_\mathrm{ref} - L \ge C_\mathrm{off}`, then :math:`L_\mathrm{ref} \mathrel{-}= C_\mathrm{off}`,

at the interpolated crossing time (several events per frame interval when the change is large).
Thresholds differ per pixel: :math:`C \sim \mathcal N(C_0, \sigma_C)`, clipped at
``threshold_min``, drawn once per call. Further effects, each off by default in the ``clean``
preset:

- refractory period: an event closer than ``refractory_us`` to the pixel's previous event is
  dropped (the pixel's reference still follows the input, so the change is lost);
- leak: :math:`L_\mathrm{ref}` sinks at ``leak_rate_hz`` :math:`\cdot C_\mathrm{on}` per second,
  times a per-pixel log-normal factor, which produces spontaneous ON events at about that rate;
- shot noise: independent Poisson ON/OFF events at ``shot_noise_rate_hz`` per pixel.

Thresholds are in natural-log units (v2e's default ``C = 0.2``, ``sigma_C = 0.03``).

Example:
    >>> import numpy as np
    >>> frames = np.linspace(0.1, 0.9, 11)[:, None, None] * np.ones((11, 2, 3))
    >>> times = np.arange(11) * 1000
    >>> ev = emulate_dvs(frames, times, DVSParams(threshold_sigma=0.0), rng=np.random.default_rng(0))
    >>> bool((ev["p"] == 1).all())  # brightening: ON events only
    True
    >>> len(ev) // 6  # per pixel: floor(ln((0.05 + 0.9) / (0.05 + 0.1)) / 0.2)
    9
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.events import EVENT_DTYPE
from neuro.encoders._crossing import level_crossings


@dataclass(frozen=True)
class DVSParams:
    """Pixel parameters of :func:`emulate_dvs` (all times in µs, rates in Hz).

    Attributes:
        threshold_on: mean ON contrast threshold (log units).
        threshold_off: mean OFF contrast threshold (log units).
        threshold_sigma: per-pixel standard deviation of both thresholds.
        threshold_min: lower clip of the drawn thresholds.
        log_eps: dark level added before the log, so black pixels stay finite.
        refractory_us: refractory period.
        leak_rate_hz: rate of spontaneous ON events from reference leak (0: none).
        leak_spread_decades: standard deviation of the per-pixel leak factor, in decades.
        shot_noise_rate_hz: rate of Poisson noise events per pixel (0: none).
    """

    threshold_on: float = 0.2
    threshold_off: float = 0.2
    threshold_sigma: float = 0.03
    threshold_min: float = 0.01
    log_eps: float = 0.05
    refractory_us: int = 0
    leak_rate_hz: float = 0.0
    leak_spread_decades: float = 0.1
    shot_noise_rate_hz: float = 0.0

    def __post_init__(self) -> None:
        positive = ("threshold_on", "threshold_off", "threshold_min", "log_eps")
        non_negative = ("threshold_sigma", "refractory_us", "leak_rate_hz", "leak_spread_decades", "shot_noise_rate_hz")
        for name in positive:
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ParameterError(f"DVSParams.{name} must be a positive number, got {value!r}", name)
        for name in non_negative:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ParameterError(f"DVSParams.{name} must be non-negative, got {value!r}", name)
        if int(self.refractory_us) != self.refractory_us:
            raise ParameterError(f"DVSParams.refractory_us must be whole µs, got {self.refractory_us!r}", "refractory_us")

    @classmethod
    def preset(cls, name: str, **overrides: float) -> DVSParams:
        """``"clean"`` (ideal pixels) or ``"noisy"`` (v2e's noisy preset without the low-pass)."""
        presets = {
            "clean": cls(threshold_sigma=0.02),
            "noisy": cls(threshold_sigma=0.05, leak_rate_hz=0.1, shot_noise_rate_hz=5.0),
        }
        if name not in presets:
            raise ParameterError(f"unknown DVS preset {name!r}; choose from {sorted(presets)}", "preset")
        return replace(presets[name], **overrides)


def _check_frames(frames: np.ndarray, times_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames = np.asarray(frames, dtype=np.float64)
    times = np.asarray(times_us)
    if frames.ndim != 3 or frames.shape[0] < 1:
        raise ParameterError(f"frames must be (T, H, W) with T >= 1, got shape {frames.shape}", "frames")
    if frames.shape[1] > 32767 or frames.shape[2] > 32767:
        raise ParameterError(f"frames of shape {frames.shape} exceed int16 pixel coordinates", "frames")
    if not np.isfinite(frames).all() or frames.min(initial=0.0) < 0:
        raise ParameterError("frames must be finite, non-negative intensities", "frames")
    if times.shape != (frames.shape[0],) or times.dtype.kind not in "iu":
        raise ParameterError(f"times_us must be ({frames.shape[0]},) integers, got {times.shape} {times.dtype}", "times_us")
    if len(times) and (times[0] < 0 or np.any(np.diff(times) < 0)):
        raise ParameterError("times_us must be non-negative and non-decreasing", "times_us")
    return frames, times.astype(np.int64)


def _thresholds(mean: float, params: DVSParams, n: int, rng: np.random.Generator) -> np.ndarray:
    c = rng.normal(mean, params.threshold_sigma, n) if params.threshold_sigma > 0 else np.full(n, mean)
    return np.maximum(c, params.threshold_min)


def _shot_noise(params: DVSParams, n: int, t0: int, t1: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    expected = params.shot_noise_rate_hz * n * (t1 - t0) * 1e-6
    count = rng.poisson(expected) if expected > 0 else 0
    t = np.sort(rng.integers(t0, t1 + 1, count))
    return t, rng.integers(0, n, count), rng.integers(0, 2, count).astype(np.int8)


def emulate_dvs(
    frames: np.ndarray,
    times_us: np.ndarray,
    params: DVSParams | None = None,
    *,
    rng: np.random.Generator,
) -> np.ndarray:
    """Convert intensity frames to DVS events.

    Args:
        frames: ``(T, H, W)`` linear intensities, nominally in ``[0, 1]``.
        times_us: ``(T,)`` integer frame times in µs, non-decreasing.
        params: pixel parameters (default :class:`DVSParams`).
        rng: draws the per-pixel thresholds, leak factors and shot noise.

    Returns:
        Events of dtype :data:`~neuro.core.events.EVENT_DTYPE`, sorted in time, with
        ``sensor_size = (W, H, 2)``; ``t`` lies within ``[times_us[0], times_us[-1]]``.

    Raises:
        ParameterError: frames not ``(T, H, W)``, negative or non-finite; bad times.
    """
    params = params or DVSParams()
    frames, times = _check_frames(frames, times_us)
    n_steps, height, width = frames.shape
    n = height * width
    log_i = np.log(params.log_eps + frames.reshape(n_steps, n))
    c_on = _thresholds(params.threshold_on, params, n, rng)
    c_off = _thresholds(params.threshold_off, params, n, rng)
    leak = np.zeros(n)
    if params.leak_rate_hz > 0:
        spread = 10.0 ** rng.normal(0.0, params.leak_spread_decades, n)
        leak = params.leak_rate_hz * 1e-6 * c_on * spread
    t, ch, p, _ = level_crossings(log_i, times, c_on, c_off, leak, int(params.refractory_us))
    if params.shot_noise_rate_hz > 0 and n_steps > 1:
        tn, chn, pn = _shot_noise(params, n, int(times[0]), int(times[-1]), rng)
        t, ch, p = np.concatenate([t, tn]), np.concatenate([ch, chn]), np.concatenate([p, pn])
        order = np.argsort(t, kind="stable")
        t, ch, p = t[order], ch[order], p[order]
    out = np.empty(len(t), dtype=EVENT_DTYPE)
    out["t"], out["x"], out["y"], out["p"] = t, ch % width, ch // width, p
    return out

r"""Rate coding: intensities to random spike trains.

An intensity :math:`x \in [0, 1]` sets a rate. In discrete time each step of length ``dt``
carries

- ``"bernoulli"``: one spike with probability :math:`p = \mathrm{clip}(g x + b, 0, 1)` (snnTorch's
  ``spikegen.rate`` convention, with gain :math:`g` and offset :math:`b`), so the expected count
  over :math:`T` steps is :math:`T p` and its variance :math:`T p (1 - p)`;
- ``"poisson"``: a count drawn from :math:`\mathrm{Poisson}(\lambda)` with
  :math:`\lambda = \max(g x + b, 0)`: graded spikes for multi-spike neurons, mean = variance =
  :math:`T \lambda`.

With ``max_rate`` (Hz) and ``dt`` (s) instead of a gain, :math:`g = r_\max \, dt`.

:func:`poisson_spike_times` draws spike times in continuous time instead: exponential
inter-spike intervals with mean :math:`1 / (x r_\max)`, optionally with a dead time after each
spike, returned as ``(t, x, p)`` events with one channel per input element.

Example:
    >>> import numpy as np
    >>> z = encode_rate(np.array([0.0, 0.5, 1.0]), 1000, rng=np.random.default_rng(0))
    >>> z.shape, z.dtype, z[:, 0].sum(), z[:, 2].sum()
    ((1000, 3), dtype('uint8'), np.uint64(0), np.uint64(1000))
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.events import AUDIO_DTYPE


def _intensity(x: np.ndarray | float) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError("intensities must be finite", "x")
    return arr


def _gain(gain: float | None, max_rate: float | None, dt: float | None) -> float:
    if max_rate is None:
        return 1.0 if gain is None else float(gain)
    if gain is not None:
        raise ParameterError("give either gain or max_rate (with dt), not both", "gain")
    if dt is None or not dt > 0 or not max_rate >= 0:
        raise ParameterError(f"max_rate needs dt > 0 and max_rate >= 0, got dt={dt}, max_rate={max_rate}", "dt")
    return float(max_rate) * float(dt)


def encode_rate(
    x: np.ndarray | float,
    n_steps: int,
    *,
    rng: np.random.Generator,
    mode: Literal["bernoulli", "poisson"] = "bernoulli",
    gain: float | None = None,
    offset: float = 0.0,
    max_rate: float | None = None,
    dt: float | None = None,
) -> np.ndarray:
    """Rate-code ``x`` over ``n_steps`` time steps.

    Args:
        x: intensities of any shape, nominally in ``[0, 1]``.
        n_steps: number of time steps ``T``.
        rng: random generator.
        mode: ``"bernoulli"`` (binary spikes) or ``"poisson"`` (spike counts per step).
        gain: probability (or mean count) per step at ``x = 1``; default 1.
        offset: added to ``gain * x`` before clipping.
        max_rate: alternative to ``gain``: rate in Hz at ``x = 1`` (needs ``dt``).
        dt: step length in seconds, used with ``max_rate``.

    Returns:
        ``(T, *x.shape)`` uint8 spikes (bernoulli) or int32 counts (poisson).

    Raises:
        ParameterError: non-finite ``x``, ``n_steps < 1``, an unknown mode or conflicting rates.
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ParameterError(f"n_steps must be a positive integer, got {n_steps!r}", "n_steps")
    lam = _gain(gain, max_rate, dt) * _intensity(x) + offset
    shape = (int(n_steps), *lam.shape)
    if mode == "bernoulli":
        return (rng.random(shape) < np.clip(lam, 0.0, 1.0)).astype(np.uint8)
    if mode == "poisson":
        return rng.poisson(np.broadcast_to(np.maximum(lam, 0.0), shape)).astype(np.int32)
    raise ParameterError(f"mode must be 'bernoulli' or 'poisson', got {mode!r}", "mode")


def poisson_spike_times(
    x: np.ndarray | float,
    duration_us: int,
    max_rate: float,
    *,
    rng: np.random.Generator,
    dead_time_us: int = 0,
) -> np.ndarray:
    """Continuous-time Poisson spike trains, one channel per element of ``x`` (flattened).

    Inter-spike intervals are ``dead_time + Exp(1 / (x * max_rate))``; the first spike follows
    an exponential wait from 0. Times are truncated to whole µs.

    Args:
        x: intensities in ``[0, 1]``; the channel index is the flat index into ``x``.
        duration_us: spikes lie in ``[0, duration_us)``.
        max_rate: rate in Hz at ``x = 1``.
        rng: random generator.
        dead_time_us: minimum interval between two spikes of a channel.

    Returns:
        Events of dtype :data:`~neuro.core.events.AUDIO_DTYPE` (``p = 1``), sorted in time;
        sensor size ``(x.size, 1, 1)``.

    Raises:
        ParameterError: negative or non-finite ``x`` or rates, more than 32,767 channels.
    """
    rates = _intensity(x).ravel() * float(max_rate)
    if (rates < 0).any() or not np.isfinite(max_rate):
        raise ParameterError("x * max_rate must be non-negative and finite", "max_rate")
    if rates.size > np.iinfo(np.int16).max:
        raise ParameterError(f"{rates.size} channels exceed the int16 channel field", "x")
    if duration_us < 0 or dead_time_us < 0:
        raise ParameterError("duration_us and dead_time_us must be non-negative", "duration_us")
    duration = duration_us * 1e-6
    dead = dead_time_us * 1e-6
    times, channels = [], []
    for ch in np.flatnonzero(rates > 0):
        mean_isi = 1.0 / rates[ch]
        # Enough draws to pass the end with overwhelming probability, topped up if not.
        n = int((duration / (mean_isi + dead)) * 1.5 + 10)
        t = np.cumsum(rng.exponential(mean_isi, n) + dead) - dead
        while t[-1] < duration:
            t = np.concatenate([t, t[-1] + np.cumsum(rng.exponential(mean_isi, n) + dead)])
        t = t[t < duration]
        times.append(np.floor(t * 1e6).astype(np.int64))
        channels.append(np.full(len(t), ch, dtype=np.int64))
    t_all = np.concatenate(times) if times else np.empty(0, np.int64)
    ch_all = np.concatenate(channels) if channels else np.empty(0, np.int64)
    order = np.argsort(t_all, kind="stable")
    out = np.empty(len(t_all), dtype=AUDIO_DTYPE)
    out["t"], out["x"], out["p"] = t_all[order], ch_all[order], 1
    return out

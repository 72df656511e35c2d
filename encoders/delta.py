r"""Delta (send-on-delta, level-crossing) and sigma-delta coding of signals.

**Delta.** Each channel keeps a reference :math:`r`, set by the first sample. When the signal
(linear between samples) rises to :math:`r + \theta_\mathrm{on}` an ON event is sent and
:math:`r \mathrel{+}= \theta_\mathrm{on}`; when it falls to :math:`r - \theta_\mathrm{off}` an OFF
event is sent and :math:`r \mathrel{-}= \theta_\mathrm{off}`; a large change sends several events.
Unlike comparing consecutive samples, the tracked reference does not drift on slow signals:
after any number of steps, :math:`|x - r| < \theta`. This is the DVS pixel model in the linear
domain and shares its kernel (:mod:`neuro.encoders.dvs`).

**Sigma-delta** (first order): :math:`u_t = u_{t-1} + x_t - \theta s_{t-1}` and
:math:`s_t = [u_t \ge \theta] - b\,[u_t \le -\theta]` with :math:`b = 1` for the bipolar code.
The sum of spikes tracks the sum of inputs: :math:`|\sum_t x_t - \theta \sum_t s_t| < \theta`
(unipolar code, inputs in :math:`[0, \theta]`; at most one spike per step, so larger inputs
saturate), and the rate is about :math:`x / \theta` spikes per step.

Example:
    >>> import numpy as np
    >>> counts = encode_delta(np.array([0.0, 0.35, 0.05]), 0.1)
    >>> counts[:, 1].tolist(), counts[:, 0].tolist()  # ON counts, OFF counts per step
    ([0, 3, 0], [0, 0, 2])
    >>> encode_sigma_delta(np.full(8, 0.25), 1.0).tolist()
    [0, 0, 0, 1, 0, 0, 0, 1]
"""

from __future__ import annotations

import numpy as np

from neuro.core.errors import ParameterError
from neuro.core.events import AUDIO_DTYPE
from neuro.encoders._crossing import level_crossings


def _thresholds(threshold: float, threshold_off: float | None) -> tuple[float, float]:
    off = threshold if threshold_off is None else threshold_off
    if not (np.isfinite(threshold) and threshold > 0 and np.isfinite(off) and off > 0):
        raise ParameterError(f"thresholds must be positive, got {threshold} and {off}", "threshold")
    return float(threshold), float(off)


def _signal(signal: np.ndarray) -> np.ndarray:
    arr = np.asarray(signal, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[0] < 1:
        raise ParameterError(f"signal must be (T, ...) with T >= 1, got shape {arr.shape}", "signal")
    if not np.isfinite(arr).all():
        raise ParameterError("signal must be finite", "signal")
    return arr


def delta_events(
    signal: np.ndarray,
    times_us: np.ndarray,
    threshold: float,
    *,
    threshold_off: float | None = None,
    refractory_us: int = 0,
) -> np.ndarray:
    """Level-crossing events with interpolated timestamps.

    Args:
        signal: ``(T,)`` or ``(T, C)`` samples; channel ``c`` becomes event field ``x = c``.
        times_us: ``(T,)`` integer sample times in µs, non-decreasing.
        threshold: ON threshold (and OFF threshold unless ``threshold_off`` is given).
        threshold_off: OFF threshold.
        refractory_us: drop a channel's events closer than this to its previous event.

    Returns:
        Events of dtype :data:`~neuro.core.events.AUDIO_DTYPE` with ``p = 1`` (ON) or ``0``
        (OFF), sorted in time; sensor size ``(C, 1, 2)``.

    Raises:
        ParameterError: bad shapes, non-finite samples, non-positive thresholds.
    """
    arr = _signal(signal)
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] > np.iinfo(np.int16).max:
        raise ParameterError(f"signal must be (T,) or (T, C) with C < 32768, got {np.shape(signal)}", "signal")
    times = np.asarray(times_us)
    if times.shape != (arr.shape[0],) or times.dtype.kind not in "iu" or np.any(np.diff(times) < 0):
        raise ParameterError("times_us must be non-decreasing integers, one per sample", "times_us")
    on, off = _thresholds(threshold, threshold_off)
    n = arr.shape[1]
    t, ch, p, _ = level_crossings(arr, times, np.full(n, on), np.full(n, off), np.zeros(n), int(refractory_us))
    out = np.empty(len(t), dtype=AUDIO_DTYPE)
    out["t"], out["x"], out["p"] = t, ch, p
    return out


def encode_delta(signal: np.ndarray, threshold: float, *, threshold_off: float | None = None) -> np.ndarray:
    """Level-crossing counts on the sample grid.

    Args:
        signal: ``(T, ...)`` samples.
        threshold: ON threshold (and OFF unless ``threshold_off`` is given).
        threshold_off: OFF threshold.

    Returns:
        ``(T, 2, ...)`` int32 event counts, polarity 0 = OFF and 1 = ON (the frame layout);
        step ``k`` counts the crossings between samples ``k - 1`` and ``k``, step 0 is empty.

    Raises:
        ParameterError: bad shapes, non-finite samples, non-positive thresholds.
    """
    arr = _signal(signal)
    flat = arr.reshape(arr.shape[0], -1)
    on, off = _thresholds(threshold, threshold_off)
    n = flat.shape[1]
    times = np.arange(arr.shape[0], dtype=np.int64)
    _, ch, p, k = level_crossings(flat, times, np.full(n, on), np.full(n, off), np.zeros(n), 0)
    counts = np.zeros((arr.shape[0], 2, n), dtype=np.int32)
    np.add.at(counts, (k, p.astype(np.int64), ch), 1)
    return counts.reshape(arr.shape[0], 2, *arr.shape[1:])


def encode_sigma_delta(x_seq: np.ndarray, threshold: float, *, bipolar: bool = False) -> np.ndarray:
    """First-order sigma-delta spikes of a sequence.

    Args:
        x_seq: ``(T, ...)`` input values per step.
        threshold: quantisation step :math:`\\theta`.
        bipolar: also emit ``-1`` spikes when the integrator falls to ``-threshold``.

    Returns:
        ``(T, ...)`` int8 spikes in ``{0, 1}`` (or ``{-1, 0, 1}`` when bipolar).

    Raises:
        ParameterError: non-finite input or a non-positive threshold.
    """
    arr = _signal(x_seq)
    theta, _ = _thresholds(threshold, None)
    u = np.zeros(arr.shape[1:])
    out = np.zeros(arr.shape, dtype=np.int8)
    for t in range(arr.shape[0]):
        u = u + arr[t]
        s = (u >= theta).astype(np.int8)
        if bipolar:
            s -= (u <= -theta).astype(np.int8)
        u = u - theta * s
        out[t] = s
    return out

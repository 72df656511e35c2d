"""The level-crossing kernel shared by the delta encoder and the DVS emulator (Numba).

For each channel ``n`` a signal ``s`` is known at sample times ``t_k`` and linear in between.
The channel keeps a reference ``r``; with a leak rate ``ell`` the reference sinks at ``ell``
units per µs. The difference ``d(t) = s(t) - r(t)`` is therefore linear inside every interval and

- an ON event is emitted when ``d`` reaches ``+c_on``, then ``r += c_on``;
- an OFF event is emitted when ``d`` reaches ``-c_off``, then ``r -= c_off``;

at the exact (interpolated) crossing time, possibly several times per interval. An event closer
than ``refractory`` µs to the channel's previous emitted event is dropped, but the reference
still moves: the change during the refractory period is lost, as in a real pixel that is held in
reset. The first sample sets the reference, so a constant signal emits nothing without leak.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KERNEL: Any = None


def _build() -> Any:
    import numba

    @numba.njit(cache=True)
    def crossings(signal, times, c_on, c_off, leak, refractory, fill, out_t, out_ch, out_p, out_k):  # pragma: no cover
        n_steps, n_ch = signal.shape
        count = 0
        for n in range(n_ch):
            ref = signal[0, n]
            last = -(2**62)
            for k in range(1, n_steps):
                t0 = times[k - 1]
                dt = times[k] - t0
                if dt <= 0:
                    continue
                d = signal[k - 1, n] - ref
                slope = (signal[k, n] - signal[k - 1, n]) / dt + leak[n]
                pos = 0.0  # µs into the interval
                while True:
                    if slope > 0.0:
                        step = (c_on[n] - d) / slope
                        polarity = 1
                    elif slope < 0.0:
                        step = (-c_off[n] - d) / slope
                        polarity = 0
                    else:
                        break
                    if step < 0.0:
                        step = 0.0
                    if pos + step > dt:
                        break
                    pos += step
                    t_event = t0 + int(np.floor(pos))
                    if polarity == 1:
                        d -= c_on[n] - slope * step
                        ref += c_on[n]
                    else:
                        d += c_off[n] + slope * step
                        ref -= c_off[n]
                    if t_event - last >= refractory:
                        if fill:
                            out_t[count] = t_event
                            out_ch[count] = n
                            out_p[count] = polarity
                            out_k[count] = k
                        count += 1
                        last = t_event
                # the reference leaked over the whole interval
                ref -= leak[n] * dt
        return count

    return crossings


def level_crossings(
    signal: np.ndarray,
    times_us: np.ndarray,
    c_on: np.ndarray,
    c_off: np.ndarray,
    leak: np.ndarray,
    refractory_us: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel; return ``(t, channel, polarity, k)`` sorted by time (stable in channel).

    ``k`` is the index of the sample that ends the interval in which each event occurred.

    Args:
        signal: ``(T, N)`` float64 samples.
        times_us: ``(T,)`` int64 non-decreasing sample times.
        c_on, c_off: ``(N,)`` positive thresholds.
        leak: ``(N,)`` reference leak per µs (0 for none).
        refractory_us: minimum spacing of a channel's events.
    """
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _build()
    signal = np.ascontiguousarray(signal, dtype=np.float64)
    times = np.ascontiguousarray(times_us, dtype=np.int64)
    args = (
        signal,
        times,
        np.ascontiguousarray(c_on, dtype=np.float64),
        np.ascontiguousarray(c_off, dtype=np.float64),
        np.ascontiguousarray(leak, dtype=np.float64),
        np.int64(refractory_us),
    )
    empty_i8 = np.empty(0, np.int64)
    n = _KERNEL(*args, False, empty_i8, empty_i8, np.empty(0, np.int8), empty_i8)
    t, ch, k = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    p = np.empty(n, np.int8)
    _KERNEL(*args, True, t, ch, p, k)
    order = np.argsort(t, kind="stable")
    return t[order], ch[order], p[order], k[order]

r"""Audio augmentation with numpy and scipy: pure functions, randomness only through an explicit Generator.

Signals are 1-D float arrays in full-scale units; ``sample_rate`` in Hz, times in s, levels in dB.

* gain: :math:`y = 10^{g/20}\,x`;
* additive white Gaussian noise at a signal-to-noise ratio :math:`\mathrm{SNR} = 10\log_{10}(P_x/P_n)`,
  where :math:`P` is the mean power over the whole clip (the noise is scaled so the ratio is exact);
* time stretch by a duration factor :math:`\alpha` (> 1 slower) without changing pitch: a phase
  vocoder (Hann window ``n_fft`` samples, hop ``n_fft / 4``; magnitudes interpolated between analysis
  frames, phases advanced by each bin's measured instantaneous frequency);
* pitch shift by :math:`s` semitones without changing duration: resampling by :math:`2^{s/12}` (which
  scales every frequency and the duration) followed by a time stretch back to the original length;
* synthetic reverberation: convolution with the impulse response
  :math:`h(t) = \delta(t) + w\,n(t)\,e^{-3\ln(10)\,t/T_{60}}` (white noise :math:`n` decaying by 60 dB
  in :math:`T_{60}`), output rescaled to the input's energy;
* band limit: a 4th-order Butterworth low pass (zero phase), as in telephone or 8 kHz recordings;
* onset jitter: a random number of leading zeros.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)
    >>> y = add_noise(x, 10.0, rng)
    >>> round(float(10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))), 6)
    10.0
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from neuro.core.errors import ParameterError

__all__ = [
    "add_noise",
    "apply_gain",
    "band_limit",
    "jitter_onset",
    "normalize_rms",
    "pitch_shift",
    "reverberate",
    "rms",
    "time_stretch",
    "trim_silence",
]

_EPS = 1e-12


def _signal(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ParameterError(f"audio must be a non-empty 1-D array, got shape {a.shape}", "audio")
    if not np.all(np.isfinite(a)):
        raise ParameterError("audio holds non-finite samples", "audio")
    return a


def _positive(value: float, field: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"{field} must be positive and finite, got {value!r}", field)
    return v


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x``."""
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def apply_gain(x: np.ndarray, gain_db: float) -> np.ndarray:
    """``x`` scaled by ``gain_db`` decibels (``10 ** (gain_db / 20)``)."""
    return _signal(x) * 10.0 ** (float(gain_db) / 20.0)


def normalize_rms(x: np.ndarray, level_dbfs: float = -20.0) -> np.ndarray:
    """``x`` scaled to an RMS of ``level_dbfs`` dB re full scale (a silent clip is returned unchanged)."""
    a = _signal(x)
    r = rms(a)
    return a if r < _EPS else a * (10.0 ** (level_dbfs / 20.0) / r)


def trim_silence(x: np.ndarray, sample_rate: float, threshold_db: float = -40.0, margin_s: float = 0.01) -> np.ndarray:
    """Cut leading and trailing parts whose 10 ms RMS envelope stays ``threshold_db`` below its peak.

    Args:
        x: samples.
        sample_rate: Hz.
        threshold_db: level (dB re the envelope's peak) under which a sample counts as silence.
        margin_s: kept on each side of the sound (s).

    Returns:
        The trimmed copy (``x`` itself when it is silent throughout).
    """
    a = _signal(x)
    win = max(int(0.01 * sample_rate), 1)
    env = np.sqrt(np.convolve(a * a, np.ones(win) / win, mode="same"))
    if env.max() < _EPS:
        return a
    loud = np.flatnonzero(env >= env.max() * 10.0 ** (threshold_db / 20.0))
    margin = int(margin_s * sample_rate)
    return a[max(loud[0] - margin, 0) : loud[-1] + margin + 1].copy()


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus white Gaussian noise whose power is exactly ``snr_db`` below the clip's mean power.

    Args:
        x: samples (not all zero).
        snr_db: signal-to-noise ratio in dB.
        rng: random generator.

    Raises:
        ParameterError: ``x`` is silent, so no SNR can be defined.
    """
    a = _signal(x)
    power = float(np.mean(a * a))
    if power < _EPS**2:
        raise ParameterError("cannot add noise at an SNR to a silent signal", "audio")
    noise = rng.standard_normal(a.size)
    noise *= math.sqrt(power / 10.0 ** (float(snr_db) / 10.0) / float(np.mean(noise * noise)))
    return a + noise


def _stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    win = signal.windows.hann(n_fft, sym=False)
    n_frames = 1 + math.ceil(len(x) / hop)
    padded = np.pad(x, (n_fft // 2, n_fft // 2 + n_frames * hop + n_fft - len(x)))
    frames = sliding_window_view(padded, n_fft)[::hop][:n_frames]
    return np.fft.rfft(frames * win, axis=1)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    win = signal.windows.hann(n_fft, sym=False)
    frames = np.fft.irfft(spec, n=n_fft, axis=1) * win
    n_frames, k = len(frames), n_fft // hop  # overlap-add, hop-sized blocks at a time
    out = np.zeros((n_frames + k - 1, hop))
    for j, block in enumerate(frames.reshape(n_frames, k, hop).transpose(1, 0, 2)):
        out[j : j + n_frames] += block
    norm = np.zeros_like(out)
    for j, w in enumerate((win * win).reshape(k, hop)):
        norm[j : j + n_frames] += w
    out, norm = out.ravel(), norm.ravel()
    out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 1e-8)
    out = out[n_fft // 2 : n_fft // 2 + length]
    return np.pad(out, (0, length - len(out)))


def time_stretch(x: np.ndarray, factor: float, n_fft: int = 512) -> np.ndarray:
    """Change the duration of ``x`` by ``factor`` (> 1 slower) keeping its pitch (phase vocoder).

    Args:
        x: samples.
        factor: output length / input length.
        n_fft: analysis window in samples (hop ``n_fft // 4``); 512 is 32 ms at 16 kHz.

    Returns:
        ``round(len(x) * factor)`` samples.

    Raises:
        ParameterError: ``factor`` is not positive, or ``n_fft`` not a multiple of 4 (>= 16).
    """
    a = _signal(x)
    f = _positive(factor, "factor")
    length = max(round(len(a) * f), 1)
    if f == 1.0:
        return a.copy()
    if isinstance(n_fft, bool) or not isinstance(n_fft, int) or n_fft < 16 or n_fft % 4:
        raise ParameterError(f"n_fft must be a multiple of 4, at least 16, got {n_fft!r}", "n_fft")
    hop = n_fft // 4
    spec = _stft(a, n_fft, hop)
    spec = np.vstack([spec, np.zeros((1, spec.shape[1]), spec.dtype)])
    steps = np.arange(0.0, len(spec) - 1, 1.0 / f)
    i = steps.astype(np.int64)
    frac = (steps - i)[:, None]
    mag = (1.0 - frac) * np.abs(spec[i]) + frac * np.abs(spec[i + 1])
    advance = 2.0 * np.pi * hop * np.arange(spec.shape[1]) / n_fft
    dphase = np.angle(spec[i + 1]) - np.angle(spec[i]) - advance
    dphase -= 2.0 * np.pi * np.round(dphase / (2.0 * np.pi))
    phase = np.angle(spec[0]) + np.vstack([np.zeros_like(advance), np.cumsum(advance + dphase, axis=0)[:-1]])
    return _istft(mag * np.exp(1j * phase), n_fft, hop, length)


def pitch_shift(x: np.ndarray, semitones: float, n_fft: int = 512) -> np.ndarray:
    """Shift every frequency of ``x`` by ``semitones`` keeping its duration (resample + time stretch)."""
    a = _signal(x)
    ratio = 2.0 ** (float(semitones) / 12.0)
    n = max(round(len(a) / ratio), 1)
    shorter = signal.resample(a, n)  # played at the same rate: frequencies x ratio, duration / ratio
    return time_stretch(shorter, len(a) / n, n_fft)


def reverberate(x: np.ndarray, sample_rate: float, rt60_s: float, rng: np.random.Generator, wet: float = 0.5) -> np.ndarray:
    """Convolve ``x`` with a direct path plus a decaying-noise tail; the output keeps the input's energy.

    Args:
        x: samples.
        sample_rate: Hz.
        rt60_s: time for the tail to decay by 60 dB (s); the tail is this long.
        rng: random generator (the tail's noise).
        wet: tail amplitude relative to the direct path.

    Returns:
        ``len(x) + tail - 1`` samples.

    Raises:
        ParameterError: ``rt60_s`` or ``sample_rate`` is not positive.
    """
    a = _signal(x)
    n_tail = max(int(_positive(rt60_s, "rt60_s") * _positive(sample_rate, "sample_rate")), 1)
    t = np.arange(n_tail) / sample_rate
    ir = (
        wet
        * rng.standard_normal(n_tail)
        * np.exp(-3.0 * math.log(10.0) * t / rt60_s)
        / math.sqrt(n_tail / (6.0 * math.log(10.0)))
    )  # tail energy ~ wet**2
    ir[0] = 1.0
    y = signal.fftconvolve(a, ir)
    r_in, r_out = rms(a), rms(y)
    return y if r_out < _EPS else y * (r_in * math.sqrt(len(a) / len(y)) / r_out)


def band_limit(x: np.ndarray, sample_rate: float, cutoff_hz: float) -> np.ndarray:
    """``x`` through a zero-phase 4th-order Butterworth low pass at ``cutoff_hz``.

    Raises:
        ParameterError: ``cutoff_hz`` is not between 0 and the Nyquist frequency.
    """
    a = _signal(x)
    fc = _positive(cutoff_hz, "cutoff_hz")
    if fc >= sample_rate / 2:
        raise ParameterError(f"cutoff_hz ({fc}) must be below the Nyquist frequency {sample_rate / 2}", "cutoff_hz")
    sos = signal.butter(4, fc, btype="low", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, a, padlen=min(3 * 9, len(a) - 1))


def jitter_onset(x: np.ndarray, sample_rate: float, max_delay_s: float, rng: np.random.Generator) -> np.ndarray:
    """Prepend a uniformly random number of zeros, up to ``max_delay_s`` seconds."""
    a = _signal(x)
    if max_delay_s < 0:
        raise ParameterError(f"max_delay_s must be >= 0, got {max_delay_s}", "max_delay_s")
    n = int(rng.integers(0, int(max_delay_s * sample_rate) + 1))
    return np.concatenate([np.zeros(n), a])

"""Cochlea front end: ERB scale, gammatone sections, tonotopy, level, silence, events, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from neuro.core.errors import ParameterError
from neuro.core.events import AUDIO_DTYPE, validate_events
from neuro.core.reset import ResetToValue
from neuro.encoders import cochlea

FS = 16000


def tone(freq: float, amplitude: float = 0.1, duration: float = 0.2) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(duration * FS)) / FS)


def test_erb_formulas_match_glasberg_moore():
    assert cochlea.erb_bandwidth(1000.0) == pytest.approx(24.7 * 5.37)
    assert cochlea.erb_rate(1000.0) == pytest.approx(21.4 * np.log10(1 + 4.37))
    f = np.array([50.0, 440.0, 3000.0, 7900.0])
    np.testing.assert_allclose(cochlea.erb_rate_to_hz(cochlea.erb_rate(f)), f, rtol=1e-12)
    # the ERB-rate scale counts ERBs: dE/df = 1/ERB(f) (to the rounding of the published constants)
    h = 1e-3
    slope = (cochlea.erb_rate(f + h) - cochlea.erb_rate(f - h)) / (2 * h)
    np.testing.assert_allclose(slope, 1 / cochlea.erb_bandwidth(f), rtol=5e-3)


def test_erb_space_is_uniform_on_the_erb_scale():
    f = cochlea.erb_space(100.0, 6000.0, 32)
    assert f.shape == (32,)
    assert f[0] == pytest.approx(100.0)
    assert f[-1] == pytest.approx(6000.0)
    steps = np.diff(cochlea.erb_rate(f))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    assert np.all(np.diff(f) > 0)
    assert np.diff(f)[-1] > 10 * np.diff(f)[0]
    np.testing.assert_allclose(cochlea.erb_space(200.0, 400.0, 1), [200.0])


@pytest.mark.parametrize("freq", [60.0, 150.0, 1000.0, 7000.0])
def test_gammatone_sections_equal_scipy_transfer_function(freq):
    sos = cochlea.gammatone_sos([freq], FS)[0]
    b, a = signal.gammatone(freq, "iir", fs=FS)
    # multiplied out, the four sections are scipy's transfer function (coefficients compared,
    # since evaluating the 8th-order polynomial near its repeated poles is itself inaccurate)
    b_sos, a_sos = signal.sos2tf(sos)
    np.testing.assert_allclose(a_sos, a, rtol=0, atol=1e-10 * np.abs(a).max())
    np.testing.assert_allclose(b_sos, np.pad(b, (0, 4)), rtol=0, atol=1e-10 * np.abs(b).max())
    _, peak = signal.sosfreqz(sos, worN=[freq], fs=FS)
    assert abs(peak[0]) == pytest.approx(1.0, abs=1e-6)  # unit gain at the centre frequency


def test_pure_tone_excites_the_nearest_channel():
    centres = cochlea.erb_space(100.0, 6000.0, 32)
    best = []
    for freq in (300.0, 1200.0, 4000.0):
        ev = cochlea.encode_cochlea(tone(freq), FS, n_channels=32)
        counts = np.bincount(ev["x"], minlength=32)
        nearest = int(np.abs(np.log(centres / freq)).argmin())
        assert abs(int(counts.argmax()) - nearest) <= 1
        assert counts[max(nearest - 1, 0) : nearest + 2].sum() > 0.3 * counts.sum()
        best.append(int(counts.argmax()))
    assert best[0] < best[1] < best[2]


def test_louder_gives_more_spikes():
    counts = [len(cochlea.encode_cochlea(tone(800.0, amplitude=a), FS)) for a in (0.003, 0.03, 0.3)]
    assert 0 < counts[0] < counts[1] < counts[2]


def test_silence_gives_no_spikes():
    ev = cochlea.encode_cochlea(np.zeros(FS // 4), FS)
    assert len(ev) == 0
    assert ev.dtype == AUDIO_DTYPE


def test_events_are_sorted_inside_the_sensor_and_timed_in_microseconds(rng):
    x = 0.05 * rng.standard_normal(FS // 2)
    ev = cochlea.encode_cochlea(x, FS, n_channels=20, dt=1e-3)
    assert ev.dtype == AUDIO_DTYPE
    assert len(ev) > 0
    validate_events(ev, (20, 1, 1))
    order = np.lexsort((ev["x"], ev["t"]))
    np.testing.assert_array_equal(order, np.arange(len(ev)))
    assert np.all(ev["p"] == 1)
    assert np.all(ev["t"] % 1000 == 0)
    assert ev["t"].min() >= 1000
    assert ev["t"].max() <= 500_000
    # at most one spike per channel and step: the rate ceiling 1/dt that stands in for refractoriness
    assert not np.any((np.diff(ev["t"]) == 0) & (np.diff(ev["x"]) == 0))


def test_encoding_is_deterministic_and_honours_the_reset(rng):
    x = 0.05 * rng.standard_normal(FS // 4)
    a = cochlea.encode_cochlea(x, FS)
    np.testing.assert_array_equal(a, cochlea.encode_cochlea(x.copy(), FS))
    b = cochlea.encode_cochlea(x, FS, reset=ResetToValue())
    assert 0 < len(b) < len(a)  # reset to zero discards the overshoot that subtraction keeps


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"audio": np.zeros((2, 100))}, "audio"),
        ({"audio": np.array([])}, "audio"),
        ({"audio": np.array([0.0, np.nan, 0.0])}, "audio"),
        ({"audio": ["a", "b"]}, "audio"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": -16000}, "sample_rate"),
        ({"f_max": 8000.0}, "f_max"),
        ({"f_min": 7000.0, "f_max": 6000.0}, "f_max"),
        ({"f_min": -1.0}, "f_min"),
        ({"n_channels": 0}, "n_channels"),
        ({"n_channels": 2.5}, "n_channels"),
        ({"compression": 1.5}, "compression"),
        ({"lowpass_hz": 9000.0}, "lowpass_hz"),
        ({"dt": 1e-5}, "dt"),
        ({"tau_mem": 0.0}, "tau_mem"),
        ({"gain": float("inf")}, "gain"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = {"audio": np.zeros(1000), "sample_rate": FS, **kwargs}
    with pytest.raises(ParameterError) as info:
        cochlea.encode_cochlea(**args)
    assert info.value.field == field

"""Delta, sigma-delta and DVS emulation: counts, interpolation, mismatch, noise, sensor bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuro.core.errors import ParameterError
from neuro.core.events import validate_events
from neuro.encoders.delta import delta_events, encode_delta, encode_sigma_delta
from neuro.encoders.dvs import DVSParams, emulate_dvs

signals = st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(signals, st.sampled_from([0.1, 0.3, 1.0]))
def test_delta_reference_tracks_signal_within_threshold(values, theta):
    x = np.array(values)
    counts = encode_delta(x, theta)
    net = np.cumsum(counts[:, 1] - counts[:, 0])
    # the reconstruction x0 + theta * (ON - OFF) stays within one threshold of the signal
    assert np.all(np.abs(x - (x[0] + theta * net)) < theta + 1e-9)
    assert counts[0].sum() == 0


def test_delta_events_interpolate_crossing_times():
    ev = delta_events(np.array([0.0, 1.0]), np.array([0, 1000]), 0.25)
    assert ev["p"].tolist() == [1, 1, 1, 1]
    assert ev["t"].tolist() == [250, 500, 750, 1000]


def test_delta_refractory_drops_close_events():
    ev = delta_events(np.array([0.0, 1.0]), np.array([0, 1000]), 0.1, refractory_us=300)
    assert np.diff(ev["t"]).min() >= 300
    assert len(ev) < 10


def test_delta_events_per_channel_and_bad_times():
    sig = np.stack([np.linspace(0, 1, 5), np.linspace(1, 0, 5)], axis=1)
    ev = delta_events(sig, np.arange(5) * 100, 0.2)
    validate_events(ev, (2, 1, 2))
    assert set(ev["p"][ev["x"] == 0]) == {1}
    assert set(ev["p"][ev["x"] == 1]) == {0}
    with pytest.raises(ParameterError) as info:
        delta_events(sig, np.array([0, 2, 1, 3, 4]), 0.2)
    assert info.value.field == "times_us"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60), st.sampled_from([0.5, 1.0, 2.0]))
def test_sigma_delta_sum_tracks_input_sum(values, theta):
    x = np.array(values) * theta  # one spike per step at most: inputs in [0, theta]
    s = encode_sigma_delta(x, theta)
    err = np.cumsum(x) - theta * np.cumsum(s)
    assert np.all(err < theta + 1e-9)
    assert np.all(err > -1e-9)


def test_sigma_delta_saturates_above_threshold():
    assert encode_sigma_delta(np.full(4, 3.0), 1.0).tolist() == [1, 1, 1, 1]


def test_sigma_delta_bipolar_emits_negative_spikes():
    s = encode_sigma_delta(np.full(10, -0.5), 1.0, bipolar=True)
    assert s.tolist() == [0, -1] * 5
    assert encode_sigma_delta(np.full(10, -0.5), 1.0).sum() == 0


def moving_edge(n_frames=41, width=16, height=4):
    x = np.arange(width)
    pos = np.linspace(2, width - 3, n_frames)
    frames = np.where(x[None, :] < pos[:, None], 0.9, 0.1)[:, None, :] * np.ones((1, height, 1))
    return frames, np.arange(n_frames, dtype=np.int64) * 1000


def test_dvs_events_inside_sensor_sorted_and_within_frame_times(rng):
    frames, times = moving_edge()
    ev = emulate_dvs(frames, times, DVSParams.preset("noisy", shot_noise_rate_hz=50.0), rng=rng)
    validate_events(ev, (16, 4, 2))
    assert ev["t"].min() >= times[0]
    assert ev["t"].max() <= times[-1]
    assert (ev["p"] == 1).mean() > 0.8  # an edge brightening pixels gives ON events


def test_dvs_static_scene_is_silent_without_noise(rng):
    frames = np.full((20, 5, 5), 0.4)
    assert len(emulate_dvs(frames, np.arange(20) * 1000, rng=rng)) == 0


def test_dvs_event_count_matches_log_contrast(rng):
    # each pixel brightens from 0.1 to 0.9: floor(ln(0.95 / 0.15) / C) events with C = 0.2 and no mismatch
    frames = np.linspace(0.1, 0.9, 30)[:, None, None] * np.ones((30, 3, 3))
    ev = emulate_dvs(frames, np.arange(30) * 500, DVSParams(threshold_sigma=0.0), rng=rng)
    per_pixel = np.bincount(ev["y"].astype(int) * 3 + ev["x"], minlength=9)
    assert per_pixel.tolist() == [int(np.log(0.95 / 0.15) / 0.2)] * 9


def test_dvs_threshold_mismatch_spreads_counts(rng):
    frames = np.linspace(0.1, 0.9, 30)[:, None, None] * np.ones((30, 20, 20))
    ev = emulate_dvs(frames, np.arange(30) * 500, DVSParams(threshold_sigma=0.05), rng=rng)
    per_pixel = np.bincount(ev["y"].astype(int) * 20 + ev["x"], minlength=400)
    assert per_pixel.std() > 0.3


def test_dvs_shot_noise_rate(rng):
    frames = np.full((2, 10, 10), 0.5)
    params = DVSParams(shot_noise_rate_hz=20.0)
    ev = emulate_dvs(frames, np.array([0, 1_000_000]), params, rng=rng)
    # 100 pixels x 20 Hz x 1 s = 2000 expected, Poisson sd 45
    assert 1800 < len(ev) < 2200
    assert 0.4 < ev["p"].mean() < 0.6


def test_dvs_leak_gives_on_events_at_about_the_leak_rate(rng):
    frames = np.full((2, 10, 10), 0.5)
    params = DVSParams(leak_rate_hz=5.0, threshold_sigma=0.0, leak_spread_decades=0.0)
    ev = emulate_dvs(frames, np.array([0, 2_100_000]), params, rng=rng)
    assert (ev["p"] == 1).all()
    assert len(ev) == 100 * 10  # 5 Hz for 2 s per pixel, at 0.2, 0.4 ... 2.0 s without spread


def test_dvs_refractory_limits_event_spacing(rng):
    frames, times = moving_edge()
    ev = emulate_dvs(frames, times * 5, DVSParams(threshold_on=0.05, threshold_off=0.05, refractory_us=3000), rng=rng)
    for pix in np.unique(ev["y"].astype(int) * 16 + ev["x"]):
        t = ev["t"][(ev["y"].astype(int) * 16 + ev["x"]) == pix]
        assert np.diff(t).min(initial=3000) >= 3000


def test_dvs_is_deterministic_under_a_seed():
    frames, times = moving_edge()
    params = DVSParams.preset("noisy")
    a = emulate_dvs(frames, times, params, rng=np.random.default_rng(3))
    b = emulate_dvs(frames, times, params, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"threshold_on": 0.0}, "threshold_on"), ({"refractory_us": -1}, "refractory_us"), ({"log_eps": np.nan}, "log_eps")],
)
def test_dvs_params_are_validated(kwargs, field):
    with pytest.raises(ParameterError) as info:
        DVSParams(**kwargs)
    assert info.value.field == field


def test_dvs_rejects_bad_frames(rng):
    with pytest.raises(ParameterError) as info:
        emulate_dvs(np.ones((3, 4)), np.arange(3), rng=rng)
    assert info.value.field == "frames"
    with pytest.raises(ParameterError) as info:
        emulate_dvs(np.ones((3, 4, 4)), np.array([0.0, 1.0, 2.0]), rng=rng)
    assert info.value.field == "times_us"

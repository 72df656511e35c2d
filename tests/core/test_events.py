from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuro.core import events as ev
from neuro.core.errors import EventFieldError, EventValueError, ParameterError

SENSOR = (34, 34, 2)


def random_events(rng, n=500, sensor=SENSOR):
    t = np.sort(rng.integers(0, 100_000, n))
    return ev.make_events(x=rng.integers(0, sensor[0], n), y=rng.integers(0, sensor[1], n), t=t, p=rng.integers(0, 2, n))


def test_fields_are_read_by_name_whatever_their_order(rng):
    e = random_events(rng)
    txyp = np.empty(len(e), dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
    for f in ("t", "x", "y", "p"):
        txyp[f] = e[f]
    canon = ev.validate_events(txyp, SENSOR)
    assert canon.dtype == ev.EVENT_DTYPE
    for f in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(canon[f], e[f])


def bad(**overrides):
    base = {"x": np.array([1, 2, 3]), "y": np.array([1, 2, 3]), "t": np.array([0, 5, 9]), "p": np.array([0, 1, 1])}
    base.update(overrides)
    arr = np.empty(3, dtype=[(k, np.asarray(v).dtype) for k, v in base.items() if v is not None])
    for k, v in base.items():
        if v is not None:
            arr[k] = v
    return arr


@pytest.mark.parametrize(
    ("events", "error", "field", "index"),
    [
        (bad(t=None), EventFieldError, "t", None),
        (bad(p=None), EventFieldError, "p", None),
        (bad(t=np.array([0.0, 1.5, 2.0])), EventFieldError, "t", None),
        (bad(x=np.array(["a", "b", "c"])), EventFieldError, "x", None),
        (bad(x=np.array([1.0, np.nan, 2.0])), EventValueError, "x", 1),
        (bad(y=np.array([1.0, 2.5, 2.0])), EventValueError, "y", 1),
        (bad(t=np.array([-3, 5, 9])), EventValueError, "t", 0),
        (bad(t=np.array([0, 9, 5])), EventValueError, "t", 2),
        (bad(x=np.array([1, 40, 3])), EventValueError, "x", 1),
        (bad(y=np.array([1, 2, 34])), EventValueError, "y", 2),
        (bad(p=np.array([0, 1, 2])), EventValueError, "p", 2),
        (bad(x=np.array([1, -2, 3])), EventValueError, "x", 1),
    ],
)
def test_bad_events_raise_typed_errors_naming_field_and_index(events, error, field, index):
    with pytest.raises(error) as info:
        ev.validate_events(events, SENSOR)
    assert info.value.field == field
    assert info.value.index == index
    assert field in str(info.value)


def test_unstructured_and_empty_inputs():
    with pytest.raises(EventFieldError, match="structured"):
        ev.validate_events(np.zeros((3, 4)))
    with pytest.raises(EventValueError, match="empty"):
        ev.validate_events(np.empty(0, dtype=ev.EVENT_DTYPE), allow_empty=False)
    assert len(ev.validate_events(np.empty(0, dtype=ev.EVENT_DTYPE))) == 0


def test_coordinates_that_do_not_fit_int16_are_refused():
    e = bad(x=np.array([1, 70_000, 3], dtype=np.int64))
    with pytest.raises(EventValueError, match="does not fit") as info:
        ev.validate_events(e)
    assert info.value.index == 1


@pytest.mark.parametrize("size", [(34, 34), (34, 0, 2), (34.5, 34, 2), "abc"])
def test_invalid_sensor_size(size):
    with pytest.raises(ParameterError, match="sensor_size"):
        ev.check_sensor_size(size)


def test_frames_shape_and_non_square_sensor():
    e = ev.make_events(x=[0, 3, 1, 2], y=[1, 0, 1, 1], t=[0, 10, 25, 39], p=[1, 0, 1, 0])
    frames = ev.to_frames(e, (4, 2, 2), n_time_bins=2)
    assert frames.shape == (2, 2, 2, 4)  # (T, P, H, W)
    assert frames[0, 1, 1, 0] == 1
    assert frames[0, 0, 0, 3] == 1
    assert frames[1, 1, 1, 1] == 1
    assert frames[1, 0, 1, 2] == 1
    empty = ev.to_frames(e[:0], (4, 2, 2), n_time_bins=3, start_time=0, end_time=30)
    assert empty.shape == (3, 2, 2, 4)
    assert empty.sum() == 0


def test_frames_by_time_window_with_overlap_and_incomplete():
    e = ev.make_events(x=[0] * 5, y=[0] * 5, t=[0, 10, 20, 30, 40], p=[1] * 5)
    full = ev.to_frames(e, (1, 1, 2), time_window=20)
    assert full.sum(axis=(1, 2, 3)).tolist() == [2, 2]
    with_tail = ev.to_frames(e, (1, 1, 2), time_window=20, include_incomplete=True)
    assert with_tail.sum(axis=(1, 2, 3)).tolist() == [2, 2, 1]
    overlapped = ev.to_frames(e, (1, 1, 2), time_window=20, overlap=10)
    # windows [0,20) [10,30) [20,40); [30,50) passes the end (41) and is incomplete
    assert overlapped.sum(axis=(1, 2, 3)).tolist() == [2, 2, 2]


def test_frames_by_event_count():
    e = ev.make_events(x=[0] * 7, y=[0] * 7, t=list(range(7)), p=[0] * 7)
    assert ev.to_frames(e, (1, 1, 2), event_count=3).sum(axis=(1, 2, 3)).tolist() == [3, 3]
    assert ev.to_frames(e, (1, 1, 2), event_count=3, include_incomplete=True).sum(axis=(1, 2, 3)).tolist() == [3, 3, 1]


def test_frame_rule_must_be_unique():
    e = ev.make_events(x=[0], y=[0], t=[0], p=[0])
    with pytest.raises(ParameterError, match="exactly one"):
        ev.to_frames(e, (1, 1, 2), time_window=10, n_time_bins=2)
    with pytest.raises(ParameterError, match="overlap"):
        ev.to_frames(e, (1, 1, 2), time_window=10, overlap=10)


def test_audio_events_give_frames_with_channels_last():
    e = ev.make_events(t=[0, 5, 7], x=[699, 3, 3], p=[1, 1, 1])
    assert ev.is_audio(e)
    frames = ev.to_frames(e, (700, 1, 1), n_time_bins=1)
    assert frames.shape == (1, 1, 1, 700)
    assert frames[0, 0, 0, 3] == 2
    assert frames[0, 0, 0, 699] == 1


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    bins=st.integers(1, 12),
    seed=st.integers(0, 2**31),
)
def test_frames_never_invent_or_lose_events(n, bins, seed):
    rng = np.random.default_rng(seed)
    e = random_events(rng, n) if n else np.empty(0, dtype=ev.EVENT_DTYPE)
    frames = ev.to_frames(e, SENSOR, n_time_bins=bins, start_time=0, end_time=100_000)
    assert frames.sum() == n
    assert frames.min() >= 0
    per_pixel = np.zeros((2, 34, 34), dtype=np.int64)
    np.add.at(per_pixel, (e["p"], e["y"], e["x"]), 1)
    np.testing.assert_array_equal(frames.sum(axis=0), per_pixel)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), bins=st.integers(2, 10), seed=st.integers(0, 2**31))
def test_voxel_grid_preserves_signed_polarity_sum(n, bins, seed):
    rng = np.random.default_rng(seed)
    e = random_events(rng, n)
    grid = ev.to_voxel_grid(e, SENSOR, bins)
    assert grid.shape == (bins, 1, 34, 34)
    assert grid.sum() == pytest.approx(np.sum(np.where(e["p"] > 0, 1.0, -1.0)))


def test_voxel_grid_counts_off_events_negative_even_for_bool_polarity():
    raw = np.empty(2, dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    raw["x"], raw["y"], raw["t"], raw["p"] = [0, 1], [0, 0], [0, 10], [False, True]
    grid = ev.to_voxel_grid(raw, (2, 1, 2), 2)
    assert grid[0, 0, 0, 0] == -1.0
    assert grid[1, 0, 0, 1] == 1.0


def test_slice_and_concatenate(rng):
    e = random_events(rng, 100)
    part = ev.slice_by_time(e, 20_000, 60_000)
    assert np.all((part["t"] >= 20_000) & (part["t"] < 60_000))
    assert len(part) == np.count_nonzero((e["t"] >= 20_000) & (e["t"] < 60_000))
    joined = ev.concatenate([e, e])
    assert len(joined) == 200
    np.testing.assert_array_equal(joined["t"][100:], e["t"] + e["t"][-1] + 1)
    shifted = ev.concatenate([e, e], offsets=[0, 10**6])
    np.testing.assert_array_equal(shifted["t"][100:], e["t"] + 10**6)
    with pytest.raises(EventValueError, match="decrease"):
        ev.concatenate([e, e], offsets=[0, 0])
    with pytest.raises(EventFieldError, match="1-D"):
        ev.concatenate([e, ev.make_events(t=[0], x=[0], p=[1])])

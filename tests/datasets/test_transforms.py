from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neuro.core import events as ev
from neuro.core.errors import EventFieldError, EventValueError, ParameterError
from neuro.datasets import _transform_kernels as kernels
from neuro.datasets import transforms as tf
from tests.conftest import ROOT

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def recordings(draw, audio: bool = False, max_events: int = 120, max_side: int = 9, t_max: int = 3000):
    """A valid, time-sorted event array and its sensor size (many ties in time and pixel)."""
    w = draw(st.integers(1, max_side))
    h = 1 if audio else draw(st.integers(1, max_side))
    n_p = 1 if audio else draw(st.sampled_from([1, 2]))
    n = draw(st.integers(0, max_events))
    t_hi = draw(st.integers(0, t_max))
    x = draw(arrays(np.int64, n, elements=st.integers(0, w - 1)))
    t = np.sort(draw(arrays(np.int64, n, elements=st.integers(0, t_hi))))
    p = np.ones(n, np.int64) if audio else draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    y = None if audio else draw(arrays(np.int64, n, elements=st.integers(0, h - 1)))
    return ev.make_events(x=x, y=y, t=t, p=p), (w, h, n_p)


def random_events(rng, n=5000, sensor=(16, 12, 2), t_max=200_000):
    t = np.sort(rng.integers(0, t_max, n))
    return ev.make_events(x=rng.integers(0, sensor[0], n), y=rng.integers(0, sensor[1], n), t=t, p=rng.integers(0, 2, n))


def rows(events) -> Counter:
    return Counter(zip(*(events[f].tolist() for f in events.dtype.names), strict=True))


def is_subset(out, inp) -> bool:
    return not rows(out) - rows(inp)


def assert_valid(out, sensor):
    """Canonical dtype, sorted in time, inside ``sensor``."""
    assert out.dtype in (ev.EVENT_DTYPE, ev.AUDIO_DTYPE)
    ev.validate_events(out, sensor)


def same_order(a, b):
    assert a.dtype == b.dtype
    for f in a.dtype.names:
        np.testing.assert_array_equal(a[f], b[f], err_msg=f)


# ---------- plain-Python references for the Numba loops ----------


def denoise_reference(events, filter_time, diagonal):
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (1, -1), (-1, 1), (1, 1)] if diagonal else [])
    last: dict[tuple[int, int], int] = {}
    keep = []
    for x, y, t in zip(events["x"].tolist(), events["y"].tolist(), events["t"].tolist(), strict=True):
        last[(x, y)] = t
        keep.append(any((x + dx, y + dy) in last and t - last[(x + dx, y + dy)] < filter_time for dx, dy in offsets))
    return events[np.array(keep, dtype=bool)]


def refractory_reference(events, delta):
    ys = [0] * len(events) if ev.is_audio(events) else events["y"].tolist()
    last_kept: dict[tuple[int, int], int] = {}
    keep = []
    for x, y, t in zip(events["x"].tolist(), ys, events["t"].tolist(), strict=True):
        ok = (x, y) not in last_kept or t - last_kept[(x, y)] >= delta
        if ok:
            last_kept[(x, y)] = t
        keep.append(ok)
    return events[np.array(keep, dtype=bool)]


@SETTINGS
@given(recordings(), st.integers(1, 800), st.booleans())
def test_denoise_equals_reference_and_invents_nothing(rec, filter_time, diagonal):
    events, sensor = rec
    before = events.copy()
    out = tf.denoise(events, sensor, filter_time, diagonal=diagonal)
    same_order(out, denoise_reference(events, filter_time, diagonal))
    assert_valid(out, sensor)
    assert is_subset(out, events)
    same_order(events, before)  # input untouched


def test_denoise_on_a_large_recording_equals_reference(rng):
    events = random_events(rng)
    for diagonal in (False, True):
        out = tf.Denoise((16, 12, 2), filter_time=3000, diagonal=diagonal)(events)
        assert 0 < len(out) < len(events)
        same_order(out, denoise_reference(events, 3000, diagonal))


def test_denoise_semantics_by_hand():
    e = ev.make_events(x=[3, 4, 3, 9, 4], y=[3, 3, 4, 9, 4], t=[0, 5, 9, 10, 20], p=[1, 1, 0, 1, 1])
    # (4,3) sees (3,3) 5 µs earlier; (3,4) sees (3,3) 9 µs earlier; (4,4) has 4-neighbours (4,3) at 5
    # and (3,4) at 9, 15 and 11 µs earlier; (3,3) fired first and (9,9) is isolated.
    assert tf.denoise(e, (10, 10, 2), 10)["t"].tolist() == [5, 9]
    assert tf.denoise(e, (10, 10, 2), 12)["t"].tolist() == [5, 9, 20]
    # diagonal neighbour (3,3) -> (4,4) only counts in the 8-neighbourhood
    d = ev.make_events(x=[3, 4], y=[3, 4], t=[0, 1], p=[1, 1])
    assert len(tf.denoise(d, (10, 10, 2), 10)) == 0
    assert tf.denoise(d, (10, 10, 2), 10, diagonal=True)["t"].tolist() == [1]


@pytest.mark.parametrize("offset", [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)])
def test_denoise_window_is_half_open_in_every_direction(offset):
    e = ev.make_events(x=[2 + offset[0], 2], y=[2 + offset[1], 2], t=[100, 110], p=[1, 1])
    diagonal = 0 not in offset
    assert len(tf.denoise(e, (5, 5, 2), 10, diagonal=diagonal)) == 0  # 110 - 100 is not < 10
    assert tf.denoise(e, (5, 5, 2), 11, diagonal=diagonal)["t"].tolist() == [110]
    if diagonal:
        assert len(tf.denoise(e, (5, 5, 2), 11)) == 0


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)), st.integers(0, 800))
def test_refractory_equals_reference_and_spaces_kept_events(rec, delta):
    events, sensor = rec
    out = tf.filter_refractory(events, sensor, delta)
    same_order(out, refractory_reference(events, delta))
    assert_valid(out, sensor)
    assert is_subset(out, events)
    keys = out["x"].astype(np.int64) if ev.is_audio(out) else out["x"] * 1000 + out["y"].astype(np.int64)
    for k in np.unique(keys):
        assert (np.diff(out["t"][keys == k]) >= delta).all()


def test_refractory_on_a_large_recording_and_zero_delta(rng):
    events = random_events(rng)
    out = tf.RefractoryFilter((16, 12, 2), delta=2000)(events)
    assert 0 < len(out) < len(events)
    same_order(out, refractory_reference(events, 2000))
    same_order(tf.filter_refractory(events, (16, 12, 2), 0), events)


def test_numba_kernels_are_the_path_that_ran(monkeypatch, rng):
    calls = []
    original = kernels.compiled

    def spy(name):
        dispatcher = original(name)
        calls.append((name, dispatcher))
        return dispatcher

    monkeypatch.setattr(kernels, "compiled", spy)
    events = random_events(rng, n=200)
    tf.denoise(events, (16, 12, 2), 100)
    tf.filter_refractory(events, (16, 12, 2), 100)
    assert [name for name, _ in calls if name != "first_invalid"] == ["denoise", "refractory"]
    for _, dispatcher in calls:
        assert type(dispatcher).__module__.startswith("numba")
        assert dispatcher.signatures  # compiled machine code was called


@SETTINGS
@given(st.data())
def test_compiled_validation_agrees_with_validate_events(data):
    audio = data.draw(st.booleans())
    n = data.draw(st.integers(0, 30))
    sensor = (data.draw(st.integers(1, 6)), 1 if audio else data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3)))
    raw = np.zeros(n, dtype=ev.AUDIO_DTYPE if audio else ev.EVENT_DTYPE)
    for f in raw.dtype.names:
        hi = 40 if f == "t" else 7
        raw[f] = data.draw(arrays(np.int64, n, elements=st.integers(-1, hi)))
    if data.draw(st.booleans()):
        raw = raw[np.argsort(raw["t"], kind="stable")]
    size = data.draw(st.sampled_from([None, sensor]))
    try:
        ev.validate_events(raw, size)
        expected = None
    except (EventValueError, EventFieldError) as err:
        expected = (type(err), err.field, err.index)
    assert (kernels.first_invalid(raw, size) < 0) == (expected is None)
    if expected is not None:  # transforms raise validate_events' own error
        with pytest.raises(expected[0]) as info:
            tf.drop_events(raw, 0.5, np.random.default_rng(0)) if size is None else tf.filter_refractory(raw, size, 0)
        assert (info.value.field, info.value.index) == expected[1:]


def test_strided_views_and_other_layouts_give_the_same_result(rng):
    events = random_events(rng, n=2000)
    strided = events[::3]
    txyp = np.empty(len(strided), dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
    for f in ("t", "x", "y", "p"):
        txyp[f] = strided[f]
    base = np.ascontiguousarray(strided)
    for transform in (tf.Denoise((16, 12, 2), 3000), tf.RandomTimeReversal(p=1.0), tf.DropEvents(0.5), tf.TimeJitter(50.0)):
        expected = transform(base, rng=np.random.default_rng(5))
        for variant in (strided, txyp):
            same_order(transform(variant, rng=np.random.default_rng(5)), expected)
    out = tf.RandomFlipLR((16, 12, 2), p=0.0)(strided, rng=rng)
    out["x"] = 0  # a new array, never a view of the input
    assert strided["x"].any()


# ---------- random transforms ----------


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)), st.floats(0, 1), st.integers(0, 2**32))
def test_drop_events_is_a_deterministic_subset(rec, p, seed):
    events, sensor = rec
    out = tf.DropEvents(p)(events, rng=np.random.default_rng(seed))
    assert_valid(out, sensor)
    assert is_subset(out, events)
    same_order(out, tf.drop_events(events, p, np.random.default_rng(seed)))


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_drop_events_keeps_one_minus_p_in_expectation(rng, p):
    n = 20_000
    events = random_events(rng, n=n)
    kept = len(tf.drop_events(events, p, rng))
    sigma = np.sqrt(n * p * (1 - p))
    assert abs(kept - (1 - p) * n) <= 6 * sigma


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)), st.floats(0, 0.99), st.integers(0, 2**32))
def test_drop_by_time_removes_one_window(rec, ratio, seed):
    events, sensor = rec
    out = tf.DropByTime(ratio)(events, rng=np.random.default_rng(seed))
    assert_valid(out, sensor)
    assert is_subset(out, events)
    removed = np.array(sorted((rows(events) - rows(out)).elements()), dtype=np.int64).reshape(-1, len(events.dtype))
    if len(removed):
        tcol = events.dtype.names.index("t")
        lo, hi = removed[:, tcol].min(), removed[:, tcol].max()
        span = int(events["t"][-1]) - int(events["t"][0]) + 1
        assert hi - lo < int(ratio * span)
        assert not ((out["t"] >= lo) & (out["t"] <= hi)).any()


@SETTINGS
@given(recordings(), st.floats(0, 0.99), st.integers(0, 2**32))
def test_drop_by_area_removes_one_box(rec, ratio, seed):
    events, sensor = rec
    out = tf.DropByArea(sensor, ratio)(events, rng=np.random.default_rng(seed))
    assert_valid(out, sensor)
    assert is_subset(out, events)
    gone = rows(events) - rows(out)
    if gone:
        xs, ys = [r[0] for r in gone], [r[1] for r in gone]
        assert max(xs) - min(xs) < int(sensor[0] * ratio)
        assert max(ys) - min(ys) < int(sensor[1] * ratio)
        inside = (out["x"] >= min(xs)) & (out["x"] <= max(xs)) & (out["y"] >= min(ys)) & (out["y"] <= max(ys))
        assert not inside.any()


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)), st.floats(0, 300), st.booleans(), st.integers(0, 2**32))
def test_time_jitter_moves_only_time_and_stays_sorted(rec, std, drop_negative, seed):
    events, sensor = rec
    out = tf.TimeJitter(std, drop_negative=drop_negative)(events, rng=np.random.default_rng(seed))
    assert_valid(out, sensor)
    untimed = [f for f in events.dtype.names if f != "t"]
    strip = lambda e: Counter(zip(*(e[f].tolist() for f in untimed), strict=True))  # noqa: E731
    assert not strip(out) - strip(events)
    if not drop_negative:
        assert len(out) == len(events)
    same_order(out, tf.jitter_time(events, std, np.random.default_rng(seed), drop_negative=drop_negative))
    if std == 0:
        same_order(out, events)


def test_time_jitter_has_the_requested_spread(rng):
    n = 20_000
    events = ev.make_events(x=np.zeros(n), y=np.zeros(n), t=np.full(n, 10**6), p=np.ones(n))
    shift = tf.jitter_time(events, 250.0, rng)["t"] - 10**6
    assert abs(shift.mean()) < 5 * 250 / np.sqrt(n)
    assert abs(shift.std() / 250 - 1) < 0.03
    near_zero = ev.make_events(x=np.zeros(n), y=np.zeros(n), t=np.full(n, 100), p=np.ones(n))
    dropped = tf.jitter_time(near_zero, 100.0, rng)
    clamped = tf.jitter_time(near_zero, 100.0, rng, drop_negative=False)
    assert 0.1 < 1 - len(dropped) / n < 0.22  # P(N(0,1) < -1) ~ 0.16
    assert len(clamped) == n
    assert (clamped["t"] == 0).mean() > 0.1


# ---------- geometry ----------


@SETTINGS
@given(recordings(), st.data())
def test_crop_keeps_exactly_the_events_in_the_window(rec, data):
    events, sensor = rec
    w = data.draw(st.integers(1, sensor[0]))
    h = data.draw(st.integers(1, sensor[1]))
    x0 = data.draw(st.integers(0, sensor[0] - w))
    y0 = data.draw(st.integers(0, sensor[1] - h))
    out = tf.crop(events, sensor, (x0, y0), (w, h))
    assert_valid(out, (w, h, sensor[2]))
    inside = events[(events["x"] >= x0) & (events["x"] < x0 + w) & (events["y"] >= y0) & (events["y"] < y0 + h)]
    np.testing.assert_array_equal(out["x"], inside["x"] - x0)
    np.testing.assert_array_equal(out["y"], inside["y"] - y0)
    np.testing.assert_array_equal(out["t"], inside["t"])
    np.testing.assert_array_equal(out["p"], inside["p"])


@SETTINGS
@given(recordings(), st.data())
def test_random_and_center_crop(rec, data):
    events, sensor = rec
    target = (data.draw(st.integers(1, sensor[0])), data.draw(st.integers(1, sensor[1])))
    seed = data.draw(st.integers(0, 2**32))
    rc = tf.RandomCrop(sensor, target)
    out = rc(events, rng=np.random.default_rng(seed))
    assert rc.output_sensor_size == (*target, sensor[2])
    assert_valid(out, rc.output_sensor_size)
    same_order(out, tf.crop(events, sensor, _origin(seed, sensor, target), target))
    same_order(out, rc(events, rng=np.random.default_rng(seed)))
    cc = tf.CenterCrop(sensor, target)
    origin = ((sensor[0] - target[0]) // 2, (sensor[1] - target[1]) // 2)
    same_order(cc(events), tf.crop(events, sensor, origin, target))


def _origin(seed, sensor, target):
    g = np.random.default_rng(seed)
    return int(g.integers(0, sensor[0] - target[0] + 1)), int(g.integers(0, sensor[1] - target[1] + 1))


def test_random_crop_visits_every_position(rng):
    seen = {_origin(int(s), (5, 4, 2), (3, 3)) for s in rng.integers(0, 2**32, 200)}
    assert seen == {(x, y) for x in range(3) for y in range(2)}


@SETTINGS
@given(recordings())
def test_flips_twice_are_the_identity(rec):
    events, sensor = rec
    g = np.random.default_rng(0)
    for flip in (tf.RandomFlipLR(sensor, p=1.0), tf.RandomFlipUD(sensor, p=1.0), tf.RandomFlipPolarity(p=1.0)):
        once = flip(events, rng=g)
        assert_valid(once, sensor)
        same_order(flip(once, rng=g), events)
    np.testing.assert_array_equal(tf.flip_lr(events, sensor)["x"], sensor[0] - 1 - events["x"])
    np.testing.assert_array_equal(tf.flip_ud(events, sensor)["y"], sensor[1] - 1 - events["y"])
    same_order(tf.RandomFlipLR(sensor, p=0.0)(events, rng=g), events)


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)), st.booleans())
def test_time_reversal_twice_is_the_identity(rec, flip_polarities):
    events, sensor = rec
    once = tf.reverse_time(events, flip_polarities=flip_polarities)
    assert_valid(once, sensor)
    assert len(once) == len(events)
    if len(events):
        t0, t1 = int(events["t"][0]), int(events["t"][-1])
        np.testing.assert_array_equal(once["t"], (t0 + t1 - events["t"])[::-1])
        assert once["t"][0] == t0
        assert once["t"][-1] == t1
        expected_p = 1 - events["p"][::-1] if flip_polarities else events["p"][::-1]
        np.testing.assert_array_equal(once["p"], expected_p)
    twice = tf.RandomTimeReversal(p=1.0, flip_polarities=flip_polarities)(once, rng=np.random.default_rng(1))
    same_order(twice, events)


# ---------- downsample, merge, dense ----------


@SETTINGS
@given(st.one_of(recordings(max_side=40), recordings(audio=True, max_side=40)), st.data())
def test_downsample_maps_every_event_inside_the_output_sensor(rec, data):
    events, sensor = rec
    if data.draw(st.booleans()):
        target = (data.draw(st.integers(1, sensor[0])), data.draw(st.integers(1, sensor[1])))
        d = tf.Downsample(sensor, target_size=target)
        expect_x = events["x"].astype(np.int64) * target[0] // sensor[0]
        assert d.output_sensor_size == (*target, sensor[2])
    else:
        f = data.draw(st.floats(0.01, 1.0))
        d = tf.Downsample(sensor, spatial_factor=f, time_factor=data.draw(st.sampled_from([1.0, 0.5, 1e-3])))
        expect_x = np.floor(events["x"] * f)
        assert d.output_sensor_size[0] == int(np.floor((sensor[0] - 1) * f)) + 1  # tight: the largest x lands on W'-1
    out = d(events)
    assert len(out) == len(events)
    assert_valid(out, d.output_sensor_size)
    np.testing.assert_array_equal(out["x"], expect_x)
    np.testing.assert_array_equal(out["t"], np.floor(events["t"] * d.time_factor))


def test_downsample_dvs128_to_32(rng):
    events = random_events(rng, sensor=(128, 128, 2))
    out = tf.Downsample((128, 128, 2), spatial_factor=0.25, time_factor=1e-3)(events)
    np.testing.assert_array_equal(out["x"], events["x"] // 4)
    np.testing.assert_array_equal(out["y"], events["y"] // 4)
    np.testing.assert_array_equal(out["t"], events["t"] // 1000)
    assert out["x"].max() == 31


@SETTINGS
@given(st.one_of(recordings(), recordings(audio=True)))
def test_merge_polarities(rec):
    events, sensor = rec
    m = tf.MergePolarities(sensor)
    out = m(events)
    assert m.output_sensor_size == (sensor[0], sensor[1], 1)
    assert_valid(out, m.output_sensor_size)
    assert (out["p"] == 0).all()
    assert len(out) == len(events)
    frames = tf.ToFrames(m.output_sensor_size, n_time_bins=2)(out) if len(out) else None
    if frames is not None:
        assert frames.sum() == len(events)


def test_dense_transforms_wrap_core_conversions(rng):
    events = random_events(rng, sensor=(16, 12, 2))
    np.testing.assert_array_equal(
        tf.ToFrames((16, 12, 2), time_window=10_000, overlap=2000)(events),
        ev.to_frames(events, (16, 12, 2), time_window=10_000, overlap=2000),
    )
    np.testing.assert_array_equal(tf.ToVoxelGrid((16, 12, 2), 7)(events), ev.to_voxel_grid(events, (16, 12, 2), 7))
    audio = ev.make_events(t=np.sort(rng.integers(0, 1000, 300)), x=rng.integers(0, 20, 300), p=np.ones(300))
    frames = tf.ToFrames((20, 1, 1), n_time_bins=4)(audio)
    assert frames.shape == (4, 1, 1, 20)
    assert frames.sum() == 300


# ---------- composition, determinism, errors ----------


def augment(sensor):
    return tf.Compose(
        [
            tf.RefractoryFilter(sensor, delta=500),
            tf.TimeJitter(std=100.0),
            tf.DropEvents(p=0.2),
            tf.RandomCrop(sensor, (10, 8)),
            tf.RandomFlipLR((10, 8, 2)),
            tf.RandomTimeReversal(),
        ]
    )


def test_compose_is_deterministic_for_a_seeded_generator(rng):
    events = random_events(rng)
    pipeline = augment((16, 12, 2))
    a = pipeline(events, rng=np.random.default_rng(7))
    same_order(a, pipeline(events, rng=np.random.default_rng(7)))
    b = pipeline(events, rng=np.random.default_rng(8))
    assert len(a) != len(b) or not np.array_equal(a, b)
    assert_valid(a, (10, 8, 2))


@pytest.mark.parametrize(
    "transform",
    [
        tf.TimeJitter(1.0),
        tf.DropEvents(0.5),
        tf.DropByTime(0.5),
        tf.DropByArea((4, 4, 2), 0.5),
        tf.RandomCrop((4, 4, 2), (2, 2)),
        tf.RandomFlipLR((4, 4, 2)),
        tf.RandomFlipUD((4, 4, 2)),
        tf.RandomFlipPolarity(),
        tf.RandomTimeReversal(),
    ],
    ids=lambda t: type(t).__name__,
)
def test_random_transforms_refuse_a_missing_generator(transform):
    events = ev.make_events(x=[0, 1], y=[0, 1], t=[0, 1], p=[0, 1])
    for bad in (None, 42, np.random.RandomState(0)):
        with pytest.raises(ParameterError) as info:
            transform(events, rng=bad)
        assert info.value.field == "rng"
    assert_valid(transform(events, rng=np.random.default_rng(0)), (4, 4, 2))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: tf.Denoise((4, 4, 2), filter_time=0), "filter_time"),
        (lambda: tf.Denoise((4, 4, 2), filter_time=1.5), "filter_time"),
        (lambda: tf.Denoise((4, 0, 2)), "sensor_size"),
        (lambda: tf.RefractoryFilter((4, 4, 2), delta=-1), "delta"),
        (lambda: tf.Downsample((4, 4, 2), spatial_factor=0.0), "spatial_factor"),
        (lambda: tf.Downsample((4, 4, 2), spatial_factor=2.0), "spatial_factor"),
        (lambda: tf.Downsample((4, 4, 2), spatial_factor=0.5, target_size=(2, 2)), "target_size"),
        (lambda: tf.Downsample((4, 4, 2), target_size=(0, 2)), "target_size"),
        (lambda: tf.Downsample((4, 1, 1), target_size=(2, 2)), "target_size"),
        (lambda: tf.Downsample((4, 4, 2), target_size=(8, 2)), "target_size"),
        (lambda: tf.Downsample((4, 4, 2), time_factor=0), "time_factor"),
        (lambda: tf.Downsample((4, 4, 2), time_factor=float("nan")), "time_factor"),
        (lambda: tf.TimeJitter(-1.0), "std"),
        (lambda: tf.DropEvents(1.5), "p"),
        (lambda: tf.DropEvents(True), "p"),
        (lambda: tf.DropByTime(1.0), "duration_ratio"),
        (lambda: tf.DropByArea((4, 4, 2), -0.1), "area_ratio"),
        (lambda: tf.RandomCrop((4, 4, 2), (5, 2)), "target_size"),
        (lambda: tf.CenterCrop((4, 4, 2), (2,)), "target_size"),
        (lambda: tf.RandomFlipLR((4, 4, 2), p=-0.5), "p"),
        (lambda: tf.RandomTimeReversal(p=2), "p"),
        (lambda: tf.ToFrames((4, 4, 2)), None),
        (lambda: tf.ToFrames((4, 4, 2), time_window=10, n_time_bins=2), "time_window"),
        (lambda: tf.ToFrames((4, 4, 2), time_window=10, overlap=10), "overlap"),
        (lambda: tf.ToFrames((4, 4, 2), event_count=0), "event_count"),
        (lambda: tf.ToVoxelGrid((4, 4, 2), 0), "n_time_bins"),
        (lambda: tf.Compose([tf.DropEvents(0.1), "not a transform"]), "transforms"),
    ],
)
def test_invalid_parameters_name_the_field(make, field):
    with pytest.raises(ParameterError) as info:
        make()
    assert info.value.field == field


def test_functional_forms_validate_too():
    e = ev.make_events(x=[0, 3], y=[0, 3], t=[0, 1], p=[0, 1])
    with pytest.raises(ParameterError, match="origin"):
        tf.crop(e, (4, 4, 2), (3, 0), (2, 2))
    with pytest.raises(ParameterError, match="rng"):
        tf.drop_events(e, 0.5, None)
    with pytest.raises(EventValueError) as info:
        tf.denoise(e, (3, 3, 2), 10)  # x = 3 is outside a 3-pixel sensor
    assert info.value.field == "x"
    with pytest.raises(EventValueError):
        tf.flip_polarity(ev.make_events(x=[0], y=[0], t=[0], p=[2]))


@pytest.mark.parametrize(
    "transform",
    [
        tf.Denoise((8, 1, 1)),
        tf.RandomCrop((8, 1, 1), (4, 1)),
        tf.RandomFlipLR((8, 1, 1), p=0.0),
        tf.RandomFlipUD((8, 1, 1), p=0.0),
        tf.DropByArea((8, 1, 1)),
    ],
    ids=lambda t: type(t).__name__,
)
def test_two_dimensional_transforms_refuse_audio(transform):
    audio = ev.make_events(t=[0, 5], x=[1, 2], p=[1, 1])
    with pytest.raises(EventFieldError) as info:
        transform(audio, rng=np.random.default_rng(0))
    assert info.value.field == "y"


def test_transforms_are_frozen():
    d = tf.DropEvents(0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.p = 0.2  # type: ignore[misc]
    assert tf.Denoise([4, 4, 2]).sensor_size == (4, 4, 2)


# ---------- benchmark smoke test (no timing assertions) ----------


def test_benchmark_functions_run_without_tonic(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("bench_transforms", ROOT / "benchmarks" / "bench_transforms.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_transforms", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    results = bench.run_benchmarks(n_events=400, repeats=1, tonic=None, seed=1)
    assert [r.name for r in results] == [c.name for c in bench.cases((128, 128, 2))]
    for r in results:
        assert r.ours_events_per_s > 0
        assert r.tonic_events_per_s is None
    table = bench.format_table(results)
    assert "denoise" in table
    assert "to-voxel-grid" in table
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Other\n\nkeep me\n")
    bench.update_section(doc, "## Event transforms vs tonic\n\nfirst\n", bench.SECTION)
    bench.update_section(doc, "## Event transforms vs tonic\n\nsecond\n", bench.SECTION)
    text = doc.read_text()
    assert "keep me" in text
    assert "second" in text
    assert "first" not in text
    assert text.count("## Event transforms vs tonic") == 1
    monkeypatch.setitem(sys.modules, "tonic", None)  # makes `import tonic` fail
    assert bench.main(["--events", "300"]) == 0
    assert "tonic is not installed" in capsys.readouterr().out

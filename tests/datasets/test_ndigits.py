"""n-digits: the saccade path, rendering, determinism, event statistics, split, learnability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from neuro.core.errors import DatasetError, ParameterError
from neuro.core.events import to_frames, validate_events
from neuro.datasets import load
from neuro.datasets import ndigits as nd
from neuro.datasets.cache import load_packed
from neuro.datasets.registry import dataset_cache_path


def test_saccade_path_visits_the_nmnist_triangle():
    params = nd.NDigitsParams()
    times, offsets = nd.saccade_path(params)
    per_leg = params.leg_us // params.frame_us
    assert times[-1] == 3 * params.leg_us
    for k, vertex in enumerate(nd.SACCADE_VERTICES):
        np.testing.assert_allclose(offsets[k * per_leg], vertex)
    # raised cosine: slow at the vertices, fastest mid-leg
    speed = np.linalg.norm(np.diff(offsets[:per_leg], axis=0), axis=1)
    assert speed.argmax() in range(per_leg // 2 - 2, per_leg // 2 + 2)
    assert speed[0] < 0.05 * speed.max()


def test_render_equals_pointwise_bilinear_resampling(rng):
    digit = rng.random((28, 28))
    offsets = rng.uniform(-12, 12, (17, 2))
    frames = nd.render(digit, offsets)
    rows, cols = np.mgrid[0:34, 0:34].astype(float)
    origin = (34 - 28) / 2 - 3.5
    ref = map_coordinates(
        digit, [rows[None] - origin - offsets[:, 1, None, None], cols[None] - origin - offsets[:, 0, None, None]],
        order=1, mode="grid-constant", cval=0.0,
    )  # fmt: skip
    np.testing.assert_allclose(frames, ref, atol=1e-12)


def test_upsampled_digit_keeps_the_mnist_margin():
    images, _ = nd.load_digit_images()
    big = nd.upsample_digit(images[0])
    assert big.shape == (28, 28)
    assert big.min() >= 0
    assert big.max() <= 1
    assert big[:2].sum() == 0
    assert big[:, -2:].sum() == 0


def test_samples_are_deterministic_and_independent_of_the_batch():
    a = nd.generate(indices=np.array([3, 10]))
    b = nd.generate(indices=np.array([10]))
    np.testing.assert_array_equal(a[1][0], b[0][0])
    assert a.labels.tolist() == [3, 0]
    other_seed = nd.generate(nd.NDigitsParams(seed=1), indices=np.array([10]))
    assert not np.array_equal(other_seed[0][0], b[0][0])


def test_event_statistics_match_the_recipe():
    ds = nd.generate(indices=np.arange(0, 1797, 120))
    counts = np.diff(ds.offsets)
    assert 3000 <= counts.mean() <= 6000
    for events, _ in ds:
        validate_events(events, nd.SENSOR_SIZE)
        assert events["t"].max() <= 315_000
        assert events["t"].max() > 250_000
        assert 0.35 < events["p"].mean() < 0.65


def test_parallel_generation_gives_the_same_events():
    idx = np.arange(0, 1797, 300)
    serial = nd.generate(indices=idx)
    parallel = nd.generate(indices=idx, workers=2)
    np.testing.assert_array_equal(serial.events, parallel.events)


def test_stratified_split_fractions():
    _, labels = nd.load_digit_images()
    split = nd.stratified_split(labels, 0)
    for label in range(10):
        mine = split[labels == label]
        assert abs((mine == "test").mean() - 0.2) < 0.01
        assert abs((mine == "val").mean() - 0.1) < 0.01
    assert not np.array_equal(split, nd.stratified_split(labels, 1))


@pytest.mark.parametrize(("kwargs", "field"), [({"frame_us": 0}, "frame_us"), ({"threshold": -1.0}, "threshold_on")])
def test_params_are_validated(kwargs, field):
    with pytest.raises(ParameterError) as info:
        nd.NDigitsParams(**kwargs)
    assert info.value.field == field


def test_load_rejects_unknown_names_splits_and_options(tmp_path):
    with pytest.raises(DatasetError, match="n-digits"):
        load("n-digit", root=tmp_path)
    with pytest.raises(DatasetError, match="split"):
        load("n-digits", "validation", root=tmp_path)
    with pytest.raises(DatasetError, match="thresold"):
        load("n-digits", root=tmp_path, thresold=0.3)


@pytest.mark.slow
def test_full_dataset_is_learnable_by_a_linear_readout(tmp_path):
    """Acceptance: a ridge readout on event-count frames reaches >= 85 % test accuracy."""
    from sklearn.linear_model import RidgeClassifier

    train = load("n-digits", "train", root=tmp_path, workers=2)
    test = load("n-digits", "test", root=tmp_path)
    assert (len(train), len(test)) == (1259, 359)
    assert dataset_cache_path("n-digits", tmp_path).exists()
    assert len(load_packed(dataset_cache_path("n-digits", tmp_path))) == 1797

    def features(ds):
        x = np.stack([to_frames(e, ds.sensor_size, n_time_bins=1)[0].ravel() for e, _ in ds]).astype(float)
        return x / x.sum(axis=1, keepdims=True)

    model = RidgeClassifier(alpha=1e-3).fit(features(train), train.labels)
    accuracy = model.score(features(test), test.labels)
    assert accuracy >= 0.85, accuracy

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest

from neuro.core.errors import DataFormatError, DatasetError
from neuro.core.events import AUDIO_DTYPE
from neuro.datasets.readers.ntidigits import NTIDIGITS18, SINGLE_DIGIT_CLASSES
from neuro.datasets.readers.shd import SHD, SSC
from tests.datasets.readers import fakes


def spike_train(rng, n, channels, duration_s=1.0):
    seconds = np.sort(rng.uniform(0, duration_s, n)).astype(np.float32)
    return seconds, rng.integers(0, channels, n)


@pytest.fixture
def shd_file(tmp_path, rng):
    samples = [spike_train(rng, n, 700) for n in (50, 0, 80)]
    path = tmp_path / "shd_test.h5"
    fakes.write_heidelberg(path, samples, [3, 0, 19], [7, 8, 7], [f"digit {k}" for k in range(20)])
    return path, samples


def test_shd_samples_are_audio_events_in_microseconds(shd_file):
    path, samples = shd_file
    ds = SHD(path)
    assert len(ds) == 3
    assert ds.sensor_size == (700, 1, 1)
    assert ds.classes[19] == "digit 19"
    assert ds.labels.tolist() == [3, 0, 19]
    assert ds.extras["speaker"].tolist() == [7, 8, 7]
    events, label = ds[2]
    assert label == 19
    assert events.dtype == AUDIO_DTYPE
    seconds, units = samples[2]
    np.testing.assert_array_equal(events["t"], np.round(seconds.astype(np.float64) * 1e6).astype(np.int64))
    np.testing.assert_array_equal(events["x"], units)
    assert set(events["p"].tolist()) == {1}
    assert len(ds[1][0]) == 0


def test_unsorted_spikes_come_back_sorted(tmp_path):
    path = tmp_path / "ssc_valid.h5"
    fakes.write_heidelberg(path, [(np.array([0.5, 0.25, 0.75]), np.array([1, 2, 3]))], [34], [1], [])
    ds = SSC(path)
    assert ds.classes == tuple(str(i) for i in range(35))  # no extra/keys: names are the indices
    events, _ = ds[0]
    assert events["t"].tolist() == [250_000, 500_000, 750_000]
    assert events["x"].tolist() == [2, 1, 3]


def test_gzip_download_is_refused_with_advice(tmp_path, shd_file):
    path, _ = shd_file
    gz = tmp_path / "shd_train.h5.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(DatasetError, match=r"gunzip shd_train\.h5\.gz"):
        SHD(gz)


def test_heidelberg_format_errors(tmp_path, rng):
    with pytest.raises(DatasetError, match="absent"):
        SHD(tmp_path / "absent.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFormatError, match="HDF5") as info:
        SHD(junk)
    assert info.value.offset == 0
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["labels"] = np.zeros(2, np.uint16)
    with pytest.raises(DataFormatError, match="spikes/times"):
        SHD(path)
    fakes.write_heidelberg(path, [spike_train(rng, 5, 700)], [0, 1], [0], [])
    with pytest.raises(DataFormatError, match="labels 2"):
        SHD(path)
    fakes.write_heidelberg(path, [(np.array([0.1]), np.array([700]))], [0], [0], [])
    with pytest.raises(DataFormatError, match="unit 700") as info:
        SHD(path)[0]
    assert "bad.h5" in str(info.value)
    fakes.write_heidelberg(path, [(np.array([np.nan]), np.array([1]))], [0], [0], [])
    with pytest.raises(DataFormatError, match="finite"):
        SHD(path)[0]


@pytest.fixture
def tidigits_file(tmp_path, rng):
    def sample(n):
        seconds, channels = spike_train(rng, n, 64)
        return channels, seconds.astype(np.float64)

    splits = {
        "train": {"man-ae-1a": sample(20), "woman-gn-o3za": sample(30), "man-ae-zb": sample(10), "boy-xy-7a": sample(5)},
        "test": {"girl-ab-9a": sample(12), "man-cd-44a": sample(8)},
    }
    path = tmp_path / "n-tidigits.hdf5"
    fakes.write_ntidigits(path, splits)
    return path, splits


def test_ntidigits_all_sequences(tidigits_file):
    path, splits = tidigits_file
    ds = NTIDIGITS18(path, "train")
    assert ds.sensor_size == (64, 1, 1)
    assert ds.classes == ("1a", "44a", "7a", "9a", "o3za", "zb")
    assert [ds.classes[k] for k in ds.labels] == ["1a", "o3za", "zb", "7a"]
    events, label = ds[1]
    assert ds.classes[label] == "o3za"
    channels, seconds = splits["train"]["woman-gn-o3za"]
    np.testing.assert_array_equal(events["x"], channels)
    np.testing.assert_array_equal(events["t"], np.round(seconds * 1e6).astype(np.int64))
    assert ds.extras["sample_id"][1] == "woman-gn-o3za"
    test = NTIDIGITS18(path, "test")
    assert test.classes == ds.classes  # one mapping for both splits


def test_ntidigits_single_digits(tmp_path, rng):
    path = tmp_path / "n.hdf5"
    one = (rng.integers(0, 64, 4), np.array([0.1, 0.2, 0.3, 0.4]))
    fakes.write_ntidigits(path, {"train": {"man-ae-1": one, "man-ae-o3z": one, "woman-ab-z": one, "boy-cd-o": one}})
    ds = NTIDIGITS18(path, "train", single_digits=True)
    assert ds.classes == SINGLE_DIGIT_CLASSES
    assert ds.sample_ids == ("man-ae-1", "woman-ab-z", "boy-cd-o")
    assert ds.labels.tolist() == [1, 10, 0]
    assert ds[2][0]["t"].tolist() == [100_000, 200_000, 300_000, 400_000]


def test_ntidigits_errors(tidigits_file):
    path, _ = tidigits_file
    with pytest.raises(DatasetError, match="split"):
        NTIDIGITS18(path, "valid")
    with h5py.File(path, "a") as f:
        del f["test_timestamps/girl-ab-9a"]
        f["train_addresses/man-ae-zb"][0] = 99
    with pytest.raises(DataFormatError, match="girl-ab-9a"):
        NTIDIGITS18(path, "test")[0]
    with pytest.raises(DataFormatError, match="address 99"):
        NTIDIGITS18(path, "train")[2]
    with h5py.File(path, "a") as f:
        del f["test_addresses"]
    with pytest.raises(DataFormatError, match="test_addresses"):
        NTIDIGITS18(path, "test")

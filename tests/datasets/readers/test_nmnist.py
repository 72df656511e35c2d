from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import DataFormatError, DatasetError
from neuro.core.events import EVENT_DTYPE
from neuro.datasets.readers.nmnist import NMNIST, read_nmnist
from tests.conftest import ROOT
from tests.datasets.readers.fakes import NMNIST_OVERFLOW, encode_nmnist, write_nmnist_tree

SHARED = ROOT.parent / "shared" / "data"
REAL_NMNIST = SHARED / "sample_nmnist.bin"


def random_columns(rng, n=300, size=34, t_max=300_000):
    t = np.sort(rng.integers(0, t_max, n))
    return rng.integers(0, size, n), rng.integers(0, size, n), t, rng.integers(0, 2, n)


def test_round_trip_of_random_events(tmp_path, rng):
    x, y, t, p = random_columns(rng)
    path = tmp_path / "s.bin"
    path.write_bytes(encode_nmnist(x, y, t, p))
    ev = read_nmnist(path)
    assert ev.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(ev["x"], x)
    np.testing.assert_array_equal(ev["y"], y)
    np.testing.assert_array_equal(ev["t"], t)
    np.testing.assert_array_equal(ev["p"], p)


def test_largest_23_bit_timestamp_and_polarity_bit_do_not_mix(tmp_path):
    path = tmp_path / "s.bin"
    path.write_bytes(encode_nmnist([0, 33], [1, 2], [2**23 - 1, 2**23 - 1], [0, 1]))
    ev = read_nmnist(path)
    assert ev["t"].tolist() == [2**23 - 1, 2**23 - 1]
    assert ev["p"].tolist() == [0, 1]


def test_overflow_marker_adds_2_to_the_13_to_later_events_and_is_dropped(tmp_path):
    blob = encode_nmnist([1], [1], [8000], [1]) + NMNIST_OVERFLOW + encode_nmnist([2, 3], [2, 3], [10, 20], [0, 1])
    path = tmp_path / "s.bin"
    path.write_bytes(blob)
    ev = read_nmnist(path)
    assert ev["t"].tolist() == [8000, 8192 + 10, 8192 + 20]
    assert ev["x"].tolist() == [1, 2, 3]


def test_unsorted_events_come_back_sorted_stably(tmp_path):
    path = tmp_path / "s.bin"
    path.write_bytes(encode_nmnist([5, 6, 7, 8], [0, 0, 0, 0], [30, 10, 30, 10], [1, 1, 0, 0]))
    ev = read_nmnist(path)
    assert ev["t"].tolist() == [10, 10, 30, 30]
    assert ev["x"].tolist() == [6, 8, 5, 7]


@pytest.mark.parametrize("extra", [1, 4])
def test_truncated_file_names_file_and_offset(tmp_path, rng, extra):
    x, y, t, p = random_columns(rng, n=7)
    path = tmp_path / "cut.bin"
    path.write_bytes(encode_nmnist(x, y, t, p) + b"\x01" * extra)
    with pytest.raises(DataFormatError) as info:
        read_nmnist(path)
    assert info.value.offset == 35
    assert "cut.bin" in str(info.value)
    assert "at byte 35" in str(info.value)


def test_event_outside_the_sensor_reports_its_byte(tmp_path):
    path = tmp_path / "bad.bin"
    path.write_bytes(encode_nmnist([1, 2, 40], [1, 2, 3], [1, 2, 3], [0, 0, 0]))
    with pytest.raises(DataFormatError, match="at byte 10") as info:
        read_nmnist(path)
    assert "x = 40" in str(info.value)
    assert len(read_nmnist(path, sensor_size=None)) == 3  # N-Caltech101 style: no fixed sensor


def test_empty_file_gives_no_events_and_missing_file_is_a_dataset_error(tmp_path):
    (tmp_path / "empty.bin").write_bytes(b"")
    assert len(read_nmnist(tmp_path / "empty.bin")) == 0
    with pytest.raises(DatasetError, match=r"nope\.bin"):
        read_nmnist(tmp_path / "nope.bin")


def make_tree(tmp_path, rng):
    samples = {}
    for digit in (0, 3, 9):
        samples[digit] = []
        for _ in range(digit % 4 + 1):
            x, y, t, p = random_columns(rng, n=50, t_max=300_000)
            samples[digit].append(encode_nmnist(x, y, t, p))
    write_nmnist_tree(tmp_path, "train", samples)
    write_nmnist_tree(tmp_path, "test", {5: samples[3]})
    return samples


def test_dataset_lists_digits_in_order_and_reads_lazily(tmp_path, rng):
    samples = make_tree(tmp_path, rng)
    train = NMNIST(tmp_path, "train")
    assert train.sensor_size == (34, 34, 2)
    assert train.classes == tuple("0123456789")
    assert len(train) == 1 + 4 + 2
    assert train.labels.tolist() == [0, 3, 3, 3, 3, 9, 9]
    events, label = train[2]
    assert label == 3
    direct = tmp_path / "direct.bin"
    direct.write_bytes(samples[3][1])
    np.testing.assert_array_equal(events, read_nmnist(direct))
    test = NMNIST(tmp_path, "test")
    assert test.labels.tolist() == [5, 5, 5, 5]


def test_first_saccade_only_keeps_the_first_100_ms(tmp_path, rng):
    make_tree(tmp_path, rng)
    full = NMNIST(tmp_path, "train")[0][0]
    first = NMNIST(tmp_path, "train", first_saccade_only=True)[0][0]
    assert len(first) == int((full["t"] < 100_000).sum()) < len(full)
    assert first["t"].max() < 100_000


def test_tonic_style_nested_root_is_accepted(tmp_path, rng):
    make_tree(tmp_path / "NMNIST", rng)
    assert len(NMNIST(tmp_path, "train")) == 7


def test_bad_split_and_missing_folders(tmp_path, rng):
    with pytest.raises(DatasetError, match="split"):
        NMNIST(tmp_path, "valid")
    with pytest.raises(DatasetError, match="Train/0") as info:
        NMNIST(tmp_path / "nowhere", "train")
    assert "nowhere" in str(info.value)
    make_tree(tmp_path, rng)
    (tmp_path / "Train" / "7").rmdir()
    with pytest.raises(DatasetError, match=r"Train[/\\]7"):
        NMNIST(tmp_path, "train")


@pytest.mark.skipif(not REAL_NMNIST.is_file(), reason="shared test data absent")
def test_real_nmnist_sample():
    raw = np.fromfile(REAL_NMNIST, dtype=np.uint8)
    assert raw.size % 5 == 0
    markers = int((raw[1::5] == 240).sum())
    ev = read_nmnist(REAL_NMNIST)
    assert len(ev) == raw.size // 5 - markers
    # first record, decoded by hand from its bytes 07 0f 80 02 8e: x 7, y 15, ON, t 0x028e
    assert raw[:5].tolist() == [0x07, 0x0F, 0x80, 0x02, 0x8E]
    assert tuple(ev[0]) == (7, 15, 0x028E, 1)
    assert ev["x"].max() < 34
    assert ev["y"].max() < 34
    assert np.all(np.diff(ev["t"]) >= 0)
    span = int(ev["t"][-1] - ev["t"][0])
    assert 250_000 < span < 350_000  # three saccades of about 100 ms
    counts = np.bincount(ev["p"], minlength=2)
    assert counts.min() > 0.3 * len(ev)  # both polarities, roughly balanced
    first = ev[ev["t"] < 100_000]
    assert 0 < len(first) < len(ev)

"""Packed datasets and the digest-checked cache: corrupt entries are regenerated, never used."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import DataFormatError, DatasetError
from neuro.core.events import make_events
from neuro.datasets.base import PackedEventDataset
from neuro.datasets.cache import (
    cache_dir,
    cache_key,
    cache_path,
    cached,
    load_arrays,
    load_packed,
    save_arrays,
    save_packed,
)


def toy(n=5, rng=None):
    rng = rng or np.random.default_rng(0)
    samples = []
    for _i in range(n):
        k = int(rng.integers(0, 20))
        t = np.sort(rng.integers(0, 1000, k))
        samples.append(make_events(x=rng.integers(0, 8, k), y=rng.integers(0, 4, k), t=t, p=rng.integers(0, 2, k)))
    return PackedEventDataset.from_samples(
        "toy", samples, [i % 3 for i in range(n)], (8, 4, 2), ("a", "b", "c"),
        extras={"split": ["train", "test"] * (n // 2) + ["train"] * (n % 2)}, metadata={"seed": 0},
    )  # fmt: skip


def test_packed_dataset_indexing_and_subset(rng):
    ds = toy(7, rng)
    assert len(ds) == 7
    assert ds[-1][1] == ds[6][1]
    with pytest.raises(IndexError):
        ds[7]
    sub = ds.subset([5, 1])
    np.testing.assert_array_equal(sub[0][0], ds[5][0])
    np.testing.assert_array_equal(sub[1][0], ds[1][0])
    assert sub.labels.tolist() == [ds[5][1], ds[1][1]]
    assert sub.extras["split"].tolist() == [ds.extras["split"][5], ds.extras["split"][1]]


def test_packed_dataset_rejects_inconsistent_parts():
    e = make_events(x=[0], y=[0], t=[0], p=[1])
    with pytest.raises(DatasetError, match="offsets"):
        PackedEventDataset("bad", e, np.array([0, 2]), np.array([0]), (1, 1, 2), ("a",))
    with pytest.raises(DatasetError, match="labels"):
        PackedEventDataset("bad", e, np.array([0, 1]), np.array([3]), (1, 1, 2), ("a",))
    with pytest.raises(DatasetError, match="extra"):
        PackedEventDataset("bad", e, np.array([0, 1]), np.array([0]), (1, 1, 2), ("a",), {"split": ["a", "b"]})


def test_save_load_round_trip(tmp_path, rng):
    ds = toy(6, rng)
    save_packed(tmp_path / "toy.npz", ds)
    back = load_packed(tmp_path / "toy.npz")
    np.testing.assert_array_equal(back.events, ds.events)
    np.testing.assert_array_equal(back.offsets, ds.offsets)
    assert back.classes == ds.classes
    assert back.sensor_size == ds.sensor_size
    assert back.metadata == {"seed": 0}
    assert back.extras["split"].tolist() == ds.extras["split"].tolist()


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_entry_is_detected_and_rebuilt(tmp_path, rng, damage, caplog):
    ds = toy(6, rng)
    calls = []

    def build():
        calls.append(1)
        return ds

    cached("toy", {"a": 1}, build, root=tmp_path)
    path = cache_path("toy", {"a": 1}, tmp_path)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 3]
    else:
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError) as info:
        load_packed(path)
    assert str(path) in str(info.value)
    again = cached("toy", {"a": 1}, build, root=tmp_path)
    assert len(calls) == 2
    assert "regenerating toy" in caplog.text
    np.testing.assert_array_equal(again.events, ds.events)
    load_packed(path)  # the rebuilt entry is valid


def test_valid_entry_is_reused(tmp_path, rng):
    ds = toy(3, rng)
    calls = []
    for _ in range(2):
        cached("toy", {"a": 1}, lambda: calls.append(1) or ds, root=tmp_path)
    assert len(calls) == 1
    cached("toy", {"a": 2}, lambda: calls.append(1) or ds, root=tmp_path)
    assert len(calls) == 2


def test_no_temporary_files_are_left(tmp_path, rng):
    cached("toy", {}, lambda: toy(3, rng), root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [cache_path("toy", {}, tmp_path).name]


def test_cache_key_ignores_order_and_sees_values():
    assert cache_key({"a": 1, "b": 2.5}) == cache_key({"b": 2.5, "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def test_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURO_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("NEURO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "neuro"


def test_every_single_byte_corruption_is_detected_or_harmless(tmp_path, rng):
    arrays = {"x": rng.integers(0, 100, 3000), "y": rng.random(200)}
    path = tmp_path / "a.npz"
    save_arrays(path, arrays)
    raw = path.read_bytes()
    detected = 0
    for pos in range(0, len(raw), max(1, len(raw) // 300)):
        damaged = bytearray(raw)
        damaged[pos] ^= 0x5A
        path.write_bytes(bytes(damaged))
        try:
            back = load_arrays(path)
        except DataFormatError:
            detected += 1
            continue
        # a flip in bytes the reader ignores (zip comments, padding) must not change the content
        for key, value in arrays.items():
            np.testing.assert_array_equal(back[key], value)
    assert detected > 0

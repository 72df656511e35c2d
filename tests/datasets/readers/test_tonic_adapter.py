from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from neuro.core.errors import DatasetError, EventFieldError, EventValueError
from neuro.core.events import AUDIO_DTYPE, EVENT_DTYPE
from neuro.datasets.readers import tonic_adapter
from neuro.datasets.readers.tonic_adapter import convert_tonic_events, from_tonic

# field orders and types declared by tonic's datasets (reference §1.1)
TONIC_DTYPES = {
    "xytp": np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]),
    "txyp": np.dtype([("t", np.int64), ("x", np.int64), ("y", np.int64), ("p", np.int64)]),
    "xypt": np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)]),
    "ptxy": np.dtype([("p", np.int64), ("t", np.int64), ("x", np.int64), ("y", np.int64)]),
    "cifar": np.dtype([("t", np.uint64), ("x", np.uint16), ("y", np.uint16), ("p", bool)]),
}
AUDIO_TONIC = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])


class FakeTonic:
    """Shaped like a tonic dataset: sensor_size, classes, (events, target) items."""

    def __init__(self, samples, targets, sensor_size=(34, 34, 2), classes=("zero", "one", "two")):
        self.samples, self.targets = samples, targets
        self.sensor_size = sensor_size
        if classes is not None:
            self.classes = list(classes)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index], self.targets[index]


def canonical_events(rng, n=100, w=34, h=34):
    t = np.sort(rng.integers(0, 300_000, n))
    return rng.integers(0, w, n), rng.integers(0, h, n), t, rng.integers(0, 2, n)


def as_tonic(dtype, x, y, t, p):
    out = np.empty(len(t), dtype=dtype)
    for name, values in {"x": x, "y": y, "t": t, "p": p}.items():
        if name in dtype.names:
            out[name] = values
    return out


@pytest.mark.parametrize("order", sorted(TONIC_DTYPES))
def test_every_tonic_field_order_converts_by_name(rng, order):
    x, y, t, p = canonical_events(rng)
    ds = from_tonic(FakeTonic([as_tonic(TONIC_DTYPES[order], x, y, t, p)], [2]))
    events, label = ds[0]
    assert label == 2
    assert events.dtype == EVENT_DTYPE
    for name, values in {"x": x, "y": y, "t": t, "p": p}.items():
        np.testing.assert_array_equal(events[name], values)


def test_positional_astype_would_have_scrambled_the_same_input(rng):
    x, y, t, p = canonical_events(rng)
    tonic = as_tonic(TONIC_DTYPES["txyp"], x, y, t, p)
    positional = tonic.astype(EVENT_DTYPE)  # numpy maps fields by position
    assert not np.array_equal(positional["t"], t)
    np.testing.assert_array_equal(convert_tonic_events(tonic)["t"], t)


def test_audio_events_bool_polarity_unsorted_and_float_time():
    raw = np.array([(30.4, 5, 1), (10.6, 699, 1)], dtype=[("t", np.float64), ("x", np.int64), ("p", bool)])
    ev = convert_tonic_events(raw, (700, 1, 1))
    assert ev.dtype == AUDIO_DTYPE
    assert ev["t"].tolist() == [11, 30]
    assert ev["x"].tolist() == [699, 5]
    assert ev["p"].tolist() == [1, 1]
    raw["t"][0] = np.nan
    with pytest.raises(EventValueError, match="finite"):
        convert_tonic_events(raw)


def test_bad_events_are_typed_errors(rng):
    with pytest.raises(EventFieldError):
        convert_tonic_events(np.zeros((3, 4)))
    with pytest.raises(EventFieldError, match="'p'"):
        convert_tonic_events(np.zeros(3, dtype=[("t", np.int64), ("x", np.int64)]))
    x, y, t, p = canonical_events(rng)
    x[7] = 40
    ds = from_tonic(FakeTonic([as_tonic(TONIC_DTYPES["xytp"], x, y, t, p)], [0]))
    with pytest.raises(EventValueError, match="index 7"):
        ds[0]


def test_targets_as_names_and_invalid_targets(rng):
    x, y, t, p = canonical_events(rng, n=5)
    ev = as_tonic(TONIC_DTYPES["xytp"], x, y, t, p)
    ds = from_tonic(FakeTonic([ev, ev, ev, ev], ["two", b"one", np.eye(3)[1], 3]))
    assert ds[0][1] == 2
    assert ds[1][1] == 1
    with pytest.raises(DatasetError, match="one-hot"):
        ds[2]
    with pytest.raises(DatasetError, match="outside"):
        ds[3]
    assert len(ds) == 4
    assert ds.name == "FakeTonic"


def test_sensor_size_and_classes_are_required(rng):
    x, y, t, p = canonical_events(rng, n=5)
    ev = as_tonic(TONIC_DTYPES["xytp"], x, y, t, p)
    with pytest.raises(DatasetError, match="sensor_size"):
        from_tonic(FakeTonic([ev], [0], sensor_size=None))
    assert from_tonic(FakeTonic([ev], [0], sensor_size=None), sensor_size=(40, 40, 2)).sensor_size == (40, 40, 2)
    with pytest.raises(DatasetError, match="classes"):
        from_tonic(FakeTonic([ev], [0], classes=None))
    ds = from_tonic(FakeTonic([ev], [1], classes=None), classes={"cat": 1, "dog": 0}, name="pets")
    assert ds.classes == ("dog", "cat")
    assert ds.name == "pets"
    assert ds[0][1] == 1


def test_adapter_never_imports_tonic():
    tree = ast.parse(inspect.getsource(tonic_adapter))
    imported = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    assert imported, "the checker found no imports at all"
    assert not [m for m in imported if m.split(".")[0] == "tonic"]


@pytest.mark.interop
def test_real_tonic_dtypes_and_structured_arrays(rng):
    tonic = pytest.importorskip("tonic")
    from tonic.io import make_structured_array

    x, y, t, p = canonical_events(rng, n=50)
    for cls in (tonic.datasets.NMNIST, tonic.datasets.DVSGesture):
        dtype = cls.dtype
        cols = [{"x": x, "y": y, "t": t, "p": p}[n] for n in dtype.names]
        events = make_structured_array(*cols, dtype=dtype)
        ds = from_tonic(FakeTonic([events], [0], sensor_size=(128, 128, 2)), name=cls.__name__)
        got, _ = ds[0]
        for name, values in {"x": x, "y": y, "t": t, "p": p}.items():
            np.testing.assert_array_equal(got[name], values)

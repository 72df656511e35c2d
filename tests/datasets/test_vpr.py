"""vpr-traverse: determinism, shapes, ground truth, conditions, patch normalisation, params, cache."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest

from neuro.core.errors import DatasetError, ParameterError
from neuro.datasets import vpr
from neuro.datasets.cache import cache_key, cache_path, load_arrays
from neuro.datasets.vpr import CONDITIONS, VPRParams, VPRTraverse, generate, load_vpr, patch_normalise
from tests.conftest import ROOT, load_script

SMALL = {"n_places": 200, "image_size": 16}


@pytest.fixture(scope="module")
def data() -> VPRTraverse:
    params = VPRParams(**SMALL)
    return VPRTraverse.from_arrays(generate(params), params.n_places)


def _hf_energy(images: np.ndarray) -> float:
    x = images.astype(np.float64)
    return float(np.mean(np.diff(x, axis=-1) ** 2) + np.mean(np.diff(x, axis=-2) ** 2))


def _mad(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float64) - b).mean(axis=(-2, -1))


# --- generation -----------------------------------------------------------------------------------


def test_generation_is_deterministic_under_a_seed():
    params = VPRParams(n_places=20, image_size=12, conditions=("noise", "viewpoint"), seed=3)
    a, b = generate(params), generate(params)
    for key in ("images", "places", "traverse"):
        np.testing.assert_array_equal(a[key], b[key])
    other = generate(dataclasses.replace(params, seed=4))
    assert not np.array_equal(a["images"], other["images"])


def test_traverses_do_not_depend_on_the_other_conditions_and_routes_are_prefixes():
    one = VPRTraverse.from_arrays(generate(VPRParams(n_places=30, image_size=12, conditions=("noise",))), 30)
    two = VPRTraverse.from_arrays(generate(VPRParams(n_places=30, image_size=12, conditions=("blur", "noise"))), 30)
    np.testing.assert_array_equal(one.split("query-noise").images, two.split("query-noise").images)
    longer = VPRTraverse.from_arrays(generate(VPRParams(n_places=60, image_size=12, conditions=())), 60)
    np.testing.assert_array_equal(longer.split("reference").images[:30], one.split("reference").images)


@pytest.mark.parametrize("n_places", [1000, 2000])
def test_n_places_is_honoured_for_long_routes(n_places):
    params = VPRParams(n_places=n_places, image_size=4, conditions=("blur",))
    arrays = generate(params)
    assert arrays["images"].shape == (3 * n_places, 4, 4)
    ds = VPRTraverse.from_arrays(arrays, n_places)
    for name in ds.traverse_names:
        np.testing.assert_array_equal(ds.split(name).places, np.arange(n_places))


@pytest.mark.parametrize("size", [28, 32])
def test_images_are_float32_in_unit_range_with_requested_shape(size):
    params = VPRParams(n_places=12, image_size=size, severity=1.0)
    ds = VPRTraverse.from_arrays(generate(params), 12)
    assert ds.images.dtype == np.float32
    assert ds.images.shape == (len(params.traverse_names) * 12, size, size)
    assert ds.image_size == size
    assert ds.images.min() >= 0.0
    assert ds.images.max() <= 1.0
    # 8-bit sensor: every value is a multiple of 1/255
    np.testing.assert_allclose(ds.images * 255, np.round(ds.images * 255), atol=1e-3)


def test_place_indices_align_across_traverses(data):
    assert data.traverse_names == ("reference", "reference-2", *(f"query-{c}" for c in CONDITIONS))
    assert len(data) == 8 * 200
    assert data.n_places == 200
    for name in data.traverse_names:
        part = data.split(name)
        assert set(part.traverse.tolist()) == {name}
        np.testing.assert_array_equal(part.places, np.arange(200))


def test_conditions_change_images_as_intended(data):
    ref = data.split("reference").images
    mean = {n: float(data.split(n).images.mean()) for n in data.traverse_names}
    hf = {n: _hf_energy(data.split(n).images) for n in data.traverse_names}
    assert mean["query-illumination"] < mean["reference"] - 0.08  # dusk: darker
    assert hf["query-noise"] > 1.5 * hf["reference"]
    assert hf["query-blur"] < 0.6 * hf["reference"]
    contrast = data.split("query-contrast").images.std(axis=(1, 2)).mean()
    assert contrast < 0.8 * ref.std(axis=(1, 2)).mean()
    viewpoint = _mad(data.split("query-viewpoint").images, ref).mean()
    assert viewpoint > 1.3 * _mad(data.split("reference-2").images, ref).mean()


def test_second_reference_is_close_and_consecutive_places_differ(data):
    ref = data.split("reference").images
    ref2 = data.split("reference-2").images
    same_place = _mad(ref2, ref)
    next_place = _mad(ref[1:], ref[:-1])
    assert np.median(same_place) < 0.04
    assert np.mean(next_place > same_place[:-1]) > 0.9
    normalised = patch_normalise(ref)
    assert _mad(normalised[1:], normalised[:-1]).min() > 0.05
    assert not np.any(np.all(ref[1:] == ref[:-1], axis=(1, 2)))


def test_severity_zero_leaves_only_the_pose_jitter():
    ds = VPRTraverse.from_arrays(generate(VPRParams(n_places=40, image_size=16, severity=0.0)), 40)
    ref = ds.split("reference").images
    for name in ("query-illumination", "query-contrast", "query-noise", "query-blur"):
        q = ds.split(name).images
        assert abs(float(q.mean() - ref.mean())) < 0.01
        assert 0.8 < _hf_energy(q) / _hf_energy(ref) < 1.25


def test_dataset_indexing_and_read_only(data):
    image, place = data[5]
    assert image.shape == (16, 16)
    assert place == 5
    assert data[-1][1] == 199
    with pytest.raises(IndexError):
        data[len(data)]
    with pytest.raises(ValueError, match="read-only"):
        data.images[0, 0, 0] = 1.0
    with pytest.raises(DatasetError, match="available"):
        data.split("query-fog")


# --- patch normalisation --------------------------------------------------------------------------


def _reference_patch_normalise(image: np.ndarray, patch: int) -> np.ndarray:
    """Straightforward NaN-padded z-score, as the VPRSNN paper describes it."""
    h = patch // 2
    padded = np.pad(image.astype(np.float64), h, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (patch, patch))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (image - np.nanmean(windows, axis=(-2, -1))) / np.nanstd(windows, axis=(-2, -1))
    z[np.isnan(z)] = 0.0
    return (1.0 + np.clip(z, -1.0, 1.0)) / 2.0


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0, 200])
def test_patch_normalise_constant_image_is_half(value):
    out = patch_normalise(np.full((28, 28), value, dtype=np.uint8 if value == 200 else np.float64))
    np.testing.assert_array_equal(out, np.full((28, 28), 0.5, dtype=np.float32))


def test_patch_normalise_matches_the_nan_padded_definition(rng):
    image = rng.random((28, 28))
    image[:7, :7] = 0.25  # a featureless corner
    for patch in (3, 7):
        np.testing.assert_allclose(patch_normalise(image, patch), _reference_patch_normalise(image, patch), atol=1e-6)


def test_patch_normalise_range_batches_and_affine_invariance(rng):
    images = rng.random((3, 20, 24)) ** 3
    out = patch_normalise(images)
    assert out.dtype == np.float32
    assert out.shape == images.shape
    assert 0.0 <= out.min() < 0.05
    assert 0.95 < out.max() <= 1.0
    np.testing.assert_array_equal(out[1], patch_normalise(images[1]))
    for a, b in ((2.5, -0.7), (0.01, 3.0), (255.0, 0.0)):
        np.testing.assert_allclose(patch_normalise(a * images + b), out, atol=1e-5)
    assert not np.allclose(patch_normalise(-images), out, atol=0.1)  # a < 0 flips it


@pytest.mark.parametrize(("kwargs", "field"), [({"patch": 4}, "patch"), ({"patch": 1}, "patch"), ({"patch": 7.0}, "patch")])
def test_patch_normalise_rejects_bad_patch(kwargs, field):
    with pytest.raises(ParameterError) as err:
        patch_normalise(np.zeros((8, 8)), **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize("image", [np.zeros(8), np.full((4, 4), np.nan), np.zeros((0, 4))])
def test_patch_normalise_rejects_bad_image(image):
    with pytest.raises(ParameterError) as err:
        patch_normalise(image)
    assert err.value.field == "image"


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_places": 0}, "n_places"),
        ({"n_places": True}, "n_places"),
        ({"n_places": 5000, "view_size": 512}, "n_places"),
        ({"image_size": 2}, "image_size"),
        ({"image_size": 28.0}, "image_size"),
        ({"severity": 1.5}, "severity"),
        ({"severity": float("nan")}, "severity"),
        ({"conditions": ("fog",)}, "conditions"),
        ({"conditions": ("noise", "noise")}, "conditions"),
        ({"n_references": 3}, "n_references"),
        ({"overlap": 0.95}, "overlap"),
        ({"jitter": -0.1}, "jitter"),
        ({"quantize_bits": 17}, "quantize_bits"),
        ({"seed": -1}, "seed"),
        ({"colour": True}, "colour"),
    ],
)
def test_invalid_parameters_name_the_field(kwargs, field, tmp_path):
    with pytest.raises(ParameterError) as err:
        load_vpr(root=tmp_path, **kwargs)
    assert err.value.field == field
    assert not list(tmp_path.iterdir())


def test_params_are_json_serialisable_and_key_the_cache():
    params = VPRParams(conditions=["noise", "blur"])
    assert params.conditions == ("noise", "blur")
    text = json.dumps(dataclasses.asdict(params))
    assert json.loads(text)["conditions"] == ["noise", "blur"]
    assert cache_key(params.cache_params()) != cache_key(dataclasses.replace(params, severity=0.6).cache_params())


def test_unknown_split_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="query-noise"):
        load_vpr("query-blur", root=tmp_path, n_places=5, image_size=8, conditions=("noise",))


# --- cache ----------------------------------------------------------------------------------------


def test_load_uses_the_cache_and_regenerates_a_corrupt_entry(tmp_path, monkeypatch, caplog):
    kwargs = {"n_places": 10, "image_size": 8, "conditions": ("noise",)}
    first = load_vpr(None, root=tmp_path, **kwargs)
    assert first.traverse_names == ("reference", "reference-2", "query-noise")
    path = cache_path(vpr.NAME, VPRParams(**kwargs).cache_params(), tmp_path)
    assert path.exists()

    def fail(params):
        raise AssertionError("generate must not run when the cache entry is valid")

    monkeypatch.setattr(vpr, "generate", fail)
    cached = load_vpr("query-noise", root=tmp_path, **kwargs)
    np.testing.assert_array_equal(cached.images, first.split("query-noise").images)

    monkeypatch.undo()
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="neuro.datasets.cache"):
        again = load_vpr("all", root=tmp_path, **kwargs)
    assert "regenerating" in caplog.text
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(load_arrays(path)["images"], first.images)


# --- baseline script ------------------------------------------------------------------------------


def test_baseline_script_recall_and_table(capsys):
    script = load_script(ROOT / "benchmarks" / "vpr_baseline.py")
    d = np.array([[0.0, 1.0, 2.0], [0.5, 0.3, 0.1], [3.0, 2.0, 1.0]])  # row 1: true place is 2nd best
    truth = np.array([0, 1, 2])
    assert script.recall_at(d, truth, 1) == pytest.approx(2 / 3)
    assert script.recall_at(d, truth, 2) == pytest.approx(1.0)
    script.main(["--n-places", "20", "--image-size", "8"])
    out = capsys.readouterr().out
    assert "benchmarks/vpr_baseline.py --n-places 20" in out
    assert len([line for line in out.splitlines() if line.startswith("query-")]) == len(CONDITIONS)

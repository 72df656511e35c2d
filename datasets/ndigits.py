"""``n-digits``: scikit-learn's handwritten digits seen by an emulated DVS in N-MNIST's saccades.

Recipe (after Orchard et al. 2015, who moved an ATIS sensor in front of MNIST digits):

1. the 1,797 real 8×8 digits bundled with scikit-learn (43 writers, pixel values 0–16) are
   upsampled by cubic spline to 24×24, clipped to ``[0, 1]`` and padded to 28×28 (the MNIST
   layout: a 2-pixel margin);
2. the digit moves in a 34×34 field of view along N-MNIST's triangle of three saccades, offsets
   (0, 0) → (3.5, 7) → (7, 0) → (0, 0) pixels (x, y), 105 ms per leg with a raised-cosine position
   profile (bell-shaped speed), rendered every ``frame_us`` by bilinear interpolation;
3. :func:`neuro.encoders.dvs.emulate_dvs` turns the frames into events: log intensity with a
   dark level, per-pixel threshold mismatch, a refractory period and shot-noise background.

Every sample has its own random generator seeded by ``(seed, index)``, so a sample is the same
whatever else is generated. The fixed stratified split assigns 70 % / 10 % / 20 % of each class
to train / val / test (scikit-learn's copy records no writers, so a writer split is impossible).
Sensor ``(34, 34, 2)``; about 3k to 6k events per sample with the defaults.

The digits are UCI data under CC BY 4.0 (see scikit-learn's ``load_digits``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from neuro.core.errors import ParameterError
from neuro.datasets.base import PackedEventDataset
from neuro.encoders.dvs import DVSParams, emulate_dvs

NAME = "n-digits"
SENSOR_SIZE = (34, 34, 2)
CLASSES = tuple(str(d) for d in range(10))
# N-MNIST's saccade triangle in pixels (x, y), after tonic's ``nmnist.stabilize``.
SACCADE_VERTICES = ((0.0, 0.0), (3.5, 7.0), (7.0, 0.0), (0.0, 0.0))


@dataclass(frozen=True)
class NDigitsParams:
    """Everything that determines the ``n-digits`` content (hashed into the cache key).

    Attributes:
        threshold: mean ON/OFF contrast threshold (log units).
        threshold_sigma: per-pixel threshold spread.
        log_eps: dark level added to intensities before the log.
        refractory_us: pixel refractory period.
        noise_rate_hz: shot-noise events per pixel and second.
        leg_us: duration of one saccade.
        frame_us: rendering interval.
        seed: base seed of the per-sample generators.
        split_seed: seed of the stratified split.
        limit: generate only the first ``limit`` digits (0: all 1,797), for quick trials.
        version: generator version; bump when the recipe changes.
    """

    threshold: float = 0.35
    threshold_sigma: float = 0.03
    log_eps: float = 0.25
    refractory_us: int = 2500
    noise_rate_hz: float = 0.5
    leg_us: int = 105_000
    frame_us: int = 1000
    seed: int = 0
    split_seed: int = 0
    limit: int = 0
    version: int = 1

    def __post_init__(self) -> None:
        for name in ("leg_us", "frame_us"):
            value = getattr(self, name)
            if int(value) != value or value <= 0:
                raise ParameterError(f"NDigitsParams.{name} must be a positive integer, got {value!r}", name)
        if int(self.limit) != self.limit or self.limit < 0:
            raise ParameterError(f"NDigitsParams.limit must be a non-negative integer, got {self.limit!r}", "limit")
        if self.frame_us > self.leg_us:
            raise ParameterError("NDigitsParams.frame_us must not exceed leg_us", "frame_us")
        self.dvs()  # validates the pixel parameters

    def dvs(self) -> DVSParams:
        """The pixel parameters handed to the emulator."""
        return DVSParams(
            threshold_on=self.threshold,
            threshold_off=self.threshold,
            threshold_sigma=self.threshold_sigma,
            log_eps=self.log_eps,
            refractory_us=self.refractory_us,
            shot_noise_rate_hz=self.noise_rate_hz,
        )


@functools.cache
def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as ``(N, 8, 8)`` floats in ``[0, 1]`` and int labels.

    Parsed once per process (every generation chunk needs them); the arrays are read-only.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.float64) / 16.0, digits.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def upsample_digit(image: np.ndarray) -> np.ndarray:
    """8×8 digit → 28×28 (cubic zoom to 24×24, clipped to ``[0, 1]``, 2-pixel margin)."""
    from scipy.ndimage import zoom

    big = np.clip(zoom(image, 3, order=3), 0.0, 1.0)
    return np.pad(big, 2)


def saccade_path(params: NDigitsParams) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (µs) and ``(T, 2)`` (x, y) offsets along the three saccades."""
    per_leg = params.leg_us // params.frame_us
    u = np.arange(per_leg) / per_leg
    profile = (1 - np.cos(np.pi * u)) / 2  # raised cosine: zero speed at the vertices
    vertices = np.asarray(SACCADE_VERTICES)
    legs = [a + profile[:, None] * (b - a) for a, b in itertools.pairwise(vertices)]
    offsets = np.concatenate([*legs, vertices[-1:]])
    times = np.arange(len(offsets), dtype=np.int64) * params.frame_us
    return times, offsets


def _linear_taps(coords: np.ndarray, n_source: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices into a source padded by one zero on each side, and weights, for linear interpolation."""
    lo = np.floor(coords).astype(np.int64)
    frac = coords - lo
    # index 0 and n_source + 1 are the zero border; anything further out is clipped onto it
    return np.clip(lo + 1, 0, n_source + 1), np.clip(lo + 2, 0, n_source + 1), frac


def render(digit28: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(T, 34, 34)`` frames of the 28×28 digit moved by ``offsets`` (bilinear, black outside).

    Bilinear interpolation is separable and every frame is a pure translation: rows are
    gathered and blended first, then each frame is multiplied by its two-tap column matrix
    (about 4x faster than ``scipy.ndimage.map_coordinates`` in mode ``grid-constant``, equal to 1e-15).
    """
    size = SENSOR_SIZE[0]
    n_frames = len(offsets)
    # the path's centre (3.5, 3.5) puts the 28-pixel digit in the middle of the 34-pixel view
    origin = (size - digit28.shape[0]) / 2 - 3.5
    grid = np.arange(size, dtype=np.float64)
    r0, r1, fy = _linear_taps(grid[None, :] - origin - offsets[:, 1, None], digit28.shape[0])
    c0, c1, fx = _linear_taps(grid[None, :] - origin - offsets[:, 0, None], digit28.shape[1])
    padded = np.pad(digit28, 1)
    by_row = padded[r0] * (1 - fy[..., None]) + padded[r1] * fy[..., None]  # (T, 34, W + 2)
    columns = np.zeros((n_frames, digit28.shape[1] + 2, size))
    frame, out = np.arange(n_frames)[:, None], np.arange(size)[None, :]
    np.add.at(columns, (frame, c0, out), 1 - fx)
    np.add.at(columns, (frame, c1, out), fx)
    return by_row @ columns


def sample_events(image8: np.ndarray, index: int, params: NDigitsParams) -> np.ndarray:
    """The events of one digit; deterministic for ``(params.seed, index)``."""
    times, offsets = saccade_path(params)
    frames = render(upsample_digit(image8), offsets)
    rng = np.random.default_rng([params.seed, index])
    return emulate_dvs(frames, times, params.dvs(), rng=rng)


def stratified_split(labels: np.ndarray, seed: int, fractions: tuple[float, float] = (0.1, 0.2)) -> np.ndarray:
    """``"train"`` / ``"val"`` / ``"test"`` per sample, the same fractions within each class."""
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), "train", dtype="<U5")
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_val = round(fractions[0] * len(idx))
        n_test = round(fractions[1] * len(idx))
        split[idx[:n_val]] = "val"
        split[idx[n_val : n_val + n_test]] = "test"
    return split


def _generate_chunk(params: NDigitsParams, chunk: np.ndarray) -> list[np.ndarray]:
    images, _ = load_digit_images()
    return [sample_events(images[i], int(i), params) for i in chunk]


def generate(
    params: NDigitsParams | None = None,
    *,
    indices: np.ndarray | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> PackedEventDataset:
    """Generate ``n-digits`` (all 1,797 samples, or the given source ``indices``).

    Args:
        params: generator parameters (default :class:`NDigitsParams`).
        indices: source digit indices to generate (default all, or the first ``params.limit``).
        workers: processes to use (where ``fork`` is available); the result does not depend on it.
        progress: called as ``progress(done, total)`` as samples complete.

    Returns:
        A dataset with extras ``"split"`` and ``"source_index"`` (the scikit-learn index).
    """
    params = params or NDigitsParams()
    _images, labels = load_digit_images()
    split = stratified_split(labels, params.split_seed)
    if indices is None:
        chosen = np.arange(params.limit or len(labels))
    else:
        chosen = np.asarray(indices, dtype=np.int64)
    if chosen.size and (chosen.min() < 0 or chosen.max() >= len(labels)):
        raise ParameterError(f"indices must lie in [0, {len(labels)})", "indices")
    chunks = np.array_split(chosen, max(1, -(-len(chosen) // 50)))
    samples: list[np.ndarray] = []
    with contextlib.ExitStack() as stack:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            # fork: the workers inherit the loaded modules and need no __main__ guard
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")))
            results = pool.map(_generate_chunk, [params] * len(chunks), chunks)
        else:
            results = (_generate_chunk(params, c) for c in chunks)
        for chunk_samples in results:
            samples.extend(chunk_samples)
            if progress is not None:
                progress(len(samples), len(chosen))
    return PackedEventDataset.from_samples(
        NAME,
        samples,
        labels[chosen],
        SENSOR_SIZE,
        CLASSES,
        extras={"split": split[chosen], "source_index": chosen},
        metadata={"params": asdict(params), "source": "sklearn.datasets.load_digits (UCI, CC BY 4.0)"},
    )

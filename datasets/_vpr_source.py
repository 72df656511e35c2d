"""Scenery and route of the ``vpr-traverse`` dataset (private helper of :mod:`neuro.datasets.vpr`).

The scenery is a set of photographs that ship inside scikit-learn and scikit-image (no network,
no pooch). A route visits them like a vehicle driving past scenery: inside a photo it follows
horizontal lanes, advancing about ``view * (1 - overlap)`` source pixels per place with a smooth
speed change and a smooth sideways wobble; the route moves on to the next photo at the end of
each lane, cycling through the photos (in a seed-dependent order) so that even a short route
crosses several environments. Views with almost no texture (sky, black background) are skipped.
If the route needs more places than the photos hold, further laps use flipped and rotated copies
of the photos (the 8 symmetries of the square).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from neuro.core.errors import ParameterError

#: (name, loader) of every photograph used; the order is part of the generator's definition.
SOURCES: tuple[str, ...] = (
    "sklearn:china",
    "sklearn:flower",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "retina",
)

MIN_VIEW_STD = 0.04  # grey-level standard deviation below which a view counts as featureless
LANE_PITCH = 1.3  # distance between lanes, in views (lanes never overlap, wobble included)
WOBBLE = 0.12  # largest sideways wobble, in views
SPEED_CHANGE = 0.25  # largest relative change of the step between places
CORRELATION = 6.0  # correlation length of the smooth wobble and speed, in places
N_LAPS = 8  # symmetries of the square available for extra laps


class Route(NamedTuple):
    """Where each place of the route is: a source photo (``lap * len(SOURCES) + index``) and the
    centre of its view in that photo's pixel coordinates (``cy`` row, ``cx`` column)."""

    source: np.ndarray
    cy: np.ndarray
    cx: np.ndarray


def stable_id(text: str) -> int:
    """A platform-independent 32-bit integer for ``text`` (used to derive random streams)."""
    return zlib.crc32(text.encode())


def _load(name: str) -> np.ndarray:
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        raw = load_sample_image(name.split(":", 1)[1] + ".jpg")
    else:
        import skimage.data

        raw = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return _grey(raw)


def _grey(raw: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2gray

    arr = np.asarray(raw)
    grey = rgb2gray(arr[..., :3]) if arr.ndim == 3 else arr.astype(np.float64) / 255.0
    return np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)


@functools.lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """Every photo of :data:`SOURCES` as a read-only grey float64 image in [0, 1]."""
    out = []
    for name in SOURCES:
        img = _load(name)
        img.setflags(write=False)
        out.append(img)
    return tuple(out)


def _symmetry(img: np.ndarray, lap: int) -> np.ndarray:
    out = np.rot90(img, k=lap % 4)
    return np.ascontiguousarray(out[:, ::-1] if lap >= 4 else out)


@functools.lru_cache(maxsize=4 * len(SOURCES))
def photo(source: int) -> np.ndarray:
    """Photo ``source`` of the route (``lap * len(SOURCES) + index``), read-only."""
    lap, index = divmod(source, len(SOURCES))
    img = _symmetry(photos()[index], lap)
    img.setflags(write=False)
    return img


def smooth_noise(rng: np.random.Generator, n: int, correlation: float = CORRELATION) -> np.ndarray:
    """``n`` samples of a smooth Gaussian process with unit variance and the given correlation length.

    The normalisation is analytic (not empirical), so a prefix of a longer sequence drawn from the
    same generator state has the same values.
    """
    white = rng.standard_normal(n + int(6 * correlation))
    filtered = ndimage.gaussian_filter1d(white, correlation, mode="wrap")[:n]
    return filtered * np.sqrt(2.0 * np.sqrt(np.pi) * correlation)


def _local_std(img: np.ndarray, view: int) -> np.ndarray:
    mean = ndimage.uniform_filter(img, view, mode="reflect")
    sq = ndimage.uniform_filter(img * img, view, mode="reflect")
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))


def _lanes(img: np.ndarray, view: int, step: float, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """The textured view centres of every lane of one photo, lane by lane, as (cy, cx)."""
    height, width = img.shape
    margin = 0.5 * view + WOBBLE * view
    texture = _local_std(img, view)
    lanes = []
    y0 = margin
    while y0 + margin <= height:
        n_max = int((width - 2 * margin) / (step * (1 - SPEED_CHANGE))) + 2
        speed = 1.0 + SPEED_CHANGE * np.tanh(smooth_noise(rng, n_max) / 2)
        wobble = WOBBLE * view * np.tanh(smooth_noise(rng, n_max) / 2)
        cx = margin + np.concatenate([[0.0], np.cumsum(step * speed[:-1])])
        cy = y0 + wobble
        keep = cx <= width - margin
        cy, cx = cy[keep], cx[keep]
        textured = texture[np.round(cy).astype(int), np.round(cx).astype(int)] >= MIN_VIEW_STD
        lanes.append((cy[textured], cx[textured]))
        y0 += LANE_PITCH * view
    return lanes


def _max_places(shape: tuple[int, ...], view: int, step: float) -> int:
    """An upper bound on the places of one photo (in either orientation), texture ignored."""
    margin = 0.5 * view + WOBBLE * view
    lanes = max(0.0, (max(shape) - 2 * margin) / (LANE_PITCH * view) + 1)
    per_lane = max(0.0, (max(shape) - 2 * margin) / (step * (1 - SPEED_CHANGE)) + 2)
    return int(np.ceil(lanes)) * int(np.ceil(per_lane))


def plan_route(n_places: int, view: int, overlap: float, seed: int) -> Route:
    """The first ``n_places`` places of the route for the given view size, overlap and seed.

    Args:
        n_places: number of places.
        view: side of a view in source pixels.
        overlap: fraction of a view shared by consecutive places on a lane.
        seed: route seed (photo order, speed and wobble).

    Returns:
        The route.

    Raises:
        ParameterError: (field ``n_places``) the photos cannot hold that many places even after
            all 8 laps.
    """
    step = view * (1.0 - overlap)
    bound = N_LAPS * sum(_max_places(img.shape, view, step) for img in photos())
    if n_places > bound:  # fail fast, before any texture map is computed
        raise ParameterError(
            f"n_places={n_places} exceeds the at most {bound} places the photos hold (view_size={view}, overlap={overlap})",
            "n_places",
        )
    rng = np.random.default_rng([seed, stable_id("route")])
    n_src = len(SOURCES)
    parts: list[tuple[int, np.ndarray, np.ndarray]] = []
    total = 0
    for lap in range(N_LAPS):
        order = rng.permutation(n_src)
        lanes = {int(i): _lanes(photo(lap * n_src + int(i)), view, step, rng) for i in order}
        for row in range(max(len(v) for v in lanes.values())):
            for i in order:
                if row < len(lanes[int(i)]) and len(lanes[int(i)][row][0]):
                    cy, cx = lanes[int(i)][row]
                    parts.append((lap * n_src + int(i), cy, cx))
                    total += len(cy)
        if total >= n_places:
            break
    if total < n_places:
        raise ParameterError(
            f"n_places={n_places} exceeds the {total} places the photos hold with view_size={view} and overlap={overlap}",
            "n_places",
        )
    source = np.concatenate([np.full(len(cy), s, dtype=np.int64) for s, cy, _ in parts])[:n_places]
    cy = np.concatenate([p[1] for p in parts])[:n_places]
    cx = np.concatenate([p[2] for p in parts])[:n_places]
    return Route(source, cy, cx)


def prefilter(source: int, sigma: float) -> np.ndarray:
    """Photo ``source`` smoothed with a Gaussian of ``sigma`` pixels (anti-aliasing before sampling)."""
    img = photo(source)
    return ndimage.gaussian_filter(img, sigma, mode="mirror") if sigma > 0 else img


def sample_views(
    route: Route,
    view: int,
    size: int,
    *,
    dy: np.ndarray | float = 0.0,
    dx: np.ndarray | float = 0.0,
    angle: np.ndarray | float = 0.0,
    scale: np.ndarray | float = 1.0,
    image_for: Callable[[int], np.ndarray] | None = None,
) -> np.ndarray:
    """Cut one ``size``×``size`` view per place, possibly moved, rotated and zoomed.

    Args:
        route: the places.
        view: side of the view window in source pixels (at ``scale`` 1).
        size: side of the output image in pixels.
        dy, dx: shift of the window centre in source pixels (per place or scalar).
        angle: rotation of the window in radians (per place or scalar).
        scale: zoom of the window (> 1 sees more of the photo).
        image_for: source index -> image to sample (default: the photo, unsmoothed).

    Returns:
        ``(len(route.source), size, size)`` float64 grey images, bilinearly sampled.
    """
    n = len(route.source)
    get = image_for or photo
    step = view / size
    offsets = (np.arange(size) - (size - 1) / 2.0) * step
    v, u = np.meshgrid(offsets, offsets, indexing="ij")
    cy = route.cy + np.broadcast_to(dy, (n,))
    cx = route.cx + np.broadcast_to(dx, (n,))
    cos = np.broadcast_to(np.cos(angle) * scale, (n,))[:, None, None]
    sin = np.broadcast_to(np.sin(angle) * scale, (n,))[:, None, None]
    ys = cy[:, None, None] + sin * u + cos * v
    xs = cx[:, None, None] + cos * u - sin * v
    out = np.empty((n, size, size))
    for src in np.unique(route.source):
        sel = route.source == src
        coords = np.stack([ys[sel].ravel(), xs[sel].ravel()])
        out[sel] = ndimage.map_coordinates(get(int(src)), coords, order=1, mode="mirror").reshape(-1, size, size)
    return out

"""``vpr-traverse``: an offline visual place recognition benchmark (reference and query traverses).

A route of places is cut from the photographs that ship inside scikit-learn and scikit-image (see
:mod:`neuro.datasets._vpr_source`): the route drives along lanes across the photos, one view per
place, consecutive views overlapping by ``overlap``. Each traverse renders every place once, in
route order: ``reference`` (clean), optionally ``reference-2`` (small pose jitter, ±5 % gain and
1 % noise, like the second reference traverse of Hussaini et al., ICRA 2023) and one
``query-<condition>`` traverse per condition (illumination, contrast, noise, blur, viewpoint and
the combined ``hard``; see :mod:`neuro.datasets._vpr_conditions` for the magnitudes). Every
non-reference traverse also has a small i.i.d. pose jitter, so no query is pixel-identical to
its reference. The ground truth of every image is its place index, shared by all traverses.

Each traverse draws from its own random stream (seed and traverse name), so adding or removing a
condition leaves the other traverses unchanged, and a route of ``n`` places is a prefix of a
longer route with the same seed and view.

Example:
    >>> params = VPRParams(n_places=30, image_size=16, conditions=("noise",))
    >>> data = VPRTraverse.from_arrays(generate(params), params.n_places)
    >>> data.traverse_names
    ('reference', 'reference-2', 'query-noise')
    >>> query = data.split("query-noise")
    >>> len(query), query.images.shape, query.images.dtype, query[3][1]
    (30, (30, 16, 16), dtype('float32'), 3)
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.core.errors import DatasetError, ParameterError
from neuro.datasets._vpr_conditions import CONDITIONS, EFFECTS, appearance, patch_normalise, pose, quantise
from neuro.datasets._vpr_source import plan_route, prefilter, sample_views, stable_id
from neuro.datasets.cache import cached_arrays

__all__ = ["CONDITIONS", "VPRParams", "VPRTraverse", "generate", "load_vpr", "patch_normalise"]

NAME = "vpr-traverse"
#: Bumped whenever the generator's output for the same parameters changes (part of the cache key).
GENERATOR_VERSION = 1
MAX_PLACES = 20_000


def _int(value: Any, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ParameterError(f"{field} must be an integer in [{low}, {high}], got {value!r}", field)


def _float(value: Any, field: str, low: float, high: float) -> None:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise ParameterError(f"{field} must be a number in [{low}, {high}], got {value!r}", field)


@dataclass(frozen=True)
class VPRParams:
    """Every parameter of the ``vpr-traverse`` generator (hashed into the cache key).

    Attributes:
        n_places: places on the route (each traverse has one image per place).
        image_size: side of the square grey images (28 in the paper).
        conditions: query conditions, each giving a traverse ``query-<condition>``; any of
            :data:`CONDITIONS`.
        severity: strength of every query condition, 0 (only pose jitter) to 1 (strong).
        n_references: 1 or 2 reference traverses (the paper trains on two).
        view_size: side of the view window cut from a photo, in photo pixels.
        overlap: fraction of a view shared by consecutive places on a lane, in [0, 0.9].
        jitter: std of the i.i.d. window shift of every traverse but ``reference``, in views.
        quantize_bits: grey levels of the sensor, ``2**bits``; 0 keeps full float precision.
        seed: seed of the route and of every traverse.

    Raises:
        ParameterError: a field is out of range; ``field`` names it.

    Example:
        >>> VPRParams(n_places=100, conditions=["blur"]).traverse_names
        ('reference', 'reference-2', 'query-blur')
    """

    n_places: int = 500
    image_size: int = 28
    conditions: tuple[str, ...] = CONDITIONS
    severity: float = 0.5
    n_references: int = 2
    view_size: int = 48
    overlap: float = 0.5
    jitter: float = 0.02
    quantize_bits: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        _int(self.n_places, "n_places", 1, MAX_PLACES)
        _int(self.image_size, "image_size", 4, 256)
        _int(self.view_size, "view_size", 8, 512)
        _int(self.n_references, "n_references", 1, 2)
        _int(self.quantize_bits, "quantize_bits", 0, 16)
        _int(self.seed, "seed", 0, 2**63 - 1)
        _float(self.severity, "severity", 0.0, 1.0)
        _float(self.overlap, "overlap", 0.0, 0.9)
        _float(self.jitter, "jitter", 0.0, 0.25)
        conditions = (self.conditions,) if isinstance(self.conditions, str) else self.conditions
        try:
            conditions = tuple(conditions)
        except TypeError:
            raise ParameterError(f"conditions must be a sequence of names, got {self.conditions!r}", "conditions") from None
        for c in conditions:
            if c not in CONDITIONS:
                raise ParameterError(f"unknown condition {c!r}; choose from {list(CONDITIONS)}", "conditions")
        if len(set(conditions)) != len(conditions):
            raise ParameterError(f"conditions repeat a name: {list(conditions)}", "conditions")
        object.__setattr__(self, "conditions", conditions)
        for name in ("n_places", "image_size", "view_size", "n_references", "quantize_bits", "seed"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("severity", "overlap", "jitter"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def traverse_names(self) -> tuple[str, ...]:
        """Names of the traverses these parameters generate, in storage order."""
        refs = ("reference", "reference-2")[: self.n_references]
        return refs + tuple(f"query-{c}" for c in self.conditions)

    def cache_params(self) -> dict[str, Any]:
        """The JSON-serialisable mapping hashed into the cache key.

        The fields, the generator version and the versions of the packages the photos come from
        (a new release could change a photo; the cache then regenerates rather than go stale).
        """
        sources = {pkg: importlib.metadata.version(pkg) for pkg in ("scikit-image", "scikit-learn")}
        return {**dataclasses.asdict(self), "generator_version": GENERATOR_VERSION, "sources": sources}


def _effects(traverse: str) -> tuple[str, ...]:
    if traverse == "reference":
        return ()
    if traverse == "reference-2":
        return ("mild",)
    return EFFECTS[traverse.removeprefix("query-")]


def generate(params: VPRParams) -> dict[str, np.ndarray]:
    """Render every traverse of ``params``.

    Args:
        params: the generator's parameters.

    Returns:
        ``images`` ``(T * n_places, S, S)`` float32 in [0, 1], traverse by traverse in the order
        of ``params.traverse_names``, places in route order within each; ``places`` ``(N,)``
        int64 place indices; ``traverse`` ``(N,)`` traverse names (str).

    Raises:
        ParameterError: ``n_places`` exceeds what the photos hold for this view size.

    Example:
        >>> arrays = generate(VPRParams(n_places=5, image_size=8, conditions=()))
        >>> arrays["images"].shape, arrays["places"].tolist(), sorted(set(arrays["traverse"].tolist()))
        ((10, 8, 8), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4], ['reference', 'reference-2'])
    """
    n, view, size = params.n_places, params.view_size, params.image_size
    route = plan_route(n, view, params.overlap, params.seed)
    sigma = max(0.0, (view / size - 1.0) / 2.0)  # anti-aliasing, as skimage.transform.resize
    smoothed = {int(src): prefilter(int(src), sigma) for src in np.unique(route.source)}
    names = params.traverse_names
    images = np.empty((len(names) * n, size, size), dtype=np.float32)
    for k, name in enumerate(names):
        effects = _effects(name)
        rng = np.random.default_rng([params.seed, stable_id(name)])
        jitter = 0.0 if name == "reference" else params.jitter
        p = pose(effects, n, view, params.severity, jitter, rng)
        raw = sample_views(route, view, size, dy=p.dy, dx=p.dx, angle=p.angle, scale=p.scale, image_for=smoothed.__getitem__)
        images[k * n : (k + 1) * n] = quantise(appearance(raw, effects, params.severity, rng), params.quantize_bits)
    return {
        "images": images,
        "places": np.tile(np.arange(n, dtype=np.int64), len(names)),
        "traverse": np.repeat(np.asarray(names, dtype=str), n),
    }


@dataclass(frozen=True, eq=False)
class VPRTraverse:
    """Images of one or more traverses of a ``vpr-traverse`` route, with their place indices.

    Attributes:
        images: ``(N, S, S)`` float32 grey images in [0, 1] (read-only).
        places: ``(N,)`` int64 place index of each image (the ground truth).
        traverse: ``(N,)`` traverse name of each image.
        n_places: places on the route.

    Raises:
        DatasetError: the arrays disagree in length or shape.

    Example:
        >>> imgs = np.zeros((4, 8, 8), np.float32)
        >>> ds = VPRTraverse(imgs, np.array([0, 1, 0, 1]), np.array(["reference"] * 2 + ["query-blur"] * 2), 2)
        >>> ds.traverse_names, len(ds.split("query-blur")), ds.image_size
        (('reference', 'query-blur'), 2, 8)
    """

    images: np.ndarray
    places: np.ndarray
    traverse: np.ndarray
    n_places: int

    def __post_init__(self) -> None:
        images = np.asarray(self.images, dtype=np.float32)
        places = np.asarray(self.places, dtype=np.int64)
        traverse = np.asarray(self.traverse, dtype=str)
        if images.ndim != 3 or images.shape[1] != images.shape[2]:
            raise DatasetError(f"images must be (N, S, S), got shape {images.shape}")
        if places.shape != (len(images),) or traverse.shape != (len(images),):
            raise DatasetError(f"places {places.shape} and traverse {traverse.shape} must be ({len(images)},) like images")
        if len(places) and (places.min() < 0 or places.max() >= self.n_places):
            raise DatasetError(f"place indices must lie in [0, {self.n_places}), got [{places.min()}, {places.max()}]")
        for name, value in (("images", images), ("places", places), ("traverse", traverse)):
            value = value.view()  # read-only view; the caller's array stays writable
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], n_places: int) -> VPRTraverse:
        """Wrap the output of :func:`generate` (or its cache entry)."""
        try:
            return cls(arrays["images"], arrays["places"], arrays["traverse"], int(n_places))
        except KeyError as exc:
            raise DatasetError(f"vpr-traverse arrays lack {exc.args[0]!r}") from None

    @property
    def image_size(self) -> int:
        """Side of the square images, in pixels."""
        return int(self.images.shape[1])

    @property
    def traverse_names(self) -> tuple[str, ...]:
        """The traverses present, in storage order."""
        names, first = np.unique(self.traverse, return_index=True)
        return tuple(str(names[i]) for i in np.argsort(first))

    def split(self, name: str) -> VPRTraverse:
        """The images of traverse ``name`` only (``"reference"``, ``"query-noise"``...).

        Raises:
            DatasetError: no traverse of that name; the message lists those present.
        """
        if name not in self.traverse_names:
            raise DatasetError(f"no traverse {name!r} in this dataset; available: {list(self.traverse_names)}")
        keep = self.traverse == name
        return VPRTraverse(self.images[keep], self.places[keep], self.traverse[keep], self.n_places)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """``(image, place)`` of image ``index`` (negative indices count from the end)."""
        n = len(self)
        i = int(index)
        if i != index or not -n <= i < n:
            raise IndexError(f"vpr-traverse: index {index} out of range for {n} images")
        return self.images[i], int(self.places[i])


def load_vpr(
    split: str | None = "reference", root: str | os.PathLike[str] | None = None, rebuild: bool = False, **params: Any
) -> VPRTraverse:
    """Load (generating and caching on first use) the ``vpr-traverse`` dataset.

    Args:
        split: a traverse name (``"reference"``, ``"reference-2"``, ``"query-<condition>"``) or
            ``None``/``"all"`` for every traverse.
        root: cache folder (default :func:`neuro.datasets.cache.cache_dir`).
        rebuild: regenerate even if a valid cache entry exists.
        **params: fields of :class:`VPRParams`.

    Returns:
        The requested traverse(s).

    Raises:
        ParameterError: an unknown or invalid parameter (``field`` names it).
        DatasetError: ``split`` is not one of the traverses these parameters generate.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     ref = load_vpr("reference", root=tmp, n_places=8, image_size=8, conditions=())
        >>> len(ref), ref.traverse_names
        (8, ('reference',))
    """
    fields = {f.name for f in dataclasses.fields(VPRParams)}
    for key in params:
        if key not in fields:
            raise ParameterError(f"unknown vpr-traverse parameter {key!r}; known: {sorted(fields)}", key)
    p = VPRParams(**params)
    if split not in (None, "all", *p.traverse_names):
        raise DatasetError(f"unknown vpr-traverse split {split!r}; choose from {['all', *p.traverse_names]}")
    arrays = cached_arrays(NAME, p.cache_params(), lambda: generate(p), root=root, rebuild=rebuild)
    data = VPRTraverse.from_arrays(arrays, p.n_places)
    return data if split in (None, "all") else data.split(split)

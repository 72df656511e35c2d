"""On-disk cache of generated datasets.

A generated dataset is stored as one compressed ``.npz`` file (about 2.5x smaller than raw
arrays for n-digits) under :func:`cache_dir`, named by the
dataset and a hash of everything that determines its content (the generator's parameters and
its format version). Files are written atomically; each holds a SHA-256 digest of its arrays,
so a truncated or corrupted entry is detected on load and regenerated, never used.

The cache folder is ``$NEURO_CACHE`` if set, else ``$XDG_CACHE_HOME/neuro``, else
``~/.cache/neuro``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from neuro.core.errors import DataFormatError
from neuro.core.io import atomic_path, cache_dir
from neuro.datasets.base import PackedEventDataset

log = logging.getLogger(__name__)
T = TypeVar("T")

_RESERVED = ("events", "offsets", "labels", "sensor_size", "classes", "metadata")


def cache_key(params: Mapping[str, Any]) -> str:
    """A short stable hash of JSON-serialisable parameters (key order does not matter)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot hash parameter of type {type(value).__name__}")


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(arr.dtype.descr).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _arrays(ds: PackedEventDataset) -> dict[str, np.ndarray]:
    arrays = {
        "events": ds.events,
        "offsets": ds.offsets,
        "labels": ds.label_array,
        "sensor_size": np.asarray(ds.sensor_size, dtype=np.int64),
        "classes": np.asarray(ds.classes, dtype=str),
        "metadata": np.asarray(json.dumps(dict(ds.metadata), default=_json_default)),
    }
    for key, values in ds.extras.items():
        arrays[f"extra_{key}"] = values
    return arrays


def save_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to ``path`` (an ``.npz`` file) atomically, with a content digest."""
    if "digest" in arrays:
        raise ValueError("'digest' is a reserved array name")
    out = {k: np.asarray(v) for k, v in arrays.items()}
    out["digest"] = np.asarray(_digest(out))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, allow_pickle=False, **out)


def load_arrays(path: str | os.PathLike[str], required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save_arrays`, checking its digest.

    Raises:
        DataFormatError: the file is unreadable, truncated, lacks a ``required`` array, or its
            digest does not match its content.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # a damaged zip raises anything from BadZipFile to NotImplementedError
        raise DataFormatError(f"unreadable cache file ({exc})", str(path)) from exc
    missing = [k for k in (*required, "digest") if k not in arrays]
    if missing:
        raise DataFormatError(f"cache file lacks arrays {missing}", str(path))
    stored = str(arrays.pop("digest"))
    if _digest(arrays) != stored:
        raise DataFormatError("cache file content does not match its digest", str(path))
    return arrays


def save_packed(path: str | os.PathLike[str], ds: PackedEventDataset) -> None:
    """Write ``ds`` to ``path`` atomically (see :func:`save_arrays`)."""
    save_arrays(path, _arrays(ds))


def load_packed(path: str | os.PathLike[str], name: str | None = None) -> PackedEventDataset:
    """Read a dataset written by :func:`save_packed`.

    Raises:
        DataFormatError: see :func:`load_arrays`.
    """
    arrays = load_arrays(path, _RESERVED)
    extras = {k[len("extra_") :]: v for k, v in arrays.items() if k.startswith("extra_")}
    return PackedEventDataset(
        name or Path(path).stem.split("-")[0],
        arrays["events"],
        arrays["offsets"],
        arrays["labels"],
        tuple(int(s) for s in arrays["sensor_size"]),
        tuple(str(c) for c in arrays["classes"]),
        extras,
        json.loads(str(arrays["metadata"])),
    )


def _cached(
    path: Path, name: str, load: Callable[[Path], T], build: Callable[[], T], save: Callable[[Path, T], None], rebuild: bool
) -> T:
    if path.exists() and not rebuild:
        try:
            return load(path)
        except DataFormatError as exc:
            log.warning("regenerating %s: %s", name, exc)
            path.unlink(missing_ok=True)
    value = build()
    save(path, value)
    return value


def cached(
    name: str,
    params: Mapping[str, Any],
    build: Callable[[], PackedEventDataset],
    *,
    root: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
) -> PackedEventDataset:
    """Load dataset ``name`` generated with ``params`` from the cache, or build and store it.

    A corrupt or partial entry is logged, deleted and rebuilt.

    Args:
        name: dataset name (the file name prefix).
        params: everything that determines the content; hashed into the file name.
        build: produces the dataset when the entry is absent or bad.
        root: cache folder (default :func:`cache_dir`).
        rebuild: ignore any existing entry.
    """
    path = cache_path(name, params, root)
    return _cached(path, name, lambda p: load_packed(p, name), build, save_packed, rebuild)


def cached_arrays(
    name: str,
    params: Mapping[str, Any],
    build: Callable[[], Mapping[str, np.ndarray]],
    *,
    root: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
) -> dict[str, np.ndarray]:
    """Like :func:`cached` for generators whose product is a set of named arrays (images...)."""
    path = cache_path(name, params, root)
    return _cached(path, name, load_arrays, lambda: dict(build()), save_arrays, rebuild)


def cache_path(name: str, params: Mapping[str, Any], root: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`cached` stores ``name`` generated with ``params``."""
    base = Path(root) if root is not None else cache_dir()
    return base / f"{name}-{cache_key(params)}.npz"

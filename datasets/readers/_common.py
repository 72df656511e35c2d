"""Helpers shared by the file readers (private).

Every reader ends in :func:`finish_events`: it checks coordinates against the sensor while the
byte offset of each event is still known (so a corrupt event is reported as a
:class:`~neuro.core.errors.DataFormatError` naming the file and the byte), sorts by time
(stable) and returns the canonical dtype.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuro.core.errors import DataFormatError, DatasetError
from neuro.core.events import AUDIO_DTYPE, EVENT_DTYPE, SensorSize, check_sensor_size, validate_events

if TYPE_CHECKING:
    import h5py


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a :class:`Path`, or a :class:`DatasetError` if it is not an existing file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetError(f"{p}: {what} not found" + (" (it is a folder)" if p.is_dir() else ""))
    return p


def require_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a folder, else a :class:`DatasetError` that shows the expected layout."""
    if not path.is_dir():
        raise DatasetError(f"{path}: folder not found; expected layout:\n{layout}")
    return path


def first_existing(root: str | Path, candidates: Sequence[str], layout: str) -> Path:
    """The first ``root / c`` that is a folder (``""`` means root itself), or a DatasetError."""
    base = Path(root).expanduser()
    for c in candidates:
        if (base / c).is_dir():
            return base / c
    tried = ", ".join(str(base / c) for c in candidates)
    raise DatasetError(f"{base}: none of {tried} exists; expected layout:\n{layout}")


def natural_key(name: str) -> list[int | str]:
    """Sort key that orders ``a_2`` before ``a_10``."""
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", name)]


def sorted_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """Files in ``folder`` with one of ``suffixes`` (lower-case, with dot), in natural order."""
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in suffixes]
    return sorted(files, key=lambda f: natural_key(f.name))


def check_in_sensor(
    path: Path,
    columns: dict[str, np.ndarray],
    sensor_size: SensorSize,
    offsets: np.ndarray | None,
) -> None:
    """Raise a DataFormatError at the first event whose x, y or p lies outside the sensor.

    Args:
        path: the file, for the message.
        columns: ``x``, ``p`` and (2-D sensors) ``y`` values.
        sensor_size: ``(W, H, P)``.
        offsets: byte offset of each event in the file, or None when unknown.
    """
    w, h, n_p = sensor_size
    limits = {"x": w, "y": h, "p": max(n_p, 2)}
    for name, values in columns.items():
        bad = (values < 0) | (values >= limits[name])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = None if offsets is None else int(offsets[i])
            raise DataFormatError(
                f"event {i} has {name} = {int(values[i])}, outside [0, {limits[name]}) for sensor {sensor_size}",
                str(path),
                where,
            )


def finish_events(
    path: Path,
    *,
    t: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    y: np.ndarray | None = None,
    sensor_size: Sequence[int] | None = None,
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Check, sort by time (stable) and pack decoded columns into the canonical dtype.

    Args:
        path: the file the columns came from (for error messages).
        t: integer microseconds.
        x, y, p: coordinates and polarity; ``y`` None for 1-D sensors.
        sensor_size: ``(W, H, P)`` to check against, or None.
        offsets: byte offset of each event, used in error messages.

    Returns:
        Events in :data:`~neuro.core.events.EVENT_DTYPE` (or ``AUDIO_DTYPE`` without ``y``).

    Raises:
        DataFormatError: an event outside the sensor or with a negative timestamp.
    """
    t = np.asarray(t, dtype=np.int64)
    columns = {"x": np.asarray(x)} if y is None else {"x": np.asarray(x), "y": np.asarray(y)}
    columns["p"] = np.asarray(p)
    if len(t) and (t < 0).any():
        i = int(np.flatnonzero(t < 0)[0])
        raise DataFormatError(f"event {i} has a negative timestamp {int(t[i])}", str(path), _at(offsets, i))
    if sensor_size is not None:
        check_in_sensor(path, columns, check_sensor_size(sensor_size), offsets)
    out = np.empty(len(t), dtype=AUDIO_DTYPE if y is None else EVENT_DTYPE)
    out["t"] = t
    for name, values in columns.items():
        out[name] = values
    if len(out) > 1 and (np.diff(out["t"]) < 0).any():
        out = out[np.argsort(out["t"], kind="stable")]
    return validate_events(out, sensor_size)


def _at(offsets: np.ndarray | None, i: int) -> int | None:
    return None if offsets is None else int(offsets[i])


def seconds_to_us(path: Path, seconds: np.ndarray, what: str) -> np.ndarray:
    """Float seconds to int64 microseconds (rounded), rejecting NaN, inf and negative times."""
    s = np.asarray(seconds, dtype=np.float64)
    bad = ~np.isfinite(s) | (s < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{what}: spike time {s[i]} at position {i} is not a finite non-negative number", str(path))
    return np.round(s * 1e6).astype(np.int64)


def audio_events(
    path: Path, seconds: np.ndarray, channels: np.ndarray, sensor_size: tuple[int, int, int], what: str, unit: str
) -> np.ndarray:
    """Audio events (t µs, x channel, p = 1) from one sample's spike times in seconds and channels.

    Raises:
        DataFormatError: the arrays differ in length, a channel is outside the sensor, or a time
            is not a finite non-negative number (``unit`` names the channel kind in messages).
    """
    channels = np.asarray(channels).astype(np.int64).ravel()
    seconds = np.asarray(seconds).ravel()
    if len(seconds) != len(channels):
        raise DataFormatError(f"{what} has {len(seconds)} spike times but {len(channels)} {unit} values", str(path))
    n_channels = sensor_size[0]
    bad = (channels < 0) | (channels >= n_channels)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{what}: {unit} {int(channels[j])} at position {j} is outside [0, {n_channels})", str(path))
    t = seconds_to_us(path, seconds, what)
    return finish_events(path, t=t, x=channels, p=np.ones(len(t), np.int8), sensor_size=sensor_size)


def check_split(split: str, allowed: Sequence[str], dataset: str) -> str:
    """``split`` if it is one of ``allowed``, else a DatasetError."""
    if split not in allowed:
        raise DatasetError(f"{dataset}: split must be one of {tuple(allowed)}, got {split!r}")
    return split


def refuse_archive(path: Path) -> None:
    """Raise a DatasetError if ``path`` is still a gzip or zip archive (neuro reads unpacked files)."""
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] == b"\x1f\x8b":
        raise DatasetError(f"{path}: this is a gzip-compressed file; decompress it first (gunzip {path.name})")
    if head == b"PK\x03\x04":
        raise DatasetError(f"{path}: this is a zip archive; extract it first (unzip {path.name})")


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def open_hdf5(path: Path) -> h5py.File:
    """Open an HDF5 file read-only, turning archives and unreadable files into typed errors.

    Raises:
        DatasetError: the file is still a gzip or zip archive.
        DataFormatError: the file is not a readable HDF5 file.
    """
    import h5py

    refuse_archive(path)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        with path.open("rb") as f:
            signed = f.read(8) == HDF5_SIGNATURE
        raise DataFormatError(
            f"not a readable HDF5 file ({exc})" if signed else "not an HDF5 file (no HDF5 signature)",
            str(path),
            None if signed else 0,
        ) from exc


def require_datasets(path: Path, handle: object, names: Sequence[str], layout: str) -> None:
    """Raise a DataFormatError naming the first of ``names`` missing from the open HDF5 file."""
    for name in names:
        if name not in handle:  # type: ignore[operator]
            raise DataFormatError(f"HDF5 object {name!r} is missing; expected layout:\n{layout}", str(path))


def decode_strings(values: np.ndarray) -> list[str]:
    """HDF5 byte strings (or str) as Python strings."""
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]

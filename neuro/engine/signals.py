"""What flows between the engine's nodes: event lists, or dense sequences where values are dense.

:class:`Events` is a list of non-zero entries per (time step, sample), in CSR form over the
``T * B`` frames: frame ``f = t * B + b`` holds the entries ``idx[ptr[f]:ptr[f + 1]]`` (flat
indices into the node's shape, increasing within a frame) with values ``val[...]``, or value 1
for every entry when ``val`` is None (binary spikes). Projections consume events and touch only
what is active; neuron populations consume dense ``(T, B, N)`` input currents.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Shape = tuple[int, ...]


@functools.cache
def compiled_kernels() -> Any:
    """:mod:`neuro.engine.kernels`, imported at the first call (so numba is imported only when
    the ``numba`` backend runs; a call costs less than an import statement)."""
    from neuro.engine import kernels

    return kernels


@dataclass(frozen=True, eq=False)
class Events:
    """Non-zero entries of a ``(T, B, *shape)`` sequence.

    Attributes:
        ptr: int64 ``(T * B + 1,)`` offsets into ``idx`` per frame ``t * B + b``.
        idx: int32 flat indices into ``shape``, increasing within each frame.
        val: values of the entries, or None when every value is 1 (binary spikes).
        n_steps, batch: ``T`` and ``B``.
        shape: the shape of one frame (without time and batch).
    """

    ptr: np.ndarray
    idx: np.ndarray
    val: np.ndarray | None
    n_steps: int
    batch: int
    shape: Shape

    def __init__(self, ptr: np.ndarray, idx: np.ndarray, val: np.ndarray | None, n_steps: int, batch: int, shape: Shape):
        # the fields written straight into the instance dict: the generated frozen __init__
        # (object.__setattr__ per field) costs twice as much, and the engine makes several
        # Events per run
        d = self.__dict__
        d["ptr"], d["idx"], d["val"], d["n_steps"], d["batch"], d["shape"] = ptr, idx, val, n_steps, batch, shape

    @property
    def size(self) -> int:
        """Number of elements of one frame."""
        return math.prod(self.shape)

    @property
    def binary(self) -> bool:
        """True when every entry has value 1 (spikes), so projections accumulate, not multiply."""
        return self.val is None

    def __len__(self) -> int:
        return int(self.idx.shape[0])

    def total(self) -> float:
        """The sum of all values (the spike count for binary events)."""
        return float(len(self)) if self.val is None else float(self.val.sum())

    def values(self, dtype: Any) -> np.ndarray:
        """The values as an array (ones for binary events)."""
        return np.ones(len(self), dtype) if self.val is None else self.val.astype(dtype, copy=False)

    def frame_of_entries(self) -> np.ndarray:
        """The frame ``t * B + b`` of every entry."""
        return np.repeat(np.arange(self.n_steps * self.batch), np.diff(self.ptr))

    def frames(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, b)`` of every entry."""
        frame = self.frame_of_entries()
        return frame // self.batch, frame % self.batch

    def to_dense(self, dtype: Any = np.float32, compiled: bool = False) -> np.ndarray:
        """The ``(T, B, *shape)`` array; ``compiled``: written by the ``numba`` backend's kernel."""
        out = np.zeros((self.n_steps * self.batch, self.size), dtype)
        if compiled:
            val = np.ones(1, dtype) if self.val is None else np.ascontiguousarray(self.val)
            compiled_kernels().events_to_dense(self.ptr, self.idx, val, self.val is not None, out)
        else:
            out[self.frame_of_entries(), self.idx] = self.values(dtype)
        return out.reshape(self.n_steps, self.batch, *self.shape)

    def count_per_element(self) -> np.ndarray:
        """Sum of values per element over time and samples, shape ``shape``."""
        weights = None if self.val is None else self.val.astype(np.float64)
        counts = np.bincount(self.idx, weights=weights, minlength=self.size)
        return counts.reshape(self.shape)

    def reshape(self, shape: Shape) -> Events:
        """The same entries seen with another frame shape of equal size (Flatten)."""
        return Events(self.ptr, self.idx, self.val, self.n_steps, self.batch, tuple(shape))

    @classmethod
    def from_dense(cls, x: np.ndarray, compiled: bool = False) -> Events:
        """The non-zero entries of a ``(T, B, *shape)`` array (binary when all of them are 1);
        ``compiled``: by the ``numba`` backend's one-pass kernel (the same events)."""
        n_steps, batch = x.shape[:2]
        flat = x.reshape(n_steps * batch, -1)
        if compiled:
            ptr, idx, val, binary = compiled_kernels().dense_to_events(np.ascontiguousarray(flat))
            return cls(ptr, idx, None if binary else val, n_steps, batch, tuple(x.shape[2:]))
        frame, idx = np.nonzero(flat)
        val = flat[frame, idx]
        ptr = np.zeros(n_steps * batch + 1, np.int64)
        np.cumsum(np.bincount(frame, minlength=n_steps * batch), out=ptr[1:])
        binary = bool(np.all(val == 1))
        return cls(ptr, idx.astype(np.int32), None if binary else val, n_steps, batch, tuple(x.shape[2:]))

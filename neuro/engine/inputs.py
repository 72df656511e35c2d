"""What the engine accepts as input, turned into :class:`~neuro.engine.signals.Events`.

* sensor events: one structured array (one sample) or a list of them (a batch), with fields
  read by name: ``x, y, p, t`` for a ``(P, H, W)`` input, ``x, t`` (and optionally ``p``) for an
  ``(N,)`` or ``(P, N)`` input; ``t`` in integer microseconds, binned at ``dt`` (which must be a
  whole number of microseconds). Several events of one element in one bin add up (the entry's
  value is the count);
* dense frames: a ``(T, B, *input_shape)`` array (counts, analogue values or spikes);
* :class:`PoissonInput`: independent Bernoulli spikes with probability ``rate * dt`` per step;
* :class:`~neuro.engine.signals.Events` as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.core.errors import SimulationInputError
from neuro.engine.signals import Events


@dataclass(frozen=True)
class PoissonInput:
    """Poisson (Bernoulli per step) spike input.

    Args:
        rates: firing rate in Hz, a scalar or an array broadcasting to the input shape.
        n_steps: number of time steps.
        batch: number of independent samples.
        seed: seed of the numpy generator (the same seed gives the same spikes).
    """

    rates: Any
    n_steps: int
    batch: int = 1
    seed: int | None = 0

    def events(self, shape: tuple[int, ...], dt: float) -> Events:
        rates = np.asarray(self.rates, dtype=np.float64)
        try:
            p = np.broadcast_to(rates * dt, shape)
        except ValueError:
            msg = f"PoissonInput.rates of shape {rates.shape} do not broadcast to the input shape {shape}"
            raise SimulationInputError(msg, "rates") from None
        if (p < 0).any() or (p > 1).any() or not np.isfinite(p).all():
            msg = f"PoissonInput: rate * dt must lie in [0, 1]; got up to {float(p.max()):g} at dt={dt:g} s"
            raise SimulationInputError(msg, "rates")
        if int(self.n_steps) <= 0 or int(self.batch) <= 0:
            raise SimulationInputError("PoissonInput needs n_steps > 0 and batch > 0", "n_steps")
        rng = np.random.default_rng(self.seed)
        z = rng.random((int(self.n_steps), int(self.batch), *shape)) < p
        return Events.from_dense(z.astype(np.uint8))


def _bin_sample(events: np.ndarray, shape: tuple[int, ...], dt_us: int, sample: int) -> tuple[np.ndarray, np.ndarray]:
    names = events.dtype.names or ()
    if "t" not in names or "x" not in names:
        raise SimulationInputError(f"sample {sample}: events need fields 't' and 'x' (got {names})", "events")

    def field(name: str, limit: int) -> np.ndarray:
        if name not in names:
            if limit == 1:
                return np.zeros(len(events), np.int64)
            raise SimulationInputError(f"sample {sample}: input shape {shape} needs event field {name!r}", name)
        v = events[name].astype(np.int64)
        bad = (v < 0) | (v >= limit)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise SimulationInputError(
                f"sample {sample}: event {k} has {name}={int(events[name][k])} outside [0, {limit}) for input shape {shape}",
                name,
            )
        return v

    if len(shape) == 3:
        n_p, h, w = shape
        idx = (field("p", n_p) * h + field("y", h)) * w + field("x", w)
    elif len(shape) in (1, 2):
        n_p, n = (1, shape[0]) if len(shape) == 1 else shape
        idx = field("p", n_p) * n + field("x", n)
    else:
        raise SimulationInputError(f"sensor events cannot feed an input of shape {shape}; pass dense frames", "inputs")
    t = events["t"].astype(np.int64)
    if len(t) and t.min() < 0:
        raise SimulationInputError(f"sample {sample}: negative timestamp {int(t.min())} us", "t")
    return t // dt_us, idx


def bin_events(samples: Sequence[np.ndarray], shape: tuple[int, ...], dt: float, n_steps: int | None) -> Events:
    """Bin per-sample sensor events at ``dt`` into events of the input shape."""
    dt_us_f = dt * 1e6
    dt_us = round(dt_us_f)
    if dt_us < 1 or abs(dt_us_f - dt_us) > 1e-6 * dt_us_f:
        raise SimulationInputError(
            f"dt={dt:g} s is not a whole number of microseconds, so it cannot bin event timestamps (integer us) exactly", "dt"
        )
    binned = [_bin_sample(np.asarray(s), shape, dt_us, b) for b, s in enumerate(samples)]
    if n_steps is None:
        n_steps = max((int(step.max()) + 1 for step, _ in binned if len(step)), default=1)
    batch = len(binned)
    size = int(np.prod(shape))
    keys = []
    for b, (step, idx) in enumerate(binned):
        keep = step < n_steps
        keys.append((step[keep] * batch + b) * size + idx[keep])
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    uniq, count = np.unique(key, return_counts=True)
    frame, idx = uniq // size, (uniq % size).astype(np.int32)
    ptr = np.zeros(n_steps * batch + 1, np.int64)
    np.cumsum(np.bincount(frame, minlength=n_steps * batch), out=ptr[1:])
    val = None if (count == 1).all() else count.astype(np.float64)
    return Events(ptr, idx, val, n_steps, batch, shape)


def to_events(inputs: Any, shape: tuple[int, ...], dt: float, n_steps: int | None, backend: str = "numpy") -> Events:
    """Any accepted input as events of ``shape`` (see the module docstring); dense frames are
    converted by the compiled kernel when ``backend`` is ``"numba"`` (the same events)."""
    if isinstance(inputs, np.ndarray) and inputs.dtype.names is None:  # dense frames, the common case
        return _dense_events(inputs, np.asarray(inputs), shape, n_steps, backend)  # (a subclass as its data)
    if isinstance(inputs, Events):
        if inputs.size != int(np.prod(shape)):
            raise SimulationInputError(f"events have frame shape {inputs.shape} but the input node expects {shape}", "inputs")
        return inputs.reshape(shape)
    if isinstance(inputs, PoissonInput):
        return inputs.events(shape, dt)
    if isinstance(inputs, np.ndarray):
        return bin_events([inputs], shape, dt, n_steps)
    if isinstance(inputs, list | tuple) and inputs and all(isinstance(s, np.ndarray) and s.dtype.names for s in inputs):
        return bin_events(list(inputs), shape, dt, n_steps)
    return _dense_events(inputs, np.asarray(inputs), shape, n_steps, backend)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
"""The float dtypes whose finiteness is checked on the converted entries (which the kernels take)."""


def _dense_events(inputs: Any, x: np.ndarray, shape: tuple[int, ...], n_steps: int | None, backend: str) -> Events:
    """Dense ``(T, B, *shape)`` frames ``x`` (``inputs`` as given) checked and converted.

    Every entry must be finite. Zeros are, so for float32 and float64 frames taken whole the
    check reads only the non-zero entries, after the conversion; integers are always finite.
    """
    if x.dtype.kind not in "biuf":
        raise SimulationInputError(f"cannot use {type(inputs).__name__} of dtype {x.dtype} as engine input", "inputs")
    if x.ndim != 2 + len(shape) or x.shape[2:] != tuple(shape):
        raise SimulationInputError(f"dense input must have shape (T, B, *{shape}), got {x.shape}", "inputs")
    compiled = backend == "numba"
    if n_steps is None and x.dtype in _FLOATS:
        events = Events.from_dense(x, compiled=compiled)
        if events.val is not None and not np.isfinite(events.val).all():
            raise SimulationInputError("dense input contains NaN or infinite values", "inputs")
        return events
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise SimulationInputError("dense input contains NaN or infinite values", "inputs")
    if n_steps is not None:
        x = x[:n_steps]
    return Events.from_dense(x, compiled=compiled)

r"""Trace-based STDP inside the engine: the rule and its compiled weight updates.

The rule lives here, below :mod:`neuro.learning` (which re-exports :class:`STDP`), because the
engine compiles it into the recurrent block loop and the engine may not import
``neuro.learning`` (layering: learning builds on the engine, never the reverse).

Pair-based, all-to-all STDP with traces. Each plastic projection keeps a presynaptic trace per
input and a postsynaptic trace per neuron of the population it feeds:

.. math::

    x \leftarrow x\,e^{-dt/\tau} \text{ every step}, \qquad x \leftarrow x + a
    \text{ on an event of value } a \text{ (1 for a spike)}

* a presynaptic event at input ``j`` (when the projection runs) depresses every synapse of
  ``j``: ``w -= a_minus * x_post[post]`` (multiplicative: ``w -= a_minus * x_post * (w - w_min)``),
  after the event was delivered with the old weight; then ``x_pre[j]`` grows;
* a postsynaptic spike of neuron ``i`` (when the population runs) potentiates every synapse
  onto ``i``: ``w += a_plus * x_pre[pre]`` (multiplicative: ``w += a_plus * x_pre * (w_max - w)``);
  then ``x_post[i]`` grows;
* every change is clipped to ``[w_min, w_max]``.

Summed over all pairs this is ``a_plus exp(-dt/tau_pre)`` for a post spike ``dt >= 0`` after a
pre event and ``-a_minus exp(-dt/tau_post)`` for a pre event ``dt > 0`` after a post spike (the
additive form, away from the bounds). **Same step:** the block runs its nodes in the graph's
step order, and each side sees the other trace as it stands when it runs. For a feed-forward
plastic projection (projection before population) a pre event and a post spike in the same
step are a causal pair (``+a_plus``); for a recurrent projection fed by its own population
(population before projection) they count as ``-a_minus``.

``normalize`` (a target sum) rescales the incoming weights of every postsynaptic neuron to that
sum at the end of each sample (Diehl & Cook 2015). Samples of a batch run one after the other
and the weights carry over from one to the next; traces start from zero in every sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from neuro.core.errors import ParameterError


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP with exponential traces (see the module docstring).

    Args:
        tau_pre, tau_post: trace time constants (s), > 0.
        a_plus, a_minus: potentiation and depression amplitudes (weight units), >= 0.
        w_min, w_max: weight bounds, ``w_min <= w_max``.
        multiplicative: soft bounds (changes scale with the distance to the bound).
        normalize: target sum of each neuron's incoming weights, applied at the end of each
            sample, or None.

    Raises:
        ParameterError: a field is out of range (the message names it).
    """

    tau_pre: float = 20e-3
    tau_post: float = 20e-3
    a_plus: float = 0.01
    a_minus: float = 0.012
    w_min: float = 0.0
    w_max: float = 1.0
    multiplicative: bool = False
    normalize: float | None = None

    def __post_init__(self) -> None:
        for name in ("tau_pre", "tau_post"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ParameterError(f"STDP.{name} must be a positive number of seconds, got {value!r}", name)
        for name in ("a_plus", "a_minus"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ParameterError(f"STDP.{name} must be a finite number >= 0, got {value!r}", name)
        if not (math.isfinite(self.w_min) and math.isfinite(self.w_max) and self.w_min <= self.w_max):
            raise ParameterError(f"STDP needs finite w_min <= w_max, got {self.w_min!r}, {self.w_max!r}", "w_min")
        if self.normalize is not None and not (math.isfinite(self.normalize) and self.normalize > 0):
            raise ParameterError(f"STDP.normalize must be a positive sum or None, got {self.normalize!r}", "normalize")

    def coefficients(self, dt: float, dtype: np.dtype) -> np.ndarray:
        """``[decay_pre, decay_post, a_plus, a_minus, w_min, w_max, multiplicative, target]`` as
        one array of ``dtype`` (target 0: no normalisation)."""
        return np.array(
            [
                math.exp(-dt / self.tau_pre),
                math.exp(-dt / self.tau_post),
                self.a_plus,
                self.a_minus,
                self.w_min,
                self.w_max,
                1.0 if self.multiplicative else 0.0,
                0.0 if self.normalize is None else self.normalize,
            ],
            dtype=dtype,
        )


def incoming(indptr: np.ndarray, indices: np.ndarray, n_post: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The synapses onto each postsynaptic neuron ``indices % n_post`` (CSC form).

    Returns ``(col_ptr, col_syn, col_pre)``: for neuron ``i`` the synapse ids
    ``col_syn[col_ptr[i]:col_ptr[i + 1]]`` (ordered by input) and their inputs ``col_pre``.
    """
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
    post = np.asarray(indices, np.int64) % n_post
    order = np.lexsort((rows, post)).astype(np.int64)
    col_ptr = np.zeros(n_post + 1, np.int64)
    np.cumsum(np.bincount(post, minlength=n_post), out=col_ptr[1:])
    return col_ptr, order, rows[order]


@numba.njit(cache=True)
def bound(w, c):  # pragma: no cover - compiled
    """Clip to ``[w_min, w_max]``."""
    return min(max(w, c[4]), c[5])


@numba.njit(cache=True)
def depress(w, x_post, c):  # pragma: no cover - compiled
    """The weight after a presynaptic event, given the postsynaptic trace."""
    if c[6] != 0:
        return bound(w - c[3] * x_post * (w - c[4]), c)
    return bound(w - c[3] * x_post, c)


@numba.njit(cache=True)
def potentiate(w, x_pre, c):  # pragma: no cover - compiled
    """The weight after a postsynaptic spike, given the presynaptic trace."""
    if c[6] != 0:
        return bound(w + c[2] * x_pre * (c[5] - w), c)
    return bound(w + c[2] * x_pre, c)


@numba.njit(cache=True)
def normalize_incoming(w, col_ptr, col_syn, c):  # pragma: no cover - compiled
    """Scale each neuron's incoming weights (flat ``w``) to sum to ``c[7]`` (when > 0)."""
    if c[7] <= 0:
        return
    for i in range(col_ptr.shape[0] - 1):
        total = w.dtype.type(0)
        for q in range(col_ptr[i], col_ptr[i + 1]):
            total += w[col_syn[q]]
        if total != 0:
            scale = c[7] / total
            for q in range(col_ptr[i], col_ptr[i + 1]):
                w[col_syn[q]] = w[col_syn[q]] * scale

r"""Latency (time-to-first-spike) coding: stronger inputs fire earlier, each at most once.

For an intensity :math:`x` and threshold :math:`\theta`:

- ``"log"`` (an RC circuit charging towards :math:`x`):
  :math:`t = \tau \ln\bigl(x / (x - \theta)\bigr)` for :math:`x > \theta`;
- ``"linear"``: :math:`t = \tau (1 - x)` for :math:`x > \theta`;

inputs at or below :math:`\theta` never fire (time ``inf``). :func:`latency_times` returns the
continuous times (in units of :math:`\tau`'s unit); :func:`encode_latency` places one spike per
input on a grid of ``n_steps`` steps, either with :math:`\tau` in steps or, with
``normalize=True``, stretched so the latest finite time lands on the last step.

Example:
    >>> import numpy as np
    >>> z = encode_latency(np.array([1.0, 0.5, 0.0]), 5, code="linear", normalize=True)
    >>> z.argmax(axis=0).tolist(), z.sum(axis=0).tolist()
    ([0, 4, 0], [1, 1, 0])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from neuro.core.errors import ParameterError


def latency_times(
    x: np.ndarray | float,
    *,
    code: Literal["linear", "log"] = "log",
    tau: float = 1.0,
    threshold: float = 0.01,
) -> np.ndarray:
    """First-spike time of each input (``inf`` where ``x <= threshold``).

    Args:
        x: intensities of any shape, nominally in ``[0, 1]``.
        code: ``"log"`` or ``"linear"``.
        tau: time constant (any unit; the result has the same unit).
        threshold: inputs at or below it do not fire.

    Raises:
        ParameterError: non-finite ``x``, ``tau <= 0``, a negative threshold or an unknown code.
    """
    arr = np.asarray(x, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError("intensities must be finite", "x")
    if not tau > 0:
        raise ParameterError(f"tau must be positive, got {tau}", "tau")
    if not threshold >= 0:
        raise ParameterError(f"threshold must be non-negative, got {threshold}", "threshold")
    fires = arr > threshold
    safe = np.where(fires, arr, threshold + 1.0)
    if code == "log":
        t = tau * np.log(safe / (safe - threshold))
    elif code == "linear":
        t = tau * (1.0 - safe)
    else:
        raise ParameterError(f"code must be 'log' or 'linear', got {code!r}", "code")
    return np.where(fires, np.maximum(t, 0.0), np.inf)


def encode_latency(
    x: np.ndarray | float,
    n_steps: int,
    *,
    code: Literal["linear", "log"] = "log",
    tau: float = 1.0,
    threshold: float = 0.01,
    normalize: bool = False,
) -> np.ndarray:
    """One spike per input on a grid of ``n_steps`` steps.

    Args:
        x: intensities of any shape.
        n_steps: number of time steps ``T``.
        code: ``"log"`` or ``"linear"``.
        tau: time constant in steps (ignored in scale when ``normalize``).
        threshold: inputs at or below it do not fire.
        normalize: stretch times so the latest finite one falls on step ``T - 1``.

    Returns:
        ``(T, *x.shape)`` uint8 with at most one spike per input; spikes at step ``round(t)``
        and none where ``t > T - 1``.

    Raises:
        ParameterError: as :func:`latency_times`, or ``n_steps < 1``.
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ParameterError(f"n_steps must be a positive integer, got {n_steps!r}", "n_steps")
    t = latency_times(x, code=code, tau=tau, threshold=threshold)
    finite = np.isfinite(t)
    if normalize and finite.any():
        latest = t[finite].max()
        scale = (n_steps - 1) / latest if latest > 0 else 0.0
        t = np.where(finite, np.where(finite, t, 0.0) * scale, np.inf)
    step = np.where(finite, np.round(np.where(finite, t, 0.0)), n_steps)
    out = np.zeros((int(n_steps), *t.shape), dtype=np.uint8)
    fire = step <= n_steps - 1
    idx = np.nonzero(fire)
    out[(step[fire].astype(np.int64), *idx)] = 1
    return out

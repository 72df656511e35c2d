r"""Population coding with Gaussian receptive fields (Bohte, Kok and La Poutré 2002).

A scalar :math:`x \in [x_\min, x_\max]` is seen by :math:`m \ge 3` neurons with centres

.. math:: \mu_i = x_\min + \frac{2i - 3}{2} \, \frac{x_\max - x_\min}{m - 2}, \qquad i = 1 \dots m

and common width :math:`\sigma = \frac{1}{\beta} \frac{x_\max - x_\min}{m - 2}` (:math:`\beta \approx 1.5`).
Neuron :math:`i` is activated to :math:`a_i = \exp(-(x - \mu_i)^2 / (2\sigma^2))`. The first and last
centres lie half a spacing outside the range, so the edges are covered as well as the middle.
:func:`encode_population` turns activations into spikes by latency (strong activation fires
early: :math:`t_i = (T - 1)(1 - a_i)`, none below ``min_activation``) or by rate.

Example:
    >>> import numpy as np
    >>> a = gaussian_receptive_fields(np.array([0.1, 0.6, 0.9]), 6)
    >>> a.shape, a.argmax(axis=-1).tolist()
    ((3, 6), [1, 3, 4])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from neuro.core.errors import ParameterError
from neuro.encoders.latency import encode_latency
from neuro.encoders.rate import encode_rate


def receptive_field_centres(n_neurons: int, x_min: float = 0.0, x_max: float = 1.0) -> np.ndarray:
    """Centres :math:`\\mu_i` of ``n_neurons`` Gaussian fields covering ``[x_min, x_max]``."""
    if int(n_neurons) != n_neurons or n_neurons < 3:
        raise ParameterError(f"n_neurons must be an integer >= 3, got {n_neurons!r}", "n_neurons")
    if not (np.isfinite(x_min) and np.isfinite(x_max) and x_max > x_min):
        raise ParameterError(f"need finite x_min < x_max, got {x_min}, {x_max}", "x_max")
    i = np.arange(1, int(n_neurons) + 1)
    return x_min + (2 * i - 3) / 2 * (x_max - x_min) / (n_neurons - 2)


def gaussian_receptive_fields(
    x: np.ndarray | float, n_neurons: int, x_min: float = 0.0, x_max: float = 1.0, beta: float = 1.5
) -> np.ndarray:
    """Activations ``(*x.shape, n_neurons)`` in ``(0, 1]``.

    Raises:
        ParameterError: ``n_neurons < 3``, ``x_min >= x_max``, ``beta <= 0`` or non-finite ``x``.
    """
    if not beta > 0:
        raise ParameterError(f"beta must be positive, got {beta}", "beta")
    arr = np.asarray(x, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError("x must be finite", "x")
    mu = receptive_field_centres(n_neurons, x_min, x_max)
    sigma = (x_max - x_min) / (beta * (n_neurons - 2))
    return np.exp(-((arr[..., None] - mu) ** 2) / (2 * sigma**2))


def encode_population(
    x: np.ndarray | float,
    n_neurons: int,
    n_steps: int,
    *,
    x_min: float = 0.0,
    x_max: float = 1.0,
    beta: float = 1.5,
    code: Literal["latency", "rate"] = "latency",
    min_activation: float = 0.1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Spikes ``(T, *x.shape, n_neurons)`` from Gaussian receptive fields.

    Args:
        x: values of any shape.
        n_neurons: fields per value.
        n_steps: number of time steps ``T``.
        x_min, x_max, beta: field layout (see the module docstring).
        code: ``"latency"`` (one spike at step ``round((T - 1)(1 - a))``) or ``"rate"``
            (Bernoulli with probability ``a`` per step; needs ``rng``).
        min_activation: activations below it do not spike (both codes).
        rng: random generator for the rate code.

    Returns:
        uint8 spikes.
    """
    a = gaussian_receptive_fields(x, n_neurons, x_min, x_max, beta)
    a = np.where(a >= min_activation, a, 0.0)
    if code == "latency":
        # linear latency with tau = T - 1 steps: t = (T - 1) (1 - a); a == 0 never fires.
        return encode_latency(a, n_steps, code="linear", tau=max(n_steps - 1, 1), threshold=0.0)
    if code == "rate":
        if rng is None:
            raise ParameterError("the rate code needs an explicit rng", "rng")
        return encode_rate(a, n_steps, rng=rng)
    raise ParameterError(f"code must be 'latency' or 'rate', got {code!r}", "code")

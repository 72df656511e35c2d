"""Surrogate gradients of the spike function.

The forward pass of a spike is always the Heaviside step ``H(x)`` of ``x = v - v_threshold``.
During training its derivative (a Dirac delta) is replaced by a smooth ``derivative(x)``. Each
strategy is a frozen dataclass whose ``derivative(x, ops)`` uses only arithmetic, ``abs``,
``clip`` and the ``ops`` primitives, so the same definition runs on numpy arrays and torch
tensors.

=================  ==========================================================  ================
strategy           derivative of the surrogate at ``x``                         reference
=================  ==========================================================  ================
ArcTan(alpha)      ``alpha / 2 / (1 + (pi/2 * alpha * x)**2)``                  Fang et al. 2021
FastSigmoid(slope) ``1 / (1 + slope * |x|)**2`` (SuperSpike)                    Zenke & Ganguli 2018
Sigmoid(slope)     ``slope * s * (1 - s)``, ``s = 1 / (1 + exp(-slope * x))``   -
Triangle(width)    ``max(0, 1 - |x| / width) / width``                          Esser et al. 2016
StraightThrough    ``1 / width`` on ``[-width/2, width/2)``, else 0 (boxcar)    Bengio et al. 2013
=================  ==========================================================  ================

All of them integrate to 1 over the real line except FastSigmoid (which integrates to
``2 / slope``), so ArcTan, Sigmoid, Triangle and StraightThrough are proper densities.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from neuro.core.errors import ParameterError
from neuro.core.ops import Ops


def _positive(obj: object, field: str) -> None:
    value = getattr(obj, field)
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ParameterError(
            f"{type(obj).__name__}.{field} must be a positive finite number, got {value!r}",
            field=field,
        )


@dataclass(frozen=True)
class ArcTan:
    """Arctangent surrogate; ``alpha`` sets the peak ``alpha / 2`` at threshold."""

    alpha: float = 2.0
    name: ClassVar[str] = "arctan"

    def __post_init__(self) -> None:
        _positive(self, "alpha")

    def derivative(self, x: Any, ops: Ops) -> Any:
        return (self.alpha / 2) / (1 + (math.pi / 2 * self.alpha * x) ** 2)


@dataclass(frozen=True)
class FastSigmoid:
    """SuperSpike's fast sigmoid, ``1 / (1 + slope |x|)^2``."""

    slope: float = 25.0
    name: ClassVar[str] = "fast_sigmoid"

    def __post_init__(self) -> None:
        _positive(self, "slope")

    def derivative(self, x: Any, ops: Ops) -> Any:
        return 1 / (1 + self.slope * abs(x)) ** 2


@dataclass(frozen=True)
class Sigmoid:
    """Derivative of the logistic sigmoid ``1 / (1 + exp(-slope x))``."""

    slope: float = 4.0
    name: ClassVar[str] = "sigmoid"

    def __post_init__(self) -> None:
        _positive(self, "slope")

    def derivative(self, x: Any, ops: Ops) -> Any:
        # 1/(2 + 2 cosh(slope x)) written without exp overflow: s(1-s) = e^{-|a|}/(1+e^{-|a|})^2
        e = ops.exp(-abs(self.slope * x))
        return self.slope * e / (1 + e) ** 2


@dataclass(frozen=True)
class Triangle:
    """Triangular surrogate of half-width ``width`` and peak ``1 / width``."""

    width: float = 1.0
    name: ClassVar[str] = "triangle"

    def __post_init__(self) -> None:
        _positive(self, "width")

    def derivative(self, x: Any, ops: Ops) -> Any:
        return (1 - abs(x) / self.width).clip(min=0) / self.width


@dataclass(frozen=True)
class StraightThrough:
    """Boxcar straight-through estimator of total width ``width``."""

    width: float = 1.0
    name: ClassVar[str] = "straight_through"

    def __post_init__(self) -> None:
        _positive(self, "width")

    def derivative(self, x: Any, ops: Ops) -> Any:
        # Half-open, so boxcars placed one width apart tile the line without overlap; the zero
        # branch is 0 * x so the result keeps x's dtype (a bool mask times a float would not).
        inside = (x >= -self.width / 2) & (x < self.width / 2)
        return ops.where(inside, 1.0 / self.width, 0.0 * x)


Surrogate = ArcTan | FastSigmoid | Sigmoid | Triangle | StraightThrough

SURROGATES: dict[str, type[Surrogate]] = {
    cls.name: cls for cls in (ArcTan, FastSigmoid, Sigmoid, Triangle, StraightThrough)
}


def surrogate_to_dict(surrogate: Surrogate) -> dict[str, Any]:
    """Serialise a surrogate as ``{"name": ..., <parameters>}``."""
    return {"name": surrogate.name, **asdict(surrogate)}


def surrogate_from_dict(data: dict[str, Any]) -> Surrogate:
    """Inverse of :func:`surrogate_to_dict`.

    Raises:
        ParameterError: unknown name or invalid parameters.
    """
    fields = dict(data)
    name = fields.pop("name", None)
    if name not in SURROGATES:
        raise ParameterError(
            f"unknown surrogate {name!r}; expected one of {sorted(SURROGATES)}", field="name"
        )
    try:
        return SURROGATES[name](**fields)
    except TypeError as exc:
        raise ParameterError(f"invalid parameters for surrogate {name!r}: {exc}") from None

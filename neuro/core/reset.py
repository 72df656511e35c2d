"""Reset strategies: what happens to the membrane after a spike.

A reset is a small frozen dataclass, never a string flag. Every strategy is the linear map

.. math::

    v \\leftarrow \\begin{cases}
        \\kappa\\,v - \\sigma\\,z\\,\\vartheta + (1 - \\kappa)\\,v_{reset} & z > 0 \\\\
        v & z = 0
    \\end{cases}

with ``kappa`` (how much of the membrane is kept) and ``sigma`` (how many thresholds are
subtracted per spike), so one equation, :func:`neuro.core.neurons._common.reset_membrane`,
serves every model and every backend:

* :class:`ResetToValue`: ``kappa = 0, sigma = 0``, so ``v <- v_reset`` (NIR's semantics);
* :class:`ResetSubtract`: ``kappa = 1, sigma = 1``, so ``v <- v - z * v_threshold`` ("soft"
  reset; for multi-spike neurons ``z`` thresholds are removed).

NIR can only express reset-to-value; the IR writes the strategy into the graph metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from neuro.core.errors import ParameterError


@dataclass(frozen=True)
class ResetToValue:
    """After a spike the membrane is set to ``v_reset``."""

    name: ClassVar[str] = "value"
    keep: ClassVar[float] = 0.0
    subtract: ClassVar[float] = 0.0


@dataclass(frozen=True)
class ResetSubtract:
    """After ``z`` spikes the membrane loses ``z * v_threshold`` (reset by subtraction)."""

    name: ClassVar[str] = "subtract"
    keep: ClassVar[float] = 1.0
    subtract: ClassVar[float] = 1.0


Reset = ResetToValue | ResetSubtract

RESETS: dict[str, type[ResetToValue] | type[ResetSubtract]] = {
    ResetToValue.name: ResetToValue,
    ResetSubtract.name: ResetSubtract,
}


def reset_from_name(name: str) -> Reset:
    """Return the reset strategy called ``name`` (``"value"`` or ``"subtract"``).

    Raises:
        ParameterError: the name is unknown.
    """
    try:
        return RESETS[name]()
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown reset {name!r}; expected one of {sorted(RESETS)}", field="reset"
        ) from None

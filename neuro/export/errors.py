"""Typed errors of the exporters: each names the layer and the field or constraint at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuro.core.errors import IRError

if TYPE_CHECKING:
    from neuro.hardware.violations import Violation


class ExportError(IRError):
    """The graph cannot be written to the requested format as it stands.

    Attributes:
        violations: every constraint the graph breaks (:class:`neuro.hardware.Violation`).
    """

    def __init__(self, message: str, violations: list[Violation] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class ExportPrecisionError(ExportError):
    """A weight, threshold, bias or decay does not fit the format's fixed-point words."""


class ExportFeatureError(ExportError):
    """The graph uses a feature the target cannot express (reset by subtraction on Loihi,
    per-neuron parameters where one value per layer is stored, a non-zero reset value)."""


def raise_for(violations: list[Violation], target: str) -> None:
    """Raise the typed error for the worst of ``violations`` (unchecked ones are only warnings)."""
    from neuro.hardware.violations import Kind

    hard = [v for v in violations if v.kind is not Kind.UNCHECKED]
    if not hard:
        return
    text = "; ".join(str(v) for v in hard)
    if all(v.kind is Kind.PRECISION for v in hard):
        raise ExportPrecisionError(f"{target}: {text}", hard)
    raise ExportFeatureError(f"{target}: {text}", hard)

"""Typed errors of :mod:`neuro.interop`; each message names the node, field or tool at fault."""

from __future__ import annotations

from neuro.core.errors import IRError, MissingToolError, NeuroError, UnsupportedNodeError

__all__ = [
    "AmbiguousProducerError",
    "ConventionConflictError",
    "InteropError",
    "MissingTimeStepError",
    "MissingToolError",
    "UnknownToolError",
    "UnsupportedByToolError",
]


class InteropError(NeuroError, ValueError):
    """Base class of the errors raised while importing, exporting or checking NIR."""


class UnknownToolError(InteropError):
    """A producer or consumer name that is not in the conventions table."""


class AmbiguousProducerError(InteropError):
    """``producer="auto"`` found several producers that could have written the graph.

    Attributes:
        candidates: the producers whose conventions fit.
    """

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class ConventionConflictError(InteropError):
    """Two sources disagree: the graph's metadata, its parameters, the chosen producer and the
    ``dt`` argument name different conventions.

    Attributes:
        field: what they disagree on (``"dt"``, ``"producer"``, ``"r"``...).
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class MissingTimeStepError(InteropError, IRError):
    """No time step: neither the argument, the metadata nor the producer's convention gives one."""


class UnsupportedByToolError(UnsupportedNodeError):
    """The target tool cannot express these nodes (``.nodes`` lists them)."""

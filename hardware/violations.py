"""Records of mapping: typed constraint violations (also raised by the FPGA resource check) and
the slice of a layer placed on one core."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """What sort of constraint a :class:`Violation` is about.

    WALL: a structural limit the layer cannot cross as it stands (fan-in, kernel size, a core
    memory no core can hold, device resources). BUDGET: a throughput or time budget.
    PRECISION: the weights need more bits than the core stores. UNSUPPORTED: the chip cannot
    run this kind of layer at all. UNCHECKED: the limit is not published, so the layer was not
    checked against it (never a silent pass).
    """

    WALL = "wall"
    BUDGET = "budget"
    PRECISION = "precision"
    UNSUPPORTED = "unsupported"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class Violation:
    """One constraint a layer breaks (or could not be checked against).

    Attributes:
        layer: the projection node's name (``"*"`` for the whole network).
        constraint: e.g. ``"fan_in"``, ``"weight_bits"``, ``"speck.kernel_mem"``.
        required: what the layer needs (None when unknown).
        limit: what the chip offers (None for unchecked limits).
        kind: see :class:`Kind`.
        hint: a concrete way out.
    """

    layer: str
    constraint: str
    required: float | None
    limit: float | None
    kind: Kind
    hint: str

    def __str__(self) -> str:
        need = "?" if self.required is None else f"{self.required:g}"
        have = "unpublished" if self.limit is None else f"{self.limit:g}"
        return f"[{self.kind.value}] {self.layer}: {self.constraint} needs {need}, limit {have}. {self.hint}"


@dataclass(frozen=True)
class CoreSlice:
    """The part of one layer placed on one core (or crossbar tile)."""

    core_id: int
    layer: str
    neurons: int
    synapse_bits: int
    axons_in: int

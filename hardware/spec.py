"""The hardware data model: cited constants and chip descriptions (plain frozen dataclasses).

Every number a price or a limit rests on is a :class:`Const` with its SI value, unit, a
citation key that resolves in the bibliography (``hardware/bibliography.yaml``), an evidence
grade and a scope. A limit or a price that is not published is ``None``: mapping reports it as
"unchecked" and estimates as "unpriced", never as a pass or a zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any


class Evidence(enum.IntEnum):
    """How much a constant can be trusted, strongest first (the order is used for the
    "weakest evidence" of a report)."""

    MEASURED = 5  # measured on silicon, published
    SIMULATED = 4  # post-layout or circuit simulation, published
    VENDOR = 3  # vendor datasheet or marketing figure
    CONVENTION = 2  # a field convention (e.g. Horowitz 45 nm numbers used by SNN papers)
    DERIVED = 1  # our arithmetic from published numbers (the note says how)
    UNVERIFIED = 0  # a placeholder: structure is known, the value is not


class Scope(enum.Enum):
    """Whether a constant prices one term, or everything (an all-in figure forbids adding
    routing, neuron or static terms on top)."""

    PER_TERM = "per_term"
    ALL_IN = "all_in"


UNITS = frozenset({"J", "s", "W", "bit", "count", "S", "V", "ohm", "Hz", "1"})


@dataclass(frozen=True)
class Const:
    """A cited constant.

    Args:
        value: in SI base units (J, s, W, S, V, ohm, Hz; "count" and "bit" for integers; "1"
            for dimensionless).
        unit: one of :data:`UNITS`.
        source: citation key, e.g. ``"davies2018loihi:T2"`` (the part before ``:`` must be a
            key of the bibliography; the part after locates the number: table, figure, page).
        evidence: the grade.
        scope: per term (default) or all-in.
        band: ``(low, high)`` when a range is published.
        note: how the value was obtained, when not read directly.
    """

    value: float
    unit: str
    source: str
    evidence: Evidence
    scope: Scope = Scope.PER_TERM
    band: tuple[float, float] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"Const unit {self.unit!r} is not one of {sorted(UNITS)}")
        if not self.source or not isinstance(self.source, str):
            raise ValueError("Const needs a citation key as source")
        if self.band is not None and not (self.band[0] <= self.value <= self.band[1]):
            raise ValueError(f"Const value {self.value} lies outside its band {self.band}")

    @property
    def key(self) -> str:
        """The bibliography key of the source (before the first ``:``)."""
        return self.source.split(":", 1)[0]


@dataclass(frozen=True)
class CoreLimits:
    """Per-core limits; ``None`` = not published (reported "unchecked").

    ``weight_bits`` is the supported ``(min, max)`` weight precision.
    """

    max_neurons: Const | None = None
    synapse_mem_bits: Const | None = None
    synapse_word_bits: Const | None = None
    max_fan_in: Const | None = None
    max_axons_in: Const | None = None
    max_fanout_edges: Const | None = None
    weight_bits: tuple[int, int] | None = None
    state_bits: Const | None = None
    name: str = "core"


@dataclass(frozen=True)
class EnergyTable:
    """Energy per operation (J) or static power (W); ``None`` = unpriced."""

    synop: Const | None = None  # per effective accumulate (binary input)
    # per layer kind ("dense", "conv", "sparse") where a chip prices them apart (SANA-FE's Loihi)
    synop_by_kind: tuple[tuple[str, Const], ...] = ()
    mac: Const | None = None  # per effective multiply-accumulate (non-binary input)
    synop_learning: Const | None = None
    neuron_active: Const | None = None
    neuron_idle: Const | None = None
    spike_out: Const | None = None
    hop: Const | None = None
    weight_read_bit: Const | None = None
    xbar_cell_read: Const | None = None
    adc_conv: Const | None = None
    dac_drive: Const | None = None
    static_power_chip: Const | None = None
    static_power_core: Const | None = None


@dataclass(frozen=True)
class TimingTable:
    """Times (s) and clocks (Hz); ``None`` = unknown."""

    tick: Const | None = None  # fixed step of a synchronous chip
    t_synop: Const | None = None
    t_neuron_active: Const | None = None
    t_neuron_idle: Const | None = None
    t_hop: Const | None = None
    t_barrier: Const | None = None
    clock_hz: Const | None = None


@dataclass(frozen=True)
class CrossbarSpec:
    """A resistive-memory crossbar tile and its periphery."""

    rows: int
    cols: int
    differential: bool = True
    cell_bits: int = 1
    cols_per_adc: int = 8
    adc_bits: int = 5
    dac_bits: int = 1
    g_min: Const | None = None
    g_max: Const | None = None
    v_read: Const | None = None
    t_read: Const | None = None


@dataclass(frozen=True)
class FpgaSpec:
    """An FPGA device: resources, clock, and the energies where known."""

    lut: int
    ff: int
    dsp: int
    bram36: int
    clock_hz: Const
    dsp_mult_bits: tuple[int, int] = (27, 18)
    lut_mult_threshold_bits: int = 10
    static_power: Const | None = None
    e_lut_toggle: Const | None = None
    e_bram_read: Const | None = None
    e_dsp_op: Const | None = None


class Family(enum.Enum):
    DIGITAL_OPS = "digital_ops"  # priced per operation, no cores (45 nm conventions)
    NEUROMORPHIC = "neuromorphic"
    CROSSBAR = "crossbar"
    FPGA = "fpga"


@dataclass(frozen=True)
class ChipSpec:
    """A chip: cores, prices, timing; ``event_driven=False`` charges dense synops."""

    name: str
    family: Family
    description: str
    n_cores: int | None
    cores: tuple[CoreLimits, ...] = ()
    energy: EnergyTable = field(default_factory=EnergyTable)
    timing: TimingTable = field(default_factory=TimingTable)
    event_driven: bool = True
    crossbar: CrossbarSpec | None = None
    fpga: FpgaSpec | None = None
    references: tuple[str, ...] = ()

    def constants(self) -> list[tuple[str, Const]]:
        """Every constant of the chip with a dotted path naming it (``energy.synop``, ...)."""
        out: list[tuple[str, Const]] = []

        def walk(prefix: str, obj: Any) -> None:
            if isinstance(obj, Const):
                out.append((prefix, obj))
            elif isinstance(obj, tuple):
                for i, item in enumerate(obj):
                    walk(f"{prefix}[{i}]", item)
            elif hasattr(obj, "__dataclass_fields__"):
                for f in fields(obj):
                    walk(f"{prefix}.{f.name}" if prefix else f.name, getattr(obj, f.name))

        walk("", self)
        return out

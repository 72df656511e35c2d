"""neuro.hardware: chips, crossbars, FPGAs and energy estimates (installed from hardware/).

Exact activity counts (:func:`activity_from_engine`) are priced against cited chip presets
(:data:`PRESETS`, :func:`get_chip`) by :func:`estimate` and :func:`compare`. Every constant
is a :class:`Const` with unit, source (a key of ``bibliography.yaml``) and evidence grade; a
missing price is reported unpriced, never zero. See docs/hardware.md.
"""

from neuro.hardware.activity import LayerActivity, activity_from_engine
from neuro.hardware.energy import Comparison, EnergyReport, EnergyTerm, LayerEnergy, compare, estimate
from neuro.hardware.mapping import MappingResult, map_graph
from neuro.hardware.presets import (
    BASELINE,
    PRESETS,
    ChipSpecError,
    UnknownChipError,
    bibliography,
    chip_from_dict,
    chip_to_dict,
    dump_chip_yaml,
    get_chip,
    load_chip_yaml,
    register_chip,
    weakest_evidence,
)
from neuro.hardware.rram import RRAMDevice, perturb_graph, sample_reservoir
from neuro.hardware.spec import (
    ChipSpec,
    Const,
    CoreLimits,
    CrossbarSpec,
    EnergyTable,
    Evidence,
    Family,
    FpgaSpec,
    Scope,
    TimingTable,
)
from neuro.hardware.violations import Violation

__all__ = [
    "BASELINE",
    "PRESETS",
    "ChipSpec",
    "ChipSpecError",
    "Comparison",
    "Const",
    "CoreLimits",
    "CrossbarSpec",
    "EnergyReport",
    "EnergyTable",
    "EnergyTerm",
    "Evidence",
    "Family",
    "FpgaSpec",
    "LayerActivity",
    "LayerEnergy",
    "MappingResult",
    "RRAMDevice",
    "Violation",
    "Scope",
    "TimingTable",
    "UnknownChipError",
    "activity_from_engine",
    "bibliography",
    "chip_from_dict",
    "chip_to_dict",
    "compare",
    "dump_chip_yaml",
    "estimate",
    "get_chip",
    "load_chip_yaml",
    "map_graph",
    "perturb_graph",
    "register_chip",
    "sample_reservoir",
    "weakest_evidence",
]

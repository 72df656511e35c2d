"""Generic 45 nm digital ANN, int8: every connection at every step is a 0.23 pJ MAC
(0.2 pJ multiply + 0.03 pJ add; 0.3 pJ with a 32-bit accumulator, the band)."""

from __future__ import annotations

from neuro.hardware.presets._horowitz import INT8_MAC
from neuro.hardware.spec import ChipSpec, CoreLimits, EnergyTable, Family

CHIP = ChipSpec(
    name="digital45_ann_int8",
    family=Family.DIGITAL_OPS,
    description="45 nm digital ANN, int8: dense synops x 0.23 pJ (Horowitz convention)",
    n_cores=None,
    cores=(CoreLimits(name="datapath", weight_bits=(8, 8)),),
    energy=EnergyTable(synop=INT8_MAC, mac=INT8_MAC),
    event_driven=False,
    references=("horowitz2014energy",),
)

CHIPS = (CHIP,)

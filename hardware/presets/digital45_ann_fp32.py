"""Generic 45 nm digital ANN, 32-bit float: every connection at every step is a 4.6 pJ MAC.

This is the dense-ANN baseline of :func:`neuro.hardware.compare`. The convention ignores
memory traffic and activation functions (they are reported unpriced); ``_mem`` adds SRAM
weight reads (10 pJ per 64-bit word of an 8 KB array).
"""

from __future__ import annotations

from neuro.hardware.presets._horowitz import FP32_MAC, SRAM_BIT
from neuro.hardware.spec import ChipSpec, EnergyTable, Family

CHIP = ChipSpec(
    name="digital45_ann_fp32",
    family=Family.DIGITAL_OPS,
    description="45 nm digital ANN, fp32: dense synops x 4.6 pJ (Horowitz convention)",
    n_cores=None,
    energy=EnergyTable(synop=FP32_MAC, mac=FP32_MAC),
    event_driven=False,
    references=("horowitz2014energy",),
)

CHIP_MEM = ChipSpec(
    name="digital45_ann_fp32_mem",
    family=Family.DIGITAL_OPS,
    description="45 nm digital ANN, fp32, with 32-bit SRAM weight reads per MAC",
    n_cores=None,
    energy=EnergyTable(synop=FP32_MAC, mac=FP32_MAC, weight_read_bit=SRAM_BIT),
    event_driven=False,
    references=("horowitz2014energy",),
)

CHIPS = (CHIP, CHIP_MEM)

"""Horowitz (ISSCC 2014) 45 nm, 0.9 V operation energies shared by the digital presets.

The SNN literature's E_AC = 0.9 pJ (32-bit float add) and E_MAC = 4.6 pJ (3.7 pJ float
multiply + 0.9 pJ float add) come from this table; they are conventions, not measurements
of any neuromorphic chip.
"""

from __future__ import annotations

from neuro.hardware.spec import Const, Evidence

SRC = "horowitz2014energy:Fig.1.1.9"
C, D = Evidence.CONVENTION, Evidence.DERIVED
PJ = 1e-12

FP32_ADD = Const(0.9 * PJ, "J", SRC, C, note="32-bit float add: the E_AC of SNN papers")
FP32_MAC = Const(4.6 * PJ, "J", SRC, D, note="3.7 pJ 32-bit float multiply + 0.9 pJ add: the E_MAC of SNN papers")
INT32_ADD = Const(0.1 * PJ, "J", SRC, C, note="32-bit integer add")
INT8_MAC = Const(
    0.23 * PJ,
    "J",
    SRC,
    D,
    band=(0.23 * PJ, 0.3 * PJ),
    note="0.2 pJ int8 multiply + 0.03 pJ int8 add (0.3 pJ with an int32 accumulator)",
)
SRAM_BIT = Const(10 * PJ / 64, "J", SRC, D, note="10 pJ per 64-bit read of an 8 KB SRAM / 64 bits")

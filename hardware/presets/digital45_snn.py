"""Generic 45 nm digital SNN: the spiking-transformer convention (Spike-driven Transformer,
Spikingformer): E = 0.9 pJ x effective ACs (binary input) + 4.6 pJ x effective MACs (graded
input: the encoding layer, SEW residuals).

The convention ignores neuron updates and memory traffic; they are reported unpriced.
``digital45_snn_mem`` is the memory-inclusive variant the reference asks to show beside it:
every neuron update is 4 operations (NeuroBench's LIF count) at 0.9 pJ, and every synop
reads a 32-bit weight from an 8 KB SRAM.
"""

from __future__ import annotations

from neuro.hardware.presets._horowitz import FP32_ADD, FP32_MAC, SRAM_BIT
from neuro.hardware.spec import ChipSpec, Const, EnergyTable, Evidence, Family

NEURON_4OPS = Const(
    4 * FP32_ADD.value,
    "J",
    "yik2025neurobench:neuron-operations",
    Evidence.DERIVED,
    note="NeuroBench: 4 operations per LIF update (decay, input add, reset, subtract) x 0.9 pJ (Horowitz 45 nm)",
)

CHIP = ChipSpec(
    name="digital45_snn",
    family=Family.DIGITAL_OPS,
    description="45 nm digital SNN (spiking-transformer convention): 0.9 pJ per AC, 4.6 pJ per MAC",
    n_cores=None,
    energy=EnergyTable(synop=FP32_ADD, mac=FP32_MAC),
    event_driven=True,
    references=("horowitz2014energy", "yao2023sdt"),
)

CHIP_MEM = ChipSpec(
    name="digital45_snn_mem",
    family=Family.DIGITAL_OPS,
    description="45 nm digital SNN with neuron updates (4 ops) and 32-bit SRAM weight reads",
    n_cores=None,
    energy=EnergyTable(
        synop=FP32_ADD, mac=FP32_MAC, neuron_active=NEURON_4OPS, neuron_idle=NEURON_4OPS, weight_read_bit=SRAM_BIT
    ),
    event_driven=True,
    references=("horowitz2014energy", "yik2025neurobench"),
)

CHIPS = (CHIP, CHIP_MEM)

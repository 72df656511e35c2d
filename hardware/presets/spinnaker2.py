"""SpiNNaker 2 (Höppner et al. 2019, 28 nm prototype; structure from Höppner 2021).

Energies: 450 pJ per synaptic event and 2.19 nJ per neuron update, measured on the 28 nm SLP
test chip (4 PEs, 0.7-1.0 V), not the 22 nm product. Real-time operation: 1 ms per step.
Processing-element baseline power is not in the sources read, so static energy is unpriced.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, CoreLimits, EnergyTable, Evidence, Family, TimingTable

SRC = "hoppner2019dvfs:TableIV"
PE = "hoppner2021spinnaker2:Sec.II"
M, C = Evidence.MEASURED, Evidence.CONVENTION
PJ, NJ = 1e-12, 1e-9
NEURON = Const(2.19 * NJ, "J", SRC, M, note="per neuron update, 28 nm prototype")

CORE = CoreLimits(
    name="PE (ARM Cortex-M4F)",
    max_neurons=None,  # software-defined: ~1,000 neurons/PE is a real-time budget, not a limit
    synapse_mem_bits=Const(128 * 1024 * 8, "bit", PE, M, note="128 KB SRAM per PE (synapse rows also stream from LPDDR4)"),
    weight_bits=None,  # model-defined
)

CHIP = ChipSpec(
    name="spinnaker2",
    family=Family.NEUROMORPHIC,
    description="SpiNNaker 2 (28 nm prototype energies, real-time 1 ms step; PE baseline power unpriced)",
    n_cores=152,
    cores=(CORE,),
    energy=EnergyTable(
        synop=Const(450 * PJ, "J", SRC, M, note="per synaptic event, 28 nm prototype"), neuron_active=NEURON, neuron_idle=NEURON
    ),
    timing=TimingTable(tick=Const(1e-3, "s", "furber2014spinnaker:Sec.III", C, note="real-time budget per step")),
    event_driven=True,
    references=("hoppner2019dvfs", "hoppner2021spinnaker2", "furber2014spinnaker"),
)

CHIPS = (CHIP,)

"""Intel Loihi, silicon-calibrated (SANA-FE, Boyle et al. 2025, ``arch/loihi.yaml``).

Values fitted by micro-benchmarks on Loihi (Nahuku boards), error up to 11.7 % in energy and
24.3 % in latency. Synapse costs are 1.0 to 1.5x Table 2 and depend on the connection kind
(dense 35.5, sparse 33.6, conv 24.0 pJ). Every neuron is accessed every step (51.2 pJ) and
updated when it has input (+ 21.6 pJ); every spike costs the soma's 69.3 pJ plus a 111 pJ
message out of the core (one destination core assumed). Static power: Frady 2020 (as ``loihi``).
"""

from __future__ import annotations

from neuro.hardware.presets.loihi import CORE, ENERGY
from neuro.hardware.spec import ChipSpec, Const, EnergyTable, Evidence, Family, TimingTable

SRC = "boyle2025sanafe:arch/loihi.yaml"
M, D = Evidence.MEASURED, Evidence.DERIVED
PJ, NS, US = 1e-12, 1e-9, 1e-6
FIT = "calibrated fit, error up to 11.7 %"

SYN_DENSE = Const(35.5 * PJ, "J", SRC, M, note=f"synapse energy_process_spike, dense ({FIT})")
SYN_SPARSE = Const(33.6 * PJ, "J", SRC, M, note=f"synapse energy_process_spike, sparse ({FIT})")
SYN_CONV = Const(24.0 * PJ, "J", SRC, M, note=f"synapse energy_process_spike, conv ({FIT})")

CHIP = ChipSpec(
    name="loihi_sanafe",
    family=Family.NEUROMORPHIC,
    description="Intel Loihi, SANA-FE silicon-calibrated per-event energies (fit on Nahuku boards)",
    n_cores=128,
    cores=(CORE,),
    energy=EnergyTable(
        synop=SYN_DENSE,
        synop_by_kind=(("dense", SYN_DENSE), ("sparse", SYN_SPARSE), ("conv", SYN_CONV)),
        neuron_active=Const(72.8 * PJ, "J", SRC, D, note="energy_access_neuron 51.2 pJ + energy_update_neuron 21.6 pJ"),
        neuron_idle=Const(51.2 * PJ, "J", SRC, M, note=f"energy_access_neuron, every neuron every step ({FIT})"),
        spike_out=Const(
            180.3 * PJ, "J", SRC, D, note="soma energy_spike_out 69.3 pJ + axon energy_message_out 111 pJ (1 message/spike)"
        ),
        hop=Const(3.0 * PJ, "J", SRC, M, band=(3.0 * PJ, 4.2 * PJ), note="3.0 pJ east-west, 4.2 pJ north-south"),
        static_power_chip=ENERGY.static_power_chip,
        static_power_core=ENERGY.static_power_core,
    ),
    timing=TimingTable(
        t_synop=Const(3.8 * NS, "s", SRC, M, band=(3.1 * NS, 4.7 * NS), note="dense 3.8, sparse 4.7, conv 3.1 ns"),
        t_neuron_active=Const(9.7 * NS, "s", SRC, D, note="access 6.0 ns + update 3.7 ns"),
        t_neuron_idle=Const(6.0 * NS, "s", SRC, M, note="access only"),
        t_hop=Const(4.1 * NS, "s", SRC, M, band=(4.1 * NS, 6.5 * NS)),
        t_barrier=Const(0.6 * US, "s", SRC, M, band=(0.6 * US, 1.8 * US), note="barrier sync, 1 to 29 active tiles"),
    ),
    event_driven=True,
    references=("boyle2025sanafe", "davies2018loihi", "frady2020pohoiki"),
)

CHIPS = (CHIP,)

"""Intel Loihi (Davies et al., IEEE Micro 2018): Table 2 per-operation energies and times.

Table 2 holds pre-silicon (SDF/SPICE) values at 0.75 V, consistent with early silicon; the
synop energy is a minimum. Static power is derived from Frady et al. 2020 (3.34 W static on
a 32-chip board / 32). ``loihi_sanafe`` is the silicon-calibrated alternative; ship both and
say which one a report used.

Energy: S x 23.6 pJ + Na x 81 pJ + Ni x 52 pJ + K x 1.7 pJ (within-tile spike) + static.
Step time (unthrottled): max over cores of (S x 3.5 ns + Na x 8.4 ns + Ni x 5.3 ns) + barrier.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, CoreLimits, EnergyTable, Evidence, Family, TimingTable

T2 = "davies2018loihi:Table2"
ST = "davies2018loihi:Sec.Architecture"
S, M, D = Evidence.SIMULATED, Evidence.MEASURED, Evidence.DERIVED
PJ, NS = 1e-12, 1e-9

ENERGY = EnergyTable(
    synop=Const(23.6 * PJ, "J", T2, S, note="energy per synaptic spike op (minimum)"),
    synop_learning=Const(120 * PJ, "J", T2, S, note="synaptic update, pairwise STDP"),
    neuron_active=Const(81 * PJ, "J", T2, S, note="neuron update, active"),
    neuron_idle=Const(52 * PJ, "J", T2, S, note="neuron update, inactive"),
    spike_out=Const(1.7 * PJ, "J", T2, S, note="within-tile spike energy"),
    hop=Const(3.0 * PJ, "J", T2, S, band=(3.0 * PJ, 4.0 * PJ), note="per tile hop: 3.0 pJ east-west, 4.0 pJ north-south"),
    static_power_chip=Const(
        0.104, "W", "frady2020pohoiki:Sec.Results", D, note="3.34 W static on a 32-chip board / 32 (supply voltage not stated)"
    ),
    static_power_core=Const(0.82e-3, "W", "frady2020pohoiki:Sec.Results", D, note="upper bound: 104 mW / 128 cores"),
)

TIMING = TimingTable(
    t_synop=Const(3.5 * NS, "s", T2, S, note="time per synaptic spike op (maximum)"),
    t_neuron_active=Const(8.4 * NS, "s", T2, S),
    t_neuron_idle=Const(5.3 * NS, "s", T2, S),
    t_hop=Const(4.1 * NS, "s", T2, S, band=(4.1 * NS, 6.5 * NS), note="4.1 ns east-west, 6.5 ns north-south"),
    t_barrier=Const(113 * NS, "s", T2, S, band=(113 * NS, 465 * NS), note="mesh-wide barrier, 1 to 32 tiles"),
)

CORE = CoreLimits(
    name="neurocore",
    max_neurons=Const(1024, "count", ST, M, note="compartments per core"),
    synapse_mem_bits=Const(128 * 1024 * 8, "bit", ST, M, note="128 KB synaptic memory per core"),
    synapse_word_bits=Const(64, "bit", ST, M, note="synapse memory word"),
    max_axons_in=Const(4096, "count", ST, M, note="input axon lists per core"),
    max_fanout_edges=Const(4096, "count", ST, M, note="core-to-core fan-out edges per core"),
    weight_bits=(1, 9),
    state_bits=Const(24, "bit", "dey2022loihi:Sec.2", M, note="membrane and current are signed 23-bit (+ sign)"),
)

CHIP = ChipSpec(
    name="loihi",
    family=Family.NEUROMORPHIC,
    description="Intel Loihi, Davies 2018 Table 2 (pre-silicon per-op energies, 0.75 V)",
    n_cores=128,
    cores=(CORE,),
    energy=ENERGY,
    timing=TIMING,
    event_driven=True,
    references=("davies2018loihi", "davies2021survey", "frady2020pohoiki", "dey2022loihi"),
)

CHIPS = (CHIP,)

"""IBM TrueNorth: structure and the 1 ms global tick (Merolla 2014, Akopyan 2015).

No public per-term energy split exists (SANA-FE's ``arch/truenorth.yaml`` leaves every energy
at 0). The chip is therefore priced all-in: the abstract of Merolla et al. 2014 gives 46 billion
synaptic operations per second per watt for a typical real-time network, i.e. 1/46e9 J
(21.7 pJ) per synaptic operation with static power, neurons and routing included. Being
``Scope.ALL_IN``, nothing is added on top; it is graded DERIVED (our division of their figure),
and holds only at that operating point (real time, a typical network's activity).
Fan-in is a wall of 256 axons per neuron, and each neuron targets one axon on one core.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, CoreLimits, EnergyTable, Evidence, Family, Scope, TimingTable

SRC = "merolla2014truenorth:Fig.1"
M = Evidence.MEASURED

CORE = CoreLimits(
    name="neurosynaptic core",
    max_neurons=Const(256, "count", SRC, M),
    synapse_mem_bits=Const(256 * 256, "bit", SRC, M, note="256 axons x 256 neurons binary crossbar"),
    synapse_word_bits=Const(1, "bit", SRC, M, note="one connectivity bit per crossbar point"),
    max_fan_in=Const(256, "count", SRC, M, note="a wall: split into a summing tree to exceed it"),
    max_axons_in=Const(256, "count", SRC, M),
    max_fanout_edges=Const(1, "count", SRC, M, note="each neuron targets one axon on one core"),
    weight_bits=(9, 9),
    state_bits=None,
)

CHIP = ChipSpec(
    name="truenorth",
    family=Family.NEUROMORPHIC,
    description="IBM TrueNorth (structure, 1 ms tick; all-in 21.7 pJ per synaptic operation)",
    n_cores=4096,
    cores=(CORE,),
    energy=EnergyTable(
        synop=Const(
            1 / 46e9,
            "J",
            "merolla2014truenorth:Abstract",
            Evidence.DERIVED,
            scope=Scope.ALL_IN,
            note="1 / (46 billion synaptic operations per second per watt), real-time typical network",
        )
    ),
    timing=TimingTable(tick=Const(1e-3, "s", SRC, M, note="global synchronous tick (real time)")),
    event_driven=True,
    references=("merolla2014truenorth", "akopyan2015truenorth"),
)

CHIPS = (CHIP,)

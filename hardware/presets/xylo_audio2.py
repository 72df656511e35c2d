"""SynSense XyloAudio 2 (SYNS61201), from Rockpool (commit 42cee1c).

One synchronous SNN core: 16 input channels, 1,000 hidden neurons, 8 outputs, 8-bit weights,
recurrent fan-out at most 64. Synaptic work follows the input spikes (Rockpool's cycle model
charges cycles per spike), and every neuron updates every step (global dt). Energy per
cycle and dynamic power are not published: unpriced until calibrated (Rockpool's
``power_cycles_model.py`` gives the cycles; the dev kit reports per-rail power). dt is
set by the user, so pass ``wall_time_s = T x dt`` to ``estimate`` for static energy.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, CoreLimits, Evidence, Family

SRC = "rockpool2024:xylo_mapper.py"
V, U = Evidence.VENDOR, Evidence.UNVERIFIED

CORE = CoreLimits(
    name="snn core",
    max_neurons=Const(1000, "count", SRC, V, note="hidden neurons (plus 8 output neurons)"),
    max_axons_in=Const(16, "count", SRC, V, note="SNN input channels"),
    max_fanout_edges=Const(64, "count", "rockpool2024:xylo-overview.ipynb", V, note="maximum recurrent fan-out"),
    weight_bits=(8, 8),
    state_bits=Const(16, "bit", "rockpool2024:xylo-overview.ipynb", U, note="verify in Rockpool docs"),
)

CHIP = ChipSpec(
    name="xylo_audio2",
    family=Family.NEUROMORPHIC,
    description="SynSense XyloAudio 2 (1 synchronous core, 1,000 hidden; energy unpriced until calibrated)",
    n_cores=1,
    cores=(CORE,),
    event_driven=True,
    references=("rockpool2024",),
)

CHIPS = (CHIP,)

"""SynSense Speck (DYNAP-CNN): the nine heterogeneous cores sinabs checks (commit 904eb89).

Per core: kernel memory and neuron memory in entries (``chips/dynapcnn.py``), 8-bit weights,
16-bit neuron state, at most 2 destination layers. No per-SOP energy, static power or per-core
SynOps/s limit is published in the sinabs/samna docs: every price is unpriced until
calibrated against a measured deployment. Fully asynchronous (no tick).
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, CoreLimits, Evidence, Family

SRC = "sinabs2024:chips/dynapcnn.py"
V = Evidence.VENDOR
KI = 1024
KERNEL_KI = (16, 16, 16, 32, 32, 64, 64, 16, 16)
NEURON_KI = (64, 64, 64, 32, 32, 16, 16, 16, 16)


def _core(i: int) -> CoreLimits:
    return CoreLimits(
        name=f"core{i}",
        max_neurons=Const(NEURON_KI[i] * KI, "count", SRC, V, note="neuron memory entries"),
        synapse_mem_bits=Const(KERNEL_KI[i] * KI * 8, "bit", SRC, V, note=f"{KERNEL_KI[i]}Ki kernel entries x 8-bit weights"),
        synapse_word_bits=Const(8, "bit", SRC, V),
        max_fanout_edges=Const(2, "count", SRC, V, note="destination layers per core"),
        weight_bits=(8, 8),
        state_bits=Const(16, "bit", SRC, V),
    )


CHIP = ChipSpec(
    name="speck",
    family=Family.NEUROMORPHIC,
    description="SynSense Speck / DYNAP-CNN (9 cores, sinabs limits; prices unpriced until calibrated)",
    n_cores=9,
    cores=tuple(_core(i) for i in range(9)),
    event_driven=True,
    references=("sinabs2024",),
)

CHIPS = (CHIP,)

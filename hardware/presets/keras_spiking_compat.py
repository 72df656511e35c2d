"""keras-spiking's ``ModelEnergy`` device table, to reproduce its numbers exactly.

keras-spiking (``keras_spiking/model_energy.py``, commit b28875a) prices a layer as
``e_synop x connections x rate x dt x T + e_neuron x neurons x T``. On spiking devices
(loihi, spinnaker, spinnaker2) ``connections x rate x dt x T`` is, in expectation, our
effective synop count, and every neuron is charged every step (active and idle alike). On
non-spiking devices (cpu, gpu, arm) every synapse runs once per inference: with one step per
inference that is our dense synop count (with T steps we charge T dense passes, keras-spiking
charges one).

Caveat kept on purpose: keras-spiking's Loihi synop is 27.1 pJ = 23.6 pJ + 3.5, and 3.5 in
Davies 2018 Table 2 is the time per synaptic op (3.5 ns), not an energy. Use the ``loihi``
preset (23.6 pJ) for Loihi itself.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, EnergyTable, Evidence, Family

SRC = "kerasspiking2023:model_energy.py"
C = Evidence.CONVENTION
PJ, NJ = 1e-12, 1e-9

# device -> (spiking, e_synop J, e_neuron J, cited origin, note)
DEVICES = {
    "loihi": (
        True,
        27.1 * PJ,
        81 * PJ,
        "davies2018loihi",
        "23.6 pJ + 3.5 (a time in ns, not an energy), as keras-spiking adds",
    ),
    "spinnaker": (True, 13.3 * NJ, 26 * NJ, "hoppner2019dvfs", ""),
    "spinnaker2": (True, 450 * PJ, 2.19 * NJ, "hoppner2019dvfs", "28 nm prototype"),
    "cpu": (False, 8.6 * NJ, 8.6 * NJ, "degnan2016trends", "Intel i7-4960X"),
    "gpu": (False, 0.3 * NJ, 0.3 * NJ, "degnan2016trends", "Nvidia GTX Titan Black"),
    "arm": (False, 0.9 * NJ, 0.9 * NJ, "degnan2016trends", "ARM Cortex-A"),
}


def _chip(device: str) -> ChipSpec:
    spiking, e_syn, e_neuron, origin, note = DEVICES[device]
    syn = Const(e_syn, "J", SRC, C, note=f"keras-spiking '{device}' energy per synop ({origin}). {note}".strip())
    neu = Const(e_neuron, "J", SRC, C, note=f"keras-spiking '{device}' energy per neuron update ({origin})")
    name = "keras_spiking_compat" if device == "loihi" else f"keras_spiking_compat.{device}"
    kind = "spiking" if spiking else "non-spiking: every synapse at every step"
    return ChipSpec(
        name=name,
        family=Family.DIGITAL_OPS,
        description=f"keras-spiking ModelEnergy device '{device}' ({kind})",
        n_cores=None,
        energy=EnergyTable(synop=syn, mac=syn, neuron_active=neu, neuron_idle=neu),
        event_driven=spiking,
        references=("kerasspiking2023", origin),
    )


CHIPS = tuple(_chip(d) for d in DEVICES)

"""FPGA devices (Zynq UltraScale+ ZU3EG and ZU9EG, Artix-7 XC7A35T) and their presets.

Resources are the data-sheet totals (DS891, DS180); the clocks are those of published SNN
accelerators on the family (FireFly at 300 MHz on UltraScale+, Fan & Levy at 100 MHz on
Artix-7). Static and dynamic power depend on the design and the vendor power report: they are
unpriced here (pass a calibrated ``FpgaSpec`` of your own). ``fpga_zynq_us_corradi`` is the
calibrated option: 151 pJ per synaptic operation, board power / events measured by Corradi et
al. 2021 on a Trenz TE0820 (Zynq UltraScale+): an all-in figure, so nothing is added on top.
"""

from __future__ import annotations

from neuro.hardware.spec import ChipSpec, Const, EnergyTable, Evidence, Family, FpgaSpec, Scope

M = Evidence.MEASURED

_DS891 = "amd2024ds891:Table 1"  # Zynq UltraScale+ MPSoC product selection guide
_DS180 = "amd2024ds180:Table 3"  # 7 series FPGAs data sheet overview, Artix-7
_FIREFLY_CLOCK = Const(300e6, "Hz", "li2023firefly:Sec.V", M, note="FireFly's clock on UltraScale+ (DSP48E2)")
_ARTIX_CLOCK = Const(100e6, "Hz", "fan2025lowend:Abstract", M, note="the low-end any-to-any SNN design's clock")

DEVICES: dict[str, FpgaSpec] = {}
RESOURCE_SOURCES: dict[str, dict[str, Const]] = {}
"""The cited resource count behind every integer of :data:`DEVICES`."""


def _device(name: str, source: str, clock: Const, mult: tuple[int, int], **resources: int) -> FpgaSpec:
    """An FpgaSpec whose resource counts are recorded once, with their data-sheet source."""
    RESOURCE_SOURCES[name] = {k: Const(float(v), "count", source, Evidence.VENDOR) for k, v in resources.items()}
    DEVICES[name] = spec = FpgaSpec(clock_hz=clock, dsp_mult_bits=mult, **resources)
    return spec


ZU3EG = _device("xczu3eg", _DS891, _FIREFLY_CLOCK, (27, 18), lut=70_560, ff=141_120, dsp=360, bram36=216)
"""Zynq UltraScale+ XCZU3EG."""
ZU9EG = _device("xczu9eg", _DS891, _FIREFLY_CLOCK, (27, 18), lut=274_080, ff=548_160, dsp=2_520, bram36=912)
"""Zynq UltraScale+ XCZU9EG (ZCU102 board)."""
XC7A35T = _device("xc7a35t", _DS180, _ARTIX_CLOCK, (25, 18), lut=20_800, ff=41_600, dsp=90, bram36=50)
"""Artix-7 XC7A35T, a small device (DSP48E1)."""


CHIP_ZYNQ = ChipSpec(
    name="fpga_zynq_us",
    family=Family.FPGA,
    description="Zynq UltraScale+ ZU3EG at 300 MHz (resources from DS891; power unpriced until calibrated)",
    n_cores=None,
    event_driven=False,
    fpga=ZU3EG,
    references=("amd2024ds891", "li2023firefly"),
)
CHIP_ARTIX = ChipSpec(
    name="fpga_artix7",
    family=Family.FPGA,
    description="Artix-7 XC7A35T at 100 MHz (resources from DS180; power unpriced until calibrated)",
    n_cores=None,
    event_driven=False,
    fpga=XC7A35T,
    references=("amd2024ds180", "fan2025lowend"),
)
CHIP_CORRADI = ChipSpec(
    name="fpga_zynq_us_corradi",
    family=Family.FPGA,
    description="Zynq UltraScale+ calibrated all-in: 151 pJ per synaptic op (Corradi 2021, TE0820 board)",
    n_cores=None,
    energy=EnergyTable(
        synop=Const(
            151e-12, "J", "corradi2021gyro:Sec.5", M, scope=Scope.ALL_IN, note="0.151 nJ/SO: board power / synaptic events"
        )
    ),
    event_driven=True,
    fpga=ZU3EG,
    references=("corradi2021gyro", "amd2024ds891"),
)

CHIPS = (CHIP_ZYNQ, CHIP_ARTIX, CHIP_CORRADI)

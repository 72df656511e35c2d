"""A resistive-memory (RRAM) crossbar with NeuroSim-style periphery (DNN+NeuroSim V1.4 defaults).

128 x 128 1T1R sub-arrays, 1 bit per cell, differential pairs for signed weights, 8 columns
sharing one 5-bit ADC (``levelOutput`` = 32), 1-bit word-line drivers (a spike is a read pulse),
R_on = 100 kOhm with R_off / R_on = 17, 0.55 V read for 10 ns (22 nm node).

Per layer and step (see :mod:`neuro.hardware.energy`): rows driven x E_dac + cells read x
V^2 G t + conversions x E_adc + conversions x E_add (digital shift-and-add). Neuron updates and
leakage are in the digital periphery and are unpriced here.
"""

from __future__ import annotations

from neuro.hardware.presets._horowitz import INT32_ADD
from neuro.hardware.spec import ChipSpec, Const, CoreLimits, CrossbarSpec, EnergyTable, Evidence, Family, TimingTable

NS = "neurosim2019:Param.cpp"
C, D = Evidence.CONVENTION, Evidence.DERIVED

G_MAX = Const(10e-6, "S", NS, C, note="resistanceOn = 100 kOhm")
G_MIN = Const(10e-6 / 17, "S", NS, D, note="resistanceOff = 17 x resistanceOn")
V_READ = Const(0.55, "V", NS, C, note="readVoltage at 22 nm")
T_READ = Const(10e-9, "s", NS, C, note="readPulseWidth")
ADC_BITS = 5

CHIP = ChipSpec(
    name="rram_crossbar",
    family=Family.CROSSBAR,
    description="RRAM crossbar, 128x128 1T1R, 1 bit/cell, 5-bit ADC per 8 columns (NeuroSim-style periphery)",
    n_cores=None,
    cores=(CoreLimits(name="sub-array", max_fan_in=Const(128, "count", NS, C, note="rows per sub-array"), weight_bits=(1, 8)),),
    energy=EnergyTable(
        synop=INT32_ADD,  # the digital shift-and-add of one conversion into the partial sum
        xbar_cell_read=Const(
            V_READ.value**2 * G_MAX.value * T_READ.value, "J", NS, D, note="V_read^2 x G_on x t_read = 0.55^2 x 10 uS x 10 ns"
        ),
        adc_conv=Const(
            6e-15 * 2**ADC_BITS,
            "J",
            "walden1999adc:Eq.FOM",
            D,
            note="Walden FOM x 2^bits with FOM = 6 fJ/step (the ISAAC 8-bit ADC: 2 mW / 1.28 GS/s / 2^8)",
        ),
        dac_drive=Const(3.9e-6 * T_READ.value, "J", "mnsim2020:DAC.py", D, note="1-bit DAC 3.9 uW for one 10 ns read pulse"),
    ),
    timing=TimingTable(
        tick=Const(
            T_READ.value + 8 * 1e-9, "s", NS, D, note="one read pulse + 8 columns muxed to a 1 GS/s ADC, per input cycle"
        ),
    ),
    event_driven=True,
    crossbar=CrossbarSpec(
        rows=128,
        cols=128,
        differential=True,
        cell_bits=1,
        cols_per_adc=8,
        adc_bits=ADC_BITS,
        dac_bits=1,
        g_min=G_MIN,
        g_max=G_MAX,
        v_read=V_READ,
        t_read=T_READ,
    ),
    references=("neurosim2019", "walden1999adc", "shafiee2016isaac", "mnsim2020"),
)

CHIPS = (CHIP,)

"""Intel Loihi 2: structure from Intel's 2021 technology brief; no primary per-op energy exists.

Every energy and time below is the Loihi (Davies 2018 Table 2 / Frady 2020) value copied as a
placeholder and graded UNVERIFIED ("placeholder; calibrate"), so every report that uses this
preset has evidence floor "unverified". Calibrate against a measured inference (NeuroBench
system-track Loihi 2 entries, Shrestha et al. 2024) before relying on it.
"""

from __future__ import annotations

from dataclasses import fields, replace

from neuro.hardware.presets import loihi
from neuro.hardware.spec import ChipSpec, Const, CoreLimits, EnergyTable, Evidence, Family, TimingTable

BRIEF = "intel2021loihi2:p.2"
V, D, U = Evidence.VENDOR, Evidence.DERIVED, Evidence.UNVERIFIED


def _placeholder(c: Const | None) -> Const | None:
    if c is None:
        return None
    return replace(c, evidence=U, note=f"placeholder copied from Loihi 1 ({c.source}); calibrate")


def _copy(table: EnergyTable | TimingTable) -> EnergyTable | TimingTable:
    return replace(table, **{f.name: _placeholder(getattr(table, f.name)) for f in fields(table) if f.name != "synop_by_kind"})


CORE = CoreLimits(
    name="neurocore",
    max_neurons=Const(8192, "count", BRIEF, D, note="up to 1 M neurons per chip / 128 cores, if even"),
    synapse_mem_bits=None,  # ~937,500 synapses per core on average (120 M / 128); memory layout unpublished
    weight_bits=None,  # not found in a primary document
    state_bits=None,
)

CHIP = ChipSpec(
    name="loihi2",
    family=Family.NEUROMORPHIC,
    description="Intel Loihi 2 (structure from the 2021 brief; energies are Loihi 1 placeholders, unverified)",
    n_cores=128,
    cores=(CORE,),
    energy=_copy(loihi.ENERGY),  # type: ignore[arg-type]
    timing=_copy(loihi.TIMING),  # type: ignore[arg-type]
    event_driven=True,
    references=("intel2021loihi2", "davies2018loihi"),
)

CHIPS = (CHIP,)

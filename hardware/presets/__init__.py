"""Chip presets: one module per preset family, each a ``ChipSpec`` literal with cited constants.

:data:`PRESETS` maps names to chips; :func:`get_chip` looks one up, :func:`register_chip`
adds a user's chip (for example one read with :func:`load_chip_yaml`). Every constant's
source key resolves in ``hardware/bibliography.yaml`` (:func:`bibliography`).

>>> get_chip("loihi").energy.synop.value
2.36e-11
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from neuro.hardware.presets import (
    digital45_ann_fp32,
    digital45_ann_int8,
    digital45_snn,
    fpga,
    keras_spiking_compat,
    loihi,
    loihi2,
    loihi_sanafe,
    rram_crossbar,
    speck,
    spinnaker2,
    truenorth,
    xylo_audio2,
)
from neuro.hardware.presets._yaml import chip_from_dict, chip_to_dict, dump_chip_yaml, load_chip_yaml
from neuro.hardware.presets.errors import ChipSpecError, UnknownChipError
from neuro.hardware.spec import ChipSpec, Evidence

MODULES = (
    digital45_ann_fp32,
    digital45_ann_int8,
    digital45_snn,
    keras_spiking_compat,
    loihi,
    loihi_sanafe,
    loihi2,
    truenorth,
    spinnaker2,
    speck,
    xylo_audio2,
    rram_crossbar,
    fpga,
)

PRESETS: dict[str, ChipSpec] = {chip.name: chip for module in MODULES for chip in module.CHIPS}
"""Every registered chip by name: the shipped presets, then what :func:`register_chip` added."""

BASELINE = "digital45_ann_fp32"
"""The dense-ANN baseline every comparison includes."""


@functools.cache
def bibliography() -> dict[str, dict[str, Any]]:
    """The project bibliography: citation key -> reference (authors, title, venue, year, doi/url)."""
    text = resources.files("neuro.hardware").joinpath("bibliography.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def get_chip(name: str | ChipSpec) -> ChipSpec:
    """The registered chip called ``name`` (a ``ChipSpec`` is returned as is).

    Raises:
        UnknownChipError: no such chip (the message lists the registered names).
    """
    if isinstance(name, ChipSpec):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownChipError(f"unknown chip {name!r}; registered: {', '.join(PRESETS)}") from None


def register_chip(chip: ChipSpec, *, replace: bool = False) -> ChipSpec:
    """Add ``chip`` to :data:`PRESETS` under ``chip.name``.

    Raises:
        ChipSpecError: the name is taken (pass ``replace=True``), or a constant cites a key that
            is not in the bibliography.
    """
    if chip.name in PRESETS and not replace:
        raise ChipSpecError(f"a chip named {chip.name!r} is already registered (pass replace=True)", "name")
    keys = bibliography()
    for path, const in chip.constants():
        if const.key not in keys:
            raise ChipSpecError(f"source {const.source!r} is not in the bibliography", f"{path}.source")
    PRESETS[chip.name] = chip
    return chip


def weakest_evidence(chip: ChipSpec) -> Evidence | None:
    """The weakest grade among all the chip's constants (None when it has none)."""
    grades = [c.evidence for _, c in chip.constants()]
    return min(grades) if grades else None


__all__ = [
    "BASELINE",
    "PRESETS",
    "ChipSpecError",
    "UnknownChipError",
    "bibliography",
    "chip_from_dict",
    "chip_to_dict",
    "dump_chip_yaml",
    "get_chip",
    "load_chip_yaml",
    "register_chip",
    "weakest_evidence",
]

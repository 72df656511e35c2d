"""Chip specs as plain dicts and YAML: one serializer (``chip_to_dict`` / ``chip_from_dict``).

A constant is a mapping ``{value, unit, source, evidence, scope?, band?, note?}``. ``unit``
may carry an SI prefix (``pJ``, ``mW``, ``ns``, ``uS``, ``MHz``): the value is converted to
the base unit, and the base unit must be the one the field expects (a synop energy in W is
an error naming ``energy.synop.unit``). ``evidence`` is a grade name (``measured``,
``simulated``, ``vendor``, ``convention``, ``derived``, ``unverified``). ``source`` must be
``key[:locator]`` with ``key`` in the project bibliography or in the file's own
``bibliography:`` mapping.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from neuro.hardware.presets.errors import ChipSpecError
from neuro.hardware.spec import (
    ChipSpec,
    Const,
    CoreLimits,
    CrossbarSpec,
    EnergyTable,
    Evidence,
    Family,
    FpgaSpec,
    Scope,
    TimingTable,
)

PREFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
BASE_UNITS = ("J", "s", "W", "S", "V", "Hz", "ohm")

# the unit each Const-valued field must have (before any prefix)
ENERGY_UNITS = {f.name: "J" for f in dataclasses.fields(EnergyTable) if f.name != "synop_by_kind"}
ENERGY_UNITS |= {"static_power_chip": "W", "static_power_core": "W"}
TIMING_UNITS = {f.name: "s" for f in dataclasses.fields(TimingTable)} | {"clock_hz": "Hz"}
LIMIT_UNITS = {
    "max_neurons": "count",
    "synapse_mem_bits": "bit",
    "synapse_word_bits": "bit",
    "max_fan_in": "count",
    "max_axons_in": "count",
    "max_fanout_edges": "count",
    "state_bits": "bit",
}
CROSSBAR_UNITS = {"g_min": "S", "g_max": "S", "v_read": "V", "t_read": "s"}
FPGA_UNITS = {"clock_hz": "Hz", "static_power": "W", "e_lut_toggle": "J", "e_bram_read": "J", "e_dsp_op": "J"}


def const_to_dict(c: Const) -> dict[str, Any]:
    out: dict[str, Any] = {"value": c.value, "unit": c.unit, "source": c.source, "evidence": c.evidence.name.lower()}
    if c.scope is not Scope.PER_TERM:
        out["scope"] = c.scope.value
    if c.band is not None:
        out["band"] = list(c.band)
    if c.note:
        out["note"] = c.note
    return out


def _dc_to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None or v == () or (f.name == "name" and isinstance(obj, CoreLimits) and v == "core"):
            continue
        if isinstance(v, Const):
            out[f.name] = const_to_dict(v)
        elif f.name == "synop_by_kind":
            out[f.name] = {k: const_to_dict(c) for k, c in v}
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def chip_to_dict(chip: ChipSpec) -> dict[str, Any]:
    """A plain, YAML-safe dict of ``chip`` (read back by :func:`chip_from_dict`)."""
    out: dict[str, Any] = {
        "name": chip.name,
        "family": chip.family.value,
        "description": chip.description,
        "n_cores": chip.n_cores,
        "event_driven": chip.event_driven,
        "cores": [_dc_to_dict(c) for c in chip.cores],
        "energy": _dc_to_dict(chip.energy),
        "timing": _dc_to_dict(chip.timing),
        "references": list(chip.references),
    }
    if chip.crossbar is not None:
        out["crossbar"] = _dc_to_dict(chip.crossbar)
    if chip.fpga is not None:
        out["fpga"] = _dc_to_dict(chip.fpga)
    return out


class _Reader:
    def __init__(self, keys: set[str], path: str | None) -> None:
        self.keys, self.path = keys, path

    def fail(self, message: str, field: str) -> ChipSpecError:
        return ChipSpecError(message, field, self.path)

    def const(self, d: Any, field: str, unit: str) -> Const:
        if not isinstance(d, dict):
            raise self.fail(f"expected a mapping with value, unit, source, evidence; got {d!r}", field)
        unknown = set(d) - {"value", "unit", "source", "evidence", "scope", "band", "note"}
        if unknown:
            raise self.fail(f"unknown keys {sorted(unknown)}", field)
        for k in ("value", "unit", "source", "evidence"):
            if k not in d:
                raise self.fail(f"missing '{k}'", field)
        value, scale = d["value"], 1.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"value must be a number, got {value!r}", f"{field}.value")
        got = str(d["unit"])
        if got != unit:
            if unit in BASE_UNITS and got.endswith(unit) and got[: -len(unit)] in PREFIX:
                scale = PREFIX[got[: -len(unit)]]
            else:
                raise self.fail(f"unit {got!r} does not fit: this field needs {unit!r} (SI prefixes allowed)", f"{field}.unit")
        source = d["source"]
        if not isinstance(source, str) or source.split(":", 1)[0] not in self.keys:
            raise self.fail(
                f"source {source!r} does not start with a bibliography key (add it to the file's 'bibliography:')",
                f"{field}.source",
            )
        try:
            evidence = Evidence[str(d["evidence"]).upper()]
        except KeyError:
            names = [e.name.lower() for e in Evidence]
            raise self.fail(f"evidence {d['evidence']!r} is not one of {names}", f"{field}.evidence") from None
        try:
            scope = Scope(d.get("scope", "per_term"))
        except ValueError:
            raise self.fail(f"scope {d.get('scope')!r} is not per_term or all_in", f"{field}.scope") from None
        band = d.get("band")
        try:
            band_t = None if band is None else (float(band[0]) * scale, float(band[1]) * scale)
            return Const(float(value) * scale, unit, source, evidence, scope, band_t, str(d.get("note", "")))
        except (ValueError, TypeError, IndexError) as exc:
            raise self.fail(str(exc), field) from None

    def table(self, cls: type, d: Any, field: str, units: dict[str, str], plain: tuple[str, ...] = ()) -> Any:
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise self.fail(f"expected a mapping, got {d!r}", field)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise self.fail(f"unknown fields {sorted(unknown)}; known: {sorted(names)}", field)
        kwargs: dict[str, Any] = {}
        for k, v in d.items():
            if k in units and v is not None:
                kwargs[k] = self.const(v, f"{field}.{k}", units[k])
            elif k == "synop_by_kind":
                kwargs[k] = tuple((str(kind), self.const(c, f"{field}.{k}.{kind}", "J")) for kind, c in (v or {}).items())
            elif k in ("weight_bits", "dsp_mult_bits"):
                if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) for x in v)):
                    raise self.fail(f"expected two integers, got {v!r}", f"{field}.{k}")
                kwargs[k] = tuple(v)
            elif k in plain or k == "name":
                kwargs[k] = v
            else:
                raise self.fail(f"unexpected value {v!r}", f"{field}.{k}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise self.fail(str(exc), field) from None


def chip_from_dict(d: Any, *, extra_keys: set[str] = frozenset(), path: str | None = None) -> ChipSpec:  # type: ignore[assignment]
    """The :class:`ChipSpec` described by ``d`` (the form :func:`chip_to_dict` writes).

    Raises:
        ChipSpecError: naming the offending field (``energy.synop.unit``, ``family``...).
    """
    from neuro.hardware.presets import bibliography

    r = _Reader(set(bibliography()) | set(extra_keys), path)
    if not isinstance(d, dict):
        raise r.fail("a chip file must hold a mapping", "<top>")
    known = {"name", "family", "description", "n_cores", "event_driven", "cores", "energy", "timing", "references"}
    unknown = set(d) - known - {"crossbar", "fpga", "bibliography"}
    if unknown:
        raise r.fail(f"unknown fields {sorted(unknown)}", "<top>")
    for k in ("name", "family", "description"):
        if not isinstance(d.get(k), str) or not d[k]:
            raise r.fail("missing or not a string", k)
    try:
        family = Family(d["family"])
    except ValueError:
        raise r.fail(f"{d['family']!r} is not one of {[f.value for f in Family]}", "family") from None
    n_cores = d.get("n_cores")
    if n_cores is not None and (not isinstance(n_cores, int) or isinstance(n_cores, bool) or n_cores < 1):
        raise r.fail(f"must be a positive integer or null, got {n_cores!r}", "n_cores")
    if not isinstance(d.get("event_driven", True), bool):
        raise r.fail("must be true or false", "event_driven")
    cores = d.get("cores") or []
    if not isinstance(cores, list):
        raise r.fail("must be a list of core limits", "cores")
    refs = d.get("references") or []
    for i, ref in enumerate(refs):
        if ref not in r.keys:
            raise r.fail(f"{ref!r} is not a bibliography key", f"references[{i}]")
    cb = d.get("crossbar")
    fp = d.get("fpga")
    xb_plain = ("rows", "cols", "differential", "cell_bits", "cols_per_adc", "adc_bits", "dac_bits")
    fp_plain = ("lut", "ff", "dsp", "bram36", "lut_mult_threshold_bits")
    return ChipSpec(
        name=d["name"],
        family=family,
        description=d["description"],
        n_cores=n_cores,
        cores=tuple(r.table(CoreLimits, c, f"cores[{i}]", LIMIT_UNITS) for i, c in enumerate(cores)),
        energy=r.table(EnergyTable, d.get("energy"), "energy", ENERGY_UNITS),
        timing=r.table(TimingTable, d.get("timing"), "timing", TIMING_UNITS),
        event_driven=d.get("event_driven", True),
        crossbar=None if cb is None else r.table(CrossbarSpec, cb, "crossbar", CROSSBAR_UNITS, xb_plain),
        fpga=None if fp is None else r.table(FpgaSpec, fp, "fpga", FPGA_UNITS, fp_plain),
        references=tuple(refs),
    )


def dump_chip_yaml(chip: ChipSpec) -> str:
    """``chip`` as YAML text (SI values)."""
    return yaml.safe_dump(chip_to_dict(chip), sort_keys=False, allow_unicode=True)


def load_chip_yaml(path: str | Path) -> ChipSpec:
    """Read a chip from a YAML file (see the module docstring for the format).

    Raises:
        FileNotFoundError: no such file.
        ChipSpecError: invalid YAML or an invalid field (named in the message).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no chip file at {str(p)!r}")
    try:
        d = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ChipSpecError(f"not valid YAML: {' '.join(str(exc).split())}", None, str(p)) from None
    extra = d.get("bibliography", {}) if isinstance(d, dict) else {}
    if not isinstance(extra, dict):
        raise ChipSpecError("must map citation keys to references", "bibliography", str(p))
    return chip_from_dict(d, extra_keys=set(extra), path=str(p))

"""Energy and latency from exact activity counts: ``estimate`` and ``compare``.

Per layer (S effective synops on binary input, M effective MACs on graded input, D dense
synops, Na / Ni active / idle neuron updates, K output spikes):

* event-driven chip: ``synop = S x E_synop`` (per layer kind where the chip prices kinds apart),
  ``mac = M x E_mac``, ``neuron_active = Na x E_active``, ``neuron_idle = Ni x E_idle``;
* clock-driven chip (``event_driven=False``): every connection at every step,
  ``synop`` (binary input) or ``mac`` (graded) on D, and ``neuron_update = (Na + Ni) x E_active``;
* ``spike_out = K x E_spike``; ``weight_read`` = weights fetched (one per synop charged) x
  weight bits x E_bit, a term of its own even when the chip cannot price it;
* crossbar chips replace the synop term by the array's periphery (``dac``, ``xbar_cell``,
  ``adc``, ``shift_add``, see :func:`_crossbar_terms`);
* static = P_static x wall time, wall time = ``wall_time_s`` per sample, or T x the chip's tick,
  or T x (the slowest core's per-step work + barrier) from the timing table (§5.3 of the
  reference: the per-step work is the mean over steps, so it is a lower bound).

A term with work but no price is listed in ``unpriced`` and never counted as zero:
``total_J`` is then the priced sum and ``complete`` is False. An all-in constant (scope
``ALL_IN``) prices everything at once: no other term, not even static, is added on top.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neuro.hardware.activity import LayerActivity
from neuro.hardware.presets import BASELINE, get_chip
from neuro.hardware.spec import ChipSpec, Const, Evidence, Family, Scope


@dataclass(frozen=True)
class EnergyTerm:
    """One priced (or unpriced) piece of work: ``count`` units of ``what`` at ``price`` each."""

    name: str
    count: float
    what: str
    price: Const | None
    joules: float | None

    @property
    def unpriced(self) -> bool:
        """Work was done but nothing prices it."""
        return self.joules is None and self.count > 0


@dataclass(frozen=True)
class LayerEnergy:
    layer: str
    terms: tuple[EnergyTerm, ...]

    @property
    def dynamic_J(self) -> float:
        """The priced sum of the layer's terms."""
        return float(sum(t.joules for t in self.terms if t.joules is not None))


@dataclass(frozen=True)
class EnergyReport:
    """What :func:`estimate` returns; all energies in J over every sample of the activity."""

    chip: str
    mapping: Any
    per_layer: tuple[LayerEnergy, ...]
    static: EnergyTerm | None
    dynamic_J: float
    static_J: float
    total_J: float
    latency_s: float | None
    samples: int
    unpriced: tuple[str, ...]
    evidence_floor: Evidence | None
    assumptions: tuple[str, ...]
    complete: bool

    @property
    def per_sample(self) -> dict[str, float | None]:
        """Dynamic, static and total energy per sample (J) and latency per sample (s)."""
        n = max(self.samples, 1)
        return {
            "dynamic_J": self.dynamic_J / n,
            "static_J": self.static_J / n,
            "total_J": self.total_J / n,
            "latency_s": self.latency_s,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""

        def term(t: EnergyTerm) -> dict[str, Any]:
            price = None if t.price is None else {"value": t.price.value, "source": t.price.source}
            return {"name": t.name, "count": t.count, "what": t.what, "price": price, "joules": t.joules}

        return {
            "chip": self.chip,
            "layers": [
                {"layer": le.layer, "dynamic_J": le.dynamic_J, "terms": [term(t) for t in le.terms]} for le in self.per_layer
            ],
            "static": None if self.static is None else term(self.static),
            "dynamic_J": self.dynamic_J,
            "static_J": self.static_J,
            "total_J": self.total_J,
            "latency_s": self.latency_s,
            "samples": self.samples,
            "per_sample": self.per_sample,
            "unpriced": list(self.unpriced),
            "evidence_floor": None if self.evidence_floor is None else self.evidence_floor.name.lower(),
            "assumptions": list(self.assumptions),
            "complete": self.complete,
        }


def _term(name: str, count: float, what: str, price: Const | None) -> EnergyTerm:
    return EnergyTerm(name, float(count), what, price, None if price is None else float(count) * price.value)


def _weight_bits(chip: ChipSpec, weight_bits: int | None, notes: list[str]) -> int:
    if weight_bits is not None:
        return weight_bits
    for core in chip.cores:
        if core.weight_bits is not None:
            return core.weight_bits[1]
    notes.append("weight reads assume 32-bit weights (pass weight_bits= to change)")
    return 32


def _synop_price(chip: ChipSpec, kind: str) -> Const | None:
    return dict(chip.energy.synop_by_kind).get(kind, chip.energy.synop)


def _all_in(chip: ChipSpec) -> list[tuple[str, Const]]:
    return [(p, c) for p, c in chip.constants() if c.scope is Scope.ALL_IN and p.startswith("energy.")]


def _crossbar_terms(layer: LayerActivity, chip: ChipSpec, w_bits: int, input_bits: int) -> list[EnergyTerm]:
    """The array and its periphery for one layer (``chip.crossbar`` is set).

    tiles = ceil(fan_in / rows) x ceil(out_cols x (2 if differential) x slices / cols), with
    fan_in = C_in x k x k for a conv (im2col) and slices = ceil(weight_bits / cell_bits). Every
    synop reads its cells; every row drive (synops / out_cols, in each column tile) costs a
    DAC pulse; every activated tile converts all its columns (upper bound: one tile activation
    per row drive, at most every tile at every step and output position), and each conversion
    is one digital add. Graded inputs are bit-serial: x input_bits cycles.
    """
    xb = chip.crossbar
    if xb is None:
        raise TypeError(f"chip {chip.name!r} has no crossbar")
    shape = layer.weight_shape or (layer.n_out, layer.n_in)
    out_cols = shape[0]
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else layer.n_in
    slices = math.ceil(w_bits / xb.cell_bits)
    devices = (2 if xb.differential else 1) * slices
    row_tiles = math.ceil(fan_in / xb.rows)
    col_tiles = math.ceil(out_cols * devices / xb.cols)
    cycles = 1 if layer.binary_input else input_bits
    positions = max(layer.n_out // max(out_cols, 1), 1)
    row_drives = math.ceil(layer.synops_effective / max(out_cols, 1)) * col_tiles * cycles
    steps = layer.timesteps * layer.samples * positions * cycles
    activations = min(row_drives, steps * row_tiles * col_tiles)
    conversions = activations * xb.cols
    e = chip.energy
    return [
        _term("dac", row_drives, "row pulses", e.dac_drive),
        _term("xbar_cell", layer.synops_effective * devices * cycles, "cell reads", e.xbar_cell_read),
        _term("adc", conversions, "conversions", e.adc_conv),
        _term("shift_add", conversions, "adds", e.synop),
    ]


def _layer_terms(layer: LayerActivity, chip: ChipSpec, w_bits: int, input_bits: int) -> list[EnergyTerm]:
    e = chip.energy
    na, ni = layer.neuron_updates_active, layer.neuron_updates_idle
    if chip.crossbar is not None:
        terms = _crossbar_terms(layer, chip, w_bits, input_bits)
        reads = 0
    elif chip.event_driven:
        s, m = (layer.synops_effective, 0) if layer.binary_input else (0, layer.synops_effective)
        terms = [_term("synop", s, "synops", _synop_price(chip, layer.kind)), _term("mac", m, "MACs", e.mac)]
        reads = layer.synops_effective
    else:
        price = _synop_price(chip, layer.kind) if layer.binary_input else e.mac
        terms = [_term("synop" if layer.binary_input else "mac", layer.synops_dense, "dense synops", price)]
        reads = layer.synops_dense
    if chip.event_driven:
        terms += [_term("neuron_active", na, "updates", e.neuron_active), _term("neuron_idle", ni, "updates", e.neuron_idle)]
    else:
        terms.append(_term("neuron_update", na + ni, "updates", e.neuron_active))
    terms.append(_term("spike_out", layer.out_spikes, "spikes", e.spike_out))
    if chip.crossbar is None:
        terms.append(_term("weight_read", reads * w_bits, "bits", e.weight_read_bit))
    return terms


def _step_time(activity: Sequence[LayerActivity], chip: ChipSpec, mapping: Any, notes: list[str]) -> float | None:
    """Seconds per step: the tick, or the slowest core's mean per-step work plus the barrier."""
    t = chip.timing
    if t.tick is not None:
        return t.tick.value
    parts = (t.t_synop, t.t_neuron_active, t.t_neuron_idle)
    if all(p is None for p in parts):
        return None
    per_layer_cores = getattr(mapping, "per_layer_cores", None) or {}
    limit = chip.cores[0].max_neurons.value if chip.cores and chip.cores[0].max_neurons else None
    worst = 0.0
    for layer in activity:
        cores = per_layer_cores.get(layer.name) or (math.ceil(layer.n_out / limit) if limit else 1)
        work = sum(
            n * p.value
            for n, p in zip(
                (layer.synops_effective, layer.neuron_updates_active, layer.neuron_updates_idle), parts, strict=True
            )
            if p is not None
        )
        worst = max(worst, work / max(layer.timesteps * layer.samples * cores, 1))
    barrier = t.t_barrier.value if t.t_barrier is not None else 0.0
    source = "the mapping's cores per layer" if per_layer_cores else "ceil(n_out / neurons per core) cores per layer"
    notes.append(f"step time = slowest core's mean per-step work ({source}) + barrier: a lower bound (unthrottled)")
    return worst + barrier


def _static(chip: ChipSpec, mapping: Any, wall_s: float | None, activity: Sequence[LayerActivity]) -> EnergyTerm:
    e = chip.energy
    if e.static_power_chip is not None:
        n = getattr(mapping, "chips_needed", None) or 1
        price = Const(
            e.static_power_chip.value * n, "W", e.static_power_chip.source, e.static_power_chip.evidence, note=f"x {n} chip(s)"
        )
    elif e.static_power_core is not None:
        used = getattr(mapping, "cores_used", None)
        if used is None:
            limit = chip.cores[0].max_neurons.value if chip.cores and chip.cores[0].max_neurons else None
            used = sum(math.ceil(la.n_out / limit) for la in activity) if limit else None
        price = (
            None
            if used is None
            else Const(e.static_power_core.value * used, "W", e.static_power_core.source, e.static_power_core.evidence)
        )
    else:
        price = None
    if wall_s is None:
        return EnergyTerm("static", 1.0, "s (wall time unknown)", price, None)
    return _term("static", wall_s, "s", price)


def estimate(
    activity: Sequence[LayerActivity],
    chip: ChipSpec | str,
    mapping: Any = None,
    wall_time_s: float | None = None,
    *,
    weight_bits: int | None = None,
    input_bits: int = 8,
) -> EnergyReport:
    """Price ``activity`` on ``chip``; never raises for a missing price (see the module doc).

    Args:
        activity: layers from :func:`~neuro.hardware.activity.activity_from_engine`.
        chip: a :class:`ChipSpec` or a registered name.
        mapping: an optional mapping result; its ``per_layer_cores``, ``cores_used`` and
            ``chips_needed`` refine step time and static power.
        wall_time_s: wall-clock time of one sample, overriding the chip's timing.
        weight_bits: bits per weight read (default: the chip's widest weight, else 32).
        input_bits: cycles of a bit-serial graded input on a crossbar.

    Returns:
        An :class:`EnergyReport` over all samples (``per_sample`` divides by their number).

    >>> from neuro.hardware.activity import LayerActivity
    >>> fc = LayerActivity("fc", None, "dense", 784, 128, 100352, 100352, 784, 128, 1, 1, 784, False, 100352, 100352, 0, 0, 0)
    >>> round(estimate([fc], "digital45_ann_fp32").total_J * 1e6, 4)
    0.4616
    """
    chip = get_chip(chip)
    notes: list[str] = []
    samples = max((la.samples for la in activity), default=0)
    steps = max((la.timesteps for la in activity), default=0)
    w_bits = _weight_bits(chip, weight_bits, notes)
    all_in = _all_in(chip)
    layers: list[LayerEnergy] = []
    if all_in:
        path, const = all_in[0]
        notes.append(f"{path} is all-in ({const.note or const.source}): no other term, static included, is added")
        for la in activity:
            count = la.synops_effective if chip.event_driven else la.synops_dense
            layers.append(LayerEnergy(la.name, (_term("all_in", count, "synops", const),)))
    else:
        for la in activity:
            layers.append(LayerEnergy(la.name, tuple(_layer_terms(la, chip, w_bits, input_bits))))
    if wall_time_s is not None:
        latency: float | None = float(wall_time_s)
        notes.append(f"wall time given: {wall_time_s:g} s per sample")
    else:
        step = _step_time(activity, chip, mapping, notes)
        latency = None if step is None else step * steps
    static: EnergyTerm | None = None
    if all_in:
        pass
    elif chip.family is Family.DIGITAL_OPS:
        notes.append("operation-count convention: static power, routing and control are not modelled")
    else:
        static = _static(chip, mapping, None if latency is None else latency * samples, activity)
    if chip.crossbar is not None:
        notes.append("crossbar: weights are read in the array; tile activations are an upper bound (no ADC gating)")
    if not chip.event_driven and not all_in:
        notes.append("clock-driven: every connection and every neuron is charged at every step")
    if "keras_spiking_compat" in chip.name and chip.energy.synop and chip.energy.synop.value == 27.1e-12:
        notes.append("keras-spiking Loihi synop 27.1 pJ includes the 3.5 of Table 2, which is a time (ns), not an energy")
    if any(la.kind == "conv" for la in activity) or any(la.kind == "sparse" for la in activity):
        if chip.energy.synop_by_kind:
            notes.append(f"synop priced by layer kind: {', '.join(k for k, _ in chip.energy.synop_by_kind)}")
    if chip.energy.hop is not None:
        notes.append("routing hops are not counted (they need a placement)")
    unpriced = [f"{le.layer}.{t.name}" for le in layers for t in le.terms if t.unpriced]
    if static is not None and static.joules is None:
        unpriced.append("static")
    used = [t.price for le in layers for t in le.terms if t.price is not None and t.count > 0]
    if static is not None and static.price is not None and static.joules is not None:
        used.append(static.price)
    if latency is not None and wall_time_s is None:
        t = chip.timing
        timing = (t.tick,) if t.tick is not None else (t.t_synop, t.t_neuron_active, t.t_neuron_idle, t.t_barrier)
        used += [c for c in timing if c is not None]
    dynamic = float(sum(le.dynamic_J for le in layers))
    static_j = static.joules if static is not None and static.joules is not None else 0.0
    return EnergyReport(
        chip=chip.name,
        mapping=mapping,
        per_layer=tuple(layers),
        static=static,
        dynamic_J=dynamic,
        static_J=static_j,
        total_J=dynamic + static_j,
        latency_s=latency,
        samples=samples,
        unpriced=tuple(unpriced),
        evidence_floor=min((c.evidence for c in used), default=None),
        assumptions=tuple(notes),
        complete=not unpriced,
    )


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns: tidy rows (one per layer and chip), totals (one per chip),
    and the reports themselves. ``baseline`` names the dense-ANN baseline chip."""

    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    reports: dict[str, EnergyReport] = field(default_factory=dict)
    baseline: str = BASELINE


def compare(activity: Sequence[LayerActivity], chips: Iterable[ChipSpec | str], **kwargs: Any) -> Comparison:
    """Estimate ``activity`` on every chip, plus the dense-ANN baseline (``digital45_ann_fp32``
    on the dense synops of the same network), as tidy rows and per-chip totals.

    Each row: chip, baseline (bool), layer, dynamic_J, one ``<term>_J`` column per term
    (None when unpriced) and unpriced (term names). Each total: chip, baseline, dynamic_J,
    static_J, total_J, total_J_per_sample, latency_s, vs_baseline (total / baseline total),
    complete, evidence_floor, unpriced. ``kwargs`` go to :func:`estimate`.
    """
    specs = [get_chip(c) for c in chips]
    if all(s.name != BASELINE for s in specs):
        specs.append(get_chip(BASELINE))
    reports = {s.name: estimate(activity, s, **kwargs) for s in specs}
    base = reports[BASELINE].total_J
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    for name, rep in reports.items():
        for le in rep.per_layer:
            row: dict[str, Any] = {"chip": name, "baseline": name == BASELINE, "layer": le.layer, "dynamic_J": le.dynamic_J}
            row.update({f"{t.name}_J": t.joules for t in le.terms})
            row["unpriced"] = [t.name for t in le.terms if t.unpriced]
            rows.append(row)
        totals.append(
            {
                "chip": name,
                "baseline": name == BASELINE,
                "dynamic_J": rep.dynamic_J,
                "static_J": rep.static_J,
                "total_J": rep.total_J,
                "total_J_per_sample": rep.per_sample["total_J"],
                "latency_s": rep.latency_s,
                "vs_baseline": rep.total_J / base if base > 0 else None,
                "complete": rep.complete,
                "evidence_floor": None if rep.evidence_floor is None else rep.evidence_floor.name.lower(),
                "unpriced": list(rep.unpriced),
            }
        )
    return Comparison(rows, totals, reports)

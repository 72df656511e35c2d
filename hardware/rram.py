"""Resistive-memory (RRAM / PCM) device model: what weights survive on a crossbar.

A signed weight ``w`` of a layer with scale ``w_max = max|w|`` is stored as conductances:

- magnitude quantised to ``q = round(|w| / w_max * (B - 1))`` with ``B = levels ** slices``
  (``levels = 0``: analogue, no quantisation, one slice); ``q`` is split into ``slices`` base-
  ``levels`` digits, one cell (pair) per digit, recombined with weights ``levels ** s``;
- differential pairs hold ``+digit`` on G+ and ``-digit`` on G-; a single device holds the
  offset weight ``(w + w_max) / 2`` and a reference column subtracts the offset;
- cell target ``g = g_min + digit / (levels - 1) * (g_max - g_min)``.

Then, per cell, in order: programming noise ``g += sigma_prog(g) * N(0, 1)`` with
``sigma_prog`` a polynomial in ``x = g / g_max`` (aihwkit's form), device-to-device and
cycle-to-cycle spreads ``g *= (1 + d2d N) (1 + c2c N)``, stuck-at-OFF (``g_min``) and stuck-at-ON
(``g_max``) faults, drift to time ``t`` (a :class:`PowerLawDrift` for PCM or a
:class:`RefitDrift` of the noise polynomial for RRAM), read noise (:class:`AdditiveReadNoise` or
PCM's 1/f :class:`PcmReadNoise`), clipping at 0 S, and the inverse map back to weights.

ADC and DAC bits act on the analogue column sums, not on the weights: the mapper and the
energy model use them; :func:`perturb_graph` models the weight side only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.hardware.spec import Const, Evidence

US = 1e-6


@dataclass(frozen=True)
class PowerLawDrift:
    """PCM drift ``g(t) = g0 (t / t0) ** -nu`` with ``nu ~ N(mu(g), sigma(g))`` per device
    (aihwkit ``PCMLikeNoiseModel``): ``mu = -0.0155 ln g_rel + 0.0244`` clipped to
    [0.049, 0.1], ``sigma = -0.0125 ln g_rel - 0.0059`` clipped to [0.008, 0.045]."""

    t0: float = 20.0

    def apply(self, g: np.ndarray, g_max: float, t: float, rng: np.random.Generator) -> np.ndarray:
        if t <= self.t0:
            return g
        g_rel = np.clip(g / g_max, 1e-6, None)
        mu = np.clip(-0.0155 * np.log(g_rel) + 0.0244, 0.049, 0.1)
        sd = np.clip(-0.0125 * np.log(g_rel) - 0.0059, 0.008, 0.045)
        nu = np.clip(mu + sd * rng.standard_normal(g.shape), 0.0, None)
        return g * (t / self.t0) ** (-nu)


@dataclass(frozen=True)
class RefitDrift:
    """RRAM: no power-law decay of the mean; the programming-noise polynomial is re-fitted at
    later times (aihwkit ``ReRamWan2022NoiseModel``). ``table`` holds ``(t_s, poly_S)`` pairs; at
    time ``t`` the last entry with ``t_s <= t`` replaces the device's programming noise (the
    extra spread is added in quadrature)."""

    table: tuple[tuple[float, tuple[float, ...]], ...]

    def apply(
        self, g: np.ndarray, g_max: float, t: float, rng: np.random.Generator, base: tuple[float, ...] = ()
    ) -> np.ndarray:
        entries = [poly for t_s, poly in self.table if t_s <= t]
        if not entries:
            return g
        x = np.clip(g / g_max, 0.0, 1.0)
        later = np.polynomial.polynomial.polyval(x, entries[-1])
        now = np.polynomial.polynomial.polyval(x, base) if base else np.zeros_like(x)
        extra = np.sqrt(np.clip(later**2 - now**2, 0.0, None))
        return g + extra * rng.standard_normal(g.shape)


@dataclass(frozen=True)
class AdditiveReadNoise:
    """Short-term read noise ``N(0, sigma_rel * g_max)`` per read (aihwkit ``w_noise``)."""

    sigma_rel: float

    def apply(self, g: np.ndarray, g_max: float, t: float, rng: np.random.Generator) -> np.ndarray:
        return g + self.sigma_rel * g_max * rng.standard_normal(g.shape)


@dataclass(frozen=True)
class PcmReadNoise:
    """PCM 1/f read noise: ``Q = min(0.0088 / g_rel ** 0.65, 0.2) * sqrt(ln((t + t_read) /
    (2 t_read)))`` and ``g += g Q N(0, 1)`` (aihwkit)."""

    t_read: float = 250e-9

    def apply(self, g: np.ndarray, g_max: float, t: float, rng: np.random.Generator) -> np.ndarray:
        g_rel = np.clip(g / g_max, 1e-6, None)
        q = np.minimum(0.0088 / g_rel**0.65, 0.2) * math.sqrt(max(math.log((t + self.t_read) / (2 * self.t_read)), 0.0))
        return g + g * q * rng.standard_normal(g.shape)


@dataclass(frozen=True)
class RRAMDevice:
    """A resistive-memory cell and how weights are stored on it (SI units).

    Args:
        name: for reports.
        g_min, g_max: conductance window (S).
        levels: programmable levels per cell (2 = binary; 0 = analogue).
        slices: cells per weight magnitude (bit slicing; analogue devices use 1).
        differential: a pair of cells per signed weight.
        prog_poly: programming-noise sigma in S as polynomial coefficients in ``x = g / g_max``
            (lowest order first); empty = none.
        d2d_sigma, c2c_sigma: relative device-to-device and cycle-to-cycle spreads.
        read_noise: an :class:`AdditiveReadNoise`, :class:`PcmReadNoise` or None.
        drift: a :class:`PowerLawDrift`, :class:`RefitDrift` or None.
        p_stuck_on, p_stuck_off: fault probabilities per cell.
        adc_bits, dac_bits: periphery resolution (None = not modelled).
        provenance: the cited constant behind each preset field (field name -> Const).
    """

    name: str
    g_min: float
    g_max: float
    levels: int = 0
    slices: int = 1
    differential: bool = True
    prog_poly: tuple[float, ...] = ()
    d2d_sigma: float = 0.0
    c2c_sigma: float = 0.0
    read_noise: AdditiveReadNoise | PcmReadNoise | None = None
    drift: PowerLawDrift | RefitDrift | None = None
    p_stuck_on: float = 0.0
    p_stuck_off: float = 0.0
    adc_bits: int | None = None
    dac_bits: int | None = None
    provenance: Mapping[str, Const] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.g_min < self.g_max:
            raise ParameterError(f"RRAMDevice needs 0 <= g_min < g_max, got {self.g_min}, {self.g_max}", field="g_min")
        if self.levels == 1 or self.levels < 0:
            raise ParameterError(f"RRAMDevice.levels must be 0 (analogue) or >= 2, got {self.levels}", field="levels")
        if self.slices < 1 or (self.levels == 0 and self.slices != 1):
            raise ParameterError(f"RRAMDevice.slices must be >= 1 (1 for analogue), got {self.slices}", field="slices")
        for name in ("d2d_sigma", "c2c_sigma"):
            if getattr(self, name) < 0:
                raise ParameterError(f"RRAMDevice.{name} must be >= 0", field=name)
        for name in ("p_stuck_on", "p_stuck_off"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(f"RRAMDevice.{name} must be a probability", field=name)
        if self.p_stuck_on + self.p_stuck_off > 1.0:
            raise ParameterError("RRAMDevice: p_stuck_on + p_stuck_off exceeds 1", field="p_stuck_on")

    @property
    def weight_levels(self) -> int:
        """Distinct weight values the device can store (0 = continuous)."""
        if self.levels == 0:
            return 0
        top = self.levels**self.slices - 1
        return 2 * top + 1

    def prog_sigma(self, g: np.ndarray) -> np.ndarray:
        """Programming-noise sigma (S) at conductance ``g``."""
        if not self.prog_poly:
            return np.zeros_like(g)
        return np.clip(np.polynomial.polynomial.polyval(np.clip(g / self.g_max, 0.0, 1.0), self.prog_poly), 0.0, None)

    def weight_noise(self) -> dict[str, float]:
        """The device in the weight domain, for noise-aware training (neuro.torch.noise_aware):
        ``levels`` (distinct weight values, 0 = continuous), ``sigma_mul`` (relative spread),
        ``sigma_add`` (additive sigma relative to max|w|: programming noise at mid-window plus
        additive read noise), ``p_stuck_on``, ``p_stuck_off``."""
        window = self.g_max - self.g_min
        mid = np.array([(self.g_min + self.g_max) / 2])
        add = float(self.prog_sigma(mid)[0]) / window
        if isinstance(self.read_noise, AdditiveReadNoise):
            add = math.hypot(add, self.read_noise.sigma_rel * self.g_max / window)
        return {
            "levels": float(self.weight_levels),
            "sigma_mul": math.hypot(self.d2d_sigma, self.c2c_sigma),
            "sigma_add": add,
            "p_stuck_on": self.p_stuck_on,
            "p_stuck_off": self.p_stuck_off,
        }


def _program(g: np.ndarray, device: RRAMDevice, rng: np.random.Generator, t: float | None) -> np.ndarray:
    g = g + device.prog_sigma(g) * rng.standard_normal(g.shape)
    if device.d2d_sigma:
        g = g * (1 + device.d2d_sigma * rng.standard_normal(g.shape))
    if device.c2c_sigma:
        g = g * (1 + device.c2c_sigma * rng.standard_normal(g.shape))
    u = rng.random(g.shape)
    g = np.where(u < device.p_stuck_off, device.g_min, g)
    g = np.where((u >= device.p_stuck_off) & (u < device.p_stuck_off + device.p_stuck_on), device.g_max, g)
    if t is not None and device.drift is not None:
        if isinstance(device.drift, RefitDrift):
            g = device.drift.apply(g, device.g_max, t, rng, device.prog_poly)
        else:
            g = device.drift.apply(g, device.g_max, t, rng)
    if device.read_noise is not None:
        g = device.read_noise.apply(g, device.g_max, t if t is not None else 1.0, rng)
    return np.clip(g, 0.0, None)


def perturb_weights(w: np.ndarray, device: RRAMDevice, rng: np.random.Generator, t: float | None = None) -> np.ndarray:
    """``w`` stored on ``device``, aged to ``t`` seconds after programming, and read back.

    Shape: any; returns the same shape. See the module docstring for the mapping.
    """
    w = np.asarray(w, dtype=np.float64)
    w_max = float(np.abs(w).max(initial=0.0))
    if w_max == 0.0:
        return w.copy()
    window = device.g_max - device.g_min
    if device.levels == 0:
        top, base = 1.0, 1
        digits = [np.abs(w) / w_max] if device.differential else [(w + w_max) / (2 * w_max)]
        scale = [1.0]
    else:
        top = float(device.levels**device.slices - 1)
        base = device.levels
        mag = np.abs(w) if device.differential else (w + w_max) / 2
        q = np.round(mag / w_max * top).astype(np.int64)
        digits = [(q // base**s) % base / (base - 1) for s in range(device.slices)]
        scale = [base**s * (base - 1) / top for s in range(device.slices)]
    out = np.zeros_like(w)
    for d, sc in zip(digits, scale, strict=True):
        if device.differential:
            g_pos = _program(device.g_min + np.where(w > 0, d, 0.0) * window, device, rng, t)
            g_neg = _program(device.g_min + np.where(w < 0, d, 0.0) * window, device, rng, t)
            out += sc * (g_pos - g_neg) / window
        else:
            g = _program(device.g_min + d * window, device, rng, t)
            out += sc * (g - device.g_min) / window
    return out * w_max if device.differential else (2 * out - 1) * w_max


def perturb_graph(graph: ir.Graph, device: RRAMDevice, rng: np.random.Generator, t: float | None = None) -> ir.Graph:
    """A copy of ``graph`` whose projection weights (Linear, Affine, Conv, SparseLinear) went
    through :func:`perturb_weights`; biases stay digital. The metadata records the device
    and ``t``.

    Example:
        >>> import numpy as np
        >>> from neuro import ir
        >>> g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.eye(3)), ir.LIF(tau=0.01))
        >>> ideal = RRAMDevice("ideal", 0.0, 1e-5, levels=2)
        >>> perturb_graph(g, ideal, np.random.default_rng(0)).nodes["linear_1"].weight.tolist()[0]
        [1.0, 0.0, 0.0]
    """
    nodes: dict[str, Any] = {}
    for name, node in graph.nodes.items():
        if isinstance(node, ir.SparseLinear):
            node = replace(node, weights=perturb_weights(node.weights, device, rng, t))
        elif node.node_type in ("Linear", "Affine", "Conv1d", "Conv2d"):
            node = replace(node, weight=perturb_weights(node.weight, device, rng, t))
        nodes[name] = node
    meta = {**graph.metadata, "rram_device": device.name, "rram_t": t}
    return ir.Graph(nodes, graph.edges, meta)


def sample_reservoir(
    shape: tuple[int, ...],
    device: RRAMDevice,
    rng: np.random.Generator,
    *,
    density: float = 1.0,
    scale: float = 0.07,
    spread: float | None = None,
) -> np.ndarray:
    """Fixed random weights from device variability (the liquid state machine of Lin et al.).

    Each weight is a differential pair ``G+ - G-`` of cells programmed to the same mid-window
    target; their log-normal spread is ``spread`` (relative sigma; default: the device's
    programming sigma at the target, d2d and c2c in quadrature). Stuck-at faults apply; a
    fraction ``1 - density`` of weights is absent (0). Weights are normalised so that their
    standard deviation is ``scale``, the software reservoir's ``const * randn`` (0.07 for
    N-MNIST, 0.08 for N-TIDIGITS in Lin et al.), which makes device and Gaussian reservoirs
    directly comparable.

    Shape: ``shape`` is ``(n_out, n_in)`` like a Linear weight.
    """
    if not 0.0 < density <= 1.0:
        raise ParameterError(f"density must lie in (0, 1], got {density}", field="density")
    g0 = (device.g_min + device.g_max) / 2
    if spread is None:
        rel_prog = float(device.prog_sigma(np.array([g0]))[0]) / g0
        spread = math.sqrt(rel_prog**2 + device.d2d_sigma**2 + device.c2c_sigma**2)
    if spread <= 0:
        raise ParameterError(f"{device.name} has no variability to sample from; pass spread > 0", field="spread")
    s_log = math.sqrt(math.log1p(spread**2))
    mu_log = math.log(g0) - s_log**2 / 2  # mean g0

    def cells() -> np.ndarray:
        g = np.exp(mu_log + s_log * rng.standard_normal(shape))
        u = rng.random(shape)
        g = np.where(u < device.p_stuck_off, device.g_min, g)
        return np.where((u >= device.p_stuck_off) & (u < device.p_stuck_off + device.p_stuck_on), device.g_max, g)

    w = (cells() - cells()) / (math.sqrt(2) * spread * g0)
    w *= rng.random(shape) < density
    return scale * w


def _c(value: float, unit: str, source: str, evidence: Evidence = Evidence.CONVENTION, note: str = "") -> Const:
    return Const(value, unit, source, evidence, note=note)


_PCM = "rasch2023aihwkit:inference/noise/pcm.py"
_WAN = "rasch2023aihwkit:inference/noise/reram.py"
_MNSIM = "mnsim2020:SimConfig.ini"
_NSIM = "neurosim2019:Param.cpp"
PCM_POLY = (0.26348 * US, 1.9650 * US, -1.1731 * US)
WAN_POLY = (0.348 * US, 16.03 * US, -43.853 * US, 45.393 * US, -16.815 * US)

PCM_AIHWKIT = RRAMDevice(
    "pcm_aihwkit",
    0.0,
    25 * US,
    levels=0,
    differential=True,
    prog_poly=PCM_POLY,
    read_noise=PcmReadNoise(250e-9),
    drift=PowerLawDrift(20.0),
    provenance={
        "g_max": _c(25 * US, "S", _PCM),
        "prog_poly": _c(0.26348 * US, "S", _PCM, note="constant term of sigma_prog(g)"),
        "read_noise": _c(250e-9, "s", _PCM, note="t_read"),
        "drift": _c(20.0, "s", _PCM, note="t0"),
    },
)
"""PCM as aihwkit's ``PCMLikeNoiseModel``: analogue, 25 uS, programming polynomial, 1/f read noise, power-law drift."""

RRAM_WAN2022 = RRAMDevice(
    "rram_wan2022",
    0.0,
    40 * US,
    levels=0,
    differential=True,
    prog_poly=WAN_POLY,
    read_noise=AdditiveReadNoise(0.01),
    drift=RefitDrift(((1.0, WAN_POLY),)),
    provenance={
        "g_max": _c(40 * US, "S", _WAN),
        "prog_poly": _c(0.348 * US, "S", _WAN, note="constant term; fit at t = 1 s"),
        "read_noise": _c(0.01, "1", _WAN, note="w_noise suggested by aihwkit"),
        "drift": _c(
            1.0, "s", _WAN, Evidence.DERIVED, note="only the 1 s refit is in the reference; later refits must be supplied"
        ),
    },
)
"""RRAM after Wan et al. 2022 as fitted in aihwkit (sigma ~ 1-5 % of g_max); no power-law drift."""

RRAM_MNSIM = RRAMDevice(
    "rram_mnsim",
    1 * US,
    100 * US,
    levels=2,
    slices=8,
    differential=True,
    c2c_sigma=0.01,
    p_stuck_on=0.001,
    p_stuck_off=0.001,
    provenance={
        "g_min": _c(1 * US, "S", _MNSIM, note="HRS 1 MOhm"),
        "g_max": _c(100 * US, "S", _MNSIM, note="LRS 10 kOhm"),
        "levels": _c(2, "count", _MNSIM, note="Device_Level"),
        "c2c_sigma": _c(0.01, "1", _MNSIM, note="Device_Variation 1 %"),
        "p_stuck_on": _c(0.001, "1", _MNSIM, note="Device_SAF LRS"),
        "p_stuck_off": _c(0.001, "1", _MNSIM, note="Device_SAF HRS"),
        "slices": _c(8, "count", _MNSIM, Evidence.DERIVED, note="8-bit magnitude on 1-bit cells"),
    },
)
"""MNSIM 2.0 defaults: binary cells (1 uS / 100 uS), 1 % variation, 0.1 % + 0.1 % stuck-at faults."""

RRAM_NEUROSIM = RRAMDevice(
    "rram_neurosim",
    10 * US / 17,
    10 * US,
    levels=2,
    slices=8,
    differential=True,
    adc_bits=5,
    dac_bits=1,
    provenance={
        "g_max": _c(10 * US, "S", _NSIM, note="resistanceOn 100 kOhm"),
        "g_min": _c(10 * US / 17, "S", _NSIM, Evidence.DERIVED, note="resistanceOff = 17 x resistanceOn"),
        "levels": _c(2, "count", _NSIM, note="cellBit = 1"),
        "adc_bits": _c(5, "bit", _NSIM, note="levelOutput = 32"),
        "slices": _c(8, "count", _NSIM, Evidence.DERIVED, note="8-bit magnitude on 1-bit cells"),
        "dac_bits": _c(1, "bit", _NSIM, Evidence.DERIVED, note="a spike is one read pulse"),
    },
)
"""NeuroSim V1.4 defaults: binary cells, on/off 17, 5-bit ADC; no variability in its defaults."""

DEVICES: dict[str, RRAMDevice] = {d.name: d for d in (PCM_AIHWKIT, RRAM_WAN2022, RRAM_MNSIM, RRAM_NEUROSIM)}

"""Noise-, quantisation- and fault-aware training for resistive-memory deployment.

Two tools, usable together:

1. :class:`DeviceWeight`, a parametrisation of a Linear/Conv weight (``apply_device``) that
   trains the network *through* the device: symmetric quantisation to the device's weight levels
   with a straight-through gradient, multiplicative ``w (1 + sigma_mul e)`` and additive
   ``sigma_add max|w| e`` noise (training only), and fixed stuck-at faults (stuck-ON: +-max|w|,
   the pair's active cell saturated; stuck-OFF: 0), which hold in evaluation too. The device is
   read by duck typing (``device.weight_noise()``, e.g. :class:`neuro.hardware.rram.RRAMDevice`)
   so this module does not import ``neuro.hardware``.

2. The regularisation-based QAT of Biswas et al. (arXiv 2503.01297, seed paper 8) in
   :class:`LevelQuantiser`. Levels of an ``n``-bit bit-sliced weight are ``L = S R``:
   ``S`` in {0, 1, -1}^(2^n x (n+1)) holds the binary digits of ``i`` (least significant first)
   and -1, ``R = s [2^0 ... 2^(n-1), z]`` with zero point ``z = (2^n - 1) / 2``, so
   ``L_i = s (i - z)``: symmetric, no exact zero. The step ``s`` starts at
   ``2 mean|w| / sqrt(q_p)``, ``q_p = (2^n - 1) / 2``, and is fixed, learnable (LSQ-like) or
   replaced by learnable per-bit multipliers. With ``d(w) = min_j |w - L_j|`` the penalty is
   ``(q_p / N) sum d^2`` (:class:`MSEPenalty`, default) or ``sum 1 - exp(-d^2 / sigma^2)``
   (:class:`GaussianPenalty`); the loss is ``task + lambda sum_layers penalty``. Stuck-at-0 bit
   faults (probability ``fault_frac`` per weight and bit) make the levels that need a stuck bit
   unreachable (distance 1e6); device-to-device variability gives each weight its own
   multipliers ``R[b] (1 + sigma N(0, 1))``. :meth:`LevelQuantiser.project` hard-projects weights
   onto their nearest reachable level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from neuro.core.errors import ParameterError

UNREACHABLE = 1e6


@dataclass(frozen=True)
class NoiseSpec:
    """A device in the weight domain: ``levels`` distinct values (0 = continuous), relative
    multiplicative and additive sigmas, stuck-at probabilities."""

    levels: int = 0
    sigma_mul: float = 0.0
    sigma_add: float = 0.0
    p_stuck_on: float = 0.0
    p_stuck_off: float = 0.0

    def __post_init__(self) -> None:
        if self.levels < 0 or self.levels == 1 or (self.levels and self.levels % 2 == 0):
            raise ParameterError(f"NoiseSpec.levels must be 0 or an odd count >= 3, got {self.levels}", field="levels")
        if min(self.sigma_mul, self.sigma_add, self.p_stuck_on, self.p_stuck_off) < 0 or self.p_stuck_on + self.p_stuck_off > 1:
            raise ParameterError("NoiseSpec sigmas must be >= 0 and fault probabilities sum to <= 1", field="p_stuck_on")

    @classmethod
    def from_device(cls, device: Any) -> NoiseSpec:
        """From any object with ``weight_noise() -> dict`` (an ``RRAMDevice``)."""
        d = device.weight_noise()
        return cls(int(d["levels"]), d["sigma_mul"], d["sigma_add"], d["p_stuck_on"], d["p_stuck_off"])


class DeviceWeight(nn.Module):
    """Parametrisation ``w -> w_device`` (see the module docstring). Faults are drawn once, on
    the first call, from ``generator``; :meth:`resample_faults` draws new ones."""

    def __init__(self, spec: NoiseSpec, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.generator = generator
        self.register_buffer("faults", torch.zeros(0, dtype=torch.int8))

    def resample_faults(self, shape: torch.Size) -> None:
        """Stuck-ON (+1 / -1: which cell of the pair) or stuck-OFF (2) per weight; 0 = healthy."""
        u = torch.rand(shape, generator=self.generator)
        sign = torch.where(torch.rand(shape, generator=self.generator) < 0.5, 1, -1).to(torch.int8)
        faults = torch.zeros(shape, dtype=torch.int8)
        faults = torch.where(u < self.spec.p_stuck_off, torch.tensor(2, dtype=torch.int8), faults)
        on = (u >= self.spec.p_stuck_off) & (u < self.spec.p_stuck_off + self.spec.p_stuck_on)
        self.faults = torch.where(on, sign, faults)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        w_max = w.detach().abs().max().clamp_min(1e-12)
        out = w
        if self.spec.levels:
            top = (self.spec.levels - 1) / 2
            wq = torch.round(w / w_max * top) / top * w_max
            out = w + (wq - w).detach()  # straight-through
        if self.training and (self.spec.sigma_mul or self.spec.sigma_add):
            e1 = torch.randn(w.shape, generator=self.generator, dtype=w.dtype)
            e2 = torch.randn(w.shape, generator=self.generator, dtype=w.dtype)
            out = out * (1 + self.spec.sigma_mul * e1) + self.spec.sigma_add * w_max * e2
        if self.spec.p_stuck_on or self.spec.p_stuck_off:
            if self.faults.shape != w.shape:
                self.resample_faults(w.shape)
            f = self.faults.to(w.device)
            out = torch.where(f == 2, torch.zeros_like(out), out)
            out = torch.where((f == 1) | (f == -1), f.to(w.dtype) * w_max, out)
        return out


def apply_device(module: nn.Module, spec: NoiseSpec, generator: torch.Generator | None = None) -> nn.Module:
    """Register a :class:`DeviceWeight` on the weight of every Linear and Conv in ``module``.

    Example:
        >>> net = apply_device(nn.Sequential(nn.Linear(4, 3)), NoiseSpec(levels=15))
        >>> len(torch.unique(net[0].weight.detach())) <= 15
        True
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d) and not parametrize.is_parametrized(layer, "weight"):
            parametrize.register_parametrization(layer, "weight", DeviceWeight(spec, generator))
    return module


@dataclass(frozen=True)
class MSEPenalty:
    """``(q_p / N) sum d(w)^2`` (the paper's default)."""

    def __call__(self, d: torch.Tensor, q_p: float) -> torch.Tensor:
        return q_p * (d**2).mean()


@dataclass(frozen=True)
class GaussianPenalty:
    """``sum 1 - exp(-d(w)^2 / sigma^2)``."""

    sigma: float

    def __call__(self, d: torch.Tensor, q_p: float) -> torch.Tensor:
        return (1 - torch.exp(-(d**2) / self.sigma**2)).sum()


def digit_matrix(n_bits: int) -> torch.Tensor:
    """``S``: row ``i`` = binary digits of ``i`` (least significant first), then -1."""
    i = torch.arange(2**n_bits)
    bits = (i[:, None] >> torch.arange(n_bits)[None, :]) & 1
    return torch.cat([bits.float(), -torch.ones(2**n_bits, 1)], dim=1)


class LevelQuantiser(nn.Module):
    """Paper 8's level set, penalty and projection for one weight tensor.

    Args:
        weight: the layer's weight (initialises the step and sizes fault/variability buffers).
        n_bits: bits per weight.
        learn: "fixed", "step" (learnable ``s``) or "multipliers" (learnable ``R``).
        penalty: :class:`MSEPenalty` or :class:`GaussianPenalty`.
        fault_frac: stuck-at-0 probability per weight and bit.
        variability: relative sigma of each weight's per-bit multipliers.
        generator: for faults and variability.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        n_bits: int = 4,
        learn: str = "fixed",
        penalty: MSEPenalty | GaussianPenalty | None = None,
        fault_frac: float = 0.0,
        variability: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(n_bits, int) or not 1 <= n_bits <= 8:
            raise ParameterError(f"n_bits must be an int in 1..8, got {n_bits!r}", field="n_bits")
        if learn not in ("fixed", "step", "multipliers"):
            raise ParameterError(f"learn must be 'fixed', 'step' or 'multipliers', got {learn!r}", field="learn")
        if not 0.0 <= fault_frac <= 1.0 or variability < 0:
            raise ParameterError("fault_frac must be a probability and variability >= 0", field="fault_frac")
        self.n_bits, self.penalty_fn = n_bits, penalty or MSEPenalty()
        self.q_p = (2**n_bits - 1) / 2
        s = 2 * weight.detach().abs().mean().item() / math.sqrt(self.q_p)
        r = torch.tensor([2.0**b for b in range(n_bits)] + [self.q_p])
        self.register_buffer("S", digit_matrix(n_bits))
        self.step = nn.Parameter(torch.tensor(s), requires_grad=learn == "step")
        self.multipliers = nn.Parameter(r, requires_grad=learn == "multipliers")
        n = weight.numel()
        faults = (torch.rand(n, n_bits, generator=generator) >= fault_frac).float()
        self.register_buffer("valid", self.validity(faults))
        self.register_buffer("variation", 1 + variability * torch.randn(n, n_bits, generator=generator))

    def validity(self, faults: torch.Tensor) -> torch.Tensor:
        """``(N, 2^n)``: level ``i`` is reachable when every 1-bit of ``i`` is healthy
        (``faults[w, b] = 1``), i.e. its realised value ``sum_b 2^b bit_b(i) F_b`` equals ``i``."""
        bits = self.S[:, :-1]
        weights = 2.0 ** torch.arange(self.n_bits, dtype=torch.float32)
        realised = (faults[:, None, :] * bits[None] * weights).sum(-1)
        return realised >= (bits * weights).sum(-1)[None]

    def levels(self) -> torch.Tensor:
        """``(N, 2^n)`` levels per weight: ``S R_var[w]`` times the step."""
        r_bits = self.multipliers[:-1] * self.variation  # (N, n)
        return self.step * (self.S[None, :, :-1] * r_bits[:, None, :]).sum(-1) - self.step * self.multipliers[-1]

    def distance(self, w: torch.Tensor) -> torch.Tensor:
        """``d(w)``: distance of each weight to its nearest reachable level."""
        gap = (w.reshape(-1, 1) - self.levels()).abs()
        return torch.where(self.valid, gap, torch.full_like(gap, UNREACHABLE)).min(dim=1).values

    def penalty(self, w: torch.Tensor) -> torch.Tensor:
        """The layer's regulariser ``reg_l``."""
        return self.penalty_fn(self.distance(w), self.q_p)

    @torch.no_grad()
    def project(self, w: torch.Tensor) -> torch.Tensor:
        """``w`` moved onto its nearest reachable level (hard projection)."""
        gap = (w.reshape(-1, 1) - self.levels()).abs()
        gap = torch.where(self.valid, gap, torch.full_like(gap, UNREACHABLE))
        idx = gap.argmin(dim=1, keepdim=True)
        return self.levels().gather(1, idx).reshape(w.shape)


def attach_quantisers(model: nn.Module, n_bits: int = 4, **kwargs: Any) -> nn.ModuleDict:
    """One :class:`LevelQuantiser` per Linear/Conv weight of ``model``, keyed by module name
    (dots replaced by ``_``)."""
    out = nn.ModuleDict()
    for name, layer in model.named_modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d):
            out[name.replace(".", "_") or "root"] = LevelQuantiser(layer.weight, n_bits, **kwargs)
    return out


def regularisation_loss(model: nn.Module, quantisers: nn.ModuleDict, lam: float = 100.0) -> torch.Tensor:
    """``lambda * sum_l reg_l`` over the layers :func:`attach_quantisers` found."""
    total = torch.zeros(())
    for name, layer in model.named_modules():
        key = name.replace(".", "_") or "root"
        if key in quantisers:
            total = total + quantisers[key].penalty(layer.weight)
    return lam * total

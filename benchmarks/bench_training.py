"""Training time per epoch: the same spiking CNN on the same n-digits batches in neuro, snnTorch, Norse and SpikingJelly.

Run from the repository root (the peers are only ever installed for this comparison; Norse and
SpikingJelly declare torchvision/torchaudio, which do not work with the CPU torch wheel, so they
go in without their declared dependencies):

    .venv/bin/pip install -c constraints.txt snntorch
    .venv/bin/pip install -c constraints.txt --no-deps norse spikingjelly
    .venv/bin/pip install -c constraints.txt nirtorch loguru
    .venv/bin/python benchmarks/bench_training.py

Network (identical everywhere, weights copied from one seeded model)::

    Conv2d(2, 12, 5) -> LIF -> MaxPool2d(2) -> Conv2d(12, 32, 5) -> LIF -> MaxPool2d(2)
    -> Flatten -> Linear(800, 10) -> LIF

LIF: ``v <- beta v + x`` with ``beta = exp(-dt / tau)``, ``tau`` = 5 ms, ``dt`` = 1 ms, spike
``z = H(v - 1)``, reset by subtraction ``v <- v - z``, arctan surrogate (alpha = 2). Loss:
cross-entropy of the output spike counts summed over the ``T`` steps; Adam, lr = 1e-3; BPTT over
all steps. Inputs: every n-digits training sample converted once to ``T`` frames (event counts)
and held in memory, so data loading is not timed; batches of 64 in the same seeded order for
every framework.

Each framework first runs an agreement check (same weights, same batch: output spike counts,
loss, loss after one Adam step), then a warm-up epoch, then ``--epochs`` timed epochs; the
frameworks take turns epoch by epoch so that load changes on a shared machine hit all of them.
The script prints a table and rewrites the section "Training: neuro vs snnTorch, Norse,
SpikingJelly" of docs/benchmarks.md. Peers that are not installed are skipped with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_docs.py
from _docs import update_section

SECTION = "## Training: neuro vs snnTorch, Norse, SpikingJelly"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
COMMAND = ".venv/bin/python benchmarks/bench_training.py"

TAU = 5e-3
DT = 1e-3
BETA = math.exp(-DT / TAU)
THRESHOLD = 1.0
ALPHA = 2.0  # arctan surrogate: alpha / 2 / (1 + (pi / 2 * alpha * x)^2)
NORSE_METHOD, NORSE_ALPHA = "circ", 0.45  # Norse's surrogate closest to the arctan (see closest_norse_surrogate)
SENSOR_CHW = (2, 34, 34)
N_CLASSES = 10
FLAT = 32 * 5 * 5


# ---------------------------------------------------------------- data


def load_frames(n_time_bins: int, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The n-digits training split as float32 frames ``(N, T, 2, 34, 34)`` and int64 labels ``(N,)``."""
    from neuro.core.events import to_frames
    from neuro.datasets import load

    train = load("n-digits", "train", workers=2)
    n = len(train) if limit is None else min(limit, len(train))
    frames = np.empty((n, n_time_bins, *SENSOR_CHW), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        events, label = train[i]
        frames[i] = to_frames(events, train.sensor_size, n_time_bins=n_time_bins)
        labels[i] = label
    return torch.from_numpy(frames), torch.from_numpy(labels)


def random_frames(n: int, n_time_bins: int, seed: int = 0, density: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Bernoulli frames and random labels with the shapes of :func:`load_frames` (for tests)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand((n, n_time_bins, *SENSOR_CHW), generator=g) < density).float()
    return x, torch.randint(0, N_CLASSES, (n,), generator=g)


def make_batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, max_batches: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Time-major batches ``(T, B, 2, 34, 34)`` in an order drawn from a generator seeded with ``seed``."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    chunks = order.split(batch_size)[:max_batches]
    return [(x[idx].transpose(0, 1).contiguous(), y[idx]) for idx in chunks]


# ---------------------------------------------------------------- models


def reference_layers(seed: int, gain: float = 2.0) -> list[nn.Module]:
    """The three weighted layers, initialised from ``seed``; every framework copies these weights.

    PyTorch's default initialisation scaled by ``gain``: with gain 1 the output layer of this
    network stays silent on n-digits (hidden firing rates 1.2 % and 0.08 %), so every framework
    would output zero counts and the agreement check would be empty; gain 2 gives rates of about
    4 %, 5 % and 12 % in the three LIF layers.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layers = [nn.Conv2d(2, 12, 5), nn.Conv2d(12, 32, 5), nn.Linear(FLAT, N_CLASSES)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(gain)
            layer.bias.mul_(gain)
    return layers


def copy_weights(model: nn.Module, reference: list[nn.Module]) -> nn.Module:
    """Load the reference weights into the Conv2d/Linear layers of ``model``, in module order."""
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    if len(layers) != len(reference):
        raise RuntimeError(f"expected {len(reference)} weighted layers, found {len(layers)}")
    for dst, src in zip(layers, reference, strict=True):
        dst.load_state_dict(src.state_dict())
    return model


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


@dataclass
class Framework:
    """One implementation: ``model(x_seq)`` maps ``(T, B, 2, 34, 34)`` to output spikes ``(T, B, 10)``."""

    name: str
    version: str
    model: nn.Module
    note: str = ""


class NeuroNet(nn.Module):
    """neuro: ``nt.Sequential`` threads the neuron state and applies stateless layers to all steps at once."""

    def __init__(self, fused: bool | None = None) -> None:
        super().__init__()
        import neuro.torch as nt
        from neuro.core.neurons import lif
        from neuro.core.reset import ResetSubtract
        from neuro.core.surrogate import ArcTan

        # Exact discretisation: v <- a v + (1 - a) r x, so r = 1 / (1 - a) gives v <- a v + x.
        params = lif.Params(tau=TAU, r=1.0 / -math.expm1(-DT / TAU), v_threshold=THRESHOLD, reset=ResetSubtract())
        extra: dict[str, Any] = {} if fused is None else {"fused": fused}

        def neurons() -> nn.Module:
            return nt.Neurons(params, dt=DT, surrogate=ArcTan(ALPHA), **extra)

        self.net = nt.Sequential(
            nn.Conv2d(2, 12, 5),
            neurons(),
            nn.MaxPool2d(2),
            nn.Conv2d(12, 32, 5),
            neurons(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(FLAT, N_CLASSES),
            neurons(),
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        out = self.net(x_seq)
        return out[0] if isinstance(out, tuple) else out


class SnnTorchNet(nn.Module):
    """snnTorch: ``Leaky`` neurons called in a Python loop over time, as in its tutorials.

    ``reset_delay=False`` subtracts the threshold in the step that spikes (the model above);
    snnTorch's default subtracts it in the next step, after the decay, which is a different model.
    """

    def __init__(self, reset_delay: bool = False) -> None:
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        def leaky() -> nn.Module:
            return snn.Leaky(
                beta=BETA,
                threshold=THRESHOLD,
                spike_grad=surrogate.atan(alpha=ALPHA),
                reset_mechanism="subtract",
                reset_delay=reset_delay,
            )

        self.conv1, self.lif1 = nn.Conv2d(2, 12, 5), leaky()
        self.conv2, self.lif2 = nn.Conv2d(12, 32, 5), leaky()
        self.fc, self.lif3 = nn.Linear(FLAT, N_CLASSES), leaky()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        mem1, mem2, mem3 = self.lif1.reset_mem(), self.lif2.reset_mem(), self.lif3.reset_mem()
        out = []
        for x in x_seq:
            spk1, mem1 = self.lif1(self.conv1(x), mem1)
            spk2, mem2 = self.lif2(self.conv2(F.max_pool2d(spk1, 2)), mem2)
            spk3, mem3 = self.lif3(self.fc(F.max_pool2d(spk2, 2).flatten(1)), mem3)
            out.append(spk3)
        return torch.stack(out)


class _Scale(nn.Module):
    """Multiply by a constant: Norse's Euler LIF box integrates ``dt / tau_eff * x``, this undoes the factor."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def norse_lif_box(method: str = NORSE_METHOD, alpha: float = NORSE_ALPHA) -> nn.Module:
    """Norse's LIF box step (no synaptic current) over a time sequence, built like Norse's own ``LIF``.

    Norse 1.1.0 ships the box model only as a cell (``LIFBoxCell``); its sequence layers are
    ``SNN(activation=<step>, ...)``, so this is ``SNN`` around ``lif_box_feed_forward_step``.
    Forward Euler gives ``v <- (1 - dt k) v + dt k x`` with ``k = tau_mem_inv``; with
    ``dt k = 1 - beta`` the decay is ``beta`` and a preceding ``_Scale(1 / (1 - beta))`` makes the
    input term ``x``.
    """
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState, LIFBoxParameters, lif_box_feed_forward_step
    from norse.torch.functional.reset import reset_subtract
    from norse.torch.module.snn import SNN

    p = LIFBoxParameters(
        tau_mem_inv=torch.as_tensor((1.0 - BETA) / DT),
        v_leak=torch.as_tensor(0.0),
        v_th=torch.as_tensor(THRESHOLD),
        v_reset=torch.as_tensor(0.0),
        method=method,
        alpha=alpha,
        reset_method=reset_subtract,
    )

    class LIFBox(SNN):
        def __init__(self) -> None:
            super().__init__(activation=lif_box_feed_forward_step, state_fallback=self.initial_state, p=p, dt=DT)

        def initial_state(self, input_tensor: torch.Tensor) -> Any:
            # As norse.torch.LIF.initial_state: v at v_leak, a leaf that requires grad.
            v = torch.full(input_tensor.shape[1:], float(self.p.v_leak), dtype=torch.float32)
            v.requires_grad = True
            return LIFBoxFeedForwardState(v=v)

    return LIFBox()


class NorseNet(nn.Module):
    """Norse: ``SequentialState`` of ``Lift``-ed stateless layers and LIF box layers."""

    def __init__(self, method: str = NORSE_METHOD, alpha: float = NORSE_ALPHA) -> None:
        super().__init__()
        from norse.torch import Lift, SequentialState

        gain = 1.0 / (1.0 - BETA)
        self.net = SequentialState(
            Lift(nn.Conv2d(2, 12, 5)),
            _Scale(gain),
            norse_lif_box(method, alpha),
            Lift(nn.MaxPool2d(2)),
            Lift(nn.Conv2d(12, 32, 5)),
            _Scale(gain),
            norse_lif_box(method, alpha),
            Lift(nn.MaxPool2d(2)),
            nn.Flatten(start_dim=2),
            Lift(nn.Linear(FLAT, N_CLASSES)),
            _Scale(gain),
            norse_lif_box(method, alpha),
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        out, _ = self.net(x_seq)
        return out


class SpikingJellyNet(nn.Module):
    """SpikingJelly: multi-step mode (``step_mode='m'``), ``LIFNode`` with soft reset; state reset per batch.

    ``decay_input=False`` gives ``H = V - V / tau + X``; ``tau = 1 / (1 - beta)`` makes the decay ``beta``.
    """

    def __init__(self) -> None:
        super().__init__()
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        def lif() -> nn.Module:
            return neuron.LIFNode(
                tau=1.0 / (1.0 - BETA),
                decay_input=False,
                v_threshold=THRESHOLD,
                v_reset=None,
                surrogate_function=surrogate.ATan(alpha=ALPHA),
                detach_reset=False,
                step_mode="m",
            )

        self.net = nn.Sequential(
            layer.Conv2d(2, 12, 5),
            lif(),
            layer.MaxPool2d(2),
            layer.Conv2d(12, 32, 5),
            lif(),
            layer.MaxPool2d(2),
            layer.Flatten(),
            layer.Linear(FLAT, N_CLASSES),
            lif(),
        )
        functional.set_step_mode(self.net, "m")
        self._reset = functional.reset_net

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._reset(self.net)
        return self.net(x_seq)


class _ArcTanSpike(torch.autograd.Function):
    """``H(x)`` (strict: ``x > 0``) with the arctan surrogate derivative."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (ALPHA / 2) / (1 + (math.pi / 2 * ALPHA * x) ** 2)


class ReferenceNet(nn.Module):
    """Plain-torch reference of the model (agreement check only, never timed).

    ``reset_grad="everywhere"`` writes the reset as ``v - z * threshold``, so the surrogate
    gradient of ``z`` reaches the membrane through the reset at every step (snnTorch, Norse and
    SpikingJelly with ``detach_reset=False``); ``"spiking"`` writes it as
    ``where(z > 0, v - z * threshold, v)``, which passes that gradient only in the steps where the
    neuron spiked (neuro's ``reset_membrane``).
    """

    def __init__(self, reset_grad: str) -> None:
        super().__init__()
        self.reset_grad = reset_grad
        self.conv1, self.conv2, self.fc = nn.Conv2d(2, 12, 5), nn.Conv2d(12, 32, 5), nn.Linear(FLAT, N_CLASSES)

    def _lif(self, x_seq: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x_seq[0])
        out = []
        for x in x_seq:
            v = BETA * v + x
            z = _ArcTanSpike.apply(v - THRESHOLD)
            v = v - z * THRESHOLD if self.reset_grad == "everywhere" else torch.where(z > 0, v - z * THRESHOLD, v)
            out.append(z)
        return torch.stack(out)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        t, b = x_seq.shape[:2]

        def fold(layer: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor) -> torch.Tensor:
            y = layer(h.reshape(t * b, *h.shape[2:]))
            return y.reshape(t, b, *y.shape[1:])

        h = fold(lambda a: F.max_pool2d(a, 2), self._lif(fold(self.conv1, x_seq)))
        h = fold(lambda a: F.max_pool2d(a, 2).flatten(1), self._lif(fold(self.conv2, h)))
        return self._lif(fold(self.fc, h))


def build_reference(reference: list[nn.Module], reset_grad: str) -> Framework:
    return Framework(f"reference (reset gradient {reset_grad})", "–", copy_weights(ReferenceNet(reset_grad), reference))


def build_neuro(reference: list[nn.Module], fused: bool | None = None) -> Framework:
    """neuro (``fused=False``: its per-step neuron path, when ``neuro.torch`` offers the switch)."""
    name = "neuro" if fused is None else f"neuro (fused={fused})"
    return Framework(name, _version("neuro"), copy_weights(NeuroNet(fused), reference))


def build_snntorch(reference: list[nn.Module], reset_delay: bool = False) -> Framework:
    name = "snnTorch" + (" (reset_delay=True)" if reset_delay else "")
    note = (
        "snnTorch's default: the reset is subtracted one step later, after the decay (a different model)" if reset_delay else ""
    )
    return Framework(name, _version("snntorch"), copy_weights(SnnTorchNet(reset_delay), reference), note)


def build_norse(reference: list[nn.Module], method: str = NORSE_METHOD, alpha: float = NORSE_ALPHA) -> Framework:
    return Framework("Norse", _version("norse"), copy_weights(NorseNet(method, alpha), reference))


def build_spikingjelly(reference: list[nn.Module]) -> Framework:
    return Framework("SpikingJelly", _version("spikingjelly"), copy_weights(SpikingJellyNet(), reference))


Builder = Callable[[list[nn.Module]], Framework]


def neuro_has_fused_switch() -> bool:
    """True if ``nt.Neurons`` takes a ``fused`` keyword."""
    import inspect

    import neuro.torch as nt

    return "fused" in inspect.signature(nt.Neurons).parameters


def available_builders(include_neuro_unfused: bool = True) -> tuple[dict[str, Builder], list[str]]:
    """The builders whose library imports, and one message per skipped framework."""
    builders: dict[str, Builder] = {}
    skipped: list[str] = []
    try:
        import neuro.torch as nt

        if not all(hasattr(nt, n) for n in ("Sequential", "Neurons")):
            raise ImportError("neuro.torch has no Sequential/Neurons yet")
        builders["neuro"] = build_neuro
        if include_neuro_unfused and neuro_has_fused_switch():
            builders["neuro (fused=False)"] = lambda ref: build_neuro(ref, fused=False)
    except ImportError as exc:
        skipped.append(f"neuro skipped: {exc}")
    for name, module, builder in (
        ("snnTorch", "snntorch", build_snntorch),
        ("Norse", "norse.torch", build_norse),
        ("SpikingJelly", "spikingjelly.activation_based.neuron", build_spikingjelly),
    ):
        try:
            __import__(module)
        except ImportError as exc:
            skipped.append(f"{name} skipped: not installed ({exc})")
            continue
        builders[name] = builder
        if name == "snnTorch":
            builders["snnTorch (reset_delay=True)"] = lambda ref: build_snntorch(ref, reset_delay=True)
    return builders, skipped


# ---------------------------------------------------------------- agreement


@dataclass
class Agreement:
    """Output and loss of one framework on the check batch, before and after one Adam step."""

    name: str
    counts: torch.Tensor  # (B, 10) output spike counts
    loss0: float
    loss1: float
    grad_norm: float


def check_one(framework: Framework, x_seq: torch.Tensor, y: torch.Tensor, lr: float) -> Agreement:
    """Forward, loss, one Adam step, loss again (all on the same batch)."""
    model = framework.model
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = model(x_seq)
    counts = out.sum(0)
    loss = F.cross_entropy(counts, y)
    opt.zero_grad()
    loss.backward()
    grad_norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None)))
    opt.step()
    with torch.no_grad():
        loss1 = F.cross_entropy(model(x_seq).sum(0), y)
    return Agreement(framework.name, counts.detach(), loss.item(), loss1.item(), grad_norm)


@contextlib.contextmanager
def norse_with_arctan() -> Iterator[None]:
    """Norse's LIF box with the arctan surrogate swapped in (agreement check only: it isolates the surrogate)."""
    import norse.torch.functional.lif_box as lif_box

    original = lif_box.threshold
    lif_box.threshold = lambda x, method, alpha: _ArcTanSpike.apply(x)
    try:
        yield
    finally:
        lif_box.threshold = original


def closest_norse_surrogate() -> tuple[str, float, float]:
    """Norse surrogate (method, alpha) nearest to the arctan derivative in L1 over [-10, 10], and that distance.

    Candidates are Norse's derivatives: superspike ``1 / (|x| + 1)^2`` (alpha unused), triangle
    ``alpha max(0, 1 - |x|)``, tanh ``1 - tanh^2(alpha x)``, circ ``alpha^3 / (alpha^2 + x^2)^1.5``,
    heavi_erfc ``2 exp(-(alpha x)^2) / sqrt(pi)``.
    """
    x = np.linspace(-10, 10, 20001)
    dx = x[1] - x[0]
    target = (ALPHA / 2) / (1 + (np.pi / 2 * ALPHA * x) ** 2)
    shapes: dict[str, Callable[[float], np.ndarray]] = {
        "super": lambda a: 1 / (np.abs(x) + 1) ** 2,
        "triangle": lambda a: a * np.maximum(0, 1 - np.abs(x)),
        "tanh": lambda a: 1 - np.tanh(a * x) ** 2,
        "circ": lambda a: a**3 / (a**2 + x**2) ** 1.5,
        "heavi_erfc": lambda a: 2 * np.exp(-((a * x) ** 2)) / np.sqrt(np.pi),
    }
    alphas = np.round(np.arange(0.05, 5.0, 0.01), 2)
    best = min(
        ((name, float(a), float(np.abs(f(a) - target).sum() * dx)) for name, f in shapes.items() for a in alphas),
        key=lambda r: r[2],
    )
    return best


@dataclass
class AgreementReport:
    """Every implementation checked on one batch, with two plain-torch references."""

    rows: list[Agreement]
    references: dict[str, Agreement]


def run_agreement(
    builders: dict[str, Builder], reference: list[nn.Module], x_seq: torch.Tensor, y: torch.Tensor, lr: float
) -> AgreementReport:
    """Check the references, every framework and Norse with the arctan swapped in on the same batch."""
    refs = {g: check_one(build_reference(reference, g), x_seq, y, lr) for g in ("everywhere", "spiking")}
    rows = [check_one(build(reference), x_seq, y, lr) for build in builders.values()]
    if "Norse" in builders:
        with norse_with_arctan():
            row = check_one(builders["Norse"](reference), x_seq, y, lr)
        row.name = "Norse, arctan swapped in (check only)"
        rows.append(row)
    return AgreementReport(rows, refs)


def format_agreement(report: AgreementReport) -> str:
    """Markdown table: output spike counts against the reference, losses and gradient norms."""
    ref = report.references["everywhere"]
    lines = [
        "| implementation | output spikes | counts vs reference | loss | loss after one step | "
        "Δ vs reference (reset gradient everywhere) | Δ vs reference (reset gradient when spiking) | gradient norm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in [*report.references.values(), *report.rows]:
        diff = (row.counts - ref.counts).abs()
        same = "identical" if int(diff.sum()) == 0 else f"differ in {int((diff > 0).sum())} of {diff.numel()}"
        deltas = " | ".join(f"{row.loss1 - r.loss1:+.1e}" for r in report.references.values())
        lines.append(
            f"| {row.name} | {int(row.counts.sum())} | {same} | {row.loss0:.6f} | {row.loss1:.6f} | {deltas} | "
            f"{row.grad_norm:.4f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- timing


def train_epoch(
    model: nn.Module, opt: torch.optim.Optimizer, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[float, float]:
    """Forward, backward and Adam step over ``batches``; wall-clock and process CPU seconds.

    The CPU time (all threads of the process, user and system) is less disturbed by other
    processes on a shared machine than the wall-clock time, which counts the time spent waiting
    for a core."""
    t0, c0 = time.perf_counter(), time.process_time()
    for x_seq, y in batches:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x_seq).sum(0), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, time.process_time() - c0


@dataclass
class Timing:
    name: str
    version: str
    warmup_s: float
    epoch_s: list[float]
    note: str = ""
    cpu_s: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.epoch_s)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_s)


def run_timing(
    builders: dict[str, Builder],
    reference: list[nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    max_batches: int | None,
    lr: float,
    seed: int,
    log: Callable[[str], None] = print,
) -> list[Timing]:
    """One warm-up epoch, then ``epochs`` timed epochs per framework, frameworks taking turns each epoch."""
    frameworks = [build(reference) for build in builders.values()]
    optimizers = [torch.optim.Adam(f.model.parameters(), lr=lr) for f in frameworks]
    timings = [Timing(f.name, f.version, 0.0, [], f.note) for f in frameworks]
    for epoch in range(epochs + 1):
        batches = make_batches(x, y, batch_size, seed + epoch, max_batches)  # the same order for everyone
        for f, opt, t in zip(frameworks, optimizers, timings, strict=True):
            s, cpu = train_epoch(f.model, opt, batches)
            if epoch == 0:
                t.warmup_s = s
            else:
                t.epoch_s.append(s)
                t.cpu_s.append(cpu)
            log(f"  epoch {epoch}{' (warm-up)' if epoch == 0 else ''}: {f.name} {s:.2f} s")
    return timings


# ---------------------------------------------------------------- report


def format_table(timings: list[Timing], n_batches: int, batch_size: int, full_batches: int | None = None) -> str:
    """Markdown table: seconds per epoch (median, min, warm-up), per batch, and neuro's time over each one's."""
    neuro = next((t for t in timings if t.name == "neuro"), None)
    full = full_batches or n_batches
    lines = [
        f"| framework | version | s per epoch of {n_batches} batches (median) | min | warm-up | ms per batch | "
        f"neuro / framework | s per full epoch ({full} batches, est.) | CPU s per epoch (median) | neuro / framework (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        ratio = "–" if neuro is None else f"{neuro.median / t.median:.2f}"
        cpu_ratio = "–" if neuro is None else f"{neuro.cpu_median / t.cpu_median:.2f}"
        lines.append(
            f"| {t.name} | {t.version} | {t.median:.2f} | {min(t.epoch_s):.2f} | {t.warmup_s:.2f} | "
            f"{1000 * t.median / n_batches:.0f} | {ratio} | {t.median * full / n_batches:.1f} | "
            f"{t.cpu_median:.2f} | {cpu_ratio} |"
        )
    return "\n".join(lines)


def goal_verdict(timings: list[Timing]) -> str:
    """The project's goal: at most half of snnTorch's time per epoch and no slower than Norse,
    in wall-clock and in CPU time."""
    by_name = {t.name: t.median for t in timings}
    if "neuro" not in by_name:
        return "neuro was not timed."
    parts = []
    cpu = {t.name: t.cpu_median for t in timings}
    for peer, limit, label in (("snnTorch", 0.5, "≤ 0.5 × snnTorch"), ("Norse", 1.0, "≤ 1.0 × Norse")):
        if peer in by_name:
            # Met only if both clocks agree: load from other processes distorts the wall clock.
            r, r_cpu = by_name["neuro"] / by_name[peer], cpu["neuro"] / cpu[peer]
            verdict = "met" if max(r, r_cpu) <= limit else "NOT met"
            parts.append(f"neuro {label}: measured {r:.2f} × (CPU time {r_cpu:.2f} ×) → {verdict}")
        else:
            parts.append(f"neuro {label}: {peer} not installed")
    return "; ".join(parts)


def machine_description(threads: int) -> str:
    """CPU model, cores, load, threads and versions."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    versions = ", ".join(f"{d} {_version(d)}" for d in ("snntorch", "norse", "spikingjelly"))
    return (
        f"{cpu}, {os.cpu_count()} logical cores (1-minute load average at the end: {load}); "
        f"torch.set_num_threads({threads}); Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, {versions}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per framework (after one warm-up)")
    parser.add_argument("--batches", type=int, default=6, help="batches per epoch (0: the whole split, 20 batches)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--time-bins", type=int, default=20, help="T, frames per sample")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-data", type=int, default=0, help="use this many random samples instead of n-digits")
    parser.add_argument("--only", nargs="*", default=None, help="framework names to run (default: all installed)")
    parser.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS}")
    args = parser.parse_args(argv)
    args.batches = args.batches or None
    torch.set_num_threads(args.threads)
    builders, skipped = available_builders()
    if args.only is not None:
        builders = {k: v for k, v in builders.items() if k in args.only}
    for message in skipped:
        print(message)
    if not builders:
        print("no framework to run")
        return 0

    t0 = time.perf_counter()
    if args.random_data:
        x, y = random_frames(args.random_data, args.time_bins, args.seed)
    else:
        x, y = load_frames(args.time_bins)
    print(f"data: {tuple(x.shape)} float32 in {time.perf_counter() - t0:.1f} s")
    reference = reference_layers(args.seed)
    check_x, check_y = make_batches(x, y, args.batch_size, args.seed, 1)[0]
    report = run_agreement(builders, reference, check_x, check_y, args.lr)
    print(format_agreement(report))

    n_batches = len(make_batches(x, y, args.batch_size, args.seed, args.batches))
    timings = run_timing(
        builders,
        reference,
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_batches=args.batches,
        lr=args.lr,
        seed=args.seed,
    )
    print(format_table(timings, n_batches, args.batch_size, math.ceil(len(x) / args.batch_size)))
    print(goal_verdict(timings))
    if not args.no_docs and not args.random_data:
        update_section(DOCS, render_section(timings, report, args, n_batches, len(x), skipped), SECTION)
        print(f"\nwrote the section {SECTION!r} of {DOCS}")
    return 0


def render_section(
    timings: list[Timing], report: AgreementReport, args: argparse.Namespace, n_batches: int, n: int, skipped: list[str]
) -> str:
    """The docs section: setup, command, machine, table, goal and agreement."""
    options = {"epochs": args.epochs, "batches": args.batches or 0, "threads": args.threads}
    defaults = {"epochs": 3, "batches": 6, "threads": 1}
    command = COMMAND + "".join(f" --{k} {v}" for k, v in options.items() if v != defaults[k])
    full = math.ceil(n / args.batch_size)
    skipped_text = ("\n\nSkipped: " + "; ".join(skipped) + ".") if skipped else ""
    return f"""{SECTION}

Time per training epoch of the same spiking CNN on the same data in each framework, in one
process. Network: Conv2d(2→12, 5) → LIF → MaxPool2d(2) → Conv2d(12→32, 5) → LIF → MaxPool2d(2) →
Flatten → Linear(800→10) → LIF, with `v ← β·v + I`, β = exp(−dt/τ), τ = 5 ms, dt = 1 ms,
threshold 1, reset by subtraction, arctan surrogate (α = 2); initial weights copied from one
seeded model (PyTorch's default initialisation × 2, so that the output layer spikes from the
start). Loss: cross-entropy of the output spike counts summed over T = {args.time_bins} steps; Adam,
lr = {args.lr:g}; BPTT over all steps. Data: the n-digits training split ({n:,} samples), converted once
to {args.time_bins} frames of (2, 34, 34) event counts and held in memory (loading is not timed); batches
of {args.batch_size} in the same seeded order for every framework. An epoch here is the first {n_batches}
batches of a fresh permutation (the whole split is {full} batches; the last column scales the
median to it). One warm-up epoch, then the median of {args.epochs} epochs; the frameworks take turns
epoch by epoch, so load changes on the shared machine hit all of them. The CPU columns are the
process CPU time (user and system, all threads) of the same epochs: other processes on the
machine inflate it less than the wall-clock time.

How each library is used:

- neuro: `nt.Sequential` of `torch.nn` layers and `nt.Neurons(lif.Params(tau, r = 1/(1 − β),
  v_threshold = 1, reset=ResetSubtract()), dt, surrogate=ArcTan())`; stateless layers run on
  all steps at once (time folded into the batch, convolutions in channels-last order). Each
  `Neurons` followed by a `MaxPool2d` runs as one compiled kernel over the whole sequence
  (`neuro.torch.fused.run_pooled`): each step's spikes are pooled while in cache, so the hidden
  spike sequences are never stored (the position of each window's maximum is kept as one byte),
  and the membrane before the reset is saved for the backward in place of the input. Its
  large tensors, and the output of the first convolution (computed in chunks, same values), go
  into buffers reused from step to step instead of fresh pages (see the allocator note below).
  The convolutions' gradients are computed separately; the weight gradient of the second
  convolution, whose input is the pooled spikes (about 9 % non-zero), is summed over the
  non-zero inputs only. `fused=False` is the same module with
  the generic per-step `lif.update` and torch's max pooling.
- snnTorch: `snn.Leaky(beta=β, spike_grad=surrogate.atan(), reset_mechanism="subtract")` in a
  Python loop over time, as in its tutorials, with `reset_delay=False`, which subtracts the
  threshold in the step that spikes. snnTorch's default (`reset_delay=True`) subtracts it in the
  next step, after the decay: a different model, timed as a separate row.
- Norse: `SequentialState` of `Lift`-ed Conv2d/MaxPool2d/Linear and LIF box layers (no
  synaptic current). Norse 1.1.0 has the box model only as a cell, so the layer is Norse's
  `SNN(activation=lif_box_feed_forward_step)`, built as Norse builds its own `LIF`. Its
  forward-Euler step integrates `(1 − β)·x`, so each box layer is preceded by a ×1/(1 − β)
  scale. Surrogate: Norse has no arctan; the nearest of its own (L1 distance of the derivative
  over [−10, 10]) is `method="circ"`, α = {NORSE_ALPHA}. Norse's time is dominated by the backward pass of
  its per-step indexing `x[ts]` (in `Lift` and `SNN`): each step's gradient is written into a
  zero-filled tensor of the whole sequence, and these are summed (the `SelectBackward0` nodes
  take about two thirds of a training step in `torch.profiler`, `aten::fill_` alone half).
- SpikingJelly: multi-step mode (`step_mode="m"`), `layer.*` wrappers and
  `neuron.LIFNode(tau = 1/(1 − β), decay_input=False, v_reset=None, surrogate_function=ATan())`,
  `functional.reset_net` before each batch. SpikingJelly 2.0.0 has no `backend=` argument; on
  CPU it dispatches to its registered torch CPU op (`_ops/lif/cpu.py`); the CuPy, Triton and
  native CUDA kernels are GPU-only.
- Norse and SpikingJelly declare torchvision/torchaudio, which do not work with the CPU torch
  wheel; they were installed with `--no-deps` (plus nirtorch and loguru) and neither imports
  them on the paths used here.

Command: `{command}`

Machine: {machine_description(args.threads)}.

{format_table(timings, n_batches, args.batch_size, full)}

Goal, per epoch: {goal_verdict(timings)}.

Agreement on the first batch of {args.batch_size} (same weights, one Adam step on it). Two plain-torch
references differ only in where the reset passes the surrogate gradient: "everywhere" writes the
reset as `v − z·ϑ` (snnTorch, Norse, SpikingJelly with `detach_reset=False`), "when spiking"
as `where(z > 0, v − z·ϑ, v)` (neuro's `reset_membrane`, so the gradient of `z` reaches the
membrane through the reset only in steps that spiked). Forward outputs are identical either way.

{format_agreement(report)}

- neuro (fused and generic) equals the "when spiking" reference; SpikingJelly equals the
  "everywhere" reference, and so does Norse once its surrogate is replaced by the arctan (a
  check-only patch): Norse's remaining difference is its surrogate alone. SpikingJelly spikes
  on `h >= threshold`, the others on `v > threshold`; identical counts mean that no membrane
  hit the threshold exactly in this batch.
- snnTorch 1.0.0 with `reset_delay=False` differs in the forward pass: when the membrane after
  a reset is still above threshold, its next spike decision uses the membrane minus one more
  threshold (the "avoid double reset" term in `Leaky.forward`), so that spike is lost and the
  membrane stays above threshold without firing. With the default `reset_delay=True` the
  subtraction comes one step late and undecayed (`v ← β·v + I − z_(t−1)·ϑ`).

Allocator note (a separate development measurement, 2 batches × 2 timed epochs, same machine,
taken before neuro fused the neurons with the pooling): glibc serves each tensor above its mmap
threshold (at most 32 MB) with fresh pages, so every large temporary costs page faults (a full
run then spent about a third of its CPU time in the kernel). A whole-sequence tensor of the first
layer is 20 × 64 × 12 × 30 × 30 × 4 B = 55 MB (the convolution's output is one in every framework
that folds time into the batch); neuro now keeps two per step of training, the convolution's
output (freed after the fused LIF-and-pooling kernel), that kernel's saved membrane and its
input gradient, in buffers reused once released, where the separate kernel and pooling
allocated four more (membrane, spikes, the pooling's input gradient, the input gradient) and
28 MB of pooling indices: minor page faults
per training step of neuro went from about 50,000 to under 2,500. SpikingJelly allocates
several. With
`MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296` (same command with
`--only neuro "neuro (fused=False)" snnTorch SpikingJelly --batches 2 --epochs 2 --no-docs`) the
times per batch went from 1007 to 513 ms (neuro), 737 to 586 ms (neuro, fused=False), 530 to
592 ms (snnTorch, per-step tensors, unaffected) and 658 to 461 ms (SpikingJelly); system time
fell from 5.9 s to 0.7 s.{skipped_text}
"""


if __name__ == "__main__":
    sys.exit(main())

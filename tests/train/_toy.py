"""A tiny spiking classifier, a toy dataset and a training script for the trainer tests.

Imported by the tests (``from tests.train._toy import ...``) and run as a script by the
subprocess tests (kill and resume, torchrun data parallelism)::

    python tests/train/_toy.py OUT_DIR [--epochs N] [--dropout P] [--block-at E,B] [--resume]

``--block-at E,B`` writes ``OUT_DIR/blocked`` after batch ``B`` of epoch ``E`` (0-based) and
then sleeps, so that a test can kill the process at a known point.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
from torch.utils.data import TensorDataset

from neuro.train import TrainConfig, Trainer

N_IN, N_HIDDEN, N_OUT, N_STEPS = 8, 16, 3, 6


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):  # type: ignore[override]
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad


class ToySNN(torch.nn.Module):
    """Per-step Linear -> threshold -> dropout -> Linear -> threshold (or membrane readout)."""

    def __init__(self, dropout: float = 0.0, readout: str = "spikes") -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(N_IN, N_HIDDEN)
        self.drop = torch.nn.Dropout(dropout)
        self.fc2 = torch.nn.Linear(N_HIDDEN, N_OUT)
        self.readout = readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (T, B, N_IN) -> (T, B, N_OUT)
        z = self.drop(_StraightThrough.apply(self.fc1(x)))
        v = self.fc2(z)
        return v if self.readout == "membrane" else _StraightThrough.apply(v)


def toy_data(n: int, seed: int) -> TensorDataset:
    """``n`` samples ``(N_STEPS, N_IN)`` whose class sets which third of the inputs is active."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_OUT, n)
    rate = np.full((n, N_STEPS, N_IN), 0.1)
    for k in range(N_OUT):
        rate[y == k, :, k * 2 : k * 2 + 3] = 0.8
    x = (rng.random((n, N_STEPS, N_IN)) < rate).astype(np.float32)
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def toy_collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack equal-length samples time-first, without importing neuro.datasets (faster start-up)."""
    return torch.stack([x for x, _ in items], dim=1), torch.stack([y for _, y in items])


def make_model(seed: int = 0, **kwargs: object) -> ToySNN:
    torch.manual_seed(seed)
    return ToySNN(**kwargs)  # type: ignore[arg-type]


def toy_config(**overrides: object) -> TrainConfig:
    base: dict[str, object] = {
        "epochs": 3,
        "batch_size": 8,
        "lr": 0.01,
        "monitor": "val_accuracy",
        "progress": False,
        "firing_rates": False,
    }
    return TrainConfig(**{**base, **overrides})


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--schedule", default="none")
    parser.add_argument("--block-at", default=None)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    block = tuple(int(v) for v in args.block_at.split(",")) if args.block_at else None

    def hook(epoch: int, batch: int, loss: float) -> None:
        if (epoch, batch) == block:
            (out / "blocked").write_text(f"{epoch},{batch}\n")
            time.sleep(600)

    trainer = Trainer(
        make_model(dropout=args.dropout),
        toy_config(epochs=args.epochs, schedule=args.schedule),
        toy_data(24, seed=1),
        toy_data(10, seed=2),
        out_dir=out,
        collate_fn=toy_collate,
        on_batch_end=hook,
    )
    trainer.fit(resume=args.resume)
    weights = {k: v.detach().contiguous() for k, v in trainer.model.state_dict().items()}
    safetensors.torch.save_file(weights, str(out / f"weights.rank{trainer.dist.rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1:])

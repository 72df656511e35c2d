"""Train a small spiking network whose neurons run the fused CUDA kernels, as one rank of a DDP
job (started like ``torchrun`` starts it) or as a single process; for test_fused_cuda.py::

    python tests/torch/_ddp_fused.py OUT_DIR

Writes ``weights.rank<R>.safetensors`` (the trained parameters), ``start.safetensors`` (the
initial ones, rank 0) and ``calls.rank<R>.json`` (the fused kernel's sentinels and the process
group's backend).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import safetensors.torch
import torch
import torch.distributed as dist
from torch import nn

from neuro.core.neurons import lif
from neuro.core.reset import ResetSubtract
from neuro.core.surrogate import FastSigmoid
from neuro.torch import fused
from neuro.torch.layers import Sequential
from neuro.torch.neurons import Neurons
from neuro.train import Trainer
from tests.train._toy import N_HIDDEN, N_IN, N_OUT, toy_collate, toy_config, toy_data


def make_model() -> nn.Module:
    torch.manual_seed(0)
    params = lif.Params(tau=2e-2, r=10.0, v_threshold=0.3, reset=ResetSubtract())
    return Sequential(
        nn.Linear(N_IN, N_HIDDEN), Neurons(params, 1e-3, surrogate=FastSigmoid()),
        nn.Linear(N_HIDDEN, N_OUT), Neurons(params, 1e-3, surrogate=FastSigmoid()),
    )  # fmt: skip


def main(out: Path) -> None:
    torch.set_num_threads(1)
    model = make_model()
    start = {k: v.detach().clone().contiguous() for k, v in model.named_parameters()}
    trainer = Trainer(
        model, toy_config(precision="fp32"), toy_data(24, seed=1), toy_data(10, seed=2), out_dir=out, collate_fn=toy_collate
    )
    trainer.fit()
    rank = trainer.dist.rank
    net = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    weights = {k: v.detach().cpu().contiguous() for k, v in net.named_parameters()}
    safetensors.torch.save_file(weights, str(out / f"weights.rank{rank}.safetensors"))
    if rank == 0:
        safetensors.torch.save_file(start, str(out / "start.safetensors"))
    backend = dist.get_backend() if dist.is_initialized() else None
    (out / f"calls.rank{rank}.json").write_text(json.dumps({**fused.CALLS, "backend": backend}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

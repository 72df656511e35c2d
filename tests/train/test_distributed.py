"""Data parallelism: two gloo ranks on the CPU reach the weights of one process over the same global batches.

The ranks are started the way ``torchrun`` starts them (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT`` in the environment), without the launcher process, which would
only add a third torch import to the test's start-up time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import safetensors.torch
import torch

from neuro.train import Trainer
from tests.conftest import ROOT
from tests.train._toy import make_model, toy_collate, toy_config, toy_data

TOY = ROOT / "tests" / "train" / "_toy.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(out, world_size: int) -> list[subprocess.CompletedProcess]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "WORLD_SIZE": str(world_size),
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",  # gloo on the CPU even on a GPU machine
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(TOY), str(out)],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for r in range(world_size)
    ]
    outputs = []
    try:
        for p in procs:
            stdout, _ = p.communicate(timeout=300)
            outputs.append(subprocess.CompletedProcess(p.args, p.returncode, stdout.decode()))
    finally:
        for p in procs:
            p.kill()
    return outputs


def test_two_gloo_ranks_match_a_single_process(tmp_path):
    for done in _launch(tmp_path / "ddp", 2):
        assert done.returncode == 0, done.stdout
    rank0 = safetensors.torch.load_file(str(tmp_path / "ddp" / "weights.rank0.safetensors"))
    rank1 = safetensors.torch.load_file(str(tmp_path / "ddp" / "weights.rank1.safetensors"))
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), k  # both ranks applied the same averaged gradient

    single = Trainer(
        make_model(), toy_config(), toy_data(24, seed=1), toy_data(10, seed=2), out_dir=tmp_path / "one",
        collate_fn=toy_collate,
    )  # fmt: skip
    result = single.fit()
    start = make_model().state_dict()
    for k, v in single.model.state_dict().items():
        assert not torch.equal(v, start[k]), k  # training moved every tensor, so agreement means something
        torch.testing.assert_close(rank0[k], v, rtol=1e-5, atol=1e-6)

    rows = [json.loads(x) for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for ddp_row, one_row in zip(rows, result.history, strict=True):  # metrics were reduced over ranks
        assert ddp_row["train_accuracy"] == one_row["train_accuracy"]
        assert ddp_row["val_accuracy"] == one_row["val_accuracy"]
        assert ddp_row["train_loss"] == pytest.approx(one_row["train_loss"], rel=1e-5)
    names = {p.name for p in (tmp_path / "ddp" / "checkpoints" / "last").iterdir()}
    assert len(names) == 4  # one writer: no second generation from rank 1

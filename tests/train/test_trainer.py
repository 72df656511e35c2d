"""Trainer: logs, checkpoints, schedules, clipping, early stopping, exact resume, kill and resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import neuro.train.trainer as trainer_mod
from neuro.core.errors import ParameterError
from neuro.train import CheckpointError, Trainer, epoch_order, global_batches, load_checkpoint, shard
from neuro.train.checkpoint import MANIFEST
from tests.conftest import ROOT
from tests.train._toy import make_model, toy_config, toy_data

TOY = ROOT / "tests" / "train" / "_toy.py"


@pytest.fixture
def one_thread():
    """Same thread count as the subprocess runs, so float reductions agree bitwise."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _trainer(out_dir, model=None, **overrides):
    return Trainer(
        model if model is not None else make_model(dropout=0.3),
        toy_config(**overrides),
        toy_data(24, seed=1),
        toy_data(10, seed=2),
        out_dir=out_dir,
    )


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_epoch_order_depends_only_on_seed_and_epoch():
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 (global state must not matter)
    a = epoch_order(50, seed=7, epoch=3)
    torch.manual_seed(2)
    np.random.seed(2)  # noqa: NPY002
    b = epoch_order(50, seed=7, epoch=3)
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(50))
    assert not np.array_equal(a, epoch_order(50, seed=7, epoch=4))
    assert not np.array_equal(a, epoch_order(50, seed=8, epoch=3))


def test_shards_partition_every_global_batch():
    for batch in global_batches(23, 8, seed=0, epoch=1):
        parts = [shard(batch, r, 3) for r in range(3)]
        assert sorted(np.concatenate(parts).tolist()) == sorted(batch.tolist())
    assert [len(b) for b in global_batches(23, 8, seed=0, epoch=1, drop_last=True)] == [8, 8]


def test_fit_writes_log_and_checkpoints(tmp_path):
    result = _trainer(tmp_path).fit()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert _without_seconds(rows) == _without_seconds(result.history)
    keys = {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "firing_rates", "spikes_per_sample"}
    assert keys <= rows[0].keys()
    assert all(0.0 <= r["val_accuracy"] <= 1.0 and r["seconds"] >= 0 for r in rows)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    last = load_checkpoint(tmp_path / "checkpoints" / "last")
    best = load_checkpoint(tmp_path / "checkpoints" / "best")
    assert last.epoch == 3
    assert best.epoch == result.best_epoch
    assert best.best_metric == result.best_metric == max(r["val_accuracy"] for r in rows)
    assert last.config == toy_config().model_dump(mode="json")


def test_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path, one_thread):
    full = _trainer(tmp_path / "full", schedule="cosine")
    full_result = full.fit()
    part = _trainer(tmp_path / "part", schedule="cosine")
    assert part.fit(stop_after=1).epochs_completed == 1
    resumed = _trainer(tmp_path / "part", model=make_model(seed=9, dropout=0.3), schedule="cosine")
    result = resumed.fit(resume=True)
    _assert_same_weights(full.model.state_dict(), resumed.model.state_dict())
    assert _without_seconds(result.history) == _without_seconds(full_result.history)
    lines = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]
    # the comparison is sensitive: another seed, or a resume that forgets the RNG state, differs
    other = _trainer(tmp_path / "other", schedule="cosine", seed=1)
    other.fit()
    assert not torch.equal(other.model.fc1.weight, full.model.fc1.weight)


def test_resume_without_rng_restore_would_differ(tmp_path, monkeypatch):
    full = _trainer(tmp_path / "full")
    full.fit()
    _trainer(tmp_path / "part").fit(stop_after=1)
    monkeypatch.setattr(trainer_mod, "restore_rng_state", lambda state: torch.manual_seed(123))
    resumed = _trainer(tmp_path / "part")
    resumed.fit(resume=True)
    assert not torch.equal(full.model.fc1.weight, resumed.model.fc1.weight)  # dropout masks changed


def test_resume_without_checkpoint_starts_fresh_and_finished_run_is_a_no_op(tmp_path):
    result = _trainer(tmp_path, epochs=1).fit(resume=True)
    assert result.epochs_completed == 1
    again = _trainer(tmp_path, epochs=1)
    assert again.fit(resume=True).epochs_completed == 1
    _assert_same_weights(again.model.state_dict(), load_checkpoint(tmp_path / "checkpoints" / "last").model_state)


def test_resume_refuses_a_changed_config_or_a_corrupt_checkpoint(tmp_path):
    _trainer(tmp_path, epochs=1).fit()
    with pytest.raises(CheckpointError, match="lr"):
        _trainer(tmp_path, epochs=2, lr=0.5).fit(resume=True)
    _trainer(tmp_path, epochs=2, progress=False).fit(resume=True)  # epochs may grow
    folder = tmp_path / "checkpoints" / "last"
    model_file = folder / json.loads((folder / MANIFEST).read_text())["files"]["model"]["name"]
    model_file.write_bytes(model_file.read_bytes()[:-10])
    with pytest.raises(CheckpointError) as info:
        _trainer(tmp_path, epochs=3).fit(resume=True)
    assert info.value.path == str(model_file)


def test_early_stopping(tmp_path):
    trainer = _trainer(tmp_path, epochs=10, monitor="train_loss", patience=2, min_delta=100.0)
    result = trainer.fit()
    assert result.stopped_early
    assert result.epochs_completed == 3  # epoch 1 is the best, 2 and 3 do not improve by 100
    assert result.best_epoch == 1
    assert load_checkpoint(tmp_path / "checkpoints" / "best").epoch == 1
    assert _trainer(tmp_path, epochs=10, monitor="train_loss", patience=2, min_delta=100.0).fit(resume=True).stopped_early


def test_schedules_set_the_logged_learning_rate(tmp_path):
    cos = _trainer(tmp_path / "c", epochs=4, lr=0.1, schedule="cosine", min_lr=0.01).fit()
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert [r["lr"] for r in cos.history] == pytest.approx(expected)
    step = _trainer(tmp_path / "s", epochs=4, lr=0.1, schedule="step", step_size=2, gamma=0.5).fit()
    assert [r["lr"] for r in step.history] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_gradient_clipping_bounds_each_step(tmp_path):
    model = make_model()
    before = [p.detach().clone() for p in model.parameters()]
    trainer = _trainer(tmp_path, model=model, epochs=1, optimizer="sgd", momentum=0.0, lr=1.0, grad_clip=1e-3)
    trainer.fit()
    moved = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True)))
    assert 0 < float(moved) <= 3 * 1e-3 * (1 + 1e-5)  # 3 steps of at most lr * clip each


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimisers_and_membrane_readout(tmp_path, optimizer):
    model = make_model(readout="membrane")
    cfg = {"loss": "membrane_ce", "decode": "max_membrane", "optimizer": optimizer, "epochs": 2, "weight_decay": 1e-4}
    result = _trainer(tmp_path, model=model, **cfg).fit()
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_bf16_autocast_on_cpu_runs(tmp_path):
    result = _trainer(tmp_path, epochs=1, precision="bf16").fit()
    assert math.isfinite(result.history[0]["train_loss"])


def test_bad_setups_are_named(tmp_path):
    with pytest.raises(ParameterError) as info:
        Trainer(make_model(), toy_config(), toy_data(4, seed=0), out_dir=tmp_path)
    assert info.value.field == "monitor"
    with pytest.raises(ParameterError) as info:
        _trainer(tmp_path, loss="hinge")
    assert info.value.field == "loss"


def test_firing_rates_and_progress_with_a_neuro_torch_model(tmp_path, capsys):
    from neuro.core.neurons import lif
    from neuro.torch.layers import Sequential
    from neuro.torch.neurons import Neurons

    torch.manual_seed(0)
    net = Sequential(
        torch.nn.Linear(8, 12), Neurons(lif.Params(tau=0.005, r=5.0), dt=1e-3),
        torch.nn.Linear(12, 3), Neurons(lif.Params(tau=0.005, r=5.0), dt=1e-3),
    )  # fmt: skip
    result = _trainer(tmp_path, model=net, epochs=1, firing_rates=True, progress=True).fit()
    rates = result.history[0]["firing_rates"]
    assert set(rates) == {"layers.1", "layers.3"}
    assert all(0.0 <= r <= 1.0 for r in rates.values())
    assert "epoch" in capsys.readouterr().out


def test_firing_rates_skipped_with_a_message_without_monitor(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "neuro.torch.monitor", None)
    with caplog.at_level("WARNING", logger="neuro.train"):
        result = _trainer(tmp_path, epochs=1, firing_rates=True).fit()
    assert result.history[0]["firing_rates"] is None
    assert "firing rates skipped" in caplog.text


def test_sigkill_mid_epoch_then_resume_loses_nothing(tmp_path, one_thread):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(TOY), str(out), "--epochs", "4", "--dropout", "0.3", "--schedule", "cosine"]
    proc = subprocess.Popen([*cmd, "--block-at", "2,1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a safety net for a hung child, not a timing assertion
        while not (out / "blocked").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (out / "blocked").exists(), proc.stdout.read().decode() if proc.poll() is not None else "timeout"
        os.kill(proc.pid, signal.SIGKILL)  # mid-epoch 3: its batch 1 has stepped, nothing of it saved
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert load_checkpoint(out / "checkpoints" / "last").epoch == 2
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2

    resumed = Trainer(
        make_model(seed=5, dropout=0.3), toy_config(epochs=4, schedule="cosine"),
        toy_data(24, seed=1), toy_data(10, seed=2), out_dir=out,
    )  # fmt: skip
    result = resumed.fit(resume=True)
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
    reference = _trainer(tmp_path / "reference", epochs=4, schedule="cosine")
    reference.fit()
    _assert_same_weights(reference.model.state_dict(), resumed.model.state_dict())

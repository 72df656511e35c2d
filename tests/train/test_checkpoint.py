"""Checkpoints: exact round trip, RNG restore, crash-safety of the write order, corruption detection."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
import torch

import neuro.train.checkpoint as ckpt_mod
from neuro.core.errors import DataFormatError, NeuroError
from neuro.train.checkpoint import MANIFEST, CheckpointError, load_checkpoint, save_checkpoint
from neuro.train.config import EarlyStopping


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    return model, opt, sched


def _step(model, opt, x):
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_round_trip_continues_bitwise(tmp_path, rng):
    x = torch.from_numpy(rng.normal(size=(5, 4)).astype(np.float32))
    model, opt, sched = _setup()
    for _ in range(3):
        _step(model, opt, x)
    sched.step()
    early = EarlyStopping("max", patience=3)
    early.update(0.5, 1)
    ir = {"nodes": {"fc": {"type": "Affine"}}, "edges": [["input", "fc"]]}
    save_checkpoint(
        tmp_path / "c", model, opt, sched, epoch=4, best_metric=0.5, config={"lr": 0.01}, ir=ir,
        early_stopping=early.state_dict(), extra={"history": [{"epoch": 1}]},
    )  # fmt: skip
    model2, opt2, sched2 = _setup(seed=1)
    ckpt = load_checkpoint(tmp_path / "c", model2, opt2, sched2)
    assert (ckpt.epoch, ckpt.best_metric, ckpt.config, ckpt.ir) == (4, 0.5, {"lr": 0.01}, ir)
    assert ckpt.extra == {"history": [{"epoch": 1}]}
    assert ckpt.early_stopping == early.state_dict()
    assert opt2.param_groups[0]["betas"] == (0.8, 0.99)
    assert sched2.state_dict() == sched.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, model2.state_dict()[k])
    for _ in range(2):  # the optimiser state (Adam moments, step) came back exactly
        _step(model, opt, x)
        _step(model2, opt2, x)
    for k, v in model.state_dict().items():
        assert torch.equal(v, model2.state_dict()[k]), k


def test_rng_states_restored(tmp_path):
    torch.manual_seed(3)
    np.random.seed(3)  # noqa: NPY002 (the global generator is what checkpoints capture)
    random.seed(3)
    save_checkpoint(tmp_path / "c", torch.nn.Linear(2, 2))
    after = (torch.rand(3), np.random.random(3), random.random())  # noqa: NPY002
    torch.manual_seed(99)
    np.random.seed(99)  # noqa: NPY002
    random.seed(99)
    load_checkpoint(tmp_path / "c", restore_rng=True)
    again = (torch.rand(3), np.random.random(3), random.random())  # noqa: NPY002
    assert torch.equal(after[0], again[0])
    np.testing.assert_array_equal(after[1], again[1])
    assert after[2] == again[2]
    with pytest.raises(CheckpointError, match="rank 1"):
        load_checkpoint(tmp_path / "c", restore_rng=True, rank=1)


def test_tied_weights_and_no_unpickling(tmp_path, monkeypatch):
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    model[1].weight = model[0].weight  # shared storage: safetensors refuses it unless copied
    save_checkpoint(tmp_path / "c", model)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    ckpt = load_checkpoint(tmp_path / "c")
    assert torch.equal(ckpt.model_state["0.weight"], ckpt.model_state["1.weight"])


def test_old_generation_files_are_removed(tmp_path):
    model = torch.nn.Linear(2, 2)
    for epoch in range(3):
        save_checkpoint(tmp_path / "c", model, epoch=epoch)
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert len(files) == 4
    assert MANIFEST in files
    assert load_checkpoint(tmp_path / "c").epoch == 2


@pytest.mark.parametrize("fail_on", ["state", "meta", "manifest"])
def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch, fail_on):
    model = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path / "c", model, epoch=1)
    old = _weights(model)
    with torch.no_grad():
        model.weight.add_(1.0)
    real_atomic_path, real_write_text = ckpt_mod.atomic_path, ckpt_mod.atomic_write_text

    class Killed(Exception):
        pass

    def atomic_path(path):
        if fail_on == "state" and path.name.startswith("state-"):
            raise Killed
        return real_atomic_path(path)

    def atomic_write_text(path, text):
        if path.name.startswith(fail_on):
            raise Killed
        real_write_text(path, text)

    monkeypatch.setattr(ckpt_mod, "atomic_path", atomic_path)
    monkeypatch.setattr(ckpt_mod, "atomic_write_text", atomic_write_text)
    with pytest.raises(Killed):
        save_checkpoint(tmp_path / "c", model, epoch=2)
    fresh = torch.nn.Linear(2, 2)
    assert load_checkpoint(tmp_path / "c", fresh).epoch == 1
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in old.items())
    monkeypatch.undo()
    save_checkpoint(tmp_path / "c", model, epoch=2)  # the next save cleans the orphans up
    assert load_checkpoint(tmp_path / "c").epoch == 2
    assert len(list((tmp_path / "c").iterdir())) == 4


def _file(folder, role):
    return folder / json.loads((folder / MANIFEST).read_text())["files"][role]["name"]


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    ["truncate-model", "flip-model", "flip-state", "flip-meta", "delete-state", "flip-manifest", "delete-manifest"],
)
def test_damage_is_a_typed_error_naming_the_file(tmp_path, rng, damage):
    model, opt, sched = _setup()
    _step(model, opt, torch.ones(2, 4))
    folder = save_checkpoint(tmp_path / "c", model, opt, sched, epoch=1)
    action, role = damage.split("-")
    path = folder / MANIFEST if role == "manifest" else _file(folder, role)
    size = path.stat().st_size
    if action == "truncate":
        path.write_bytes(path.read_bytes()[: size // 2])
    elif action == "delete":
        path.unlink()
    else:
        _flip(path, int(rng.integers(0, size)))
    target, _, _ = _setup(seed=5)
    before = _weights(target)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder, target)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, NeuroError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DataFormatError)
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in before.items())  # nothing loaded


def test_every_single_byte_flip_of_the_manifest_is_caught(tmp_path):
    folder = save_checkpoint(tmp_path / "c", torch.nn.Linear(1, 1))
    path = folder / MANIFEST
    original = path.read_bytes()
    for offset in range(len(original)):
        _flip(path, offset)
        with pytest.raises(CheckpointError):
            load_checkpoint(folder)
        path.write_bytes(original)
    load_checkpoint(folder)


def test_unserialisable_input_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not a tensor"):
        save_checkpoint(tmp_path / "a", {"w": [1.0, 2.0]})  # type: ignore[dict-item]
    with pytest.raises(CheckpointError, match="serialise"):
        save_checkpoint(tmp_path / "b", torch.nn.Linear(1, 1), config={"bad": object()})
    assert not (tmp_path / "b" / MANIFEST).exists()


def test_missing_parts_requested_are_errors(tmp_path):
    folder = save_checkpoint(tmp_path / "c", torch.nn.Linear(2, 2))
    _, opt, sched = _setup()
    with pytest.raises(CheckpointError, match="optimizer"):
        load_checkpoint(folder, optimizer=opt)
    with pytest.raises(CheckpointError, match="scheduler"):
        load_checkpoint(folder, scheduler=sched)

"""Checkpoints as safetensors plus JSON, written so that a kill at any moment loses nothing.

A checkpoint is a folder::

    last/
      model-<gen>.safetensors   model.state_dict()
      state-<gen>.safetensors   optimizer tensors and RNG tensors
      meta-<gen>.json           epoch, best metric, config, IR dict, optimizer scalars and
                                param groups, scheduler, early stopping, numpy/Python RNG
      manifest.json             names, sizes and SHA-256 of the three files, written last

Every save writes new files under a fresh generation tag ``<gen>`` (each through
:func:`~neuro.core.io.atomic_path`), then replaces ``manifest.json`` atomically, and only then
deletes the files of older generations. Whatever instant the process dies, ``manifest.json``
names a complete set of files: the previous checkpoint or the new one.

Loading reads the manifest, checks each file's size and SHA-256 and only then parses it with
``safetensors.torch.load`` and ``json``: nothing is ever unpickled. Any missing, truncated or
altered file raises :class:`CheckpointError` naming that file.

Example:
    >>> import tempfile, torch
    >>> model = torch.nn.Linear(2, 1)
    >>> folder = save_checkpoint(tempfile.mkdtemp() + "/last", model, epoch=3, config={"lr": 0.1})
    >>> ckpt = load_checkpoint(folder, model)
    >>> ckpt.epoch, ckpt.config
    (3, {'lr': 0.1})
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from neuro.core.errors import DataFormatError
from neuro.core.io import atomic_path, atomic_write_text
from neuro.train.rng import RngState, capture_rng_state, restore_rng_state

__all__ = ["FORMAT", "MANIFEST", "Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint"]

FORMAT = "neuro.checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
_ROLES = {"model": "model-{}.safetensors", "state": "state-{}.safetensors", "meta": "meta-{}.json"}
_OURS = re.compile(r"^(model-\w+\.safetensors|state-\w+\.safetensors|meta-\w+\.json|\..+\.tmp)$")


class CheckpointError(DataFormatError):
    """A checkpoint file is missing, truncated, altered or does not describe a checkpoint.

    Attributes:
        path: the offending file.
    """

    def __init__(self, message: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message, str(path))


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` read.

    Attributes:
        path: the checkpoint folder.
        epoch: the number of completed epochs recorded.
        best_metric: best monitored value so far, or None.
        config: the training config (JSON), or None.
        ir: the network IR dict (``graph.to_dict()``), or None.
        model_state: tensors for ``model.load_state_dict``.
        optimizer_state: a dict for ``optimizer.load_state_dict``, or None.
        scheduler_state: a dict for ``scheduler.load_state_dict``, or None.
        early_stopping: early-stopping state, or None.
        rng_states: one :class:`RngState` per rank that saved it.
        extra: anything else the caller stored (JSON).
    """

    path: Path
    epoch: int
    best_metric: float | None
    config: dict[str, Any] | None
    ir: dict[str, Any] | None
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    early_stopping: dict[str, Any] | None
    rng_states: list[RngState] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _cpu_tensors(tensors: Mapping[str, Any], what: str) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors; tensors sharing storage are cloned (safetensors refuses them)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{what} entry {name!r} is a {type(value).__name__}, not a tensor")
        t = value.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def _split_optimizer(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    per_param: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        record: dict[str, Any] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                name = f"optim.{index}.{key}"
                tensors[name] = value
                record[key] = {"tensor": name}
            else:
                record[key] = {"value": value}
        per_param[str(index)] = record
    return tensors, {"state": per_param, "param_groups": [dict(g) for g in state["param_groups"]]}


def _join_optimizer(record: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for index, entries in record["state"].items():
        state[int(index)] = {key: tensors[v["tensor"]] if "tensor" in v else v["value"] for key, v in entries.items()}
    return {"state": state, "param_groups": [dict(g) for g in record["param_groups"]]}


def _like_current(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """JSON turned tuples (Adam's ``betas``) into lists; give them back their optimizer's type."""
    for group, current in zip(saved["param_groups"], optimizer.param_groups, strict=False):
        for key, value in group.items():
            if isinstance(current.get(key), tuple) and isinstance(value, list):
                group[key] = tuple(value)
    return saved


def save_checkpoint(
    path: str | os.PathLike[str],
    model: torch.nn.Module | Mapping[str, torch.Tensor],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    *,
    epoch: int = 0,
    best_metric: float | None = None,
    config: Mapping[str, Any] | None = None,
    ir: Mapping[str, Any] | None = None,
    early_stopping: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    rng_states: Sequence[RngState] | None = None,
) -> Path:
    """Write a checkpoint folder atomically (see the module docstring).

    Args:
        path: the checkpoint folder (created if needed).
        model: a module (its ``state_dict()``) or a state dict of tensors.
        optimizer: its tensors go to safetensors, scalars and param groups to JSON.
        scheduler: anything with a JSON-serialisable ``state_dict()``.
        epoch: completed epochs.
        best_metric: best monitored value so far.
        config: training config, JSON-serialisable.
        ir: ``graph.to_dict()`` of the network, JSON-serialisable.
        early_stopping: early-stopping state, JSON-serialisable.
        extra: any other JSON-serialisable data (for example the metrics history).
        rng_states: generator states per rank; default: this process's current state.

    Returns:
        The checkpoint folder.

    Raises:
        CheckpointError: something is not serialisable (the message names it).
    """
    folder = Path(path)
    states = list(rng_states) if rng_states is not None else [capture_rng_state()]
    model_state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    try:
        model_tensors = _cpu_tensors(model_state, "model state")
        opt_tensors, opt_record = _split_optimizer(optimizer.state_dict()) if optimizer else ({}, None)
        state_tensors = dict(opt_tensors)
        for rank, rng in enumerate(states):
            state_tensors.update(rng.tensors(f"rng.{rank}"))
        state_tensors = _cpu_tensors(state_tensors, "optimizer/RNG state")
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "epoch": int(epoch),
            "best_metric": None if best_metric is None else float(best_metric),
            "config": dict(config) if config is not None else None,
            "ir": dict(ir) if ir is not None else None,
            "optimizer": opt_record,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "early_stopping": dict(early_stopping) if early_stopping is not None else None,
            "rng": [rng.to_json(f"rng.{rank}") for rank, rng in enumerate(states)],
            "extra": dict(extra) if extra is not None else {},
        }
        meta_text = json.dumps(meta, indent=1, allow_nan=True) + "\n"
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot serialise checkpoint: {exc}", folder) from exc

    generation = secrets.token_hex(6)
    names = {role: pattern.format(generation) for role, pattern in _ROLES.items()}
    folder.mkdir(parents=True, exist_ok=True)
    for role, tensors in (("model", model_tensors), ("state", state_tensors)):
        with atomic_path(folder / names[role]) as tmp:
            safetensors.torch.save_file(tensors, str(tmp), metadata={"format": FORMAT, "role": role})
    atomic_write_text(folder / names["meta"], meta_text)

    files = {
        role: {"name": name, "size": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
        for role, name in names.items()
    }
    body = {"format": FORMAT, "version": VERSION, "generation": generation, "files": files}
    atomic_write_text(folder / MANIFEST, _canonical({**body, "checksum": _sha256_text(_canonical(body))}) + "\n")
    _fsync_dir(folder)
    for stale in folder.iterdir():
        if stale.name not in names.values() and _OURS.match(stale.name):
            stale.unlink(missing_ok=True)
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckpointError("no checkpoint manifest (missing file)", path)
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
        body = {k: v for k, v in manifest.items() if k != "checksum"}
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format is {manifest.get('format')!r}, not {FORMAT!r}")
        intact = raw == (_canonical(manifest) + "\n").encode() and manifest["checksum"] == _sha256_text(_canonical(body))
        files = {role: manifest["files"][role] for role in _ROLES}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"unreadable checkpoint manifest: {exc}", path) from exc
    if not intact:
        raise CheckpointError("checkpoint manifest altered (checksum mismatch)", path)
    return files


def _read_verified(folder: Path, entry: Mapping[str, Any]) -> bytes:
    path = folder / str(entry["name"])
    if "/" in str(entry["name"]) or not path.is_file():
        raise CheckpointError("checkpoint file named in the manifest is missing", path)
    data = path.read_bytes()
    if len(data) != entry["size"]:
        raise CheckpointError(f"checkpoint file truncated or extended: {len(data)} bytes, manifest says {entry['size']}", path)
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise CheckpointError("checkpoint file altered: SHA-256 differs from the manifest", path)
    return data


def load_checkpoint(
    path: str | os.PathLike[str],
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    *,
    restore_rng: bool = False,
    rank: int = 0,
    strict: bool = True,
) -> Checkpoint:
    """Verify and read a checkpoint folder; optionally load it into live objects.

    Args:
        path: the checkpoint folder written by :func:`save_checkpoint`.
        model: if given, receives the weights (``load_state_dict(strict=strict)``).
        optimizer: if given, receives its state.
        scheduler: if given, receives its state.
        restore_rng: set this process's generators to the state saved by ``rank``.
        rank: which rank's RNG state to restore.
        strict: passed to ``model.load_state_dict``.

    Returns:
        The :class:`Checkpoint` read.

    Raises:
        CheckpointError: a file is missing, truncated, altered or malformed; the checkpoint has
            no optimizer, scheduler or RNG state for ``rank`` while one was asked for.
    """
    folder = Path(path)
    files = _read_manifest(folder)
    blobs = {role: _read_verified(folder, files[role]) for role in _ROLES}
    meta_path = folder / str(files["meta"]["name"])
    try:
        model_state = safetensors.torch.load(blobs["model"])
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"not a safetensors file: {exc}", folder / str(files["model"]["name"])) from exc
    try:
        tensors = safetensors.torch.load(blobs["state"])
    except Exception as exc:
        raise CheckpointError(f"not a safetensors file: {exc}", folder / str(files["state"]["name"])) from exc
    try:
        meta = json.loads(blobs["meta"].decode("utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(f"format/version {meta.get('format')!r}/{meta.get('version')!r} not supported")
        opt = _join_optimizer(meta["optimizer"], tensors) if meta["optimizer"] is not None else None
        rngs = [RngState.from_json(r, tensors) for r in meta["rng"]]
        ckpt = Checkpoint(
            folder,
            int(meta["epoch"]),
            meta["best_metric"],
            meta["config"],
            meta["ir"],
            model_state,
            opt,
            meta["scheduler"],
            meta["early_stopping"],
            rngs,
            dict(meta["extra"]),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"malformed checkpoint metadata: {exc!r}", meta_path) from exc
    _apply(ckpt, meta_path, model, optimizer, scheduler, restore_rng=restore_rng, rank=rank, strict=strict)
    return ckpt


def _apply(
    ckpt: Checkpoint,
    meta_path: Path,
    model: torch.nn.Module | None,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any | None,
    *,
    restore_rng: bool,
    rank: int,
    strict: bool,
) -> None:
    if model is not None:
        model.load_state_dict(ckpt.model_state, strict=strict)
    if optimizer is not None:
        if ckpt.optimizer_state is None:
            raise CheckpointError("checkpoint holds no optimizer state (field 'optimizer')", meta_path)
        optimizer.load_state_dict(_like_current(ckpt.optimizer_state, optimizer))
    if scheduler is not None:
        if ckpt.scheduler_state is None:
            raise CheckpointError("checkpoint holds no scheduler state (field 'scheduler')", meta_path)
        scheduler.load_state_dict(ckpt.scheduler_state)
    if restore_rng:
        if not 0 <= rank < len(ckpt.rng_states):
            raise CheckpointError(f"checkpoint holds RNG states for {len(ckpt.rng_states)} ranks, not rank {rank}", meta_path)
        restore_rng_state(ckpt.rng_states[rank])

"""Capture and restore the random number generators a training step can touch.

A :class:`RngState` holds the torch CPU generator (a uint8 tensor), the CUDA generators when
CUDA is initialised, numpy's global bit-generator state and Python's ``random`` state. The
tensors go to safetensors, the rest to JSON (:meth:`RngState.to_json` / :meth:`RngState.from_json`);
nothing is pickled.

The data order does not depend on these states: it comes from a generator seeded by
``(seed, epoch)`` (see :func:`neuro.train.data.epoch_order`).

Example:
    >>> import random, torch
    >>> state = capture_rng_state()
    >>> a = (torch.rand(1).item(), random.random())
    >>> restore_rng_state(state)
    >>> (torch.rand(1).item(), random.random()) == a
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["RngState", "capture_rng_state", "restore_rng_state", "seed_everything"]


@dataclass(frozen=True)
class RngState:
    """Generator states of one process.

    Attributes:
        torch_cpu: ``torch.get_rng_state()``, uint8.
        torch_cuda: one uint8 state per CUDA device (empty without CUDA).
        numpy: numpy's global bit-generator state, JSON-ready.
        python: ``random.getstate()`` as JSON-ready lists.
    """

    torch_cpu: torch.Tensor
    torch_cuda: tuple[torch.Tensor, ...] = ()
    numpy: dict[str, Any] = field(default_factory=dict)
    python: list[Any] = field(default_factory=list)

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensor parts under ``prefix`` (``{prefix}.torch_cpu``, ``{prefix}.cuda.{i}``).

        Args:
            prefix: key prefix, for example ``"rng.0"``.

        Returns:
            Name to CPU tensor.
        """
        out = {f"{prefix}.torch_cpu": self.torch_cpu}
        out.update({f"{prefix}.cuda.{i}": t for i, t in enumerate(self.torch_cuda)})
        return out

    def to_json(self, prefix: str) -> dict[str, Any]:
        """The JSON part, with the tensor names written by :meth:`tensors`.

        Args:
            prefix: the same prefix as given to :meth:`tensors`.

        Returns:
            A JSON-ready dict.
        """
        return {
            "torch_cpu": f"{prefix}.torch_cpu",
            "torch_cuda": [f"{prefix}.cuda.{i}" for i in range(len(self.torch_cuda))],
            "numpy": self.numpy,
            "python": self.python,
        }

    @classmethod
    def from_json(cls, record: dict[str, Any], tensors: dict[str, torch.Tensor]) -> RngState:
        """Rebuild from :meth:`to_json` output and the loaded tensors.

        Args:
            record: the JSON part.
            tensors: every tensor of the checkpoint's state file.

        Returns:
            The state.

        Raises:
            KeyError: a tensor named in ``record`` is missing.
            TypeError, ValueError: ``record`` is malformed.
        """
        cuda = tuple(tensors[name] for name in record["torch_cuda"])
        numpy_state = dict(record["numpy"])
        if not isinstance(numpy_state.get("state"), dict) or not isinstance(record["python"], list):
            raise ValueError("numpy or python RNG state is malformed")
        return cls(tensors[record["torch_cpu"]], cuda, numpy_state, list(record["python"]))


def capture_rng_state() -> RngState:
    """Snapshot this process's generators.

    Returns:
        The current :class:`RngState`.
    """
    cuda: tuple[torch.Tensor, ...] = ()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = tuple(t.cpu() for t in torch.cuda.get_rng_state_all())
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002 (the global generator is what we save)
    numpy_json = {
        "bit_generator": np_state["bit_generator"],
        "state": {"key": np_state["state"]["key"].tolist(), "pos": int(np_state["state"]["pos"])},
        "has_gauss": int(np_state["has_gauss"]),
        "gauss": float(np_state["gauss"]),
    }
    version, internal, gauss_next = random.getstate()
    return RngState(torch.get_rng_state(), cuda, numpy_json, [version, list(internal), gauss_next])


def restore_rng_state(state: RngState) -> None:
    """Set this process's generators to ``state``.

    Args:
        state: from :func:`capture_rng_state` or a checkpoint.

    Raises:
        ValueError: a state does not fit its generator.
    """
    torch.set_rng_state(state.torch_cpu.to(torch.uint8))
    if state.torch_cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([t.to(torch.uint8) for t in state.torch_cuda])
    if state.numpy:
        np_state = dict(state.numpy)
        np_state["state"] = {
            "key": np.asarray(np_state["state"]["key"], dtype=np.uint32),
            "pos": int(np_state["state"]["pos"]),
        }
        np.random.set_state(np_state)  # noqa: NPY002
    if state.python:
        version, internal, gauss_next = state.python
        random.setstate((int(version), tuple(int(v) for v in internal), gauss_next))


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global generator and Python's ``random``.

    Args:
        seed: a non-negative integer.
    """
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)

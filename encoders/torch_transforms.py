"""Thin torch transforms over the numpy encoders, for Dataset pipelines.

Each transform takes a tensor, runs the numpy encoder on a CPU copy and returns a tensor on the
input's device, time first ``(T, ...)``. Random encoders hold a numpy generator created lazily
in the process that uses it, seeded from ``seed`` (or, when ``seed`` is None, from
``torch.initial_seed()``) together with the DataLoader worker id: two workers never share a
stream, and a fixed ``seed`` with a fixed worker count reproduces a run.

Example:
    >>> import torch
    >>> encode = RateEncode(50, seed=0)
    >>> encode(torch.tensor([0.0, 1.0])).sum(dim=0).tolist()
    [0.0, 50.0]
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import torch

from neuro.encoders.delta import encode_delta
from neuro.encoders.latency import encode_latency
from neuro.encoders.population import encode_population
from neuro.encoders.rate import encode_rate


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).numpy()


class _Seeded:
    """Holds a per-process numpy generator (see the module docstring)."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._pid = -1

    def rng(self) -> np.random.Generator:
        if self._rng is None or self._pid != os.getpid():
            info = torch.utils.data.get_worker_info()
            worker = 0 if info is None else info.id
            base = torch.initial_seed() if self.seed is None else self.seed
            self._rng = np.random.default_rng([base, worker])
            self._pid = os.getpid()
        return self._rng

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_rng": None, "_pid": -1}


class RateEncode(_Seeded):
    """Rate coding (:func:`~neuro.encoders.rate.encode_rate`): ``(...)`` → ``(T, ...)``."""

    def __init__(
        self,
        n_steps: int,
        *,
        mode: Literal["bernoulli", "poisson"] = "bernoulli",
        gain: float | None = None,
        offset: float = 0.0,
        max_rate: float | None = None,
        dt: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.kwargs = {"mode": mode, "gain": gain, "offset": offset, "max_rate": max_rate, "dt": dt}
        self.n_steps = n_steps

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = encode_rate(_numpy(x), self.n_steps, rng=self.rng(), **self.kwargs)
        return torch.as_tensor(z, dtype=torch.float32, device=x.device)


class LatencyEncode:
    """Latency coding (:func:`~neuro.encoders.latency.encode_latency`): ``(...)`` → ``(T, ...)``."""

    def __init__(
        self,
        n_steps: int,
        *,
        code: Literal["linear", "log"] = "log",
        tau: float = 1.0,
        threshold: float = 0.01,
        normalize: bool = False,
    ) -> None:
        self.n_steps = n_steps
        self.kwargs = {"code": code, "tau": tau, "threshold": threshold, "normalize": normalize}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = encode_latency(_numpy(x), self.n_steps, **self.kwargs)
        return torch.as_tensor(z, dtype=torch.float32, device=x.device)


class DeltaEncode:
    """Level-crossing counts (:func:`~neuro.encoders.delta.encode_delta`): ``(T, ...)`` → ``(T, 2, ...)``."""

    def __init__(self, threshold: float, *, threshold_off: float | None = None) -> None:
        self.threshold = threshold
        self.threshold_off = threshold_off

    def __call__(self, x_seq: torch.Tensor) -> torch.Tensor:
        z = encode_delta(_numpy(x_seq), self.threshold, threshold_off=self.threshold_off)
        return torch.as_tensor(z, dtype=torch.float32, device=x_seq.device)


class PopulationEncode(_Seeded):
    """Gaussian receptive fields (:func:`~neuro.encoders.population.encode_population`):
    ``(...)`` → ``(T, ..., n_neurons)``."""

    def __init__(
        self,
        n_neurons: int,
        n_steps: int,
        *,
        x_min: float = 0.0,
        x_max: float = 1.0,
        beta: float = 1.5,
        code: Literal["latency", "rate"] = "latency",
        min_activation: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.n_neurons = n_neurons
        self.n_steps = n_steps
        self.kwargs = {"x_min": x_min, "x_max": x_max, "beta": beta, "code": code, "min_activation": min_activation}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rng = self.rng() if self.kwargs["code"] == "rate" else None
        z = encode_population(_numpy(x), self.n_neurons, self.n_steps, rng=rng, **self.kwargs)
        return torch.as_tensor(z, dtype=torch.float32, device=x.device)

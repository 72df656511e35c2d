"""Per-layer spike counts and firing rates, observed without changing the user's modules.

:class:`SpikeMonitor` registers forward hooks on the spiking layers of a model for the duration
of a ``with`` block and removes them on exit; it keeps its tallies in itself and sets no
attribute on any module.

Example:
    >>> import torch
    >>> from neuro.core.neurons import lif
    >>> from neuro.torch.layers import Sequential
    >>> from neuro.torch.neurons import Neurons
    >>> net = Sequential(torch.nn.Linear(3, 2), Neurons(lif.Params(tau=0.01, r=10.0), dt=1e-3))
    >>> with SpikeMonitor(net) as mon:
    ...     _ = net(torch.full((10, 4, 3), 5.0))
    >>> mon.neurons(), mon.steps()
    ({'layers.1': 2}, {'layers.1': 40})
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuro.torch.layers import Recurrent
from neuro.torch.neurons import Neurons


def spiking_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every spiking :class:`Neurons` or :class:`Recurrent` layer of ``model``
    (the neurons inside a Recurrent layer are reported through it)."""
    inner = {id(m.neurons) for m in model.modules() if isinstance(m, Recurrent)}
    return [
        (name, module)
        for name, module in model.named_modules()
        if (isinstance(module, Neurons) and module.spiking and id(module) not in inner)
        or (isinstance(module, Recurrent) and module.neurons.spiking)
    ]


class _SpikeHooks:
    """Forward hooks on the spiking layers for the duration of a ``with`` block; subclasses
    receive each layer's output sequence in ``_record``."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._handles: list[Any] = []
        self._layers = spiking_layers(model)

    def __enter__(self) -> Any:
        for name, module in self._layers:
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self._record(name, output[0] if isinstance(output, tuple) else output)

        return hook

    def _record(self, name: str, z_seq: torch.Tensor) -> None:
        raise NotImplementedError


class SpikeMonitor(_SpikeHooks):
    """Counts the output spikes of every spiking :class:`Neurons` (or :class:`Recurrent`) layer.

    Attributes are per layer name (as in ``model.named_modules()``):
    ``counts()`` total spikes, ``neurons()`` neurons per sample, ``steps()`` sample-steps seen
    (time steps times batch size), ``rates()`` spikes per neuron per step.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self._counts: dict[str, float] = {}
        self._neurons: dict[str, int] = {}
        self._steps: dict[str, int] = {}

    def _record(self, name: str, z_seq: torch.Tensor) -> None:
        with torch.no_grad():
            self._counts[name] = self._counts.get(name, 0.0) + float(z_seq.sum())
        self._neurons[name] = int(z_seq[0, 0].numel())
        self._steps[name] = self._steps.get(name, 0) + int(z_seq.shape[0] * z_seq.shape[1])

    def reset(self) -> None:
        """Forget the tallies (the hooks stay while inside the ``with`` block)."""
        self._counts.clear()
        self._steps.clear()

    def counts(self) -> dict[str, float]:
        """Total spikes per layer since the last reset."""
        return dict(self._counts)

    def neurons(self) -> dict[str, int]:
        """Neurons per sample of each layer seen."""
        return dict(self._neurons)

    def steps(self) -> dict[str, int]:
        """Sample-steps (time steps times batch) seen per layer since the last reset."""
        return dict(self._steps)

    def rates(self) -> dict[str, float]:
        """Spikes per neuron per time step, per layer."""
        return {k: self._counts[k] / (self._neurons[k] * self._steps[k]) for k in self._counts if self._steps.get(k)}


class SpikeRecorder(_SpikeHooks):
    """Keeps the output sequence of every spiking layer from the forward passes inside a ``with``
    block (for rasters of a few samples; memory grows with what is recorded).

    ``spikes()`` returns layer name → ``(T, B, *features)`` tensor of the last forward pass.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self._spikes: dict[str, torch.Tensor] = {}

    def _record(self, name: str, z_seq: torch.Tensor) -> None:
        self._spikes[name] = z_seq.detach().cpu()

    def spikes(self) -> dict[str, torch.Tensor]:
        """Layer name → spikes of the last forward pass, in network order."""
        return dict(self._spikes)

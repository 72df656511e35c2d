"""Torch side of neuro: spiking layers built from ``neuro.core`` models, IR build and export.

- :class:`Neurons`: one generic module for every core neuron model (fused multi-step kernel
  for LIF and IF);
- :class:`Sequential`, :class:`Residual`, :class:`Recurrent`, :class:`Dropout`,
  :class:`SumPool2d`, :class:`Scale`, :class:`Threshold`, :class:`MaskedLinear`: layers for
  real architectures, time-first ``(T, B, ...)``;
- :func:`build` (IR graph → module) and :func:`to_ir` (module → IR graph);
- :class:`SpikeMonitor`: per-layer spike counts and firing rates.
"""

from neuro.torch.build import GraphNet, build
from neuro.torch.export import to_ir
from neuro.torch.layers import Dropout, MaskedLinear, Recurrent, Residual, Scale, Sequential, SumPool2d, Threshold
from neuro.torch.monitor import SpikeMonitor
from neuro.torch.neurons import Neurons
from neuro.torch.ops import TorchOps, coeffs_to_torch, spike_fn

__all__ = [
    "Dropout",
    "GraphNet",
    "MaskedLinear",
    "Neurons",
    "Recurrent",
    "Residual",
    "Scale",
    "Sequential",
    "SpikeMonitor",
    "SumPool2d",
    "Threshold",
    "TorchOps",
    "build",
    "coeffs_to_torch",
    "spike_fn",
    "to_ir",
]

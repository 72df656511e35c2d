"""Torch side of neuro, built from ``neuro.core`` and ``neuro.ir``.

This package grows into the layers, ``build`` and ``to_ir`` of the training issue; today it
holds the surrogate-gradient ``ops`` that run the core models' single ``update`` under
autograd.
"""

from neuro.torch.ops import TorchOps, coeffs_to_torch, spike_fn

__all__ = ["TorchOps", "coeffs_to_torch", "spike_fn"]

"""The ``ops`` primitives for torch tensors, with a surrogate gradient for ``spike``.

Example:
    >>> import torch
    >>> from neuro.core.neurons import lif
    >>> from neuro.core.surrogate import ArcTan
    >>> from neuro.torch.ops import TorchOps, coeffs_to_torch
    >>> ops = TorchOps(ArcTan())
    >>> c = coeffs_to_torch(lif.discretize(lif.Params(tau=0.01, r=10.0), dt=1e-3))
    >>> x = torch.full((3,), 2.0, requires_grad=True)
    >>> z, s = lif.update(x, lif.State(v=torch.zeros(3)), c, ops)
    >>> z.sum().backward(); bool((x.grad > 0).all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from neuro.core.surrogate import ArcTan, Surrogate


class _TorchPrimitives:
    """``exp`` and ``where`` for the surrogate derivative itself."""

    exp = staticmethod(torch.exp)
    where = staticmethod(torch.where)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x, _TorchPrimitives), None


def coeffs_to_torch(coeffs: Any, dtype: torch.dtype = torch.float32, device: Any = None) -> Any:
    """Convert the array fields of a ``Coeffs`` NamedTuple to tensors (Python scalars stay)."""
    return type(coeffs)(*(torch.tensor(v, dtype=dtype, device=device) if isinstance(v, np.ndarray) else v for v in coeffs))


def spike_fn(x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """``H(x)`` whose gradient is ``surrogate.derivative(x)``."""
    return _SpikeFunction.apply(x, surrogate)


@dataclass(frozen=True)
class TorchOps:
    """Primitives for torch tensors; ``spike`` uses ``surrogate`` for its gradient."""

    surrogate: Surrogate = field(default_factory=ArcTan)

    @staticmethod
    def exp(x: Any) -> Any:
        return torch.exp(torch.as_tensor(x))

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return torch.where(cond, torch.as_tensor(a), torch.as_tensor(b))

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        return spike_fn(x, self.surrogate)

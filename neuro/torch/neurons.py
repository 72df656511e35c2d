"""One generic torch module for every core neuron model.

:class:`Neurons` wraps a model's continuous-time ``Params``: it discretises them once for its
``dt`` (the coefficients become buffers, so ``.double()`` and ``.to(device)`` follow the module)
and advances the model's single ``update`` over time-first sequences with a surrogate-gradient
``spike``. No equation is written here.

For the models whose update is the LIF step (LIF and IF), a fused multi-step path runs the
whole sequence in one autograd node (:mod:`neuro.torch.fused`); it computes the same values and
gradients as the generic loop, which the tests check. :meth:`Neurons.pooled` also fuses the
max pooling that follows (used by :class:`~neuro.torch.layers.Sequential`).

Example:
    >>> import torch
    >>> from neuro.core.neurons import lif
    >>> layer = Neurons(lif.Params(tau=0.01, r=10.0), dt=1e-3)
    >>> z_seq, state = layer(torch.ones(5, 2, 3))  # (T, B, N)
    >>> z_seq.shape, state.v.shape
    (torch.Size([5, 2, 3]), torch.Size([2, 3]))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from neuro.core.errors import UnsupportedNodeError
from neuro.core.neurons import MODELS
from neuro.core.neurons._common import AbstractParams
from neuro.core.surrogate import ArcTan, Surrogate
from neuro.torch import fused
from neuro.torch.ops import TorchOps


class Neurons(nn.Module):
    """A population of neurons of any core model.

    Args:
        params: the model's ``Params`` (continuous time, SI units); array fields broadcast
            against the features of the input (``(N,)`` after a Linear, ``(C, 1, 1)`` per
            channel after a Conv2d, or scalars).
        dt: time step in seconds.
        method: discretisation method (``"exact"`` or ``"euler"``; see the model).
        surrogate: surrogate-gradient strategy of ``spike`` (default :class:`ArcTan`).
        fused: use the fused multi-step path where the model has one.
        dtype: dtype of the coefficient buffers (default: torch's default dtype). Build in
            float64 for bitwise comparisons: converting a float32 module later cannot recover
            the float64 coefficients.

    Shape:
        ``forward``: ``(T, B, *features)`` → ``(T, B, *features)`` and the final state.
        ``step``: ``(B, *features)`` → ``(B, *features)`` and the next state.
    """

    def __init__(
        self,
        params: AbstractParams,
        dt: float,
        *,
        method: str = "exact",
        surrogate: Surrogate | None = None,
        fused: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if getattr(params, "input_channels", 1) != 1:
            raise UnsupportedNodeError(
                f"torch cannot run {params.node_type}: its input has {params.input_channels} channels "
                "(excitatory, inhibitory); simulate it with neuro.engine",
                [],
            )
        self.model = MODELS[params.node_type]
        self.params = params
        self.dt = float(dt)
        self.method = method
        self.surrogate = surrogate if surrogate is not None else ArcTan()
        self.ops = TorchOps(self.surrogate)
        self.fused = fused
        dtype = dtype or torch.get_default_dtype()
        coeffs = self.model.discretize(params, self.dt, method)
        self._scalars: dict[str, Any] = {}
        for name, value in zip(coeffs._fields, coeffs, strict=True):
            if isinstance(value, np.ndarray):
                self.register_buffer(f"c_{name}", torch.tensor(value, dtype=dtype))
            else:
                self._scalars[name] = value
        for name, value in zip(self.model.state._fields, self.model.rest(params), strict=True):
            self.register_buffer(f"rest_{name}", torch.tensor(np.asarray(value), dtype=dtype))

    def extra_repr(self) -> str:
        return f"{self.model.name}, dt={self.dt:g}, method={self.method!r}, surrogate={self.surrogate}"

    @property
    def spiking(self) -> bool:
        """Whether the output is spikes (False for leaky integrators: the membrane)."""
        return self.model.spiking

    def coeffs(self) -> Any:
        """The model's ``Coeffs`` NamedTuple with tensor fields on this module's device."""
        values = [self._scalars[f] if f in self._scalars else getattr(self, f"c_{f}") for f in self.model.coeffs._fields]
        return self.model.coeffs(*values)

    def initial_state(self, x: torch.Tensor) -> Any:
        """The resting state for one time step of input ``x`` ``(B, *features)``."""
        return self.model.state(
            *(getattr(self, f"rest_{f}").to(x.dtype).expand(x.shape).clone() for f in self.model.state._fields)
        )

    def step(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """One time step: ``(z, state) = update(x, state)``."""
        if state is None:
            state = self.initial_state(x)
        return self.model.update(x, state, self.coeffs(), self.ops)

    def forward(self, x_seq: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Advance over the whole sequence ``(T, B, *features)``; returns ``(z_seq, state)``."""
        if x_seq.dim() < 2:
            raise ValueError(f"{self.model.name} expects (T, B, ...) input, got shape {tuple(x_seq.shape)}")
        if state is None:
            state = self.initial_state(x_seq[0])
        if self.fused and fused.supports(self.model):
            return fused.run(self.model, x_seq, state, self.coeffs(), self.surrogate)
        outputs = []
        for x in x_seq:
            z, state = self.model.update(x, state, self.coeffs(), self.ops)
            outputs.append(z)
        return torch.stack(outputs), state

    def pooled(self, x_seq: torch.Tensor, pool: nn.Module, state: Any = None) -> tuple[torch.Tensor, Any] | None:
        """``(pool(z_seq), state)``, the spikes max-pooled at every step, in one fused kernel
        that never stores the spikes; None where it does not apply (a model without the fused
        step, ``fused=False``, a pooling other than a plain ``nn.MaxPool2d``, hooks on either
        module, which must see the spikes, or no compiled loops for the input)."""
        if not (self.fused and fused.supports(self.model) and fused.poolable(pool)) or has_hooks(self) or has_hooks(pool):
            return None
        if state is None:
            state = self.initial_state(x_seq[0])
        return fused.run_pooled(self.model, x_seq, state, self.coeffs(), self.surrogate, pool)


def has_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` would run hooks (its own or global ones)."""
    from torch.nn.modules import module as m

    local = (module._forward_hooks, module._forward_pre_hooks, module._backward_hooks, module._backward_pre_hooks)
    global_ = (m._global_forward_hooks, m._global_forward_pre_hooks, m._global_backward_hooks, m._global_backward_pre_hooks)
    return any(bool(h) for h in (*local, *global_))

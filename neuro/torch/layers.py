"""Containers and layers for spiking networks, all time-first ``(T, B, ...)``.

A layer is *stateful* when it has ``stateful = True``: it is called as
``(y_seq, state) = layer(x_seq, state)`` and returns its final state (:class:`~neuro.torch.neurons.Neurons`,
:class:`Recurrent`, :class:`Residual`, :class:`Sequential`). Any other module is *stateless* and is
applied to all time steps at once by folding time into the batch (``(T * B, ...)``), which is
how convolutions and linear maps run fastest.

:class:`Sequential` threads the states and returns only the output sequence from ``forward``;
``run`` returns the states too, for truncated BPTT or streaming.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from neuro.core.neurons import lif
    >>> from neuro.torch.neurons import Neurons
    >>> net = Sequential(nn.Linear(4, 3), Neurons(lif.Params(tau=0.01, r=10.0), dt=1e-3))
    >>> net(torch.ones(6, 2, 4)).shape
    torch.Size([6, 2, 3])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from neuro.core.surrogate import ArcTan, Surrogate
from neuro.torch import fused
from neuro.torch.neurons import Neurons, has_hooks
from neuro.torch.ops import spike_fn


def is_stateful(layer: nn.Module) -> bool:
    """Whether ``layer`` takes and returns a state."""
    return isinstance(layer, Neurons) or bool(getattr(layer, "stateful", False))


def over_time(layer: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a stateless layer to every step of ``(T, B, ...)`` at once.

    2-D convolutions get their input in channels-last memory order, which oneDNN (CPU) and
    cuDNN run markedly faster for the small channel counts of spiking CNNs (about 1.5x for
    forward plus backward on the benchmark network); the values are the same tensor, only the
    strides differ, and the neurons and pooling layers that follow keep that order. On the CPU the
    convolution runs through :class:`_Conv2d` (large outputs in chunks into a reused buffer, the
    gradients computed separately, the weight gradient of a sparse input from its non-zero
    entries).
    """
    t, b = x_seq.shape[:2]
    x = x_seq.reshape(t * b, *x_seq.shape[2:])
    if isinstance(layer, nn.Conv2d) and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
        if _Conv2d.applies(layer, x):
            y = _Conv2d.apply(x, layer.weight, layer.bias, layer)
            return y.reshape(t, b, *y.shape[1:])
    y = layer(x)
    return y.reshape(t, b, *y.shape[1:])


CONV_CALLS = {"chunked": 0, "event_forward": 0, "event_weight_grad": 0}
"""How often :class:`_Conv2d` computed its output in chunks, its output from the non-zero inputs
and its weight gradient from the non-zero inputs (sentinels for tests that these paths were
taken)."""


class _Conv2d(torch.autograd.Function):
    """A 2-D convolution of a folded batch (``T * B`` images) on the CPU, with the values and
    gradients of ``layer(x)`` computed in a cheaper way:

    - When at most :data:`DENSITY` of the inputs are non-zero (spikes, event counts) and the
      convolution has stride 1, dilation 1, one group and long enough kernel rows
      (:meth:`events_apply`), the output and the weight gradient are computed from the non-zero
      inputs only (:func:`neuro.core.jit.conv2d_events`, :func:`~neuro.core.jit.conv2d_weight_grad`):
      the same sums as torch's in another order, equal to rounding (the tests require float64
      agreement to 1e-12, relative).
    - Otherwise a large output is computed in chunks copied into a buffer from
      :func:`neuro.torch.fused.buffer`: glibc maps every allocation above 32 MB afresh, so the
      output of the first convolution of a spiking CNN over all steps would cost a page fault
      per 4 KiB on every call. Each image's output is the same convolution as in one call.
    - The backward computes the three gradients separately: the input's with torch's convolution
      backward alone, the bias's as a sum of the output gradient (oneDNN computes the bias
      gradient at about the cost of the input gradient), the weight's as above or with torch."""

    LARGE = 32 << 20  # glibc's largest mmap threshold
    CHUNK = 8 << 20
    DENSITY = 0.1
    MIN_RUN = 64
    SAMPLE = 61

    @staticmethod
    def applies(layer: nn.Conv2d, x: torch.Tensor) -> bool:
        return (
            type(layer) is nn.Conv2d
            and layer.padding_mode == "zeros"
            and not isinstance(layer.padding, str)
            and x.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64)
            and not has_hooks(layer)
        )

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, layer: nn.Conv2d) -> torch.Tensor:
        conv = (layer.stride, layer.padding, layer.dilation, layer.groups)
        ctx.save_for_backward(x, weight)
        ctx.conv = (bias is not None, *conv)
        ctx.events = _Conv2d.events_apply(x, weight, layer.stride, layer.dilation, layer.groups)
        if ctx.events:
            return _event_forward(x, weight, bias, layer.padding)
        first = F.conv2d(x[:1], weight, bias, *conv)
        n, (c, h, w) = x.shape[0], first.shape[1:]
        if n * first.numel() * first.element_size() < _Conv2d.LARGE:
            return F.conv2d(x, weight, bias, *conv)
        CONV_CALLS["chunked"] += 1
        out = fused.buffer((n, h, w, c), first.dtype).permute(0, 3, 1, 2)
        step = max(1, _Conv2d.CHUNK // max(1, first.numel() * first.element_size()))
        for i in range(0, n, step):
            out[i : i + step].copy_(F.conv2d(x[i : i + step], weight, bias, *conv))
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        x, weight = ctx.saved_tensors
        has_bias, stride, padding, dilation, groups = ctx.conv
        need_x, need_w, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1], has_bias and ctx.needs_input_grad[2]
        gx = gw = gb = None
        if need_x or need_w:
            events = need_w and ctx.events
            mask = [need_x, need_w and not events, False]
            if any(mask):
                gx, gw, _ = torch.ops.aten.convolution_backward(
                    grad, x, weight, None, list(stride), list(padding), list(dilation), False, [0, 0], groups, mask
                )
            if events:
                gw = _event_weight_grad(x, grad, weight, padding)
        if need_b:
            rows = grad.permute(0, 2, 3, 1).reshape(-1, grad.shape[1])  # a view when channels-last
            gb = torch.mv(rows.t(), grad.new_ones(rows.shape[0]))
        return gx, gw, gb, None

    @staticmethod
    def events_apply(x: torch.Tensor, weight: torch.Tensor, stride: Any, dilation: Any, groups: int) -> bool:
        """Whether the output and weight gradient from the non-zero inputs are expected to be the
        faster ones: stride 1, dilation 1, one group, the weight in the input's dtype, runs of at
        least :data:`MIN_RUN` values per kernel row (``kw * C_out``; shorter runs leave the vector
        units idle: measured slower than oneDNN for ``5 * 12``, faster for ``5 * 32``), and at
        most :data:`DENSITY` non-zero inputs, estimated from every :data:`SAMPLE`-th entry (the
        choice affects the speed only)."""
        if tuple(stride) != (1, 1) or tuple(dilation) != (1, 1) or groups != 1 or x.numel() == 0:
            return False
        if weight.dtype != x.dtype:
            return False  # torch's convolution raises its own error
        if weight.shape[0] * weight.shape[3] < _Conv2d.MIN_RUN or not x.is_contiguous(memory_format=torch.channels_last):
            return False
        sample = x.detach().permute(0, 2, 3, 1).reshape(-1)[:: _Conv2d.SAMPLE]
        return int(torch.count_nonzero(sample)) <= _Conv2d.DENSITY * sample.numel()


def _reversed_rows(weight: torch.Tensor) -> torch.Tensor:
    """``(C, kh, kw * C_out)`` with the kernel columns reversed, the layout of the event kernels."""
    n_o, n_c, kh, kw = weight.shape
    return weight.detach().flip(3).permute(1, 2, 3, 0).reshape(n_c, kh, kw * n_o)


def _event_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: Any) -> torch.Tensor:
    """The convolution from the non-zero inputs, channels-last (output in a reused buffer)."""
    from neuro.core import jit

    CONV_CALLS["event_forward"] += 1
    n_o, _, kh, kw = weight.shape
    (ph, pw), (n, _, h, w) = tuple(padding), x.shape
    h_out, w_out = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    out = fused.buffer((n, h_out, w_out, n_o), x.dtype)
    if bias is None:
        out.zero_()
    else:
        out.copy_(bias.detach().expand(out.shape))
    x_cl = x.detach().permute(0, 2, 3, 1).contiguous()  # no copy when x is channels-last
    rows = out.numpy().reshape(n, h_out, w_out * n_o)
    jit.conv2d_events(x_cl.numpy(), _reversed_rows(weight).contiguous().numpy(), rows, (kh, kw), (ph, pw))
    return out.permute(0, 3, 1, 2)


def _event_weight_grad(x: torch.Tensor, grad: torch.Tensor, weight: torch.Tensor, padding: Any) -> torch.Tensor:
    """The weight gradient from the non-zero inputs (channels-last copies where needed)."""
    from neuro.core import jit

    CONV_CALLS["event_weight_grad"] += 1
    n_o, n_c, kh, kw = weight.shape
    x_cl = x.detach().permute(0, 2, 3, 1).contiguous()  # no copy when x is channels-last
    g_cl = grad.detach().permute(0, 2, 3, 1).contiguous()
    out = torch.empty(n_c, kh, kw * n_o, dtype=x.dtype)
    g_rows = g_cl.numpy().reshape(g_cl.shape[0], g_cl.shape[1], -1)
    jit.conv2d_weight_grad(x_cl.numpy(), g_rows, out.numpy(), (kh, kw), tuple(padding))
    return out.view(n_c, kh, kw, n_o).flip(2).permute(3, 0, 1, 2).contiguous()


def call(layer: nn.Module, x_seq: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
    """``(y_seq, state)`` for a stateful layer, ``(over_time(layer, x), None)`` otherwise."""
    if isinstance(layer, Sequential):
        return layer.run(x_seq, state)
    if is_stateful(layer):
        return layer(x_seq, state)
    return over_time(layer, x_seq), None


class Sequential(nn.Module):
    """Layers applied in order; neuron states are threaded, stateless layers run over all steps.

    :class:`~neuro.torch.neurons.Neurons` directly followed by an ``nn.MaxPool2d`` run as one
    fused kernel where it applies (:meth:`~neuro.torch.neurons.Neurons.pooled`: the same pooled
    spikes and state, gradients equal to rounding, without storing the unpooled spikes).

    Shape:
        ``(T, B, ...)`` → ``(T, B, ...)``.
    """

    stateful = True

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> nn.Module:
        return self.layers[index]

    def run(self, x_seq: torch.Tensor, state: list[Any] | None = None) -> tuple[torch.Tensor, list[Any]]:
        """``(out_seq, states)``; ``states`` has one entry per layer (None for stateless ones)."""
        states = list(state) if state is not None else [None] * len(self.layers)
        if len(states) != len(self.layers):
            raise ValueError(f"state has {len(states)} entries for {len(self.layers)} layers")
        i = 0
        while i < len(self.layers):
            layer, pooled = self.layers[i], None
            if isinstance(layer, Neurons) and i + 1 < len(self):  # Neurons then max pooling: one fused kernel where it applies
                pooled = layer.pooled(x_seq, self.layers[i + 1], states[i])
            if pooled is not None:
                (x_seq, states[i]), states[i + 1] = pooled, None
                i += 2
                continue
            x_seq, states[i] = call(layer, x_seq, states[i])
            i += 1
        return x_seq, states

    def forward(self, x_seq: torch.Tensor, state: list[Any] | None = None) -> Any:
        """The output sequence, or ``(out_seq, states)`` when a ``state`` is passed in."""
        out, states = self.run(x_seq, state)
        return out if state is None else (out, states)


class Residual(nn.Module):
    """``body(x) + shortcut(x)``, the sum entering whatever follows.

    Placed so that ``body`` ends with neurons, it is a spike shortcut (SEW-ResNet's ADD); placed
    so that ``body`` ends before the next neurons (for example Neurons → Conv → BatchNorm), it
    adds to the membrane input of those neurons (MS-ResNet's membrane shortcut). ``shortcut``
    None is the identity.
    """

    stateful = True

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x_seq: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        body_state, short_state = state if state is not None else (None, None)
        y, body_state = call(self.body, x_seq, body_state)
        if self.shortcut is None:
            return y + x_seq, (body_state, None)
        s, short_state = call(self.shortcut, x_seq, short_state)
        return y + s, (body_state, short_state)


class Recurrent(nn.Module):
    """Neurons with a recurrent projection: the input at step ``t`` is ``x_t + W z_{t-1}``.

    Args:
        neurons: the population (any model).
        recurrent: a map from the population's output to its input (usually ``nn.Linear(N, N,
            bias=False)``).
    """

    stateful = True

    def __init__(self, neurons: Neurons, recurrent: nn.Module) -> None:
        super().__init__()
        self.neurons = neurons
        self.recurrent = recurrent

    def forward(self, x_seq: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        neuron_state, z = state if state is not None else (None, None)
        outputs = []
        for x in x_seq:
            if z is not None:
                x = x + self.recurrent(z)
            z, neuron_state = self.neurons.step(x, neuron_state)
            outputs.append(z)
        return torch.stack(outputs), (neuron_state, z)


class SumPool2d(nn.Module):
    """Window sum (NIR ``SumPool2d``): average pooling without the division."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, count_include_pad=True, divisor_override=1)


class Scale(nn.Module):
    """Elementwise scaling by a fixed tensor (NIR ``Scale``)."""

    def __init__(self, scale: Any) -> None:
        super().__init__()
        scale = scale if isinstance(scale, torch.Tensor) else torch.as_tensor(scale, dtype=torch.get_default_dtype())
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Threshold(nn.Module):
    """Stateless spike ``H(x - threshold)`` with a surrogate gradient (NIR ``Threshold``)."""

    def __init__(self, threshold: Any, surrogate: Surrogate | None = None) -> None:
        super().__init__()
        if not isinstance(threshold, torch.Tensor):
            threshold = torch.as_tensor(threshold, dtype=torch.get_default_dtype())
        self.register_buffer("threshold", threshold)
        self.surrogate = surrogate if surrogate is not None else ArcTan()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spike_fn(x - self.threshold, self.surrogate)


class Dropout(nn.Module):
    """Dropout with one mask for all time steps of a sample (a neuron is dropped for the whole
    sequence, not independently per step). Identity in eval mode; skipped by export."""

    stateful = True

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p = p

    def forward(self, x_seq: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        if not self.training or self.p == 0.0:
            return x_seq, None
        mask = torch.empty_like(x_seq[0]).bernoulli_(1 - self.p) / (1 - self.p)
        return x_seq * mask, None


class MaskedLinear(nn.Module):
    """``y = (W ⊙ M) x``: a linear map with a fixed sparsity pattern ``M`` (IR ``SparseLinear``).

    Training changes only the weights where the mask is set, so the structure survives export.
    """

    def __init__(self, weight: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        if weight.shape != mask.shape or weight.dim() != 2:
            raise ValueError(f"weight {tuple(weight.shape)} and mask {tuple(mask.shape)} must be equal 2-D shapes")
        self.weight = nn.Parameter(weight * mask)
        self.register_buffer("mask", mask.to(torch.bool))

    @classmethod
    def from_csr(cls, shape: Any, indptr: Any, indices: Any, weights: Any, dtype: torch.dtype | None = None) -> MaskedLinear:
        """From CSR over inputs (row ``j`` lists the targets of input ``j``), shape ``(n_out, n_in)``."""
        dtype = dtype or torch.get_default_dtype()
        n_out, n_in = (int(s) for s in shape)
        indptr_t = torch.tensor(np.asarray(indptr), dtype=torch.int64)
        cols = torch.repeat_interleave(torch.arange(n_in), torch.diff(indptr_t))
        rows = torch.tensor(np.asarray(indices), dtype=torch.int64)
        weight = torch.zeros(n_out, n_in, dtype=dtype)
        mask = torch.zeros(n_out, n_in, dtype=torch.bool)
        weight[rows, cols] = torch.tensor(np.asarray(weights), dtype=dtype)
        mask[rows, cols] = True
        return cls(weight, mask)

    def to_csr(self) -> tuple[tuple[int, int], Any, Any, Any]:
        """``(shape, indptr, indices, weights)`` as numpy arrays, CSR over inputs."""
        mask_t = self.mask.t().cpu().numpy()
        weight_t = self.weight.detach().t().cpu().double().numpy()
        indptr = np.concatenate([[0], np.cumsum(mask_t.sum(axis=1))]).astype(np.int32)
        cols_in, rows_out = np.nonzero(mask_t)
        return tuple(self.weight.shape), indptr, rows_out.astype(np.int32), weight_t[cols_in, rows_out]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask)

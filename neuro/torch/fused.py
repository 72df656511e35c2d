r"""Hand-fused multi-step kernel for the LIF step (used by LIF and IF).

The generic path runs the model's ``update`` once per time step and autograd records about
fifteen nodes per step. This kernel is one :class:`torch.autograd.Function` over the whole
sequence with few tensor operations per step on ``(B, ...)`` slices and no whole-sequence
temporaries (allocating those costs more than the arithmetic they would save). It is an
optimisation of :func:`neuro.core.neurons.lif.update` and nothing else: the tests run both
paths on the same input and require identical spikes and gradients equal to rounding
(float64), and a sentinel counts the calls of this kernel.

On the CPU (float32 and float64, any surrogate of :mod:`neuro.core.surrogate`) the two
recurrences below run in compiled loops instead (:func:`neuro.core.jit.fused_lif_forward`,
one pass over memory per direction with the surrogate's own ``derivative`` compiled inline).
They compute the same numbers in the same order (spikes and membrane bitwise; gradients to
rounding, as the surrogate is evaluated in float64). Numba is imported on the first such call;
:data:`NUMBA` switches the compiled loops off.

On CUDA tensors (float32 and float64, the same surrogates and per-feature or per-channel
coefficients) the recurrences run in Numba-CUDA kernels instead (:mod:`neuro.core.jit_cuda`):
one launch per direction for the whole sequence, one thread per neuron looping over the steps,
on torch's current stream (the tensors are handed over through ``__cuda_array_interface__``:
no host copy, no synchronisation). They too compute the CPU loops' numbers in the same order,
with explicitly rounded products and sums (no fused multiply-add), so spikes and membrane are
those of the CPU path bitwise and gradients agree to rounding (the device's ``exp`` and the
contracted arithmetic inside the surrogate's ``derivative``). ``numba.cuda`` is imported on the
first CUDA call; without a usable Numba-CUDA (no libNVVM, say) such calls take the torch loop
after one warning that says what is missing.

:func:`run_pooled` fuses the LIF with the max pooling that follows it (what
:class:`~neuro.torch.layers.Sequential` runs for ``Neurons`` then ``nn.MaxPool2d``): the spikes
are pooled while in cache and never stored, the membrane before the reset is saved for the
backward in place of the input (which is freed), and its large outputs reuse a released buffer
of the same shape (:func:`buffer`) instead of fresh pages.

Forward (coefficients of :func:`~neuro.core.neurons.lif.lif_coefficients`):

.. math::

    u_t = a v_{t-1} + b + g x_t, \quad z_t = [u_t > \vartheta], \quad
    v_t = z_t\,(\kappa u_t - \sigma \vartheta + (1 - \kappa) v_r) + (1 - z_t)\, u_t

(:func:`~neuro.core.neurons._common.reset_membrane` with at most one spike). Backward, with the
surrogate derivative :math:`s'_t = s'(u_t - \vartheta)`, exactly what autograd computes through
the generic ``update`` (the generic ``where`` passes the gradient of :math:`z` only through the
spiking branch, hence the factor :math:`z_t` in :math:`R_t`):

.. math::

    \bar u_t = \bar z_t s'_t + \bar v_t R_t, \quad
    R_t = s'_t\,(-\sigma \vartheta z_t) + z_t \kappa + 1 - z_t, \quad
    \bar x_t = g \bar u_t, \quad \bar v_{t-1} = a \bar u_t.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from neuro.core.neurons import lif
from neuro.core.neurons.model import NeuronModel
from neuro.core.surrogate import ArcTan, FastSigmoid, Sigmoid, StraightThrough, Surrogate, Triangle
from neuro.torch.ops import _TorchPrimitives

CALLS = {"fused_lif": 0, "fused_lif_numba": 0, "fused_lif_pool": 0, "fused_lif_cuda": 0}
"""How often the fused kernel ran, how often in its compiled CPU loops, how often fused with the
max pooling after it, and how often in its Numba-CUDA kernels (sentinels for tests that the
fast paths were taken)."""

NUMBA = True
"""Use the compiled CPU loops and the CUDA kernels where they apply (False: always the torch loop)."""

_SURROGATES = (ArcTan, FastSigmoid, Sigmoid, Triangle, StraightThrough)
_COEFFS = ("decay", "bias", "gain", "v_threshold", "v_reset")


def supports(model: NeuronModel) -> bool:
    """Whether ``model`` advances with the LIF step (LIF, IF)."""
    return model.update is lif.update


def _reset(u: torch.Tensor, spiked: torch.Tensor, c: Any) -> torch.Tensor:
    if c.reset_keep == 1.0 and c.reset_subtract == 1.0:
        return torch.where(spiked, u - c.v_threshold, u)
    if c.reset_keep == 0.0 and c.reset_subtract == 0.0:
        return torch.where(spiked, c.v_reset, u)
    fired = c.reset_keep * u - c.reset_subtract * c.v_threshold + (1.0 - c.reset_keep) * c.v_reset
    return torch.where(spiked, fired, u)


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def _compiled_applies(x_seq: torch.Tensor, c: Any, surrogate: Surrogate) -> bool:
    """Whether the compiled CPU loops can run this call."""
    if not NUMBA or x_seq.device.type != "cpu" or x_seq.dtype not in (torch.float32, torch.float64):
        return False
    if type(surrogate) not in _SURROGATES or not _numba_installed():
        return False
    for name in _COEFFS:
        value = getattr(c, name)
        if isinstance(value, torch.Tensor) and (value.device.type != "cpu" or value.dim() > x_seq.dim() - 2):
            return False
    return isinstance(c.reset_keep, float | int) and isinstance(c.reset_subtract, float | int)


def _memory_order(x: torch.Tensor) -> list[int]:
    """A permutation of the feature dims (time and batch stay first) under which ``x`` is
    contiguous, so channels-last inputs need no copy; the identity if there is none."""
    perm = [0, 1, *sorted(range(2, x.dim()), key=lambda d: -x.stride(d))]
    return perm if x.permute(perm).is_contiguous() else list(range(x.dim()))


def _inverse(perm: list[int]) -> list[int]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def _slab(t: torch.Tensor) -> tuple[Any, list[int], tuple[int, ...]]:
    """``t`` ``(T, B, C, H, W)`` as a ``(T, B, M)`` numpy array in its memory order (a copy only
    if it has none), the permutation, and the element strides of ``C, H, W`` within a slab."""
    perm = _memory_order(t)
    dense = t.detach().permute(perm).contiguous()
    return dense.numpy().reshape(*t.shape[:2], -1), perm, dense.permute(_inverse(perm)).stride()[2:]


def _flat(t: torch.Tensor, perm: list[int], rows: int) -> Any:
    """``t`` permuted to memory order, contiguous, as a ``(rows, -1)`` (or ``(T, B, -1)``) numpy array."""
    t = t.detach().permute(perm).contiguous()
    return t.numpy().reshape(*t.shape[:rows], -1)


def _coefficients(c: Any, x_seq: torch.Tensor, perm: list[int]) -> list[Any]:
    """The coefficients broadcast over the features of ``x_seq`` and flattened in ``perm``'s order."""
    perm_f = [p - 2 for p in perm[2:]]
    dtype, features = x_seq.dtype, x_seq.shape[2:]
    return [
        _flat(torch.as_tensor(getattr(c, name), dtype=dtype).broadcast_to(features), perm_f, 0).reshape(-1) for name in _COEFFS
    ]


def _compiled_forward(ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, c: Any) -> tuple[torch.Tensor, torch.Tensor]:
    from neuro.core import jit

    perm = _memory_order(x_seq)
    perm_v = [p - 1 for p in perm[1:]]
    dtype = x_seq.dtype
    coeffs = _coefficients(c, x_seq, perm)
    x = _flat(x_seq, perm, 2)
    shape = tuple(x_seq.shape[i] for i in perm)
    u_seq = torch.empty(shape, dtype=dtype)
    z_seq = torch.empty(shape, dtype=dtype)
    v = torch.empty(shape[1:], dtype=dtype)
    out = (u_seq.numpy().reshape(x.shape), z_seq.numpy().reshape(x.shape), v.numpy().reshape(x.shape[1:]))
    reset = (float(c.reset_keep), float(c.reset_subtract))
    jit.fused_lif_forward(x, _flat(v0, perm_v, 1), tuple(coeffs), reset, out, torch.get_num_threads())
    ctx.save_for_backward(u_seq)
    ctx.compiled = (perm, perm_v, (coeffs[0], coeffs[2], coeffs[3]), reset)
    CALLS["fused_lif_numba"] += 1
    return z_seq.permute(_inverse(perm)), v.permute(_inverse(perm_v))


def _compiled_backward(ctx: Any, grad_z: torch.Tensor | None, grad_v: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    from neuro.core import jit

    (u_seq,) = ctx.saved_tensors
    perm, perm_v, coeffs, reset = ctx.compiled
    u = u_seq.numpy().reshape(*u_seq.shape[:2], -1)
    gz = None if grad_z is None else _flat(grad_z, perm, 2)
    gv = np.zeros(u.shape[1:], dtype=u.dtype) if grad_v is None else _flat(grad_v, perm_v, 1)
    grad_x = torch.empty(u_seq.shape, dtype=u_seq.dtype)
    grad_v0 = torch.empty(u_seq.shape[1:], dtype=u_seq.dtype)
    out = (grad_x.numpy().reshape(u.shape), grad_v0.numpy().reshape(u.shape[1:]))
    jit.fused_lif_backward(u, gz, gv, coeffs, reset, ctx.surrogate, out, torch.get_num_threads())
    return grad_x.permute(_inverse(perm)), grad_v0.permute(_inverse(perm_v))


def _cuda_applies(x_seq: torch.Tensor, c: Any, surrogate: Surrogate) -> bool:
    """Whether the Numba-CUDA kernels can run this call (CUDA tensors)."""
    if not NUMBA or x_seq.device.type != "cuda" or x_seq.dtype not in (torch.float32, torch.float64):
        return False
    if type(surrogate) not in _SURROGATES or x_seq.numel() == 0 or not _numba_installed():
        return False
    for name in _COEFFS:
        value = getattr(c, name)
        if isinstance(value, torch.Tensor) and value.dim() > x_seq.dim() - 2:
            return False
        if isinstance(value, torch.Tensor) and value.device != x_seq.device and value.numel() != 1:
            return False  # the torch loop raises torch's own error
    if not (isinstance(c.reset_keep, float | int) and isinstance(c.reset_subtract, float | int)):
        return False
    return _cuda_usable()


@functools.cache
def _cuda_usable() -> bool:
    from neuro.core import jit_cuda

    ok, detail = jit_cuda.available()
    if ok and jit_cuda.simulated():
        ok, detail = False, "the Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1) cannot run on torch CUDA tensors"
    if not ok:
        warnings.warn(f"the fused LIF kernel runs its torch loop on CUDA tensors: {detail}", RuntimeWarning, stacklevel=2)
    return ok


def _device_coefficients(c: Any, x_seq: torch.Tensor, perm: list[int]) -> list[torch.Tensor]:
    """As :func:`_coefficients`, as contiguous tensors on ``x_seq``'s device (a number becomes a
    device fill, never a host copy)."""
    perm_f = [p - 2 for p in perm[2:]]
    dtype, device, features = x_seq.dtype, x_seq.device, x_seq.shape[2:]
    out = []
    for name in _COEFFS:
        value = getattr(c, name)
        if isinstance(value, torch.Tensor) and value.device != device:
            value = float(value)  # one number on the host (checked by _cuda_applies)
        if isinstance(value, torch.Tensor):
            out.append(value.to(dtype).broadcast_to(features).permute(perm_f).contiguous().reshape(-1))
        else:
            out.append(torch.full((math.prod(features),), float(value), dtype=dtype, device=device))
    return out


def _cuda_launch(device: torch.device, kernel: Any, *args: Any) -> None:
    """``kernel(*args, stream=...)`` on torch's current stream of ``device``, with the tensors
    among ``args`` (also inside tuples) viewed as Numba device arrays."""
    from neuro.core import jit_cuda

    def view(a: Any) -> Any:
        if isinstance(a, tuple):
            return tuple(view(x) for x in a)
        return jit_cuda.as_device_array(a) if isinstance(a, torch.Tensor) else a

    with jit_cuda.external_stream(device.index, torch.cuda.current_stream(device).cuda_stream) as stream:
        kernel(*(view(a) for a in args), stream=stream)


def _cuda_forward(ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, c: Any) -> tuple[torch.Tensor, torch.Tensor]:
    from neuro.core import jit_cuda

    perm = _memory_order(x_seq)
    perm_v = [p - 1 for p in perm[1:]]
    shape = tuple(x_seq.shape[i] for i in perm)
    x = x_seq.detach().permute(perm).contiguous().reshape(*shape[:2], -1)
    v0_flat = v0.detach().permute(perm_v).contiguous().reshape(shape[1], -1)
    coeffs = _device_coefficients(c, x_seq, perm)
    u_seq, z_seq, v = torch.empty_like(x), torch.empty_like(x), torch.empty_like(v0_flat)
    reset = (float(c.reset_keep), float(c.reset_subtract))
    _cuda_launch(x_seq.device, jit_cuda.fused_lif_forward, x, v0_flat, tuple(coeffs), reset, (u_seq, z_seq, v))
    ctx.save_for_backward(u_seq)
    ctx.cuda = (perm, perm_v, shape, (coeffs[0], coeffs[2], coeffs[3]), reset)
    CALLS["fused_lif_cuda"] += 1
    return z_seq.view(shape).permute(_inverse(perm)), v.view(shape[1:]).permute(_inverse(perm_v))


def _cuda_backward(ctx: Any, grad_z: torch.Tensor | None, grad_v: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    from neuro.core import jit_cuda

    (u_seq,) = ctx.saved_tensors
    perm, perm_v, shape, coeffs, reset = ctx.cuda
    gz = None if grad_z is None else grad_z.detach().permute(perm).contiguous().reshape(u_seq.shape)
    if grad_v is None:
        gv = torch.zeros_like(u_seq[0])
    else:
        gv = grad_v.detach().permute(perm_v).contiguous().reshape(u_seq.shape[1:])
    grad_x, grad_v0 = torch.empty_like(u_seq), torch.empty_like(u_seq[0])
    out = (grad_x, grad_v0)
    _cuda_launch(u_seq.device, jit_cuda.fused_lif_backward, u_seq, gz, gv, coeffs, reset, ctx.surrogate, out)
    return grad_x.view(shape).permute(_inverse(perm)), grad_v0.view(shape[1:]).permute(_inverse(perm_v))


class _FusedLIF(torch.autograd.Function):
    # Work step by step on (B, ...) slices: whole-sequence temporaries are large enough that
    # allocating them costs more (fresh pages from the OS) than the arithmetic they save.
    @staticmethod
    def forward(ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, coeffs: Any, surrogate: Surrogate) -> Any:
        c = coeffs
        ctx.surrogate = surrogate
        ctx.v0_shape = v0.shape
        CALLS["fused_lif"] += 1
        if _compiled_applies(x_seq, c, surrogate):
            return _compiled_forward(ctx, x_seq, v0, c)
        ctx.compiled = None
        if _cuda_applies(x_seq, c, surrogate):
            return _cuda_forward(ctx, x_seq, v0, c)
        decay = torch.as_tensor(c.decay, dtype=x_seq.dtype, device=x_seq.device)
        gain = torch.as_tensor(c.gain, dtype=x_seq.dtype, device=x_seq.device)
        bias = torch.as_tensor(c.bias, dtype=x_seq.dtype, device=x_seq.device)
        # (a v + b) + g x in the generic update's order and without fused multiply-add, so both
        # paths round identically; with b = 0 the sum a v + g x is the same number.
        has_bias = bool((bias != 0).any())
        u_seq = torch.empty_like(x_seq)
        z_seq = torch.empty_like(x_seq)
        drive = torch.empty_like(x_seq[0])
        v = v0
        for t in range(x_seq.shape[0]):
            u = torch.mul(v, decay, out=u_seq[t])
            if has_bias:
                u.add_(bias)
            u.add_(torch.mul(x_seq[t], gain, out=drive))
            spiked = u > c.v_threshold
            z_seq[t].copy_(spiked)
            v = _reset(u, spiked, c)
        ctx.save_for_backward(u_seq, z_seq)
        ctx.coeffs = c
        return z_seq, v

    @staticmethod
    def backward(ctx: Any, grad_z: torch.Tensor, grad_v: torch.Tensor) -> Any:
        if getattr(ctx, "cuda", None) is not None:
            grad_x, grad_v0 = _cuda_backward(ctx, grad_z, grad_v)
            return grad_x, _sum_to(grad_v0, ctx.v0_shape), None, None
        if ctx.compiled is not None:
            grad_x, grad_v0 = _compiled_backward(ctx, grad_z, grad_v)
            return grad_x, _sum_to(grad_v0, ctx.v0_shape), None, None
        u_seq, z_seq = ctx.saved_tensors
        c = ctx.coeffs
        decay = torch.as_tensor(c.decay, dtype=u_seq.dtype, device=u_seq.device)
        gain = torch.as_tensor(c.gain, dtype=u_seq.dtype, device=u_seq.device)
        g_v = grad_v if grad_v is not None else torch.zeros_like(u_seq[0])
        grad_x = torch.empty_like(u_seq)
        for t in range(u_seq.shape[0] - 1, -1, -1):
            z = z_seq[t]
            s = ctx.surrogate.derivative(u_seq[t] - c.v_threshold, _TorchPrimitives)
            if c.reset_keep == 1.0 and c.reset_subtract == 1.0:
                r = 1 - (z * s) * c.v_threshold
            elif c.reset_keep == 0.0 and c.reset_subtract == 0.0:
                r = 1 - z
            else:
                r = s * (-c.reset_subtract * c.v_threshold * z) + z * c.reset_keep + (1 - z)
            g_u = g_v * r
            if grad_z is not None:
                g_u = torch.addcmul(g_u, grad_z[t], s)
            torch.mul(g_u, gain, out=grad_x[t])
            g_v = g_u * decay
        return grad_x, _sum_to(g_v, ctx.v0_shape), None, None


def _sum_to(grad: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Reduce a broadcast gradient back to ``shape``."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(i, keepdim=True)
    return grad


def poolable(pool: nn.Module) -> bool:
    """Whether ``pool`` is a max pooling that :func:`run_pooled` computes exactly (``nn.MaxPool2d``
    with dilation 1, no ceil mode, no indices, padding at most half the kernel)."""
    if type(pool) is not nn.MaxPool2d or pool.ceil_mode or pool.return_indices:
        return False
    kernel, _, padding, dilation = _pool_params(pool)
    fits = kernel[0] * kernel[1] <= 256  # window positions are stored as uint8
    return fits and dilation == (1, 1) and all(2 * p <= k for p, k in zip(padding, kernel, strict=True))


def _pool_params(pool: nn.MaxPool2d) -> tuple[tuple[int, int], ...]:
    def pair(v: Any) -> tuple[int, int]:
        return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))

    kernel = pair(pool.kernel_size)
    return kernel, pair(pool.stride or kernel), pair(pool.padding), pair(pool.dilation)


WORKSPACE_MIN_BYTES = 1 << 20
"""Tensors from :func:`buffer` at least this large are kept for reuse."""

_WORKSPACE: dict[tuple[Any, ...], torch.Tensor] = {}
_WORKSPACE_LOCK = threading.Lock()
_WORKSPACE_ENTRIES = 16


def _unshared(t: torch.Tensor) -> bool:
    """Whether nothing but ``t`` itself holds ``t``'s memory (no view, no autograd buffer)."""
    use_count = getattr(torch._C, "_storage_Use_Count", None)
    return use_count is not None and use_count(t.untyped_storage()._cdata) == 2  # t and the probe


def buffer(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised CPU tensor, reusing the cached one of this shape once nothing else holds
    it. A fresh large tensor costs a page fault per 4 KiB page (glibc maps it anew each time), and
    a training step allocates the same shapes again and again; the cache keeps at most
    :data:`_WORKSPACE_ENTRIES` tensors of :data:`WORKSPACE_MIN_BYTES` or more."""
    key = (tuple(shape), dtype)
    with _WORKSPACE_LOCK:
        cached = _WORKSPACE.get(key)
        if cached is not None and _unshared(cached):
            return cached.view(shape)  # a view: the cached tensor is taken until it is released
        t = torch.empty(shape, dtype=dtype)
        if t.numel() * t.element_size() >= WORKSPACE_MIN_BYTES:
            _WORKSPACE.pop(key, None)
            while len(_WORKSPACE) >= _WORKSPACE_ENTRIES:
                _WORKSPACE.pop(next(iter(_WORKSPACE)))
            _WORKSPACE[key] = t
            return t.view(shape)
        return t


class _FusedLIFPool(torch.autograd.Function):
    """LIF over the sequence, then max pooling of each step, in one node (compiled CPU loops:
    :func:`neuro.core.jit.fused_lif_pool_forward`). Saves the membrane before the reset (not the
    input, which is freed) and the position of each window's maximum as one byte per pooled
    output (torch's pooling keeps an int64 index per output); the spike sequence is never
    stored. The backward routes the pooled gradient to each window's maximum and through the
    steps, into a buffer of its own (so it can run again with ``retain_graph``)."""

    @staticmethod
    def forward(ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, c: Any, surrogate: Surrogate, pool: Any) -> Any:
        from neuro.core import jit

        CALLS["fused_lif"] += 1
        CALLS["fused_lif_pool"] += 1
        x, perm, strides = _slab(x_seq)
        (kh, kw), (sh, sw), (ph, pw), _ = pool
        t, b, ch, h, w = x_seq.shape
        shape = (t, b, ch, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        pooled = buffer(tuple(shape[i] for i in perm), x_seq.dtype).permute(_inverse(perm))
        argmax_t = buffer(tuple(shape[i] for i in perm), torch.uint8)
        argmax = argmax_t.numpy().reshape(t, b, -1)
        perm_v = [p - 1 for p in perm[1:]]
        v = torch.empty(tuple(x_seq.shape[i] for i in perm[1:]), dtype=x_seq.dtype)
        geometry = (ch, h, w, *strides, *shape[3:], *pooled.stride()[2:], kh, kw, sh, sw, ph, pw)
        coeffs = tuple(_coefficients(c, x_seq, perm))
        reset = (float(c.reset_keep), float(c.reset_subtract))
        v0_flat = _flat(v0, perm_v, 1)
        u = buffer(x.shape, x_seq.dtype)
        out = (pooled.permute(perm).numpy().reshape(t, b, -1), argmax, u.numpy(), v.numpy().reshape(b, -1))
        jit.fused_lif_pool_forward(x, v0_flat, coeffs, reset, geometry, out, torch.get_num_threads())
        # Saved tensors (not attributes), so that autograd frees them after the backward and
        # the buffers are free for the next step while this graph is still referenced.
        ctx.save_for_backward(u, argmax_t)
        ctx.compiled = (perm, coeffs, reset, geometry, surrogate, v0.shape, [x_seq.shape[i] for i in perm])
        return pooled, v.permute(_inverse(perm_v))

    @staticmethod
    def backward(ctx: Any, grad_pooled: torch.Tensor | None, grad_v: torch.Tensor | None) -> Any:
        from neuro.core import jit

        u_t, argmax_t = ctx.saved_tensors
        perm, coeffs, reset, geometry, surrogate, v0_shape, shape = ctx.compiled
        u = u_t.numpy()
        argmax = argmax_t.numpy().reshape(*u.shape[:2], -1)
        perm_v = [p - 1 for p in perm[1:]]
        gv = np.zeros_like(u[0]) if grad_v is None else _flat(grad_v, perm_v, 1)
        if grad_pooled is None:
            grad_pooled = torch.zeros(*u.shape[:2], geometry[0], *geometry[6:8], dtype=u_t.dtype)
        gp, _, g_strides = _slab(grad_pooled)
        grad_x = buffer(u.shape, u_t.dtype)
        grad_v0 = torch.empty(u.shape[1:], dtype=u_t.dtype)
        out = (grad_x.numpy(), grad_v0.numpy())
        decay, _, gain, theta, _ = coeffs
        grad_coeffs = (decay, gain, theta)
        threads = torch.get_num_threads()
        jit.fused_lif_pool_backward(u, argmax, gp, gv, grad_coeffs, reset, surrogate, geometry, g_strides, out, threads)
        grad_v0 = grad_v0.reshape(shape[1:]).permute(_inverse(perm_v))
        return grad_x.reshape(shape).permute(_inverse(perm)), _sum_to(grad_v0, v0_shape), None, None, None


def run_pooled(
    model: NeuronModel, x_seq: torch.Tensor, state: Any, coeffs: Any, surrogate: Surrogate, pool: nn.Module
) -> tuple[torch.Tensor, Any] | None:
    """``(pool(z_seq), state)`` of a LIF-step model followed by the max pooling ``pool`` (applied
    to every step), in one autograd node; None where the fused kernel does not apply (then run
    the two layers one after the other).

    On CUDA tensors it returns None: the LIF runs in its CUDA kernel (:func:`run`) and torch
    pools all steps at once, two launches per direction. A fused GPU kernel would save only the
    spikes' round trip through device memory, and it does not map well onto one thread per
    neuron: a thread per pooling window must hold the membranes of its whole window (of
    run-time size) and overlapping windows (stride below the kernel) would advance the same
    neuron in several threads. Not worth its complexity before the unfused pair is measured on
    a GPU."""
    if x_seq.dim() != 5 or not poolable(pool) or not _compiled_applies(x_seq, coeffs, surrogate):
        return None
    params = _pool_params(pool)  # type: ignore[arg-type]
    (kh, kw), (sh, sw), (ph, pw), _ = params
    if (x_seq.shape[3] + 2 * ph - kh) // sh < 0 or (x_seq.shape[4] + 2 * pw - kw) // sw < 0 or 0 in x_seq.shape:
        return None
    v0 = state.v.to(x_seq.dtype).expand(x_seq.shape[1:])
    pooled, v = _FusedLIFPool.apply(x_seq, v0, coeffs, surrogate, params)
    return pooled, model.state(v=v)


def run(model: NeuronModel, x_seq: torch.Tensor, state: Any, coeffs: Any, surrogate: Surrogate) -> tuple[torch.Tensor, Any]:
    """``(z_seq, state)`` of a LIF-step model over ``x_seq`` in one autograd node."""
    v0 = state.v.to(x_seq.dtype).expand(x_seq.shape[1:])
    z_seq, v = _FusedLIF.apply(x_seq, v0, coeffs, surrogate)
    return z_seq, model.state(v=v)

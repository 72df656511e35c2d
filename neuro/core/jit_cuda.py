r"""Numba-CUDA kernels of the fused multi-step LIF step (the GPU twin of the compiled CPU loops).

:mod:`neuro.torch.fused` runs LIF and IF over a whole sequence in one autograd node; on the CPU
its recurrences run in :mod:`neuro.core._fused_kernels`. This module holds the same two
recurrences for CUDA device arrays, one kernel launch per direction for the whole sequence:
one thread per neuron (a ``(batch, feature)`` pair, consecutive threads on consecutive memory,
so every load and store of a step is coalesced) loops over the time steps with its membrane (or
the membrane's gradient) in a register.

The arithmetic is the CPU loops', in the same order:

* forward, in the input's dtype: ``u = (a v + b) + g x``, ``z = [u > theta]``, and the reset
  (``mode`` 0: ``v = u - theta``; 1: ``v = v_reset``; 2: ``v = (keep u - subtract theta) +
  (1 - keep) v_reset``) on a spike, ``v = u`` otherwise;
* backward, in float64 (as on the CPU, where the surrogate's float64 fields promote every
  product): ``s = derivative(u - theta)``, ``g_u = g_v r + g_z s`` with ``r`` the gradient of
  the reset (``1 - s theta``, ``0``, or ``s (-subtract theta) + keep`` on a spike, 1 otherwise),
  ``g_x = g_u g`` and ``g_v = g_u a`` rounded to the dtype after every step.

A CUDA compiler contracts ``a * b + c`` into a fused multiply-add, which rounds once instead of
twice and so gives other numbers than the CPU. The products and sums of both recurrences are
therefore written with libdevice's explicitly rounded operations (``__nv_dmul_rn`` and its
kin), which are never contracted: forward values are bitwise those of the CPU loops, in float32
as in float64. Only the surrogate's ``derivative`` (compiled from its own definition, a device
function) may be contracted and calls the device's ``exp``, so gradients agree to rounding.
Under the Numba CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the same kernels run in Python on
numpy scalars, where plain products and sums are the rounded operations.

Nothing imports ``numba.cuda`` until a kernel is first built. The pooled variant of the CPU
path (LIF fused with the max pooling after it) has no kernel here: see
:func:`neuro.torch.fused.run_pooled`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import types
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

import numpy as np

THREADS_PER_BLOCK = 256
"""Threads per block of both kernels on a device."""

SIMULATOR_THREADS_PER_BLOCK = 32
"""Threads per block under the simulator, which runs one Python thread per thread of a block:
few, so that small test inputs span several blocks (the last one partial)."""

# Bound per build (see _build): the numba.cuda module (the simulator swaps it when a kernel
# runs), the rounded arithmetic of the forward's dtype and of float64, the dtype's constructor,
# and the surrogate's derivative with the scalar ops it calls.
cuda: Any = None
mul = add = mul64 = add64 = to_dtype = derivative = Ops = exp = where = spike = None


def lif_forward_kernel(x, v0, decay, bias, gain, theta, v_reset, keep, subtract, one_minus_keep, mode, u_seq, z_seq, v_out):
    """Forward recurrence: ``x``, ``u_seq``, ``z_seq`` ``(T, B, M)``, ``v0``, ``v_out``
    ``(B, M)``, coefficients ``(M,)``; one thread per ``(b, i)``."""
    n_steps, batch, m = x.shape
    j = cuda.grid(1)
    if j >= batch * m:
        return
    b = j // m
    i = j - b * m
    a, c, g, th, vr = decay[i], bias[i], gain[i], theta[i], v_reset[i]
    v = v0[b, i]
    for t in range(n_steps):
        u = add(add(mul(a, v), c), mul(g, x[t, b, i]))
        u_seq[t, b, i] = u
        spiked = u > th
        z_seq[t, b, i] = spiked
        if not spiked:
            v = u
        elif mode == 0:
            v = add(u, -th)
        elif mode == 1:
            v = vr
        else:
            v = add(add(mul(keep, u), -mul(subtract, th)), mul(one_minus_keep, vr))
    v_out[b, i] = v


def lif_backward_kernel(
    u_seq, grad_z, has_grad_z, grad_v, decay, gain, theta, keep, subtract, mode, surrogate, grad_x, grad_v0
):
    """Backward recurrence: writes ``grad_x`` ``(T, B, M)`` and ``grad_v0`` ``(B, M)``;
    ``grad_z`` is read only when ``has_grad_z`` (else it is zero)."""
    n_steps, batch, m = u_seq.shape
    j = cuda.grid(1)
    if j >= batch * m:
        return
    b = j // m
    i = j - b * m
    ops = Ops(exp, where, spike)
    a, g, th = np.float64(decay[i]), np.float64(gain[i]), theta[i]
    minus_subtract_theta = np.float64(-subtract * th)
    gv = grad_v[b, i]
    for t in range(n_steps - 1, -1, -1):
        d = u_seq[t, b, i] - th
        s = derivative(surrogate, np.float64(d), ops)
        r = 1.0
        if d > 0:
            if mode == 0:
                r = add64(1.0, -mul64(s, np.float64(th)))
            elif mode == 1:
                r = 0.0
            else:
                r = add64(mul64(s, minus_subtract_theta), np.float64(keep))
        gz = np.float64(grad_z[t, b, i]) if has_grad_z else 0.0
        g_u = add64(mul64(np.float64(gv), r), mul64(gz, s))
        grad_x[t, b, i] = mul64(g_u, g)
        gv = to_dtype(mul64(g_u, a))
    grad_v0[b, i] = gv


@functools.cache
def _cuda() -> Any:
    from numba import cuda as module

    return module


def simulated() -> bool:
    """Whether Numba runs CUDA kernels in its CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    import numba

    return bool(numba.config.ENABLE_CUDASIM)  # type: ignore[attr-defined]


@functools.cache
def available() -> tuple[bool, str]:
    """``(usable, detail)``: whether these kernels can run here (a CUDA driver and libNVVM for
    Numba, or the simulator), and if not, what is missing."""
    try:
        if simulated():
            return True, "Numba CUDA simulator"
        cuda_module = _cuda()
        from numba.cuda.cudadrv import nvvm

        if not cuda_module.is_available():
            return False, "numba finds no CUDA driver or device"
        if not nvvm.is_available():
            return False, "numba finds no libNVVM (set CUDA_HOME, or pip install nvidia-cuda-nvcc-cu12)"
    except Exception as exc:  # a broken CUDA installation: report it, never crash the caller
        return False, f"numba.cuda is unusable ({type(exc).__name__}: {exc})"
    return True, "CUDA device"


def _plain(op: str) -> Any:
    """A device function computing ``a op b`` (what the simulator runs: numpy rounds each)."""
    return {"mul": lambda a, b: a * b, "add": lambda a, b: a + b}[op]


def _arithmetic(dtype: np.dtype) -> dict[str, Any]:
    """The rounded products and sums (never contracted into fused multiply-adds) of ``dtype``
    and of float64, and ``dtype``'s constructor."""
    cu = _cuda()
    names = ("mul", "add")  # a - b is a + (-b), exactly (libdevice has no dsub_rn)
    if simulated():
        ops = {k: cu.jit(device=True)(_plain(k)) for k in names}
        ops64 = {f"{k}64": v for k, v in ops.items()}
    else:
        from numba.cuda import libdevice

        prefix = "f" if dtype == np.float32 else "d"
        ops = {k: getattr(libdevice, f"{prefix}{k}_rn") for k in names}
        ops64 = {f"{k}64": getattr(libdevice, f"d{k}_rn") for k in names}
    return {**ops, **ops64, "to_dtype": dtype.type}


@functools.cache
def _scalar_ops() -> dict[str, Any]:
    """The ``ops`` primitives for the surrogate's derivative, as device functions."""
    jit = _cuda().jit(device=True)

    def exp(x):
        return math.exp(x)

    def where(cond, a, b):
        return a if cond else b

    def spike(x):
        return 1.0 if x > 0 else 0.0

    return {"exp": jit(exp), "where": jit(where), "spike": jit(spike), "Ops": namedtuple("Ops", ["exp", "where", "spike"])}


def _build(fn: Any, bindings: dict[str, Any]) -> Any:
    """The kernel ``fn`` compiled over its module's globals with ``bindings``."""
    cu = _cuda()
    glb = dict(fn.__globals__, cuda=cu, **bindings)
    rebuilt = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    rebuilt.__qualname__ = fn.__qualname__
    return cu.jit(rebuilt)


@functools.cache
def _forward_kernel(dtype_name: str) -> Any:
    return _build(lif_forward_kernel, _arithmetic(np.dtype(dtype_name)))


@functools.cache
def _backward_kernel(dtype_name: str, surrogate_cls: Any) -> Any:
    if not simulated():
        _register_float_clip()
    bindings = {**_arithmetic(np.dtype(dtype_name)), **_scalar_ops()}
    bindings["derivative"] = _cuda().jit(device=True)(surrogate_cls.derivative)
    return _build(lif_backward_kernel, bindings)


@functools.cache
def _register_float_clip() -> None:
    """``float.clip(min=, max=)`` on the CUDA target, as the surrogates spell it (Triangle).

    :func:`neuro.core.jit` registers it with ``overload_method`` for the CPU; Numba 0.68's CUDA
    target compiles such an overload as a device function and drops its keyword arguments, so
    here it is a typing template (which folds them) and a lowering of the same implementation
    (:func:`neuro.core.jit._clip_overload`)."""
    from numba.core import types as nt
    from numba.core import utils
    from numba.core.typing.templates import AttributeTemplate, bound_function, signature
    from numba.cuda.cudadecl import register_attr
    from numba.cuda.cudaimpl import lower

    from neuro.core.jit import _clip_overload

    def clip(min=None, max=None):  # the call signature, for folding keyword arguments
        pass

    pysig = utils.pysignature(clip)

    @register_attr
    class _FloatClip(AttributeTemplate):
        key = nt.Float

        @bound_function("float.clip")
        def resolve_clip(self, ty: Any, args: Any, kws: Any) -> Any:
            bound = pysig.bind(*args, **kws)
            lo, hi = bound.arguments.get("min", nt.none), bound.arguments.get("max", nt.none)
            return signature(ty, lo, hi).replace(pysig=pysig)

    @lower("float.clip", nt.Float, nt.Any, nt.Any)
    def _lower_clip(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return context.compile_internal(builder, _clip_overload(*sig.args), sig, args)


@functools.cache
def _fields_type(cls: Any) -> Any:
    return namedtuple(f"{cls.__name__}Fields", [f.name for f in dataclasses.fields(cls)])


def _surrogate_fields(surrogate: Any) -> Any:
    """The strategy's fields as a NamedTuple of floats (``self`` of its compiled ``derivative``)."""
    strategy: Any = type(surrogate)
    cls = _fields_type(strategy)
    return cls(*(float(getattr(surrogate, f)) for f in cls._fields))


def _reset_mode(reset: tuple[float, float]) -> int:
    keep, subtract = reset
    return 0 if (keep, subtract) == (1.0, 1.0) else 1 if (keep, subtract) == (0.0, 0.0) else 2


def _launch(kernel: Any, n_threads: int, stream: Any, *args: Any) -> None:
    if n_threads <= 0:
        return
    per_block = SIMULATOR_THREADS_PER_BLOCK if simulated() else THREADS_PER_BLOCK
    blocks = (n_threads + per_block - 1) // per_block
    kernel[blocks, per_block, stream](*args)


def fused_lif_forward(
    x: Any, v0: Any, coeffs: tuple[Any, ...], reset: tuple[float, float], out: tuple[Any, Any, Any], stream: Any = 0
) -> None:
    """Forward of the LIF step over a sequence on the device, one launch on ``stream``
    (asynchronous: nothing waits for it).

    As :func:`neuro.core.jit.fused_lif_forward`, on CUDA device arrays (anything with
    ``__cuda_array_interface__``): ``x`` C-contiguous ``(T, B, M)`` float32 or float64, ``v0``
    ``(B, M)``, ``coeffs`` the ``(M,)`` arrays ``(decay, bias, gain, v_threshold, v_reset)`` of
    ``x``'s dtype, ``reset`` ``(keep, subtract)``; writes ``out = (u_seq, z_seq, v)``.
    """
    dtype = np.dtype(x.dtype)
    kernel = _forward_kernel(dtype.name)
    keep, subtract = reset
    dt = dtype.type
    _, batch, m = x.shape
    _launch(kernel, batch * m, stream, x, v0, *coeffs, dt(keep), dt(subtract), dt(1.0 - keep), _reset_mode(reset), *out)


def fused_lif_backward(
    u_seq: Any,
    grad_z: Any | None,
    grad_v: Any,
    coeffs: tuple[Any, ...],
    reset: tuple[float, float],
    surrogate: Any,
    out: tuple[Any, Any],
    stream: Any = 0,
) -> None:
    """Backward of :func:`fused_lif_forward` on the device, one launch on ``stream``: writes
    ``out = (grad_x, grad_v0)``. ``grad_z`` is ``(T, B, M)`` or None (zero), ``grad_v``
    ``(B, M)``, ``coeffs`` ``(decay, gain, v_threshold)``; the derivative is
    ``surrogate.derivative`` compiled as a device function (any strategy of
    :mod:`neuro.core.surrogate`)."""
    dtype = np.dtype(u_seq.dtype)
    strategy: Any = type(surrogate)
    kernel = _backward_kernel(dtype.name, strategy)
    keep, subtract = reset
    dt = dtype.type
    _, batch, m = u_seq.shape
    has_grad_z = grad_z is not None
    fields = _surrogate_fields(surrogate)
    args = (u_seq, grad_z if has_grad_z else u_seq, has_grad_z, grad_v, *coeffs, dt(keep), dt(subtract), _reset_mode(reset))
    _launch(kernel, batch * m, stream, *args, fields, *out)


def as_device_array(obj: Any) -> Any:
    """A Numba device array viewing ``obj``'s memory (anything with ``__cuda_array_interface__``,
    such as a CUDA torch tensor): no copy, and no synchronisation unless ``obj`` names a stream."""
    return _cuda().as_cuda_array(obj)


@contextlib.contextmanager
def external_stream(device_index: int, handle: int) -> Iterator[Any]:
    """Device ``device_index``'s context made current, and the CUDA stream ``handle`` (a stream
    made by another library, e.g. ``torch.cuda.current_stream().cuda_stream``) as a Numba stream
    to launch on, so the kernels queue after that library's work without waiting for it."""
    cu = _cuda()
    with cu.gpus[device_index]:
        yield cu.external_stream(handle)

"""Compile a neuron model's single ``update`` definition with Numba.

This is the only place in ``neuro.core`` that touches Numba, and it imports it lazily.

:func:`jit_function` compiles a pure Python function together with the helper functions it
calls (for example :func:`~neuro.core.neurons._common.reset_membrane`): it rebuilds the function
over a copy of its globals in which every plain Python function is replaced by its compiled
twin, recursively. Nothing is rewritten by hand, so the compiled code is the same equation the
numpy and torch runs use.

:func:`numba_ops` returns the scalar primitives (``exp``, ``where``, ``spike``) as a
NamedTuple of compiled functions, which compiled code receives as the ``ops`` argument.

:func:`compile_population` generates, for a model, a compiled loop that advances a
population of independent neurons over a whole input sequence in one call, calling ``update``
on scalars. The engine has its own loops; this one serves tests and quick simulations.
"""

from __future__ import annotations

import functools
import math
import sys
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from neuro.core.neurons.model import NeuronModel


def _numba() -> Any:
    import numba

    return numba


_COMPILED: dict[tuple[Callable[..., Any], str, bool], Any] = {}


def jit_function(fn: Callable[..., Any], error_model: str = "python", forceinline: bool = False) -> Any:
    """``numba.njit`` of ``fn`` with the functions it calls compiled along (cached per ``fn``).

    ``error_model="numpy"`` lets a float division by zero give inf/nan instead of raising,
    which lets loops that divide vectorise. ``forceinline=True`` makes LLVM inline the function
    and its helpers into every caller: then the ``ops`` tuple a caller builds (which holds
    pointers to Numba dispatcher objects, valid only in this process) vanishes from the compiled
    caller, so the caller can be cached on disk even when the model's ``update`` is too large for
    LLVM to inline on its own (MultiSpikeLIF's loop over spike levels).

    The rebuilt function lives in a real module object (``neuro._jit.<module>.<mode>``, in
    ``sys.modules``), so code that calls it can be cached by Numba across processes.
    """
    key = (fn, error_model, forceinline)
    if key in _COMPILED:
        return _COMPILED[key]
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"jit_function needs a plain Python function, got {fn!r}")
    module = _shadow_module(fn, error_model, forceinline)
    glb = module.__dict__
    for name in fn.__code__.co_names:
        obj = fn.__globals__.get(name)
        if isinstance(obj, types.FunctionType):
            glb[name] = jit_function(obj, error_model, forceinline)
    rebuilt = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    rebuilt.__module__ = module.__name__
    rebuilt.__qualname__ = fn.__qualname__
    compiled = _numba().njit(error_model=error_model, forceinline=forceinline)(rebuilt)
    _COMPILED[key] = compiled
    return compiled


def _shadow_module(fn: types.FunctionType, error_model: str, forceinline: bool) -> types.ModuleType:
    """The module whose namespace holds the compiled twins of ``fn``'s module's functions."""
    mode = f"{error_model}_inline" if forceinline else error_model
    name = f"neuro._jit.{mode}.{fn.__globals__.get('__name__', 'anonymous')}"
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        module.__dict__.update({k: v for k, v in fn.__globals__.items() if k not in ("__name__", "__spec__", "__loader__")})
        module.__name__ = name
        sys.modules[name] = module
    return module


class _ScalarOps(NamedTuple):
    exp: Any
    where: Any
    spike: Any


@functools.cache
def numba_ops() -> _ScalarOps:
    """The ``ops`` primitives for scalars inside compiled code."""
    njit = _numba().njit

    @njit
    def exp(x: float) -> float:
        return math.exp(x)

    @njit
    def where(cond: bool, a: float, b: float) -> float:
        return a if cond else b

    @njit
    def spike(x: float) -> float:
        return 1.0 if x > 0 else 0.0

    return _ScalarOps(exp, where, spike)


_LOOP_TEMPLATE = """
def population_loop(x_seq, {state_args}, {coeff_args}, ops):
    n_steps, n_neurons = x_seq.shape
    z_seq = np.zeros((n_steps, n_neurons), dtype=x_seq.dtype)
    for n in range(n_neurons):
        state = State({state_items})
        coeffs = Coeffs({coeff_items})
        for t in range(n_steps):
            z, state = update(x_seq[t, n], state, coeffs, ops)
            z_seq[t, n] = z
{state_writeback}
    return z_seq
"""


@functools.cache
def compile_population(model: NeuronModel) -> Callable[..., Any]:
    """A compiled ``run(x_seq, state, coeffs) -> (z_seq, state)`` for ``model``.

    ``x_seq`` is ``(T, N)``; ``state`` fields and array ``coeffs`` fields broadcast to ``(N,)``.
    The state is copied, advanced and returned; ``z_seq`` has the dtype of ``x_seq``.
    """
    state_fields = model.state._fields
    coeff_fields = model.coeffs._fields
    src = _LOOP_TEMPLATE.format(
        state_args=", ".join(f"s_{f}" for f in state_fields),
        coeff_args=", ".join(f"c_{f}" for f in coeff_fields),
        state_items=", ".join(f"s_{f}[n]" for f in state_fields),
        coeff_items=", ".join(f"c_{f}[n]" for f in coeff_fields),
        state_writeback="\n".join(f"        s_{f}[n] = state.{f}" for f in state_fields),
    )
    namespace: dict[str, Any] = {
        "np": np,
        "State": model.state,
        "Coeffs": model.coeffs,
        "update": jit_function(model.update),
    }
    exec(compile(src, f"<neuro.core.jit population loop for {model.name}>", "exec"), namespace)
    loop = _numba().njit(namespace["population_loop"])

    def run(x_seq: np.ndarray, state: Any, coeffs: Any) -> tuple[np.ndarray, Any]:
        x_seq = np.ascontiguousarray(x_seq)
        if x_seq.ndim != 2:
            raise ValueError(f"x_seq must be (T, N), got shape {x_seq.shape}")
        n = x_seq.shape[1]
        dtype = x_seq.dtype
        states = [np.array(np.broadcast_to(s, (n,)), dtype=dtype) for s in state]
        coeff_arrays = [np.array(np.broadcast_to(c, (n,)), dtype=np.int64 if isinstance(c, int) else dtype) for c in coeffs]
        z_seq = loop(x_seq, *states, *coeff_arrays, numba_ops())
        return z_seq, model.state(*states)

    return run


# --- fused multi-step LIF kernel (neuro.torch.fused) ---------------------------------------


def _clip_overload(x, min=None, max=None):
    """``float.clip(min=, max=)`` inside compiled code, as numpy and torch spell it on arrays."""
    types_ = _numba().core.types

    def given(t: Any) -> bool:
        return t is not None and not isinstance(t, types_.NoneType | types_.Omitted)

    lo, hi = given(min), given(max)
    if lo and hi:

        def impl(x, min=None, max=None):
            y = x if x >= min else x * 0 + min
            return y if y <= max else y * 0 + max
    elif lo:

        def impl(x, min=None, max=None):
            return x if x >= min else x * 0 + min
    elif hi:

        def impl(x, min=None, max=None):
            return x if x <= max else x * 0 + max
    else:

        def impl(x, min=None, max=None):
            return x

    return impl


def _rebuild(fn: Any, **bindings: Any) -> Any:
    """``fn`` over a copy of its module's globals with ``bindings`` replacing some of them."""
    return types.FunctionType(fn.__code__, dict(fn.__globals__, **bindings), fn.__name__, fn.__defaults__, fn.__closure__)


@functools.cache
def _fused_helpers() -> dict[str, Any]:
    """The forward helpers of :mod:`neuro.core._fused_kernels`, compiled to be inlined."""
    from neuro.core import _fused_kernels as k

    nb = _numba()
    nb.extending.overload_method(nb.core.types.Float, "clip")(_clip_overload)
    inline = nb.njit(inline="always", error_model="numpy")
    return {
        "lif_step": inline(_rebuild(k.lif_step)),
        "window_argmax": inline(_rebuild(k.window_argmax)),
        "row_argmax": inline(_rebuild(k.row_argmax)),
    }


@functools.cache
def _fused_grad_helpers(surrogate_cls: type) -> dict[str, Any]:
    """The backward bindings for one surrogate strategy: its ``derivative`` and the ops are
    compile-time constants of the loop (direct calls the compiler inlines and vectorises), not
    arguments."""
    from neuro.core import _fused_kernels as k

    nb = _numba()
    ops = numba_ops()
    bindings = {"derivative": jit_function(surrogate_cls.derivative, "numpy"), "Ops": _ScalarOps}
    bindings.update(exp=ops.exp, where=ops.where, spike=ops.spike)
    grad_step = nb.njit(inline="always", error_model="numpy")(_rebuild(k.lif_grad_step, **bindings))
    return {**_fused_helpers(), **bindings, "lif_grad_step": grad_step}


def _loop(fn: Any, parallel: bool, bindings: dict[str, Any], cache: bool) -> Any:
    """``fn`` compiled with ``bindings``; with ``parallel`` False, ``prange`` stays ``range``.

    One thread runs the serial twin: a parallel loop would start Numba's OpenMP pool, whose
    idle worker keeps spinning on a core after the loop (measured: as much CPU time as the main
    thread while other code ran)."""
    nb = _numba()
    rebuilt = _rebuild(fn, **bindings, **({"prange": nb.prange} if parallel else {}))
    if not parallel:
        rebuilt.__qualname__ += "_serial"  # its own entry in Numba's disk cache
    return nb.njit(parallel=parallel, error_model="numpy", cache=cache)(rebuilt)


@functools.cache
def _fused_lif_forward_kernel(pool: bool = False, parallel: bool = True) -> Any:
    from neuro.core import _fused_kernels as k

    return _loop(k.lif_pool_forward if pool else k.lif_forward, parallel, _fused_helpers(), cache=True)


@functools.cache
def _fused_lif_backward_kernel(surrogate_cls: type, pool: bool = False, parallel: bool = True) -> Any:
    """The backward loop compiled for one surrogate strategy. Not disk-cached: its constants
    are per-process dispatcher objects."""
    from neuro.core import _fused_kernels as k

    fn = k.lif_pool_backward if pool else k.lif_backward
    return _loop(fn, parallel, _fused_grad_helpers(surrogate_cls), cache=False)


@functools.cache
def _surrogate_tuple_type(cls: type) -> Any:
    import collections
    import dataclasses

    return collections.namedtuple(f"{cls.__name__}Fields", [f.name for f in dataclasses.fields(cls)])


def surrogate_derivative(surrogate: Any) -> tuple[Any, Any]:
    """``(derivative, fields)``: the strategy's own ``derivative`` method compiled (called as
    ``derivative(fields, x, ops)`` in compiled code) and its fields as a NamedTuple."""
    _fused_helpers()  # registers float.clip
    cls = type(surrogate)
    fields = _surrogate_tuple_type(cls)(*(float(getattr(surrogate, f)) for f in _surrogate_tuple_type(cls)._fields))
    return jit_function(cls.derivative, "numpy"), fields


def _set_threads(threads: int | None) -> bool:
    """Cap Numba's threads at ``threads`` (default: all); whether more than one runs."""
    nb = _numba()
    n = max(1, min(threads or nb.config.NUMBA_NUM_THREADS, nb.config.NUMBA_NUM_THREADS))
    if n > 1:
        nb.set_num_threads(n)
    return n > 1


def _reset_mode(reset: tuple[float, float]) -> int:
    keep, subtract = reset
    return 0 if (keep, subtract) == (1.0, 1.0) else 1 if (keep, subtract) == (0.0, 0.0) else 2


def fused_lif_forward(
    x: np.ndarray,
    v0: np.ndarray,
    coeffs: tuple[np.ndarray, ...],
    reset: tuple[float, float],
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    threads: int | None = None,
) -> None:
    """Compiled forward of the LIF step over a sequence (see :mod:`neuro.core._fused_kernels`).

    ``x`` is a C-contiguous ``(T, B, M)`` float array, ``v0`` ``(B, M)``, ``coeffs`` the
    contiguous ``(M,)`` arrays ``(decay, bias, gain, v_threshold, v_reset)`` of ``x``'s dtype,
    ``reset`` the pair ``(keep, subtract)``; writes ``out = (u_seq, z_seq, v)``. ``threads``
    caps Numba's threads (default: all).
    """
    forward = _fused_lif_forward_kernel(parallel=_set_threads(threads))
    keep, subtract = reset
    dt = x.dtype.type
    forward(x, v0, *coeffs, dt(keep), dt(subtract), dt(1.0 - keep), _reset_mode(reset), *out)


def fused_lif_backward(
    u_seq: np.ndarray,
    grad_z: np.ndarray | None,
    grad_v: np.ndarray,
    coeffs: tuple[np.ndarray, ...],
    reset: tuple[float, float],
    surrogate: Any,
    out: tuple[np.ndarray, np.ndarray],
    threads: int | None = None,
) -> None:
    """Compiled backward of :func:`fused_lif_forward`: writes ``out = (grad_x, grad_v0)``.

    ``grad_z`` is ``(T, B, M)`` or None, ``grad_v`` ``(B, M)``, ``coeffs`` ``(decay, gain,
    v_threshold)``; the derivative is ``surrogate.derivative`` compiled (any strategy of
    :mod:`neuro.core.surrogate`).
    """
    backward = _fused_lif_backward_kernel(type(surrogate), parallel=_set_threads(threads))
    _, fields = surrogate_derivative(surrogate)
    keep, subtract = reset
    dt = u_seq.dtype.type
    if grad_z is None:
        grad_z = np.zeros_like(u_seq)
    backward(
        u_seq,
        grad_z,
        grad_v,
        *coeffs,
        dt(keep),
        dt(subtract),
        _reset_mode(reset),
        fields,
        *out,
    )


def fused_lif_pool_forward(
    x: np.ndarray,
    v0: np.ndarray,
    coeffs: tuple[np.ndarray, ...],
    reset: tuple[float, float],
    geometry: tuple[int, ...],
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    threads: int | None = None,
) -> None:
    """Compiled LIF step then 2-D max pooling over a sequence (see
    :func:`neuro.core._fused_kernels.lif_pool_forward`): as :func:`fused_lif_forward`, with the
    pooling ``geometry`` (17 ints) and ``out = (pooled, argmax, u, v)``, ``pooled`` and the window
    positions ``argmax`` (uint8) ``(T, B, M_out)``, the membrane before the reset ``u``
    ``(T, B, M)``."""
    forward = _fused_lif_forward_kernel(pool=True, parallel=_set_threads(threads))
    keep, subtract = reset
    dt = x.dtype.type
    forward(x, v0, *coeffs, dt(keep), dt(subtract), dt(1.0 - keep), _reset_mode(reset), geometry, *out)


def fused_lif_pool_backward(
    u: np.ndarray,
    argmax: np.ndarray,
    grad_pooled: np.ndarray,
    grad_v: np.ndarray,
    coeffs: tuple[np.ndarray, np.ndarray, np.ndarray],
    reset: tuple[float, float],
    surrogate: Any,
    geometry: tuple[int, ...],
    grad_strides: tuple[int, int, int],
    out: tuple[np.ndarray, np.ndarray],
    threads: int | None = None,
) -> None:
    """Compiled backward of :func:`fused_lif_pool_forward` from its membrane ``u`` and ``argmax``:
    writes ``out = (grad_x, grad_v0)``; ``coeffs = (decay, gain, v_threshold)``; ``grad_strides``
    are the element strides of ``grad_pooled``'s ``C, H, W``."""
    backward = _fused_lif_backward_kernel(type(surrogate), pool=True, parallel=_set_threads(threads))
    _, fields = surrogate_derivative(surrogate)
    keep, subtract = reset
    dt = u.dtype.type
    backward(
        u, argmax, grad_pooled, grad_v, *coeffs, dt(keep), dt(subtract), _reset_mode(reset), fields, geometry, grad_strides,
        *out,
    )  # fmt: skip


@functools.cache
def _event_conv_kernel(name: str) -> Any:
    from neuro.core import _event_conv as k

    inline = _numba().njit(inline="always", error_model="numpy")
    walk = inline(_rebuild(k.walk, row_span=inline(_rebuild(k.row_span))))
    return _loop(getattr(k, name), False, {"walk": walk}, cache=True)


def _check_event_conv(x: np.ndarray, rows: np.ndarray, weight: np.ndarray, kernel: tuple[int, int]) -> None:
    if x.ndim != 4 or rows.ndim != 3 or weight.ndim != 3 or x.dtype != rows.dtype or weight.dtype != x.dtype:
        raise ValueError(
            "an event convolution needs x (N, H, W, C), output rows (N, H_out, W_out * C_out) and a weight "
            f"(C, kh, kw * C_out) of one dtype; got {x.shape} {x.dtype}, {rows.shape} {rows.dtype}, "
            f"{weight.shape} {weight.dtype}"
        )
    if weight.shape[:2] != (x.shape[3], kernel[0]) or weight.shape[2] % kernel[1] or rows.shape[0] != x.shape[0]:
        raise ValueError(f"event convolution shapes do not match: x {x.shape}, rows {rows.shape}, weight {weight.shape}")


def conv2d_events(
    x: np.ndarray, weight: np.ndarray, out: np.ndarray, kernel: tuple[int, int], padding: tuple[int, int]
) -> None:
    """Compiled stride-1 2-D convolution from the non-zero inputs (see
    :mod:`neuro.core._event_conv`), added into ``out`` ``(N, H_out, W_out * C_out)``; ``x``
    ``(N, H, W, C)``, ``weight`` ``(C, kh, kw * C_out)`` with the kernel columns reversed."""
    _check_event_conv(x, out, weight, kernel)
    _event_conv_kernel("conv2d_forward")(x, weight, out, *kernel, *padding)


def conv2d_weight_grad(
    x: np.ndarray, grad: np.ndarray, out: np.ndarray, kernel: tuple[int, int], padding: tuple[int, int]
) -> None:
    """Compiled weight gradient of a stride-1 2-D convolution from its non-zero inputs (see
    :mod:`neuro.core._event_conv`): ``x`` ``(N, H, W, C)`` and ``grad`` ``(N, H_out, W_out * C_out)``
    channels-last, written into ``out`` ``(C, kh, kw * C_out)`` with the kernel columns reversed."""
    _check_event_conv(x, grad, out, kernel)
    _event_conv_kernel("conv2d_weight_grad")(x, grad, out, *kernel, *padding)

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
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from neuro.core.neurons.model import NeuronModel


def _numba() -> Any:
    import numba

    return numba


_COMPILED: dict[Callable[..., Any], Any] = {}


def jit_function(fn: Callable[..., Any]) -> Any:
    """``numba.njit`` of ``fn`` with the functions it calls compiled along (cached per ``fn``)."""
    if fn in _COMPILED:
        return _COMPILED[fn]
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"jit_function needs a plain Python function, got {fn!r}")
    glb = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        obj = glb.get(name)
        if isinstance(obj, types.FunctionType):
            glb[name] = jit_function(obj)
    rebuilt = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    compiled = _numba().njit(rebuilt)
    _COMPILED[fn] = compiled
    return compiled


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
        coeff_arrays = [
            np.array(np.broadcast_to(c, (n,)), dtype=np.int64 if isinstance(c, int) else dtype)
            for c in coeffs
        ]
        z_seq = loop(x_seq, *states, *coeff_arrays, numba_ops())
        return z_seq, model.state(*states)

    return run

"""A neuron model's ``update`` compiled for the engine's generated CPU loops.

Every generated loop (:mod:`neuro.engine.populations`, :mod:`neuro.engine.fused`,
:mod:`neuro.engine._recurrent_numba`) calls the model's single ``update`` on scalars through
:func:`typed_update`, with the scalar ``ops`` of :data:`SCALAR_OPS`. Two things make that code
both fast and numpy's:

* float literals of the run's dtype (:func:`_typed_literals`): numpy does not let a Python float
  promote a float32 array (NEP 50), so a float32 run of ``update`` under numpy computes in
  float32; Numba types every literal as float64, which would turn the whole compiled update into
  float64 arithmetic (half the SIMD width, conversions on every load and store) and round
  differently from numpy;
* LLVM's ``nnan`` and ``nsz`` flags only (:func:`_fast_jit`), so the generic reset's
  ``0.0 * x`` terms and products with literal 0/1 coefficients fold away.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

SCALAR_OPS = """@numba.njit(cache=True)
def exp(x):
    return math.exp(x)


@numba.njit(cache=True)
def where(cond, a, b):
    return a if cond else b


ONE = np.{dtype}(1.0)
ZERO = np.{dtype}(0.0)


@numba.njit(cache=True)
def spike(x):
    return ONE if x > 0 else ZERO  # in the run's dtype: a float32 update stays float32


Ops = namedtuple("Ops", ["exp", "where", "spike"])
"""
"""The scalar ``ops`` a model's ``update`` calls, as source for a generated module that imports
``math``, ``namedtuple``, ``numba`` and ``numpy as np`` (format field: ``dtype``, the run's
float dtype name)."""

MODEL_PROLOGUE = (
    """_MODEL = MODELS[{name!r}]
State = _MODEL.state
Coeffs = _MODEL.coeffs
update = typed_update(_MODEL.update, {dtype!r})


"""
    + SCALAR_OPS
)
"""The part of a generated module with one neuron model after its imports (which must bring
``math``, ``namedtuple``, ``numba``, ``numpy as np``, ``typed_update`` and ``MODELS``): the
model's ``update`` and the scalar ``ops`` (format fields: ``name``, the model, and ``dtype``)."""


def literal(c: Any) -> str:
    """The source of a scalar coefficient equal to 0 or 1, typed as it is (written into generated
    loops, which the optimiser then folds: see :func:`_fast_jit`), else ''."""
    if np.ndim(c) == 0 and c in (0, 1):
        return f"np.{np.asarray(c).dtype.name}({c.item()!r})"
    return ""


def typed_update(fn: Callable[..., Any], dtype: str) -> Any:
    """``fn`` compiled for the generated loops (:func:`_fast_jit`), its float literals (and those
    of the helpers it calls) of type ``dtype``; float64 compiles ``fn`` as is."""
    return _fast_jit(fn if dtype == "float64" else _typed_literals(fn, np.dtype(dtype).type))


@functools.cache
def _fast_jit(fn: Callable[..., Any]) -> Any:
    """``numba.njit`` of ``fn`` and of the plain Python functions it calls (recursively), with
    LLVM's ``nnan`` and ``nsz`` flags only: the optimiser may assume no NaN and ignore the sign
    of zero, so ``0.0 * x``, ``x + 0.0`` and products with literal or uniform 0/1 coefficients
    fold away (the generic reset and the shape-keeping ``0.0 * x`` terms of the models). No
    reassociation, no contraction into FMA, no approximate functions: every finite result is
    bitwise the one numpy computes (a zero may differ in sign, which compares equal). A state
    that becomes NaN or infinite is outside this contract (numpy's ``0 * inf`` is NaN, the
    folded product is 0).

    Compiled to be inlined into every caller: the ``ops`` tuple a caller builds holds pointers
    to Numba dispatcher objects, valid only in this process, and vanishes from the compiled
    caller only when the update is inlined, which lets the caller be cached on disk even where
    LLVM would not inline the update on its own (MultiSpikeLIF's loop over spike levels). The
    rebuilt functions live in a module object in ``sys.modules`` (``neuro._jit_engine.*``), so
    the generated code that calls them can be cached by Numba across processes."""
    import numba

    name = f"neuro._jit_engine.{fn.__globals__.get('__name__', 'anonymous')}"  # type: ignore[attr-defined]
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        skip = ("__name__", "__spec__", "__loader__")
        module.__dict__.update({k: v for k, v in fn.__globals__.items() if k not in skip})  # type: ignore[attr-defined]
        sys.modules[name] = module
    glb = module.__dict__
    for n in fn.__code__.co_names:  # type: ignore[attr-defined]
        obj = fn.__globals__.get(n)  # type: ignore[attr-defined]
        if isinstance(obj, types.FunctionType):
            glb[n] = _fast_jit(obj)
    rebuilt = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)  # type: ignore[attr-defined]
    rebuilt.__module__ = name
    rebuilt.__qualname__ = fn.__qualname__
    return numba.njit(fastmath={"nnan", "nsz"}, forceinline=True)(rebuilt)


@functools.cache
def _typed_literals(fn: Callable[..., Any], scalar: type) -> Callable[..., Any]:
    """A copy of ``fn`` whose float constants are ``scalar``s, calling such copies of the plain
    Python functions it calls."""
    code = fn.__code__  # type: ignore[attr-defined]
    glb = dict(fn.__globals__)  # type: ignore[attr-defined]
    glb["__name__"] = f"{glb.get('__name__', 'anonymous')}.{scalar.__name__}"
    for name in code.co_names:
        obj = glb.get(name)
        if isinstance(obj, types.FunctionType):
            glb[name] = _typed_literals(obj, scalar)
    consts = tuple(scalar(c) if type(c) is float else c for c in code.co_consts)
    copy = types.FunctionType(code.replace(co_consts=consts), glb, fn.__name__, fn.__defaults__, fn.__closure__)  # type: ignore[attr-defined]
    copy.__qualname__ = fn.__qualname__
    return copy


DEPENDS_ON = (_typed_literals.__wrapped__, _fast_jit.__wrapped__)
"""What a generated module's cache key must include besides the model's ``update``."""

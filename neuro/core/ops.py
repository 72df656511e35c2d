"""The primitives a neuron ``update`` may use besides arithmetic and comparisons.

A neuron model's ``update(x, state, coeffs, ops)`` is written once. Each consumer supplies an
``ops`` object with three primitives:

``exp(x)``
    elementwise exponential;
``where(cond, a, b)``
    elementwise selection;
``spike(x)``
    the spike nonlinearity, the Heaviside step ``H(x) = 1 if x > 0 else 0``. The torch side
    replaces its gradient with a surrogate; numpy and Numba use the step itself.

:data:`NUMPY_OPS` runs updates on numpy arrays (the reference); ``neuro.core.jit`` provides the
scalar Numba version and ``neuro.torch`` the surrogate-gradient one.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Ops(Protocol):
    """The interface of an ops object (see the module docstring)."""

    def exp(self, x: Any) -> Any: ...

    def where(self, cond: Any, a: Any, b: Any) -> Any: ...

    def spike(self, x: Any) -> Any: ...


class NumpyOps:
    """Primitives for numpy arrays; ``spike`` keeps the dtype of its argument."""

    __slots__ = ()

    @staticmethod
    def exp(x: Any) -> Any:
        return np.exp(x)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    @staticmethod
    def spike(x: Any) -> Any:
        x = np.asarray(x)
        return (x > 0).astype(x.dtype if x.dtype.kind == "f" else np.float64)

    def __repr__(self) -> str:
        return "NUMPY_OPS"


NUMPY_OPS = NumpyOps()

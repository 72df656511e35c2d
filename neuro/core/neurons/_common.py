"""Pieces shared by every neuron model: parameter validation, the discretisation of a
first-order linear ODE, the leaky integration step and the reset.

Each equation here exists once; model files call these functions from their ``update`` so the
torch, numpy and Numba runs of a model share them (``neuro.core.jit`` compiles them along).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np

from neuro.core.errors import DiscretizationError, ParameterError, ShapeError
from neuro.core.ops import Ops
from neuro.core.reset import Reset, ResetSubtract, ResetToValue

Shape = tuple[int, ...]


def check_step(dt: float, method: str, methods: tuple[str, ...], model: str) -> float:
    """Validate a time step (seconds) and a discretisation method name.

    Raises:
        DiscretizationError: ``dt`` is not a positive finite number, or ``method`` is not
            one of ``methods``.
    """
    try:
        dt_f = float(dt)
    except (TypeError, ValueError):
        raise DiscretizationError(f"dt must be a number of seconds, got {dt!r}", "dt") from None
    if not (math.isfinite(dt_f) and dt_f > 0):
        raise DiscretizationError(f"dt must be positive and finite, got {dt!r}", field="dt")
    if method not in methods:
        raise DiscretizationError(
            f"{model} has no discretisation method {method!r}; available: {list(methods)}",
            field="method",
        )
    return dt_f


def decay_coefficients(
    tau: np.ndarray, dt: float, method: str, field: str = "tau"
) -> tuple[np.ndarray, np.ndarray]:
    """Discretise ``tau dy/dt = -y + u`` with ``u`` held constant over a step of ``dt``.

    Returns ``(decay, gain)`` such that ``y[t+1] = decay * y[t] + gain * u[t]``:

    * ``"exact"``: ``decay = exp(-dt / tau)``, ``gain = 1 - decay`` (zero-order hold);
    * ``"euler"``: ``decay = 1 - dt / tau``, ``gain = dt / tau`` (forward Euler).

    Raises:
        DiscretizationError: forward Euler with ``dt > tau`` (the decay would be negative and
            the trajectory oscillate); the message names ``field``.
    """
    ratio = dt / tau
    if method == "exact":
        gain = -np.expm1(-ratio)
        return 1.0 - gain, gain
    if np.any(ratio > 1.0):
        raise DiscretizationError(
            f"forward Euler needs dt <= {field} (got dt={dt:g} s, min {field}="
            f"{float(np.min(tau)):g} s): the decay 1 - dt/{field} would be negative; "
            "use method='exact' or a smaller dt",
            field=field,
        )
    return 1.0 - ratio, ratio


def leaky_integrate(v: Any, x: Any, c: Any) -> Any:
    """One step of ``v <- decay * v + bias + gain * x`` (coefficients from ``discretize``)."""
    return c.decay * v + c.bias + c.gain * x


def reset_membrane(v: Any, z: Any, v_threshold: Any, c: Any, ops: Ops) -> Any:
    """Apply the reset encoded in ``c.reset_keep`` and ``c.reset_subtract`` (see neuro.core.reset)."""
    return ops.where(
        z > 0,
        c.reset_keep * v - c.reset_subtract * z * v_threshold + (1.0 - c.reset_keep) * c.v_reset,
        v,
    )


@dataclasses.dataclass(frozen=True, eq=False)
class AbstractParams:
    """Base of every model's ``Params``: continuous-time parameters in SI units.

    Array fields are converted to float64 numpy arrays and must broadcast to one shape, the
    population shape (``()`` for parameters shared by a population of any shape). Subclasses
    list their strictly positive fields in ``positive`` and their integer fields in
    ``integers``; a ``reset`` field holds a reset strategy.

    Raises:
        ParameterError: a field is not finite, not positive where required, of the wrong type,
            or the fields do not broadcast; the message and ``.field`` name the field.
    """

    node_type: ClassVar[str] = ""
    positive: ClassVar[tuple[str, ...]] = ()
    integers: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        name = self.node_type
        for f in self.array_fields():
            value = getattr(self, f)
            try:
                arr = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"{name}.{f} must be a number or an array of numbers, got {value!r}", f
                ) from None
            bad = ~np.isfinite(arr)
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ParameterError(f"{name}.{f} is not finite at index {idx}", f)
            if f in self.positive and (arr <= 0).any():
                idx = tuple(int(i) for i in np.argwhere(arr <= 0)[0])
                raise ParameterError(
                    f"{name}.{f} must be > 0, got {arr[idx] if idx else float(arr)} at {idx}", f
                )
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)
        for f in self.integers:
            value = getattr(self, f)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ParameterError(f"{name}.{f} must be a positive integer, got {value!r}", f)
            object.__setattr__(self, f, int(value))
        if hasattr(self, "reset") and not isinstance(
            self.reset, ResetToValue | ResetSubtract
        ):
            raise ParameterError(
                f"{name}.reset must be ResetToValue() or ResetSubtract(), got "
                f"{self.reset!r}",
                "reset",
            )
        self.shape  # noqa: B018 - validates broadcasting
        if isinstance(getattr(self, "reset", None), ResetToValue) and hasattr(self, "v_reset"):
            v_reset, v_threshold = self.v_reset, self.v_threshold
            if np.any(v_reset >= v_threshold):
                raise ParameterError(
                    f"{name}.v_reset must lie below v_threshold for reset to value "
                    "(the neuron would fire on every step)",
                    "v_reset",
                )

    @classmethod
    def array_fields(cls) -> tuple[str, ...]:
        """Names of the fields that hold arrays (all but ``reset`` and integer fields)."""
        return tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name != "reset" and f.name not in cls.integers
        )

    @property
    def shape(self) -> Shape:
        """The population shape: the broadcast shape of all array fields."""
        arrays = [getattr(self, f) for f in self.array_fields()]
        try:
            return tuple(np.broadcast_shapes(*(a.shape for a in arrays)))
        except ValueError:
            shapes = {f: getattr(self, f).shape for f in self.array_fields()}
            raise ParameterError(
                f"{self.node_type} parameters do not broadcast to one shape: {shapes}"
            ) from None

    def output_shape(self, input_shape: Shape) -> Shape:
        """A neuron population keeps the shape of its input.

        Raises:
            ShapeError: the parameters have a non-scalar shape that differs from the input's.
        """
        own = self.shape
        if own and tuple(input_shape) != own:
            raise ShapeError(
                f"{self.node_type} has parameters of shape {own} but receives input of shape "
                f"{tuple(input_shape)}"
            )
        return tuple(input_shape)

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = float(v) if v.ndim == 0 else f"array{v.shape}"
            parts.append(f"{f.name}={v}")
        return f"{self.node_type}({', '.join(parts)})"


def subtract_default() -> Reset:
    return ResetSubtract()


def value_default() -> Reset:
    return ResetToValue()

"""The record that describes one neuron model to every consumer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.core.neurons._common import AbstractParams, Shape


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model written once.

    Attributes:
        name: the IR node type (``"LIF"``, ``"CubaLIF"``, ...).
        params: the frozen ``Params`` dataclass (continuous time, SI units).
        state: the ``State`` NamedTuple.
        coeffs: the ``Coeffs`` NamedTuple that ``discretize`` returns.
        methods: the accepted ``discretize`` methods.
        discretize: ``discretize(params, dt, method) -> Coeffs``.
        update: ``update(x, state, coeffs, ops) -> (z, state)``.
        rest: ``rest(params) -> tuple`` of the resting value of each state field.
        spiking: whether ``z`` is a spike output (False: ``z`` is the membrane readout).
    """

    name: str
    params: type[AbstractParams]
    state: type
    coeffs: type
    methods: tuple[str, ...]
    discretize: Callable[..., Any]
    update: Callable[..., Any]
    rest: Callable[[Any], tuple[Any, ...]]
    spiking: bool

    def init_state(
        self,
        params: AbstractParams,
        batch_shape: Shape = (),
        shape: Shape | None = None,
        dtype: Any = np.float64,
    ) -> Any:
        """The resting state, arrays of shape ``batch_shape + shape``.

        ``shape`` defaults to the parameters' population shape.
        """
        full = tuple(batch_shape) + tuple(params.shape if shape is None else shape)
        return self.state(*(np.array(np.broadcast_to(r, full), dtype=dtype) for r in self.rest(params)))

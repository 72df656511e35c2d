"""Neuron models, each written once (see ``docs/neurons.md``).

Every model module defines ``Params`` (continuous time, SI units, NIR field names), ``State``
(a NamedTuple), ``Coeffs``, ``discretize(params, dt, method)`` and
``update(x, state, coeffs, ops) -> (z, state)``, and exports a :class:`NeuronModel` record
``MODEL``. :data:`MODELS` maps IR node types to these records.
"""

from __future__ import annotations

from types import MappingProxyType

from neuro.core.neurons import (
    alif,
    cuba_ei_lif,
    cuba_li,
    cuba_lif,
    iaf,
    integrator,
    izhikevich,
    li,
    lif,
    multispike_lif,
)
from neuro.core.neurons.model import NeuronModel

MODELS: MappingProxyType[str, NeuronModel] = MappingProxyType(
    {
        m.MODEL.name: m.MODEL
        for m in (integrator, iaf, li, lif, cuba_li, cuba_lif, alif, izhikevich, multispike_lif, cuba_ei_lif)
    }
)

__all__ = [
    "MODELS",
    "NeuronModel",
    "alif",
    "cuba_ei_lif",
    "cuba_li",
    "cuba_lif",
    "iaf",
    "integrator",
    "izhikevich",
    "li",
    "lif",
    "multispike_lif",
]

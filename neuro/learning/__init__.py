"""Plasticity rules on top of the engine.

:class:`STDP` (pair-based, trace form, weight bounds, optional per-neuron normalisation) runs
inside the engine's compiled recurrent-block loop; its definition lives in
:mod:`neuro.engine.plasticity` because the engine may not import this package.
"""

from neuro.learning.stdp import STDP, pair_weight_change

__all__ = ["STDP", "pair_weight_change"]

"""Spike-timing-dependent plasticity.

:class:`STDP` is the rule the engine runs inside its compiled loops (defined in
:mod:`neuro.engine.plasticity`, because the engine may not import ``neuro.learning``); pass it
to :func:`neuro.engine.recurrent.run_block` as ``plasticity={projection: STDP(...)}``.
:func:`pair_weight_change` is the analytic all-to-all pair sum the engine's traces implement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuro.engine.plasticity import STDP


def pair_weight_change(pre_steps: Sequence[int], post_steps: Sequence[int], rule: STDP, dt: float) -> float:
    """The additive all-to-all change of one synapse for the given spike steps.

    Every pair with the post spike at or after the pre event (``delta = post - pre >= 0``)
    adds ``a_plus exp(-delta dt / tau_pre)``; every pair with the pre event strictly after the
    post spike subtracts ``a_minus exp(-delta dt / tau_post)``. This is the engine's rule for a
    feed-forward plastic projection (the projection runs before its population in a step), away
    from the weight bounds.

    Example:
        >>> rule = STDP(tau_pre=0.02, tau_post=0.02, a_plus=0.01, a_minus=0.01)
        >>> round(pair_weight_change([0], [10], rule, 1e-3), 6)  # 0.01 * exp(-0.5)
        0.006065
    """
    pre = np.asarray(pre_steps, np.float64)[:, None]
    post = np.asarray(post_steps, np.float64)[None, :]
    delta = post - pre
    plus = np.where(delta >= 0, rule.a_plus * np.exp(-np.abs(delta) * dt / rule.tau_pre), 0.0)
    minus = np.where(delta < 0, rule.a_minus * np.exp(-np.abs(delta) * dt / rule.tau_post), 0.0)
    return float(plus.sum() - minus.sum())


__all__ = ["STDP", "pair_weight_change"]

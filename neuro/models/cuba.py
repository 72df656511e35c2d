"""The Vogels-Abbott CUBA network (Vogels & Abbott 2005; benchmark 2 of Brette et al. 2007),
as Brian2's ``examples/CUBA.py`` builds it.

``n`` current-based LIF neurons (:mod:`neuro.core.neurons.cuba_ei_lif`), 80 % excitatory:
``tau_mem`` 20 ms, ``tau_syn_exc`` 5 ms, ``tau_syn_inh`` 10 ms, ``v_threshold`` -50 mV,
``v_reset`` -60 mV, ``v_leak`` -49 mV (above threshold: the network is self-driven),
``t_refrac`` 5 ms. Every ordered pair ``(i, j)`` (self-pairs included, as Brian2's
``connect(p=...)``) is a synapse with probability ``p`` (default ``80 / n``: fan-in 80 on
average; 0.02 at ``n = 4000``); an excitatory spike adds ``w_exc = 1.62 mV`` to the target's
excitatory current, an inhibitory one ``w_inh = -9 mV`` to its inhibitory current. The initial
membrane is uniform in ``[v_reset, v_threshold)``.

The graph is ``input -> pop -> rec -> pop`` (``rec`` closes the cycle, so a spike at step
``t`` is integrated at ``t + 1 + delay / dt``, Brian2's timing) and ``pop -> output``;
``rec`` is a SparseLinear of shape ``(2 n, n)`` routing excitatory synapses to ``j`` and
inhibitory ones to ``n + j``.

Example:
    >>> from neuro.models.cuba import cuba, run_cuba
    >>> graph, init = cuba(400, seed=1)
    >>> graph.shapes["rec"], graph.shapes["pop"]
    ((800,), (400,))
    >>> spikes = run_cuba(graph, init, duration=0.05).outputs["pop"]
    >>> len(spikes) > 0
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import ParameterError

W_EXC = 60 * 0.27 / 10 * 1e-3  # V, as Brian2's CUBA example
W_INH = -20 * 4.5 / 10 * 1e-3  # V
EXC_FRACTION = 0.8


def bernoulli_csr(n_pre: int, n_post: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each of the ``n_pre * n_post`` pairs independently with probability ``p``.

    Geometric gaps between successes over the flattened pair index give the pairs already
    sorted by row and target (no per-pair draw, no sort): ``O(nnz)``.

    Returns:
        ``(indptr int64 (n_pre + 1,), indices int32)`` sorted within each row.
    """
    total = n_pre * n_post
    expected = total * p
    scale = 1.0 / np.log1p(-p) if p < 1 else 0.0  # p = 1: every gap is 1
    chunks, last = [], -1
    while last < total - 1:
        m = int(expected + 6 * np.sqrt(expected) + 1024)
        # geometric gaps by inversion, in place: 1 + floor(log(1 - u) / log(1 - p)), u ~ U[0, 1)
        u = rng.random(m)
        np.log1p(np.negative(u, out=u), out=u)
        u *= scale
        pos = u.astype(np.int64)
        del u
        pos += 1
        pos[0] += last
        np.cumsum(pos, out=pos)
        chunks.append(pos)
        last = int(pos[-1])
    pos = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    pos = pos[: np.searchsorted(pos, total)]
    rows = pos // n_post
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_pre), out=indptr[1:])
    rows *= n_post
    pos -= rows
    return indptr, pos.astype(np.int32)


def cuba(
    n: int = 4000,
    *,
    p: float | None = None,
    seed: int = 0,
    dt: float = 1e-4,
    delay: float = 0.0,
    dtype: Any = np.float64,
) -> tuple[ir.Graph, dict[str, tuple[np.ndarray, ...]]]:
    """Build the CUBA network.

    Args:
        n: number of neurons (``int(0.8 n)`` excitatory).
        p: connection probability (default ``80 / n``).
        seed: seeds the connectivity and the initial membrane.
        dt: time step recorded in the graph metadata (s).
        delay: synaptic delay of every synapse (s).
        dtype: dtype of the initial state arrays.

    Returns:
        ``(graph, initial_state)``; ``initial_state["pop"]`` holds ``(v, i_exc, i_inh, refrac)``
        of shape ``(n,)``, for :func:`~neuro.engine.recurrent.run_block`.

    Raises:
        ParameterError: ``n < 2``, ``p`` outside ``(0, 1]`` or a negative delay.
    """
    if int(n) < 2:
        raise ParameterError(f"cuba needs n >= 2 neurons, got {n!r}", "n")
    n = int(n)
    p = min(80.0 / n, 1.0) if p is None else float(p)
    if not 0 < p <= 1:
        raise ParameterError(f"cuba: p must lie in (0, 1], got {p!r}", "p")
    if delay < 0:
        raise ParameterError(f"cuba: delay must be >= 0 s, got {delay!r}", "delay")
    rng = np.random.default_rng(seed)
    params = ir.CubaEILIF()
    v0 = params.v_reset + rng.uniform(size=n) * (params.v_threshold - params.v_reset)
    indptr, targets = bernoulli_csr(n, n, p, rng)
    n_exc = int(EXC_FRACTION * n)
    first_inh = int(indptr[n_exc])  # rows are sorted: the inhibitory synapses are a suffix
    indices = targets
    indices[first_inh:] += n
    weights = np.full(len(indices), W_EXC)
    weights[first_inh:] = W_INH
    delays = None if delay == 0 else np.full(len(indices), float(delay))
    rec = ir.SparseLinear((2 * n, n), indptr, indices, weights, delays=delays)
    graph = ir.Graph(
        {"input": ir.Input((2 * n,)), "pop": params, "rec": rec, "output": ir.Output()},
        [("input", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "output")],
        {"dt": float(dt), "model": "CUBA (Vogels & Abbott 2005)", "n_exc": n_exc, "p": p, "seed": int(seed)},
    )
    zeros = np.zeros(n, dtype)
    return graph, {"pop": (v0.astype(dtype), zeros, zeros.copy(), zeros.copy())}


def run_cuba(
    graph: ir.Graph,
    initial_state: dict[str, tuple[np.ndarray, ...]],
    duration: float = 1.0,
    *,
    backend: str = "numba",
    dtype: Any = np.float32,
    record: dict[str, list[str]] | None = None,
) -> Any:
    """Simulate a :func:`cuba` network for ``duration`` seconds (one sample, no external input).

    Returns the :class:`~neuro.engine.recurrent.BlockResult` with the population's spikes.
    """
    from neuro.engine.recurrent import run_block

    dt = float(graph.metadata["dt"])
    n_steps = round(duration / dt)
    return run_block(
        graph, ["pop", "rec"], {}, n_steps, 1, dt, backend=backend, dtype=dtype,
        initial_state=initial_state, emit=["pop"], record=record,
    )  # fmt: skip

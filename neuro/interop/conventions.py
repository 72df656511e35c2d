"""How each tool maps its discrete-time neurons onto NIR, and how to tell who wrote a graph.

NIR nodes are continuous-time ODEs with no time step and only reset-to-value. Every producer
fills the gap its own way; :data:`CONVENTIONS` writes those ways down, one :class:`Convention`
per tool (sources: each tool's NIR exporter and importer in the versions named, see
docs/interop.md):

============  ======  =======  ==================================  ==============================
producer      dt (s)  method   parameters written                  reset written / really done
============  ======  =======  ==================================  ==============================
snntorch      1e-4    euler    tau = dt/(1-beta), r = tau/dt,       v_reset = 0 for every reset
                               CubaLIF w_in = tau_syn/dt            (Leaky defaults to subtract)
norse         1e-3    euler    LIFBox -> LIF, LIFCell -> CubaLIF,   reset to value; Norse's LIF
                               r = 1, w_in = 1                      import ignores v_reset and r
sinabs        1 step  exact    tau in time steps, r = 1 (its        v_reset = 0 / MembraneSubtract
                               import: input gain 1)                with MultiSpike, both ways
spikingjelly  1e-4    euler    tau = tau_steps*dt, r = 1 (or        soft reset written as
                               tau_steps), IF r = 1/dt              v_reset = 0
rockpool      in r    own      r = tau*exp(-dt/tau)/dt; its         v_reset = 0 / subtraction,
                               import: dt = tau/(1+r)               floor(v/threshold) spikes
neuro         meta    meta     SI units, dt/method/reset in         as written in metadata
                               metadata
============  ======  =======  ==================================  ==============================

:func:`detect_producer` reads the metadata first (neuro writes ``producer``, ``dt``, ``method``
and ``reset``) and then the parameter patterns (``r == tau / 1e-4`` is snnTorch's,
``tau >= 1`` with ``r == 1`` is Sinabs' steps, node names ``<i>_LIFTorch`` are Rockpool's, ...).
A user always can name the producer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.interop.errors import AmbiguousProducerError, UnknownToolError


@dataclass(frozen=True)
class Convention:
    """One tool's NIR conventions.

    Attributes:
        name: the tool.
        version: the release the entry was read from.
        dt: time step (s) its parameters are written for; None when it is in the metadata
            (neuro) or hidden in ``r`` (rockpool).
        method: how its simulator discretises the ODE: ``"euler"`` (``v += dt/tau * (...)``)
            or ``"exact"`` (``exp(-dt/tau)`` decay).
        reset_written: what its files say about the reset.
        reset_done: what its neurons really do by default (may differ: the file loses it).
        tau_unit: ``"s"`` or ``"steps"``.
        verified: the convention was checked here by running the tool (False: read from
            source only, the tool is not installable next to neuro's NIR stack).
        notes: further pitfalls, one sentence each.
    """

    name: str
    version: str
    dt: float | None
    method: str
    reset_written: str
    reset_done: str
    tau_unit: str
    verified: bool
    notes: tuple[str, ...] = ()


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "snntorch",
            "1.0.0",
            1e-4,
            "euler",
            "v_reset = 0",
            "subtract (Leaky's default)",
            "s",
            True,
            (
                "beta = 1 - dt/tau with dt fixed at 1e-4 s; r = tau/dt makes the input gain 1",
                "import always resets to zero (reset_delay=False) and asserts v_leak = 0",
                "import divides the threshold by r*dt/tau instead of scaling the input",
                "IF is imported as Leaky(beta=0.9) in 1.0.0 (fixed after the release by PR #452)",
                "CubaLIF: the membrane takes the synaptic current of the same step",
                "Flatten is imported without adding the batch offset to start_dim",
                "export needs per-neuron vector beta/threshold and an unbatched sample",
            ),
        ),
        Convention(
            "norse",
            "1.1.0",
            1e-3,
            "euler",
            "v_reset written",
            "reset to value",
            "s",
            True,
            (
                "from_nir(graph, dt=0.001) by default; tau is in seconds",
                "to_nir(dt=0.001) writes tau = dt/tau_inv (dt*tau, 1e-5 s for 10 ms): read back as "
                "tau/dt when every tau is below dt; LIFCell's unscaled input is written as w_in = 1",
                "LIFCell (i += x, then v uses that current) exports as CubaLIF; from_nir builds "
                "LIBoxCell + LIFBoxCell, a different model",
                "LIF import ignores r (warns), v_reset and reset_method (always resets to 0)",
                "CubaLIF import applies w_in, r and reset_method; the synapse also uses v_leak",
                "Flatten is imported without adding the batch offset to start_dim",
            ),
        ),
        Convention(
            "sinabs",
            "3.1.3",
            None,
            "exact",
            "v_reset = 0 (nir's default; to_nir writes no reset)",
            "subtract (MembraneSubtract, also on import)",
            "steps",
            True,
            (
                "tau is in time steps (decay exp(-1/tau)); to_nir writes IAF -> IF(r = 1), LIF -> LIF(r = 1)",
                "from_nir builds LIFSqueeze(norm_input=False): v' = exp(-1/tau) v + x, input gain 1; "
                "a LIF trained with norm_input=True (the default) has gain 1 - exp(-1/tau): not written",
                "spike_fn MultiSpike both ways: floor(v/threshold) spikes per step, each subtracting the "
                "threshold; SingleSpike and min_v_mem are not written",
                "from_nir clamps an IF membrane at min_v_mem = -v_threshold",
                "with nir 1.0.8: a LIF with vector tau_mem and a scalar threshold fails nir.LIF's "
                "same-shape check; scalar LIF parameters cannot be gzip-written, and nir.read's type "
                "check rejects them written uncompressed",
                "parameters are written as torch tensors (converted on import)",
            ),
        ),
        Convention(
            "spikingjelly",
            "2.0.0",
            1e-4,
            "euler",
            "v_reset = 0 for soft reset",
            "as configured",
            "s",
            True,
            (
                "LIF tau = tau_steps * dt, r = 1 (decay_input) or tau_steps; v_leak = v_reset",
                "IF r = 1/dt; import rejects any other r and non-uniform parameters",
                "import_from_nir (activation_based.nir_exchange) raises ValueError on any other r, "
                "per-neuron tau/r/threshold/v_reset/v_leak, or v_leak != v_reset",
                "import resets to the file's v_reset (hard reset): a soft reset (v_reset=None) cannot be read",
                "CubaLIF import demands r = tau_mem/dt, w_in = tau_syn/dt, v_leak = 0",
                "Flatten is imported with the batch offset (whole batches run)",
            ),
        ),
        Convention(
            "rockpool",
            "3.1.0",
            None,
            "euler",
            "v_reset = 0 (not written)",
            "subtract, floor(v/threshold) spikes per step",
            "s",
            True,
            (
                "LIFTorch -> CubaLIF, LIFNeuronTorch -> LIF, ExpSynTorch -> LI; r = tau*exp(-dt/tau)/dt, "
                "w_in = 1; neuron bias dropped (v_leak = 0); the recurrent w_rec is not written",
                "its simulator: i' = exp(-dt/tau_syn) (i + x), v' = exp(-dt/tau_mem) v + i' + bias "
                "(the same step's current; LIF: v' = exp(-dt/tau) v + x + bias)",
                "from_nir reads dt = min(tau_mem/(1 + r)), which is not the exported dt (0.1 % off at "
                "tau/dt = 20), ignores w_in and r otherwise, and reads v_leak as the bias per step",
                "from_nir of nir.LIF reads node.tau_mem (AttributeError) and casts LI tau to int",
                "to_nir writes the batch dimension into Input/Output: nir.read's type check rejects the file",
            ),
        ),
        Convention(
            "neuro",
            "0.x",
            None,
            "exact",
            "metadata dt, method, reset",
            "as written",
            "s",
            True,
            ("dt, method and reset (value or subtract, per node) are written to the metadata",),
        ),
    )
}

TOOLS = tuple(CONVENTIONS)


def get_convention(name: str) -> Convention:
    """The convention of tool ``name``.

    Raises:
        UnknownToolError: ``name`` is not in :data:`CONVENTIONS`.
    """
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise UnknownToolError(f"unknown tool {name!r}; known: {list(CONVENTIONS)}") from None


def _neurons(nir_graph: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in nir_graph.nodes.items():
        kind = type(node).__name__
        if kind == "NIRGraph":
            out.update({f"{name}.{k}": v for k, v in _neurons(node).items()})
        elif kind in ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I"):
            out[name] = node
    return out


def _close(a: Any, b: Any, rtol: float = 1e-4) -> bool:
    return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0.0))


def rockpool_dt(tau: np.ndarray, r: np.ndarray) -> float | None:
    """The ``dt`` solving Rockpool's ``r = tau * exp(-dt/tau) / dt`` for every neuron, or None.

    Solved by bisection on the first neuron (``tau*exp(-dt/tau)/dt`` falls monotonically in dt),
    then checked on all.
    """
    t0, r0 = float(np.ravel(tau)[0]), float(np.ravel(r)[0])
    if not (t0 > 0 and r0 > 0):
        return None
    lo, hi = 1e-12, 50.0 * t0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if t0 * math.exp(-mid / t0) / mid > r0:
            lo = mid
        else:
            hi = mid
    dt = math.sqrt(lo * hi)
    return dt if _close(r, tau * np.exp(-dt / tau) / dt, 1e-5) else None


_ROCKPOOL_NAME = re.compile(r"^\d+_(LIFTorch|LIFNeuronTorch|ExpSynTorch|LinearTorch)$")


def detect_producer(nir_graph: Any) -> tuple[str, list[str]]:
    """Guess which tool wrote ``nir_graph`` (a ``nir.NIRGraph``).

    Returns:
        ``(name, evidence)``: the tool and the facts that point to it.

    Raises:
        AmbiguousProducerError: the graph fits several tools' conventions (or none); the
            message lists them and asks for ``producer=``.
    """
    meta = dict(getattr(nir_graph, "metadata", {}) or {})
    producer = meta.get("producer")
    if isinstance(producer, bytes):
        producer = producer.decode()
    if producer:
        if producer not in CONVENTIONS:
            raise UnknownToolError(f"metadata names producer {producer!r}; known: {list(CONVENTIONS)}")
        return str(producer), [f"metadata producer = {producer!r}"]
    if "dt" in meta:
        return "neuro", [f"metadata dt = {meta['dt']!r} (neuro writes dt to the metadata)"]
    rockpool_names = sorted(n for n in nir_graph.nodes if _ROCKPOOL_NAME.match(str(n)))
    if rockpool_names:
        return "rockpool", [f"node names {rockpool_names} (rockpool's to_nir names nodes <index>_<Module>)"]
    neurons = _neurons(nir_graph)
    if not neurons:
        raise AmbiguousProducerError(
            "the graph has no neuron nodes and no metadata, so nothing tells which tool wrote it; pass producer=",
            list(CONVENTIONS),
        )
    votes: dict[str, list[str]] = {}
    for name, n in neurons.items():
        kind = type(n).__name__
        tau = getattr(n, "tau", getattr(n, "tau_mem", None))
        r = np.asarray(getattr(n, "r", 1.0), float)
        fits: dict[str, str] = {}
        if tau is not None:
            tau = np.asarray(tau, float)
            if _close(r, tau / 1e-4):
                fits["snntorch"] = f"{name}: r = tau / 1e-4"
                if kind == "LIF":
                    fits["spikingjelly"] = f"{name}: r = tau / 1e-4 (LIF without decay_input)"
            if _close(r, 1.0):
                if np.all(tau >= 1.0):
                    fits["sinabs"] = f"{name}: r = 1 with tau >= 1 (time steps)"
                else:
                    fits["norse"] = f"{name}: r = 1, tau in seconds"
                    if kind == "LIF" and _close(tau / 1e-4, np.round(tau / 1e-4)):
                        fits["spikingjelly"] = f"{name}: r = 1, tau a multiple of 1e-4 s"
            if rockpool_dt(tau, r) is not None and not fits:
                fits["rockpool"] = f"{name}: r = tau*exp(-dt/tau)/dt"
        elif kind == "IF":
            if _close(r, 1e4):
                fits["spikingjelly"] = f"{name}: IF r = 1/1e-4"
            elif _close(r, 1.0):
                fits.update({t: f"{name}: IF r = 1" for t in ("norse", "sinabs")})
        for tool, why in fits.items():
            votes.setdefault(tool, []).append(why)
    full = [t for t, why in votes.items() if len(why) == len(neurons)]
    if len(full) == 2 and set(full) == {"snntorch", "spikingjelly"}:
        # Both write Euler parameters for dt = 1e-4 with unit input gain: the same reading.
        return "snntorch", votes["snntorch"]
    if len(full) == 1:
        return full[0], votes[full[0]]
    raise AmbiguousProducerError(
        f"parameters fit {full or 'no'} tool's conventions ({ {t: votes[t] for t in full} }); "
        "pass producer= to say which tool wrote the graph",
        full,
    )

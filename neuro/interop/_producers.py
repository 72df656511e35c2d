"""Per-producer readers used by :func:`neuro.interop.nir_import.import_nir`: how each tool's
own simulator runs the parameters it writes, as neuro parameters (sources: the tools' NIR code
in the versions of :data:`neuro.interop.conventions.CONVENTIONS`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro.interop.conventions import rockpool_dt
from neuro.interop.errors import MissingTimeStepError


def each_neuron(nir_graph: Any) -> list[Any]:
    out = []
    for node in nir_graph.nodes.values():
        kind = type(node).__name__
        if kind == "NIRGraph":
            out += each_neuron(node)
        elif kind in ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I"):
            out.append(node)
    return out


def tau_of(node: Any) -> np.ndarray:
    return np.asarray(node.tau if hasattr(node, "tau") else node.tau_mem, float)


def scale_tau(nir_graph: Any, factor: float) -> None:
    for node in each_neuron(nir_graph):
        for f in ("tau", "tau_mem", "tau_syn"):
            if hasattr(node, f):
                setattr(node, f, np.asarray(getattr(node, f), float) * factor)
        if type(node).__name__ in ("IF", "I"):
            node.r = np.asarray(node.r, float) / factor


def as_numpy(nir_graph: Any) -> None:
    """Sinabs and Rockpool write torch tensors as parameters: numpy arrays from here on."""
    for node in nir_graph.nodes.values():
        if type(node).__name__ == "NIRGraph":
            as_numpy(node)
            continue
        for key, value in vars(node).items():
            if hasattr(value, "detach") and hasattr(value, "numpy"):
                setattr(node, key, value.detach().cpu().numpy())


def shape(types: Any, key: str) -> tuple[int, ...] | None:
    value = (types or {}).get(key)
    return None if value is None else tuple(int(v) for v in np.atleast_1d(np.asarray(value)))


def drop_batch_dims(nir_graph: Any) -> None:
    """Rockpool 3.1.0 writes the batch (and time) dimensions of its sample into Input/Output
    shapes (``[1, 4]`` before a Linear taking ``[4]``): keep the neighbour's shape when the two
    differ only by leading ones."""
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for a, b in nir_graph.edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    for name, node in nir_graph.nodes.items():
        kind = type(node).__name__
        if kind == "Input" and len(succ.get(name, [])) == 1:
            mine = shape(node.input_type, "input")
            other = shape(getattr(nir_graph.nodes[succ[name][0]], "input_type", None), "input")
            key, types = "input", ("input_type", "output_type")
        elif kind == "Output" and len(pred.get(name, [])) == 1:
            mine = shape(node.output_type, "output")
            other = shape(getattr(nir_graph.nodes[pred[name][0]], "output_type", None), "output")
            key, types = "output", ("output_type", "input_type")
        else:
            continue
        if mine and other and len(mine) > len(other) and mine[len(mine) - len(other) :] == other:
            if all(d == 1 for d in mine[: len(mine) - len(other)]):
                getattr(node, types[0])[key] = np.asarray(other)
                getattr(node, types[1])["input" if key == "output" else "output"] = np.asarray(other)


def sinabs_gains(nir_graph: Any, step: float) -> None:
    """Sinabs' importer: ``v' = exp(-1/tau) v + x`` (LIF, LI), ``v' = v + x`` (IF), tau in steps."""
    for node in each_neuron(nir_graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI"):
            tau_steps = tau_of(node)
            node.r = np.asarray(node.r, float) / -np.expm1(-1.0 / tau_steps)
    scale_tau(nir_graph, step)


def rockpool_step(nir_graph: Any, dt: float | None) -> tuple[float, str]:
    """The ``dt`` solving Rockpool's ``r`` in every neuron node (float32 parameters: agreement
    within 1e-5, rounded to 6 significant digits)."""
    if dt is not None:
        return float(dt), "argument"
    found = [
        rockpool_dt(tau_of(n), np.asarray(n.r, float))
        for n in each_neuron(nir_graph)
        if hasattr(n, "tau") or hasattr(n, "tau_mem")
    ]
    if not found or None in found or not np.allclose(found, found[0], rtol=1e-5, atol=0.0):
        raise MissingTimeStepError(
            f"rockpool hides dt in r, and no single dt solves r = tau*exp(-dt/tau)/dt (per node: {found}); pass dt="
        )
    return float(f"{float(np.median(found)):.6g}"), "solved from rockpool's r = tau*exp(-dt/tau)/dt"


def rockpool_importer_dt(nir_graph: Any, default: float) -> float:
    steps = [float(np.min(tau_of(n) / (1.0 + np.asarray(n.r, float)))) for n in each_neuron(nir_graph) if hasattr(n, "r")]
    return min(steps) if steps else default


def rockpool_gains(nir_graph: Any, dt: float) -> None:
    """Rockpool's simulator as Euler steps of neuro's nodes (decays kept exactly)."""
    for node in each_neuron(nir_graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI"):
            a = np.exp(-dt / tau_of(node))
            node.tau = dt / (1.0 - a)
            node.r = (1.0 if kind == "LIF" else a) / (1.0 - a)
        elif kind == "CubaLIF":
            a = np.exp(-dt / np.asarray(node.tau_mem, float))
            b = np.exp(-dt / np.asarray(node.tau_syn, float))
            node.tau_mem, node.tau_syn = dt / (1.0 - a), dt / (1.0 - b)
            node.w_in, node.r = b / (1.0 - b), 1.0 / (1.0 - a)


def norse_source(nir_graph: Any, step: float) -> list[str]:
    """Norse 1.1.0's ``to_nir(dt=1e-3)`` writes ``tau = dt / tau_inv`` (``dt * tau``: 1e-5 s for a
    10 ms neuron) and a ``LIFCell`` as CubaLIF with ``w_in = 1``, though ``LIFCell`` adds its
    input to the current unscaled. When every time constant is below ``dt`` (a network no Euler
    step of ``dt`` can run) the file is read as that export: ``tau / dt``, and CubaLIF
    ``w_in = tau_syn / dt``."""
    neurons = [n for n in each_neuron(nir_graph) if any(hasattr(n, f) for f in ("tau", "tau_mem"))]
    taus = [np.asarray(getattr(n, f), float) for n in neurons for f in ("tau", "tau_mem", "tau_syn") if hasattr(n, f)]
    if not taus or not all(np.all(t < step) for t in taus):
        return []
    for node in neurons:
        for f in ("tau", "tau_mem", "tau_syn"):
            if hasattr(node, f):
                setattr(node, f, np.asarray(getattr(node, f), float) / step)
        if type(node).__name__ == "CubaLIF":
            node.w_in = np.asarray(node.w_in, float) * np.asarray(node.tau_syn, float) / step
    return [
        f"every time constant is below dt = {step} s: read as norse 1.1.0's to_nir, which writes tau = dt/tau_inv "
        "(divided by dt here); CubaLIF w_in = tau_syn/dt (LIFCell adds its input to the current unscaled); "
        "LIFCell feeds the same step's current to the membrane, so neuro's spikes come exactly one step later"
    ]

"""Import NIR graphs written by other tools, applying their conventions explicitly.

``import_nir(path_or_graph, producer="auto", dt=None)`` decides three things the NIR file does
not say, records where each came from in an :class:`ImportReport`, and writes them into the
graph's metadata (``dt``, ``method``, ``producer``):

* the time step: the ``dt`` argument, else the metadata, else the producer's fixed step
  (snnTorch 1e-4 s, Norse 1e-3 s, SpikingJelly 1e-4 s, Rockpool's solved from ``r``; Sinabs'
  time constants are in steps and are multiplied by ``dt``, 1 s by default);
* the discretisation method the producer's simulator used (``euler`` for snnTorch, Norse and
  SpikingJelly, ``exact`` for Sinabs and Rockpool), which ``neuro.engine.run(method=...)``
  must use to reproduce it;
* the reset: NIR only has reset-to-value and every producer writes ``v_reset = 0`` even for
  reset by subtraction, so the reset comes from the ``reset`` argument, else the metadata, else
  reset to value (what the producers' own importers do); the report says when the source
  tool's default was subtraction.

Example:
    >>> import nir, numpy as np
    >>> from neuro.interop import import_nir
    >>> g = nir.NIRGraph.from_list(nir.Affine(np.eye(2), np.zeros(2)),
    ...     nir.LIF(tau=np.full(2, 1e-3), r=np.full(2, 10.0), v_leak=np.zeros(2),
    ...             v_threshold=np.ones(2), v_reset=np.zeros(2)))
    >>> graph, report = import_nir(g)
    >>> report.producer, report.dt, report.method
    ('snntorch', 0.0001, 'euler')
"""

from __future__ import annotations

import copy
import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import SerializationError, UnsupportedNodeError
from neuro.interop.conventions import detect_producer, get_convention, rockpool_dt
from neuro.interop.errors import ConventionConflictError, MissingTimeStepError


@dataclass
class ImportReport:
    """What :func:`import_nir` decided and why.

    Attributes:
        producer: the tool whose conventions were applied.
        detected: True when ``producer`` was guessed from the graph.
        evidence: the facts behind the guess (or the user's choice).
        dt, dt_source: the time step (s) and where it came from.
        method: the discretisation method the producer's simulator uses.
        reset, reset_source: reset strategy name (or per-node mapping) and its origin.
        notes: conventions applied and caveats, one sentence each.
    """

    producer: str
    detected: bool
    evidence: list[str]
    dt: float
    dt_source: str
    method: str
    reset: str | dict[str, str]
    reset_source: str
    notes: list[str] = field(default_factory=list)


def _as_numpy(nir_graph: Any) -> None:
    """Sinabs and Rockpool write torch tensors as parameters: numpy arrays from here on."""
    for node in nir_graph.nodes.values():
        if type(node).__name__ == "NIRGraph":
            _as_numpy(node)
            continue
        for key, value in vars(node).items():
            if hasattr(value, "detach") and hasattr(value, "numpy"):
                setattr(node, key, value.detach().cpu().numpy())


def _shape(types: Any, key: str) -> tuple[int, ...] | None:
    value = (types or {}).get(key)
    return None if value is None else tuple(int(v) for v in np.atleast_1d(np.asarray(value)))


def _drop_batch_dims(nir_graph: Any) -> None:
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
            mine = _shape(node.input_type, "input")
            other = _shape(getattr(nir_graph.nodes[succ[name][0]], "input_type", None), "input")
            key, types = "input", ("input_type", "output_type")
        elif kind == "Output" and len(pred.get(name, [])) == 1:
            mine = _shape(node.output_type, "output")
            other = _shape(getattr(nir_graph.nodes[pred[name][0]], "output_type", None), "output")
            key, types = "output", ("output_type", "input_type")
        else:
            continue
        if mine and other and len(mine) > len(other) and mine[len(mine) - len(other) :] == other:
            if all(d == 1 for d in mine[: len(mine) - len(other)]):
                getattr(node, types[0])[key] = np.asarray(other)
                getattr(node, types[1])["input" if key == "output" else "output"] = np.asarray(other)


def _load(path_or_graph: Any) -> Any:
    import nir

    if isinstance(path_or_graph, nir.NIRGraph):
        g = copy.deepcopy(path_or_graph)
        _as_numpy(g)
        _drop_batch_dims(g)
        return g
    if not isinstance(path_or_graph, str | os.PathLike):
        raise TypeError(f"import_nir takes a path or a nir.NIRGraph, got {type(path_or_graph).__name__}")
    if not os.path.exists(path_or_graph):
        raise FileNotFoundError(f"no NIR file at {os.fspath(path_or_graph)!r}")
    try:
        g = nir.read(str(path_or_graph), type_check=False)
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise SerializationError(f"cannot read {os.fspath(path_or_graph)!r} as NIR: {type(exc).__name__}: {exc}") from None
    _drop_batch_dims(g)
    return g


def _unsupported(nir_graph: Any, prefix: str = "") -> list[tuple[str, str]]:
    bad = []
    for name, node in nir_graph.nodes.items():
        kind = type(node).__name__
        if kind == "NIRGraph":
            bad += _unsupported(node, f"{prefix}{name}.")
        elif kind not in ir.NIR_TYPES:
            bad.append((f"{prefix}{name}", kind))
    return bad


def _meta(nir_graph: Any) -> dict[str, Any]:
    out = {}
    for k, v in dict(getattr(nir_graph, "metadata", {}) or {}).items():
        out[k] = v.decode() if isinstance(v, bytes) else (v.item() if isinstance(v, np.generic) else v)
    return out


def _each_neuron(nir_graph: Any) -> list[Any]:
    out = []
    for node in nir_graph.nodes.values():
        kind = type(node).__name__
        if kind == "NIRGraph":
            out += _each_neuron(node)
        elif kind in ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I"):
            out.append(node)
    return out


def _scale_tau(nir_graph: Any, factor: float) -> None:
    for node in _each_neuron(nir_graph):
        for f in ("tau", "tau_mem", "tau_syn"):
            if hasattr(node, f):
                setattr(node, f, np.asarray(getattr(node, f), float) * factor)
        if type(node).__name__ in ("IF", "I"):
            node.r = np.asarray(node.r, float) / factor


SUBTRACT_ON_IMPORT = ("sinabs", "rockpool")
"""Producers whose own NIR importers build neurons that reset by subtraction, whatever
``v_reset`` says (Sinabs' MembraneSubtract, Rockpool's subtractive reset)."""


def _tau_of(node: Any) -> np.ndarray:
    return np.asarray(node.tau if hasattr(node, "tau") else node.tau_mem, float)


def _sinabs_gains(nir_graph: Any, step: float) -> None:
    """Sinabs' importer: ``v' = exp(-1/tau) v + x`` (LIF, LI), ``v' = v + x`` (IF), tau in steps."""
    for node in _each_neuron(nir_graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI"):
            tau_steps = _tau_of(node)
            node.r = np.asarray(node.r, float) / -np.expm1(-1.0 / tau_steps)
    _scale_tau(nir_graph, step)


def _rockpool_step(nir_graph: Any, dt: float | None) -> tuple[float, str]:
    """The ``dt`` solving Rockpool's ``r`` in every neuron node (float32 parameters: agreement
    within 1e-5, rounded to 6 significant digits)."""
    if dt is not None:
        return float(dt), "argument"
    found = [
        rockpool_dt(_tau_of(n), np.asarray(n.r, float))
        for n in _each_neuron(nir_graph)
        if hasattr(n, "tau") or hasattr(n, "tau_mem")
    ]
    if not found or None in found or not np.allclose(found, found[0], rtol=1e-5, atol=0.0):
        raise MissingTimeStepError(
            f"rockpool hides dt in r, and no single dt solves r = tau*exp(-dt/tau)/dt (per node: {found}); pass dt="
        )
    return float(f"{float(np.median(found)):.6g}"), "solved from rockpool's r = tau*exp(-dt/tau)/dt"


def _rockpool_importer_dt(nir_graph: Any, default: float) -> float:
    steps = [float(np.min(_tau_of(n) / (1.0 + np.asarray(n.r, float)))) for n in _each_neuron(nir_graph) if hasattr(n, "r")]
    return min(steps) if steps else default


def _rockpool_gains(nir_graph: Any, dt: float) -> None:
    """Rockpool's simulator as Euler steps of neuro's nodes (decays kept exactly)."""
    for node in _each_neuron(nir_graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI"):
            a = np.exp(-dt / _tau_of(node))
            node.tau = dt / (1.0 - a)
            node.r = (1.0 if kind == "LIF" else a) / (1.0 - a)
        elif kind == "CubaLIF":
            a = np.exp(-dt / np.asarray(node.tau_mem, float))
            b = np.exp(-dt / np.asarray(node.tau_syn, float))
            node.tau_mem, node.tau_syn = dt / (1.0 - a), dt / (1.0 - b)
            node.w_in, node.r = b / (1.0 - b), 1.0 / (1.0 - a)


def _norse_source(nir_graph: Any, step: float) -> list[str]:
    """Norse 1.1.0's ``to_nir(dt=1e-3)`` writes ``tau = dt / tau_inv`` (``dt * tau``: 1e-5 s for a
    10 ms neuron) and a ``LIFCell`` as CubaLIF with ``w_in = 1``, though ``LIFCell`` adds its
    input to the current unscaled. When every time constant is below ``dt`` (a network no Euler
    step of ``dt`` can run) the file is read as that export: ``tau / dt``, and CubaLIF
    ``w_in = tau_syn / dt``."""
    neurons = [n for n in _each_neuron(nir_graph) if any(hasattr(n, f) for f in ("tau", "tau_mem"))]
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


def import_nir(
    path_or_graph: Any,
    producer: str = "auto",
    dt: float | None = None,
    reset: str | dict[str, str] | None = None,
) -> tuple[ir.Graph, ImportReport]:
    """Read a NIR file or ``nir.NIRGraph`` written by ``producer`` into a neuro graph.

    Args:
        path_or_graph: a ``.nir`` path or a ``nir.NIRGraph`` (not modified).
        producer: ``"auto"`` (detect, see :func:`~neuro.interop.conventions.detect_producer`)
            or a name from :data:`~neuro.interop.conventions.CONVENTIONS`.
        dt: time step (s). For fixed-step producers it must equal their step.
        reset: ``"value"``/``"subtract"`` for all spiking nodes or a mapping node -> name.

    Returns:
        ``(graph, report)``; ``graph.metadata`` holds ``dt``, ``method`` and ``producer``.

    Raises:
        UnsupportedNodeError: node types neuro cannot import (named in the message).
        AmbiguousProducerError, UnknownToolError: ``producer`` cannot be settled.
        ConventionConflictError: ``dt`` or ``producer`` contradict the metadata or the
            producer's fixed step.
        MissingTimeStepError: no time step anywhere (neuro graphs without ``dt`` metadata).
        SerializationError, FileNotFoundError: unreadable input.
    """
    g = _load(path_or_graph)
    bad = _unsupported(g)
    if bad:
        raise UnsupportedNodeError(
            "NIR graph has node types neuro cannot import: " + ", ".join(f"{n} ({k})" for n, k in bad),
            [n for n, _ in bad],
        )
    meta = _meta(g)
    if producer == "auto":
        name, evidence = detect_producer(g)
        detected = True
    else:
        conv = get_convention(producer)
        name, evidence, detected = conv.name, [f"producer={producer!r} given"], False
        written = meta.get("producer")
        if written and written != name:
            raise ConventionConflictError(
                f"producer={producer!r} given, but the graph's metadata says it was written by {written!r}",
                "producer",
            )
    conv = get_convention(name)
    notes = [f"{name} {conv.version}: {n}" for n in conv.notes]
    method = str(meta.get("method", conv.method))
    meta_dt = meta.get("dt")
    if dt is not None and meta_dt is not None and not np.isclose(float(dt), float(meta_dt), rtol=1e-9):
        raise ConventionConflictError(f"dt={dt} given, but the graph's metadata says dt={meta_dt}", "dt")
    if name == "sinabs":
        step = 1.0 if dt is None else float(dt)
        _sinabs_gains(g, step)
        dt_value, dt_source = step, "argument" if dt is not None else "sinabs time steps (1 step = 1 s)"
        notes.append(
            f"sinabs time constants are in steps: multiplied by dt = {step} s; LIF r = 1/(1 - exp(-1/tau)) "
            "and IF r = 1/dt give its importer's input gain 1 (norm_input=False)"
        )
    elif name == "rockpool":
        dt_value, dt_source = _rockpool_step(g, dt)
        _rockpool_gains(g, dt_value)
        notes.append(
            "rockpool's decays exp(-dt/tau) written as Euler time constants tau' = dt/(1 - decay) with its "
            "input gains (LIF, LI: r = 1/(1 - decay) or decay/(1 - decay); CubaLIF: w_in = b/(1 - b), "
            "r = 1/(1 - a)): its LIF and LI are reproduced exactly; its CubaLIF feeds the same step's "
            "current to the membrane, so neuro's spikes come exactly one step later"
        )
        notes.append(
            f"rockpool's own from_nir reads dt = tau_mem/(1 + r) instead, {_rockpool_importer_dt(g, dt_value)!r} s here"
        )
    elif conv.dt is not None:
        if name == "norse":
            notes += _norse_source(g, float(dt if dt is not None else conv.dt))
        if dt is not None and not np.isclose(float(dt), conv.dt, rtol=1e-9):
            raise ConventionConflictError(
                f"{name} writes its parameters for dt = {conv.dt} s, but dt={dt} was given; its time "
                "constants would mean a different network (use producer='neuro' to read them as continuous time)",
                "dt",
            )
        dt_value, dt_source = float(conv.dt), f"{name}'s fixed time step"
        if meta_dt is not None:
            dt_value, dt_source = float(meta_dt), "metadata"
    elif dt is not None or meta_dt is not None:
        dt_value = float(dt if dt is not None else meta_dt)
        dt_source = "argument" if dt is not None else "metadata"
    else:
        raise MissingTimeStepError(
            f"the graph (producer {name!r}) has no 'dt' metadata and {name} has no fixed time step; pass dt="
        )
    if reset is not None:
        reset_value, reset_source = reset, "argument"
    elif "reset" in meta:
        reset_value, reset_source = meta["reset"], "metadata"
    elif name in SUBTRACT_ON_IMPORT:
        reset_value, reset_source = "subtract", f"{name}'s importer resets by subtraction"
        notes.append(
            f"{name} emits floor(v/threshold) spikes per step; neuro's LIF at most one: identical while "
            "the membrane stays below twice the threshold"
        )
    else:
        reset_value, reset_source = "value", "NIR semantics (reset to v_reset)"
        if "subtract" in conv.reset_done:
            notes.append(
                f"{name} writes v_reset = 0 for every reset but its neurons default to reset by "
                "subtraction: pass reset='subtract' if the source model used it"
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ir.NIRMetadataWarning)
        graph = ir.from_nir(g, dt=dt_value, reset=reset_value)
    graph = graph.with_metadata(dt=dt_value, method=method, producer=name)
    report = ImportReport(name, detected, evidence, dt_value, dt_source, method, reset_value, reset_source, notes)
    return graph, report


def report_dict(report: ImportReport) -> dict[str, Any]:
    """The report as JSON-compatible data."""
    return dataclasses.asdict(report)

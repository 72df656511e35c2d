"""Import NIR graphs written by other tools, applying their conventions explicitly.

``import_nir(path_or_graph, producer="auto", dt=None)`` decides three things the NIR file does
not say, records where each came from in an :class:`ImportReport`, and writes them into the
graph's metadata (``dt``, ``method``, ``producer``):

* the time step: the ``dt`` argument, else the metadata, else the producer's fixed step
  (snnTorch 1e-4 s, Norse 1e-3 s, SpikingJelly 1e-4 s, Rockpool's solved from ``r``; Sinabs'
  time constants are in steps and are multiplied by ``dt``, 1 s by default);
* the discretisation method the producer's simulator used (``euler`` for snnTorch, Norse and
  SpikingJelly, ``exact`` for Sinabs; Rockpool's exponential decays are rewritten as Euler time
  constants), which ``neuro.engine.run(method=...)`` must use to reproduce it, and the input
  gains its own importer builds (:mod:`neuro.interop._producers`);
* the reset: NIR only has reset-to-value and every producer writes ``v_reset = 0`` even for
  reset by subtraction, so the reset comes from the ``reset`` argument, else the metadata, else
  what the producer's own importer does: subtraction for Sinabs and Rockpool, reset to value
  for the others (the report says when the source tool's default was subtraction).

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
from neuro.interop import _producers
from neuro.interop.conventions import detect_producer, get_convention
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


def _load(path_or_graph: Any) -> Any:
    import nir

    if isinstance(path_or_graph, nir.NIRGraph):
        g = copy.deepcopy(path_or_graph)
        _producers.as_numpy(g)
        _producers.drop_batch_dims(g)
        return g
    if not isinstance(path_or_graph, str | os.PathLike):
        raise TypeError(f"import_nir takes a path or a nir.NIRGraph, got {type(path_or_graph).__name__}")
    if not os.path.exists(path_or_graph):
        raise FileNotFoundError(f"no NIR file at {os.fspath(path_or_graph)!r}")
    try:
        g = nir.read(str(path_or_graph), type_check=False)
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise SerializationError(f"cannot read {os.fspath(path_or_graph)!r} as NIR: {type(exc).__name__}: {exc}") from None
    _producers.drop_batch_dims(g)
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


SUBTRACT_ON_IMPORT = ("sinabs", "rockpool")
"""Producers whose own NIR importers build neurons that reset by subtraction, whatever
``v_reset`` says (Sinabs' MembraneSubtract, Rockpool's subtractive reset)."""


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
        _producers.sinabs_gains(g, step)
        dt_value, dt_source = step, "argument" if dt is not None else "sinabs time steps (1 step = 1 s)"
        notes.append(
            f"sinabs time constants are in steps: multiplied by dt = {step} s; LIF r = 1/(1 - exp(-1/tau)) "
            "and IF r = 1/dt give its importer's input gain 1 (norm_input=False)"
        )
    elif name == "rockpool":
        dt_value, dt_source = _producers.rockpool_step(g, dt)
        _producers.rockpool_gains(g, dt_value)
        notes.append(
            "rockpool's decays exp(-dt/tau) written as Euler time constants tau' = dt/(1 - decay) with its "
            "input gains (LIF, LI: r = 1/(1 - decay) or decay/(1 - decay); CubaLIF: w_in = b/(1 - b), "
            "r = 1/(1 - a)): its LIF and LI are reproduced exactly; its CubaLIF feeds the same step's "
            "current to the membrane, so neuro's spikes come exactly one step later"
        )
        own_dt = _producers.rockpool_importer_dt(g, dt_value)
        notes.append(f"rockpool's own from_nir reads dt = tau_mem/(1 + r) instead, {own_dt!r} s here")
    elif conv.dt is not None:
        if name == "norse":
            notes += _producers.norse_source(g, float(dt if dt is not None else conv.dt))
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

"""Does another tool simulate the exported graph the way neuro does?

``check_fidelity(model_or_graph, against, inputs, dt)`` runs the same ``(T, B, ...)`` input
through neuro's engine (numpy backend, float64) and through ``against``'s own simulator of the
graph exported for it (:func:`~neuro.interop.nir_export.export_nir`), then compares each
spiking layer:

* spike counts and their difference; the first step where the spike trains differ;
* the van Rossum distance (trains filtered with ``exp(-t / tau_vr)``, ``tau_vr`` in steps,
  ``D = sqrt(sum_t (f - g)^2 / tau_vr)``, averaged over neurons and samples; one lone extra
  spike gives about 0.7);
* the membrane error where the tool exposes it, in neuro's units (the tool's membrane divided
  by the export's voltage scale), over the steps before the first divergence.

Verdict per layer: ``faithful`` (identical spikes, membrane error <= ``membrane_tol``),
``approximate`` (relative count difference and distance per spike both <= ``tolerance``),
else ``divergent``; the overall verdict is the worst one. A verdict that is not faithful
names the likely cause from the export report (``reset``, ``dt``, ``scaling``, ``dynamics``).
With ``adapt=False`` neuro's own NIR is given to the tool unchanged, which shows what its
default interpretation does to the network.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.interop.errors import UnknownToolError, UnsupportedByToolError
from neuro.interop.nir_export import ExportReport, Issue, export_nir
from neuro.interop.nir_import import import_nir

AGAINST = ("engine", "snntorch", "norse", "spikingjelly", "sinabs", "rockpool")
"""Simulators :func:`check_fidelity` can compare with (each tool's own NIR importer)."""

VERDICTS = ("faithful", "approximate", "divergent")


@dataclass
class LayerFidelity:
    """Agreement of one spiking layer."""

    node: str
    spikes_neuro: int
    spikes_other: int
    first_divergence: int | None
    van_rossum: float
    membrane_error: float | None
    verdict: str
    cause: str | None

    @property
    def count_difference(self) -> int:
        return self.spikes_other - self.spikes_neuro


@dataclass
class FidelityReport:
    """Per-layer agreement, the overall verdict and the export report behind it."""

    against: str
    dt: float
    method: str
    tolerance: float
    layers: dict[str, LayerFidelity] = field(default_factory=dict)
    export: ExportReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return max((lay.verdict for lay in self.layers.values()), key=VERDICTS.index, default="faithful")

    @property
    def causes(self) -> list[str]:
        return sorted({lay.cause for lay in self.layers.values() if lay.cause})


def van_rossum(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    """Mean van Rossum distance between ``(T, ...)`` spike trains, ``tau`` in steps."""
    diff = (np.asarray(a, float) - np.asarray(b, float)).reshape(a.shape[0], -1)
    decay = np.exp(-1.0 / tau)
    f = np.zeros(diff.shape[1])
    total = np.zeros(diff.shape[1])
    for t in range(diff.shape[0]):
        f = f * decay + diff[t]
        total += f * f
    return float(np.mean(np.sqrt(total / tau))) if diff.shape[1] else 0.0


def _as_graph(model_or_graph: Any, dt: float | None) -> tuple[ir.Graph, list[str]]:
    if isinstance(model_or_graph, ir.Graph):
        g = model_or_graph if dt is None else model_or_graph.with_metadata(dt=float(dt))
        return g, []
    graph, rep = import_nir(model_or_graph, dt=dt)
    return graph, [
        f"imported as {rep.producer} ({'detected' if rep.detected else 'given'}): dt {rep.dt} s "
        f"({rep.dt_source}), method {rep.method}"
    ]


def _engine(graph: ir.Graph, x: np.ndarray, method: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    from neuro.engine import run

    neurons = [n for n, v in graph.nodes.items() if v.node_type in ("LIF", "IF", "CubaLIF")]
    res = run(graph, x, backend="numpy", dtype=np.float64, method=method, monitors={n: ["v"] for n in neurons})
    T, B = x.shape[:2]
    spikes = {n: res.spikes[n].to_dense(np.float64).reshape(T, B, -1) for n in neurons}
    mems = {n: res.traces[(n, "v")].reshape(T, B, -1) for n in neurons}
    return spikes, mems


def _upstream(node: str, graph: ir.Graph) -> set[str]:
    upstream = {node}
    frontier = [node]
    while frontier:
        for p in graph.predecessors(frontier.pop()):
            if p not in upstream:
                upstream.add(p)
                frontier.append(p)
    return upstream


def _cause(node: str, issues: list[Issue], graph: ir.Graph) -> str | None:
    upstream = _upstream(node, graph)
    found = [i.cause for i in issues if i.node == node] or [i.cause for i in issues if i.node in upstream]
    return found[0] if found else None


def _naive_issues(graph: ir.Graph, against: str) -> list[Issue]:
    from neuro.interop.conventions import get_convention

    conv = get_convention(against)
    issues = []
    if conv.dt is not None and not np.isclose(conv.dt, graph.dt):
        issues += [Issue(n, "dt", f"{against} assumes dt = {conv.dt} s, the graph runs at {graph.dt} s") for n in graph.nodes]
    for n, v in graph.nodes.items():
        if getattr(getattr(v, "reset", None), "name", None) == "subtract":
            issues.append(Issue(n, "reset", f"{n} resets by subtraction; {against} resets to zero"))
        if np.any(np.asarray(getattr(v, "r", 1.0)) != 1.0):
            issues.append(Issue(n, "scaling", f"{n} has r != 1"))
    return issues


def check_fidelity(
    model_or_graph: Any,
    against: str,
    inputs: np.ndarray,
    dt: float | None = None,
    *,
    method: str | None = None,
    adapt: bool = True,
    tolerance: float = 0.05,
    membrane_tol: float = 1e-4,
    tau_vr: float = 5.0,
) -> FidelityReport:
    """Compare neuro's engine with ``against``'s simulator on ``inputs`` (see module docstring).

    Args:
        model_or_graph: a neuro ``Graph``, a ``.nir`` path or a ``nir.NIRGraph`` (imported with
            :func:`~neuro.interop.nir_import.import_nir`, producer detected).
        against: one of :data:`AGAINST`.
        inputs: dense ``(T, B, *input_shape)`` input.
        dt: time step (s); default the graph's metadata.
        method: neuro's discretisation (default: the graph's ``method`` metadata, else exact).
        adapt: export parameters for the tool's conventions (False: neuro's NIR unchanged).
        tolerance: bound on the relative count difference and distance per spike for
            ``approximate``.
        membrane_tol: bound on the membrane error, relative to the largest |v|, for ``faithful``.
        tau_vr: van Rossum time constant in steps.

    Raises:
        UnknownToolError: ``against`` is not in :data:`AGAINST`.
        MissingToolError: the tool is not installed.
        UnsupportedByToolError: the tool has no importer for some nodes (named).
    """
    if against not in AGAINST:
        raise UnknownToolError(f"check_fidelity compares with {list(AGAINST)}, not {against!r}")
    graph, notes = _as_graph(model_or_graph, dt)
    method = method or str(graph.metadata.get("method", "exact"))
    x = np.asarray(inputs, dtype=np.float64)
    ref_z, ref_v = _engine(graph, x, method)
    report = FidelityReport(against, float(graph.dt), method, tolerance, notes=notes)
    if against == "engine":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "graph.nir")
            report.export = export_nir(graph, path, method=method)
            back, _ = import_nir(path)
        other_z, other_v = _engine(back, x, str(back.metadata["method"]))
        scale = {n: np.ones(1) for n in ref_z}
        issues: list[Issue] = []
        caveats: list[Issue] = []
    else:
        from neuro.interop._runners import RUNNERS

        export = export_nir(graph, consumer=against if adapt else None, method=method)
        report.export = export
        missing = [i.node for i in export.cannot if i.cause == "node"]
        if adapt and missing:
            raise UnsupportedByToolError(
                f"{against} cannot import nodes {missing}: " + "; ".join(i.message for i in export.cannot if i.cause == "node"),
                missing,
            )
        other_z, other_v = RUNNERS[against](export.nir_graph, x)
        scale = export.voltage_scale if adapt else {n: np.ones(1) for n in ref_z}
        issues = export.cannot if adapt else _naive_issues(graph, against)
        caveats = [i for i in export.caveats if i.cause not in ("batch", "spike")] if adapt else []
    for n in ref_z:
        a, b = ref_z[n], other_z[n].reshape(ref_z[n].shape)
        differ = np.flatnonzero(np.any((a != b).reshape(a.shape[0], -1), axis=1))
        first = int(differ[0]) if differ.size else None
        vr = van_rossum(a, b, tau_vr)
        mem_err = None
        if n in other_v:
            upto = a.shape[0] if first is None else first
            v_other = other_v[n].reshape(ref_v[n].shape)[:upto] / np.reshape(scale.get(n, 1.0), (1, 1, -1))
            if upto:
                mem_err = float(np.max(np.abs(v_other - ref_v[n][:upto])))
        count_a, count_b = int(a.sum()), int(b.sum())
        vmax = float(np.max(np.abs(ref_v[n]))) or 1.0
        if first is None and (mem_err is None or mem_err <= membrane_tol * vmax):
            verdict = "faithful"
        elif abs(count_b - count_a) <= tolerance * max(count_a, 1) and vr / max(count_a, 1) ** 0.5 <= tolerance:
            verdict = "approximate"
        else:
            verdict = "divergent"
        cause = None
        if verdict != "faithful":
            several = "spike" if float(np.max(b, initial=0.0)) > 1.0 else None  # floor(v/threshold) > 1
            inherited = next(
                (lay.cause for lay in report.layers.values() if lay.cause and lay.node in _upstream(n, graph)), None
            )
            cause = (
                _cause(n, issues, graph)
                or several
                or inherited
                or _cause(n, caveats, graph)
                or "numerics (float32 in the tool)"
            )
        report.layers[n] = LayerFidelity(n, count_a, count_b, first, vr, mem_err, verdict, cause)
    return report

"""The ``hardware`` step of ``neuro run``: energy and fit of the trained network on chips.

It reads the counts the ``engine`` step wrote (``report/counts.json``: exact integers summed
over the simulated test samples), turns them into per-layer activity
(:func:`neuro.hardware.activity_from_engine`), prices them on every configured chip with the
dense-ANN baseline of the same network (:func:`neuro.hardware.compare`), maps the graph onto
each chip (:func:`neuro.hardware.mapping.map_graph`), and writes ``report/energy.json`` and a
stacked bar plot. It is cheap (no simulation), so it simply runs again on a resumed run.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from neuro.core.errors import NeuroError
from neuro.core.io import atomic_write_text

log = logging.getLogger(__name__)


class MissingCountsError(NeuroError, RuntimeError):
    """The hardware step needs the engine step's counts."""


def price_and_map(ctx: Any, graph: Any) -> dict[str, Any]:
    """The step's results: ``totals`` per chip (see :class:`neuro.hardware.Comparison`),
    ``mapping`` per chip (fits, cores used, violations with hints) and the file paths."""
    from neuro.hardware import activity_from_engine, compare, get_chip
    from neuro.hardware.mapping import map_graph
    from neuro.hardware.violations import Kind
    from neuro.report.hardware import plot_comparison

    cfg = ctx.config.hardware
    counts_path = ctx.out / "report" / "counts.json"
    if not counts_path.is_file():
        raise MissingCountsError(f"the hardware step needs {counts_path}: run the engine step before it")
    document = json.loads(counts_path.read_text())
    activity = activity_from_engine(graph, document["nodes"])
    comparison = compare(activity, cfg.chips)
    mapping: dict[str, dict[str, Any]] = {}
    for name in comparison.reports:
        result = map_graph(graph, get_chip(name), weight_bits=cfg.weight_bits)
        mapping[name] = {
            "fits": result.fits,
            "cores_used": result.cores_used,
            "chips_needed": result.chips_needed,
            "violations": [str(v) for v in result.violations if v.kind is not Kind.UNCHECKED],
            "unchecked": sorted({v.constraint for v in result.violations if v.kind is Kind.UNCHECKED}),
        }
    folder = ctx.out / "report"
    plot = plot_comparison(comparison, folder / "energy.png")
    results = {"samples": document.get("samples"), "totals": comparison.totals, "mapping": mapping, "plot": str(plot)}
    atomic_write_text(folder / "energy.json", json.dumps({**results, "rows": comparison.rows}, indent=1, default=str))
    for t in comparison.totals:
        state = "complete" if t["complete"] else "partly unpriced"
        log.info("energy on %s: %.3g J per sample (%s)", t["chip"], t["total_J_per_sample"], state)
    return results

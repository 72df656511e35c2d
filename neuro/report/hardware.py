"""The hardware section of the run report: energy per chip (with the dense-ANN baseline) and
whether the network fits each chip; also the stacked bar plot of ``neuro energy``."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from neuro.report.engine import _table
from neuro.report.events import _pyplot

GROUPS = {"synop": "synops", "mac": "MACs", "all_in": "synops", "weight_read": "memory"}


def _group(term: str) -> str:
    if term.startswith("neuron"):
        return "neurons"
    if term in ("dac", "xbar_cell", "adc", "shift_add"):
        return "crossbar"
    return GROUPS.get(term, term)


def plot_comparison(comparison: Any, path: Path) -> Path:
    """One stacked bar per chip (energy per sample by term group); incomplete chips get a '*'."""
    plt = _pyplot()
    names = list(comparison.reports)
    stacks: dict[str, list[float]] = {}
    for i, name in enumerate(names):
        rep = comparison.reports[name]
        n = max(rep.samples, 1)
        parts: dict[str, float] = {}
        for le in rep.per_layer:
            for t in le.terms:
                if t.joules:
                    parts[_group(t.name)] = parts.get(_group(t.name), 0.0) + t.joules / n
        if rep.static_J:
            parts["static"] = rep.static_J / n
        for group, joules in parts.items():
            stacks.setdefault(group, [0.0] * len(names))[i] = joules
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names)), 4.5))
    bottom = [0.0] * len(names)
    for group, values in stacks.items():
        ax.bar(range(len(names)), values, bottom=bottom, label=group)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    labels = [
        n + ("" if comparison.reports[n].complete else " *") + (" (ANN)" if n == comparison.baseline else "") for n in names
    ]
    ax.set_xticks(range(len(names)), labels, rotation=30, ha="right")
    ax.set_ylabel("energy per sample (J)")
    ax.set_title("Energy per chip (* = some terms unpriced; priced sum shown)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def hardware_section(results: dict[str, Any], folder: Path) -> list[str]:
    """HTML parts: a table per chip (energy per sample, ratio to the ANN baseline, latency,
    completeness, weakest evidence, fit and cores) and the stacked bar plot."""
    rows = []
    for t in results["totals"]:
        fit = results["mapping"].get(t["chip"], {})
        rows.append(
            [
                t["chip"] + (" (ANN baseline)" if t["baseline"] else ""),
                f"{t['total_J_per_sample']:.3g}",
                "-" if t["vs_baseline"] is None else f"{t['vs_baseline']:.3g}",
                "-" if t["latency_s"] is None else f"{t['latency_s']:.3g}",
                "yes" if t["complete"] else "no: " + ", ".join(t["unpriced"]),
                str(t["evidence_floor"]),
                {True: "yes", False: "no", None: "-"}[fit.get("fits")],
                str(fit.get("cores_used", "-")),
            ]
        )
    head = ["chip", "energy / sample (J)", "vs ANN", "latency / sample (s)", "complete", "weakest evidence", "fits", "cores"]
    parts = ["<h2>Energy and mapping per chip</h2>", _table(head, rows)]
    walls = [f"{c}: {v}" for c, m in results["mapping"].items() for v in m.get("violations", [])]
    if walls:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in walls)
        parts.append(f"<p>Violations (with hints):</p><ul>{items}</ul>")
    plot = results.get("plot")
    if plot:
        parts.append(f"<img src='{Path(plot).name}' style='max-width:100%'>")
    return parts

"""``neuro energy``: price a simulation's exact counts on chips, with the dense-ANN baseline.

``neuro energy GRAPH(.nir|.json) --counts counts.json [--chip X ...] [--json] [--plot out.png]``
reads the graph and the ``counts.json`` that ``neuro simulate`` (or ``neuro run``) wrote, turns
them into layer activity and prints one row per chip: total, per-sample, dynamic and static
energy, latency, the ratio to the dense-ANN baseline (``digital45_ann_fp32``, always included),
the weakest evidence used and the number of unpriced terms. ``--plot`` draws one stacked bar per
chip (terms grouped). Errors exit with status 2 and a one-line message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from neuro.cli.hw import fail, format_value, resolve_chip

DEFAULT_CHIPS = ("digital45_snn", "loihi", "loihi_sanafe", "spinnaker2")


def read_counts(path: Path) -> dict[str, Any]:
    """The per-node counts of a ``counts.json`` (its ``nodes`` entry, or the whole mapping)."""
    from neuro.core.errors import SimulationInputError

    if not path.is_file():
        raise FileNotFoundError(f"no counts file at {str(path)!r}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SimulationInputError(f"{path} is not JSON: {exc}", "counts") from None
    nodes = doc.get("nodes", doc) if isinstance(doc, dict) else None
    if not isinstance(nodes, dict) or not all(isinstance(v, dict) for v in nodes.values()):
        raise SimulationInputError(f"{path} holds no per-node counts (expected a 'nodes' mapping)", "counts")
    return nodes


def register(app: typer.Typer) -> None:
    """Add ``neuro energy`` to ``app``."""

    @app.command()
    def energy(
        graph_file: Path = typer.Argument(..., metavar="GRAPH", help="Graph file: .nir (NIR HDF5) or .json (neuro IR)."),
        counts: Path = typer.Option(..., "--counts", help="counts.json written by `neuro simulate`."),
        chip: list[str] = typer.Option([], "--chip", help="Preset name or chip YAML file (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
        plot: Path | None = typer.Option(None, "--plot", help="Write a stacked bar plot per chip (PNG)."),
        wall_time: float | None = typer.Option(None, "--wall-time", help="Wall-clock seconds per sample (static energy)."),
    ) -> None:
        """Energy and latency of a simulated graph on chips, beside the dense-ANN baseline."""
        from rich.console import Console
        from rich.table import Table

        from neuro.cli.simulate import read_graph
        from neuro.core.errors import NeuroError
        from neuro.hardware import activity_from_engine, compare

        try:
            graph = read_graph(graph_file)
            nodes = read_counts(counts)
            missing = [n for n in nodes if n not in graph.nodes]
            if missing:
                raise NeuroError(f"{counts} has counts for nodes {missing} that {graph_file.name} does not have")
            activity = activity_from_engine(graph, nodes)
            if not activity:
                raise NeuroError(f"{counts} has no counts for any projection of {graph_file.name}")
            chips = [resolve_chip(c) for c in (chip or DEFAULT_CHIPS)]
            result = compare(activity, chips, wall_time_s=wall_time)
            if plot is not None:
                from neuro.report.hardware import plot_comparison

                plot_comparison(result, plot)
        except (NeuroError, FileNotFoundError, KeyError, OSError) as exc:
            raise fail(exc) from None
        if as_json:
            doc = {"totals": result.totals, "rows": result.rows, "reports": {k: r.to_dict() for k, r in result.reports.items()}}
            typer.echo(json.dumps(doc, indent=1))
            return
        table = Table(title=f"Energy of {graph_file.name} ({len(activity)} layers)")
        for col in ("chip", "total / sample", "dynamic", "static", "latency / sample", "vs ANN", "evidence", "unpriced"):
            table.add_column(col)
        for row in result.totals:
            rep = result.reports[row["chip"]]
            lat = "-" if rep.latency_s is None else format_value(rep.latency_s, "s")
            ratio = "-" if row["vs_baseline"] is None else f"{row['vs_baseline']:.3g}x"
            name = row["chip"] + (" (ANN baseline)" if row["baseline"] else "")
            table.add_row(
                name,
                format_value(row["total_J_per_sample"], "J"),
                format_value(rep.dynamic_J, "J"),
                format_value(rep.static_J, "J"),
                lat,
                ratio,
                row["evidence_floor"] or "-",
                str(len(rep.unpriced)) if rep.unpriced else "none",
            )
        console = Console(width=200)
        console.print(table)
        console.print("totals are the priced sum; 'unpriced' counts terms with work but no published price (--json lists them)")
        if plot is not None:
            console.print(f"wrote {plot}")

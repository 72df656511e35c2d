"""``neuro check hardware GRAPH --chip NAME``: does a network fit a chip?

Prints every violated or unchecked constraint with its hint (or ``--json``). Exit status 0 when
the graph fits, 1 when it does not, 2 on bad input (missing or unreadable graph, unknown chip,
bad option), with a one-line error naming the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from neuro.core.errors import NeuroError

check_app = typer.Typer(help="Check a network against a target.", no_args_is_help=True, add_completion=False)


def _chip(name: str) -> Any:
    from neuro.hardware.presets import get_chip, load_chip_yaml

    if name.endswith((".yaml", ".yml")):
        return load_chip_yaml(name)
    return get_chip(name)


def _print(result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    verdict = "[green]fits[/green]" if result.fits else "[red]does not fit[/red]"
    chips = "?" if result.chips_needed is None else str(result.chips_needed)
    console.print(f"[bold]{escape(result.chip)}[/bold]: {verdict}; {result.cores_used} cores, {chips} chip(s)")
    layers = Table(title="Layers")
    for col in ("layer", "cores", "weight bits"):
        layers.add_column(col)
    for name, cores in result.per_layer_cores.items():
        layers.add_row(escape(name), str(cores), str(result.weight_bits.get(name, "")))
    if result.per_layer_cores:
        console.print(layers)
    if result.violations:
        table = Table(title="Constraints")
        for col in ("kind", "layer", "constraint", "required", "limit", "hint"):
            table.add_column(col)
        for v in result.violations:
            need = "?" if v.required is None else f"{v.required:g}"
            have = "unpublished" if v.limit is None else f"{v.limit:g}"
            table.add_row(v.kind.value, escape(v.layer), escape(v.constraint), need, have, escape(v.hint))
        console.print(table)
    util = ", ".join(f"{k} {v:.1%}" for k, v in result.utilisation.items())
    if util:
        console.print(f"utilisation: {util}")


@check_app.command("hardware")
def hardware(
    graph_file: Path = typer.Argument(..., metavar="GRAPH", help="Graph file: .nir (NIR HDF5) or .json (neuro IR)."),
    chip: str = typer.Option(..., "--chip", help="Preset name (neuro hw list) or a chip YAML file."),
    weight_bits: int | None = typer.Option(
        None, help="Precision the weights will be quantised to (default: from the weights)."
    ),
    rel_error: float = typer.Option(0.01, help="Largest rounding error, relative to max|w|, when deriving the precision."),
    max_chips: int = typer.Option(1, help="Chips available; needing more is a violation."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Map GRAPH onto a chip: cores used, and every violated or unchecked constraint with a hint."""
    from neuro.cli.simulate import read_graph
    from neuro.hardware.mapping import map_graph

    try:
        if max_chips < 1:
            raise typer.BadParameter("--max-chips must be >= 1")
        spec = _chip(chip)
        graph = read_graph(graph_file)
        result = map_graph(graph, spec, weight_bits=weight_bits, rel_error=rel_error, max_chips=max_chips)
    except (NeuroError, FileNotFoundError, typer.BadParameter) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        _print(result)
    raise typer.Exit(0 if result.fits else 1)


@check_app.command("fidelity")
def fidelity(
    model: Path = typer.Argument(..., metavar="MODEL_OR_NIR", help="Graph file: .nir (any producer) or .json (neuro IR)."),
    against: str = typer.Option(..., "--against", help="engine, snntorch, norse, spikingjelly, sinabs or rockpool."),
    input_file: Path | None = typer.Option(None, "--input", help="(T, B, ...) input as .npy (default: random spikes)."),
    steps: int = typer.Option(50, help="Steps of the default random input."),
    dt: float | None = typer.Option(None, help="Time step (s); default from the file or its producer."),
    producer: str = typer.Option("auto", help="Who wrote a .nir file (see docs/interop.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Run the same input through neuro's engine and another tool; exit 0 when faithful, 1 when not."""
    import numpy as np

    from neuro.cli.simulate import read_graph
    from neuro.interop import check_fidelity, import_nir

    try:
        if model.suffix == ".nir":
            graph, _ = import_nir(model, producer=producer, dt=dt)
        else:
            graph = read_graph(model)
        if input_file is not None:
            x = np.load(input_file)
        else:
            shape = graph.shapes[graph.inputs[0]]
            x = (np.random.default_rng(0).random((steps, 1, *shape)) < 0.3).astype(np.float64)
        report = check_fidelity(graph, against, x, dt=dt)
    except (NeuroError, FileNotFoundError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rows = [
        {
            "layer": n,
            "spikes_neuro": lay.spikes_neuro,
            "spikes_other": lay.spikes_other,
            "first_divergence": lay.first_divergence,
            "van_rossum": lay.van_rossum,
            "membrane_error": lay.membrane_error,
            "verdict": lay.verdict,
            "cause": lay.cause,
        }
        for n, lay in report.layers.items()
    ]
    cannot = [i.message for i in report.export.cannot] if report.export else []
    if as_json:
        typer.echo(json.dumps({"against": against, "verdict": report.verdict, "layers": rows, "cannot": cannot}, indent=1))
    else:
        typer.echo(f"{against}: {report.verdict}" + (f" (causes: {', '.join(report.causes)})" if report.causes else ""))
        for r in rows:
            typer.echo("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
        for msg in cannot:
            typer.echo(f"  cannot: {msg}")
    raise typer.Exit(0 if report.verdict == "faithful" else 1)


def register(app: typer.Typer) -> None:
    """Add ``neuro check`` to ``app``."""
    app.add_typer(check_app, name="check")

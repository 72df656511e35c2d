"""``neuro data``: list, build and look at the generated datasets."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

data_app = typer.Typer(help="Generated datasets: list, build, show a sample.", no_args_is_help=True)

OPTION_HELP = "Generation option KEY=VALUE (repeatable); VALUE is parsed as JSON, else kept as text."


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["threshold=0.3", "conditions=[\\"blur\\"]", "holdout=flite"]`` → a dict of values."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


def _cached_state(entry: Any, root: Path | None) -> str:
    from neuro.datasets.registry import dataset_cache_path

    return "cached" if dataset_cache_path(entry.name, root).exists() else "not built"


@data_app.command("list")
def list_datasets(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    root: Path | None = typer.Option(None, help="Cache folder (default: $NEURO_CACHE or ~/.cache/neuro)."),
) -> None:
    """List the generated datasets, their splits and options, and whether the defaults are cached."""
    from neuro.datasets import DATASETS

    rows = [
        {
            "name": e.name,
            "summary": e.summary,
            "splits": list(e.splits),
            "options": [f.name for f in dataclasses.fields(e.params_type)] + list(e.selection_options),
            "requires": list(e.requires),
            "default_cache": _cached_state(e, root),
        }
        for e in DATASETS.values()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    table = Table(title="Generated datasets (neuro.datasets.load)")
    for col in ("name", "summary", "splits", "requires", "default build"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["summary"], ", ".join(r["splits"]), ", ".join(r["requires"]) or "-", r["default_cache"])
    Console().print(table)


@data_app.command("build")
def build(
    name: str = typer.Argument(..., help="Dataset name (see `neuro data list`)."),
    option: list[str] = typer.Option([], "--option", "-o", help=OPTION_HELP),
    workers: int = typer.Option(2, help="Worker processes."),
    rebuild: bool = typer.Option(False, help="Regenerate even if cached."),
    root: Path | None = typer.Option(None, help="Cache folder."),
) -> None:
    """Generate a dataset into the cache (all splits) and print a summary."""
    from neuro.datasets.registry import build_dataset, dataset_cache_path, get_entry

    options = parse_options(option)
    entry = get_entry(name)
    for key in entry.selection_options:
        options.pop(key, None)
    start = time.perf_counter()
    columns = (TextColumn(f"building {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(name, total=None)
        ds = build_dataset(
            name, root=root, rebuild=rebuild, workers=workers,
            progress=lambda done, total: bar.update(task, completed=done, total=total), **options,
        )  # fmt: skip
    elapsed = time.perf_counter() - start
    console = Console()
    console.print(f"[bold]{name}[/bold]: {len(ds)} samples in {elapsed:.1f} s -> {dataset_cache_path(name, root, **options)}")
    if hasattr(ds, "offsets"):
        counts = np.diff(ds.offsets)
        console.print(
            f"sensor {ds.sensor_size}, {len(ds.classes)} classes, events per sample: "
            f"mean {counts.mean():.0f}, min {counts.min()}, max {counts.max()}"
        )


@data_app.command("show")
def show(
    name: str = typer.Argument(..., help="Dataset name (see `neuro data list`)."),
    split: str = typer.Option("train", help="Split to draw from."),
    index: int = typer.Option(0, help="Sample index within the split."),
    out: Path = typer.Option(Path("sample.png"), help="Output file: .png/.svg/.pdf for a grid, .gif for an animation."),
    bins: int = typer.Option(8, help="Time bins of the event grid."),
    option: list[str] = typer.Option([], "--option", "-o", help=OPTION_HELP),
    workers: int = typer.Option(2, help="Worker processes if the dataset must be built."),
    root: Path | None = typer.Option(None, help="Cache folder."),
) -> None:
    """Write a picture (or, with a .gif name, an animation) of one sample."""
    from neuro.datasets import load
    from neuro.report.events import animate_events, plot_event_grid, plot_images

    ds = load(name, split, root=root, workers=workers, **parse_options(option))
    sample, label = ds[index]
    label_name = ds.classes[label] if hasattr(ds, "classes") else label
    title = f"{name}/{split}[{index}]: {label_name}"
    if sample.dtype.names is None:  # an image dataset
        written = plot_images(sample[None], [label_name], out, title=title)
    elif out.suffix.lower() == ".gif":
        written = animate_events(sample, ds.sensor_size, out)
    else:
        written = plot_event_grid(sample, ds.sensor_size, out, n_bins=bins, title=f"{title} ({len(sample)} events)")
    typer.echo(f"wrote {written}")

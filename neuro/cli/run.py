"""``neuro run`` and its pieces ``neuro train``, ``neuro eval``, ``neuro export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

CONFIG_HELP = "YAML run config (fields not given keep the built-in default); none: the default."


def _load(config: Path | None, out: Path | None) -> Any:
    from neuro.pipeline import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if out is not None:
        cfg = cfg.model_copy(update={"out_dir": str(out)})
    return cfg


def _run(config: Path | None, out: Path | None, steps: list[str] | None, resume: bool, print_config: bool = False) -> None:
    from neuro.pipeline import dump_config, run_pipeline
    from neuro.pipeline.run import is_main_process

    cfg = _load(config, out)
    if print_config:
        typer.echo(dump_config(cfg), nl=False)
        return
    console = Console(quiet=not is_main_process())
    console.print(f"[bold]neuro run[/bold] {cfg.name}: steps {', '.join(steps or cfg.steps)} -> {cfg.output_dir()}")
    results = run_pipeline(
        cfg, steps=steps, resume=resume, on_step=lambda name, sec: console.print(f"  {name:<9} done in {sec:.1f} s")
    )
    _summary(console, cfg, results)


def _summary(console: Console, cfg: Any, results: dict[str, Any]) -> None:
    if "train" in results:
        t = results["train"]
        console.print(f"trained {t['epochs']} epochs; best {cfg.train.monitor} {t['best_metric']} at epoch {t['best_epoch']}")
    if "evaluate" in results:
        e = results["evaluate"]
        console.print(f"[bold]test accuracy {100 * e['test_accuracy']:.2f} %[/bold] ({e['test_samples']} samples), "
                      f"{e['spikes_per_sample']:.0f} spikes per sample")  # fmt: skip
    if "export" in results:
        x = results["export"]
        files = ", ".join(str(x[k]) for k in ("nir", "ir_json") if k in x)
        check = "identical" if x.get("nir_rebuild_identical") else "DIFFERENT"
        console.print(f"exported {files}" + (f" (NIR rebuild: {check} outputs)" if "nir_rebuild_identical" in x else ""))
    if "engine" in results:
        g = results["engine"]
        exact = g.get("float64_check")
        check = "" if exact is None else f"; float64 spikes {'identical' if exact['spikes_identical'] else 'DIFFERENT'}"
        console.print(f"engine ({g['backend']}, {g['dtype']}) on {g['samples']} test samples: accuracy "
                      f"{100 * g['accuracy']:.2f} %, {100 * g['predictions_identical']:.1f} % predictions and "
                      f"{'all' if g['spikes_identical'] else 'NOT all'} spikes identical to torch{check}")  # fmt: skip
    if "hardware" in results:
        for t in results["hardware"]["totals"]:
            ratio = "" if t["baseline"] or t["vs_baseline"] is None else f", {t['vs_baseline']:.3g}x the dense ANN"
            note = " (dense ANN baseline)" if t["baseline"] else ("" if t["complete"] else ", some terms unpriced")
            console.print(f"energy per sample on {t['chip']}: {t['total_J_per_sample']:.3g} J{ratio}{note}")
    if "report" in results:
        console.print(f"report: {results['report']['index']}")


def register(app: typer.Typer) -> None:
    """Add the pipeline commands to ``app``."""

    @app.command()
    def run(
        config: Path | None = typer.Argument(None, help=CONFIG_HELP),
        out: Path | None = typer.Option(None, help="Run folder (default runs/<name>)."),
        print_config: bool = typer.Option(False, "--print-config", help="Print the effective config and exit."),
        resume: bool = typer.Option(True, help="Continue a killed run from its last checkpoint."),
    ) -> None:
        """Run the whole pipeline: data, train, evaluate, export, engine, hardware, report."""
        _run(config, out, None, resume, print_config)

    @app.command()
    def train(
        config: Path | None = typer.Argument(None, help=CONFIG_HELP),
        out: Path | None = typer.Option(None, help="Run folder (default runs/<name>)."),
        resume: bool = typer.Option(True, help="Continue from the run folder's last checkpoint."),
    ) -> None:
        """Train (and checkpoint) the configured network."""
        _run(config, out, ["data", "train"], resume)

    @app.command("eval")
    def evaluate(
        config: Path | None = typer.Argument(None, help=CONFIG_HELP),
        out: Path | None = typer.Option(None, help="Run folder holding checkpoints/ (default runs/<name>)."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    ) -> None:
        """Evaluate the run folder's best checkpoint on the test split."""
        from neuro.pipeline import run_pipeline

        cfg = _load(config, out)
        results = run_pipeline(cfg, steps=["data", "evaluate"])
        if as_json:
            typer.echo(json.dumps({k: v for k, v in results["evaluate"].items() if k != "predictions"}, indent=1))
        else:
            _summary(Console(), cfg, results)

    @app.command()
    def export(
        config: Path | None = typer.Argument(None, help=CONFIG_HELP + " Or a graph file (.ir.json, .nir, .net)."),
        out: Path | None = typer.Option(None, help="Run folder holding checkpoints/ (default runs/<name>)."),
        fmt: str | None = typer.Option(None, "--format", help="nir, json, netx (Loihi 2), fpga or qonnx."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Where a graph file is exported to."),
    ) -> None:
        """Export the run folder's best checkpoint to NIR and IR JSON (and --format), or convert a graph file."""
        if config is not None and config.suffix.lower() not in (".yaml", ".yml"):
            _export_file(config, fmt or "nir", output)
            return
        _run(config, out, ["data", "export"], True)
        if fmt not in (None, "nir", "json"):
            cfg = _load(config, out)
            _export_file(cfg.output_dir() / "model.ir.json", fmt, None)


def _export_file(source: Path, fmt: str, output: Path | None) -> None:
    """Convert a graph file to ``fmt`` (typed errors become exit status 2 with their message)."""
    from neuro.core.errors import NeuroError
    from neuro.export import SUFFIXES, export_graph, read_graph

    try:
        graph = read_graph(source)
        stem = source.name.split(".")[0]
        target = output or source.with_name(stem + SUFFIXES.get(fmt, ""))
        export_graph(graph, fmt, target)
    except (NeuroError, OSError) as exc:
        typer.echo(f"neuro export: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"exported {source} -> {target} ({fmt})")

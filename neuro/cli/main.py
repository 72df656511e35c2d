"""``neuro``: the command-line interface."""

from __future__ import annotations

import json
import platform
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from neuro.cli import check as check_command
from neuro.cli import energy as energy_command
from neuro.cli import hw as hw_command
from neuro.cli import run as run_commands
from neuro.cli import simulate as simulate_command
from neuro.cli.data import data_app

app = typer.Typer(help="neuro: spiking and neuromorphic simulation.", no_args_is_help=True, add_completion=False)
app.add_typer(data_app, name="data")
run_commands.register(app)
simulate_command.register(app)
energy_command.register(app)
hw_command.register(app)
check_command.register(app)


@app.callback()
def _root() -> None:
    """neuro: train SNNs on event data, simulate them event-driven, estimate energy, export NIR."""


def collect_info() -> dict[str, Any]:
    """Everything ``neuro info`` reports, as plain data."""
    from neuro import __version__
    from neuro.core.neurons import MODELS
    from neuro.engine import probe_backends
    from neuro.ir import NIR_TYPES, NODE_TYPES

    return {
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backends": probe_backends(),
        "neuron_models": [
            {"name": m.name, "state": list(m.state._fields), "methods": list(m.methods), "spiking": m.spiking}
            for m in MODELS.values()
        ],
        "ir_nodes": [{"name": name, "nir": name in NIR_TYPES} for name in NODE_TYPES],
    }


@app.command()
def info(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Print the version, engine backends, neuron models and IR node types."""
    data = collect_info()
    if as_json:
        typer.echo(json.dumps(data, indent=1))
        return
    console = Console()
    console.print(f"[bold]neuro {data['version']}[/bold]  (Python {data['python']}, {data['platform']})")
    backends = Table(title="Engine backends")
    for col in ("backend", "status", "requirements", "description"):
        backends.add_column(col)
    for row in data["backends"]:
        backends.add_row(row["name"], row["status"], escape(str(row["detail"])), row["description"])
    console.print(backends)
    models = Table(title="Neuron models")
    for col in ("model", "state", "discretisation", "output"):
        models.add_column(col)
    for m in data["neuron_models"]:
        models.add_row(m["name"], ", ".join(m["state"]), ", ".join(m["methods"]), "spikes" if m["spiking"] else "membrane")
    console.print(models)
    nodes = ", ".join(n["name"] + ("" if n["nir"] else "*") for n in data["ir_nodes"])
    console.print(f"[bold]IR node types[/bold] (* = neuro extension, not in NIR): {nodes}")


def main() -> None:
    """Entry point of the ``neuro`` console script."""
    app()


if __name__ == "__main__":
    main()

"""``neuro hw``: the chip presets and their cited constants.

``neuro hw list`` prints every registered chip (name, family, description, weakest evidence);
``neuro hw show CHIP`` prints every constant with value, unit, source and evidence grade, and
the per-core limits ("unchecked" where a limit is not published). CHIP is a preset name or a
chip YAML file. Errors exit with status 2 and a one-line message.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

hw_app = typer.Typer(help="Chip presets: list them, show one with its sources.", no_args_is_help=True)

LIMITS = ("max_neurons", "synapse_mem_bits", "synapse_word_bits", "max_fan_in", "max_axons_in", "max_fanout_edges")


def fail(exc: BaseException) -> typer.Exit:
    """Print ``error: <one line>`` and return the exit (status 2) to raise."""
    typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
    return typer.Exit(2)


def resolve_chip(name: str) -> Any:
    """A registered chip, or one read from a ``.yaml``/``.yml`` file."""
    from neuro.hardware import get_chip, load_chip_yaml

    if name.endswith((".yaml", ".yml")):
        return load_chip_yaml(Path(name))
    return get_chip(name)


def format_value(value: float, unit: str) -> str:
    """``2.36e-11, "J"`` -> ``"23.6 pJ"`` (SI prefix for J, s, W, S, V, Hz)."""
    if unit in ("count", "bit", "1", "ohm") or value == 0:
        return f"{value:g} {unit}"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value / 1e-15:.4g} f{unit}"


@hw_app.command("list")
def list_chips() -> None:
    """List the registered chips with their weakest evidence grade."""
    from neuro.hardware import PRESETS, weakest_evidence

    table = Table(title="Chip presets")
    for col in ("name", "family", "description", "weakest evidence"):
        table.add_column(col)
    for name, chip in PRESETS.items():
        grade = weakest_evidence(chip)
        table.add_row(name, chip.family.value, escape(chip.description), "-" if grade is None else grade.name.lower())
    Console(width=200).print(table)


@hw_app.command("show")
def show(chip_name: str = typer.Argument(..., metavar="CHIP", help="Preset name or chip YAML file.")) -> None:
    """Every constant of a chip (value, unit, source, evidence) and its per-core limits."""
    from neuro.core.errors import NeuroError

    try:
        chip = resolve_chip(chip_name)
    except (NeuroError, FileNotFoundError) as exc:
        raise fail(exc) from None
    console = Console(width=200)
    mode = "event-driven" if chip.event_driven else "clock-driven"
    console.print(f"[bold]{chip.name}[/bold] ({chip.family.value}, {mode}, cores: {chip.n_cores or '-'})")
    console.print(escape(chip.description))
    consts = Table(title="Constants")
    for col in ("field", "value", "unit", "source", "evidence", "scope", "note"):
        consts.add_column(col)
    for path, c in chip.constants():
        if path.startswith("cores"):
            continue
        consts.add_row(
            path, format_value(c.value, c.unit), c.unit, c.source, c.evidence.name.lower(), c.scope.value, escape(c.note)
        )
    console.print(consts)
    limits = Table(title="Per-core limits")
    for col in ("core", *LIMITS, "weight_bits", "state_bits"):
        limits.add_column(col)
    for core in chip.cores:
        cells = []
        for name in (*LIMITS, "state_bits"):
            c = getattr(core, name)
            cells.append("unchecked" if c is None else f"{c.value:g} ({c.source}, {c.evidence.name.lower()})")
        wb = "unchecked" if core.weight_bits is None else f"{core.weight_bits[0]}-{core.weight_bits[1]}"
        limits.add_row(core.name, *cells[:-1], wb, cells[-1])
    if chip.cores:
        console.print(limits)
    else:
        console.print("Per-core limits: none (priced per operation, nothing to map)")
    for extra in (chip.crossbar, chip.fpga):
        if extra is not None:
            plain = {f.name: getattr(extra, f.name) for f in dataclasses.fields(extra)}
            console.print(
                f"{type(extra).__name__}: "
                + ", ".join(f"{k}={v.value:g}" if hasattr(v, "value") else f"{k}={v}" for k, v in plain.items())
            )
    console.print(f"references: {', '.join(chip.references) or '-'}")


def register(app: typer.Typer) -> None:
    """Add ``neuro hw`` to ``app``."""
    app.add_typer(hw_app, name="hw")

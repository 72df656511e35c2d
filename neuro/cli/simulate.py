"""``neuro simulate``: run an IR graph on the event-driven engine and write what it did.

The graph is a ``.nir`` (NIR HDF5) or ``.json`` (the project's IR) file. The input is one of:

* ``--input FILE``: a ``.npy`` or ``.npz`` holding dense frames ``(T, B, *input_shape)`` or
  sensor events (a structured array with fields ``x, y, p, t``: one sample); an ``.npz`` with
  several structured arrays is a batch, one sample per array in the order they were saved; an
  ``.npz`` with a ``frames`` or ``events`` entry uses that entry;
* ``--poisson RATE_HZ --steps N [--batch B] [--seed S]``: Poisson spikes on every input;
* ``--dataset NAME --index K``: the events of one sample of a generated dataset.

The output folder receives ``spikes.npz`` (per spiking node its events in CSR form, see
:func:`save_spikes`/:func:`load_spikes`, and per Output node its dense values), ``counts.json``
(exact counts per node, totals and per-sample values) and ``raster.png`` (input and spikes of
one sample). Bad input exits with status 2 and a one-line error naming the problem.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer

from neuro.core.errors import NeuroError, SerializationError, SimulationInputError
from neuro.core.io import atomic_path, atomic_write_text

SPIKES_FORMAT = 1
"""Version of the ``spikes.npz`` layout written by :func:`save_spikes`."""


@dataclass(frozen=True)
class Written:
    """The files :func:`simulate_to_folder` wrote."""

    spikes: Path
    counts: Path
    raster: Path


def read_graph(path: Path) -> Any:
    """The IR graph in a ``.nir`` or ``.json`` file.

    Raises:
        SimulationInputError: another suffix.
        FileNotFoundError: no such file.
        SerializationError: the file cannot be read as a graph (the message names the file).
        IRError: the graph in the file is invalid.
    """
    from neuro import ir

    if not path.is_file():
        raise FileNotFoundError(f"no graph file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".nir":
        return ir.read_nir(path)
    if suffix == ".json":
        try:
            return ir.read_json(path)
        except SerializationError as exc:
            raise SerializationError(f"{path}: {exc}") from None
    raise SimulationInputError(f"graph file {path.name!r} must end in .nir or .json", "graph")


def read_input_file(path: Path) -> Any:
    """Dense frames, one event array, or a list of event arrays from a ``.npy``/``.npz`` file."""
    if not path.is_file():
        raise FileNotFoundError(f"no input file at {str(path)!r}")
    if path.suffix.lower() not in (".npy", ".npz"):
        raise SimulationInputError(f"input file {path.name!r} must end in .npy or .npz", "input")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SimulationInputError(f"cannot read {path} as numpy data: {exc}", "input") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        arrays = {k: loaded[k] for k in loaded.files}
    for key in ("frames", "events"):
        if key in arrays:
            return arrays[key]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    if arrays and all(a.dtype.names for a in arrays.values()):
        return list(arrays.values())
    raise SimulationInputError(
        f"{path} holds arrays {sorted(arrays)}: name the input 'frames' or 'events', or save one array "
        "per sample of structured events",
        "input",
    )


def dataset_sample(
    name: str, index: int, split: str, root: Path | None, options: dict[str, Any], shape: tuple[int, ...]
) -> np.ndarray:
    """The events of sample ``index`` of a generated dataset, checked against the input shape."""
    from neuro.datasets import load

    ds = load(name, split, root=root, **options)
    if not 0 <= index < len(ds):
        raise SimulationInputError(f"--index {index} is outside {name}/{split} (it has {len(ds)} samples)", "index")
    events, _ = ds[index]
    if events.dtype.names is None:
        raise SimulationInputError(f"{name} holds images, not events; the engine needs events or frames", "dataset")
    w, h, p = ((*tuple(ds.sensor_size), 1, 1))[:3]
    expected = (p, h, w) if len(shape) == 3 else ((w,) if len(shape) == 1 else (p, w))
    if tuple(shape) != expected:
        raise SimulationInputError(
            f"{name} has sensor size {tuple(ds.sensor_size)} (W, H, P) but the graph's input shape is {shape}", "dataset"
        )
    return events


def save_spikes(result: Any, path: Path) -> None:
    """Write the spikes of every spiking node (CSR: ``ptr:<node>``, ``idx:<node>``, ``val:<node>``
    when not binary, ``shape:<node>``) and the dense values of every Output node
    (``output:<node>``), with ``n_steps``, ``batch`` and ``dt``, atomically."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(SPIKES_FORMAT),
        "n_steps": np.array(result.n_steps),
        "batch": np.array(result.batch),
        "dt": np.array(result.dt),
    }
    for name, ev in result.spikes.items():
        arrays[f"ptr:{name}"] = ev.ptr
        arrays[f"idx:{name}"] = ev.idx
        arrays[f"shape:{name}"] = np.asarray(ev.shape, np.int64)
        if ev.val is not None:
            arrays[f"val:{name}"] = ev.val
    for name, values in result.outputs.items():
        arrays[f"output:{name}"] = values
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_spikes(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(spikes, outputs)`` from a file written by :func:`save_spikes`: node -> ``Events`` and
    Output node -> ``(T, B, ...)`` values."""
    from neuro.engine import Events

    with np.load(path, allow_pickle=False) as data:
        files = {k: data[k] for k in data.files}
    n_steps, batch = int(files["n_steps"]), int(files["batch"])
    spikes = {}
    for key in files:
        if key.startswith("ptr:"):
            name = key[4:]
            shape = tuple(int(s) for s in files[f"shape:{name}"])
            spikes[name] = Events(files[key], files[f"idx:{name}"], files.get(f"val:{name}"), n_steps, batch, shape)
    outputs = {k[7:]: v for k, v in files.items() if k.startswith("output:")}
    return spikes, outputs


def counts_document(result: Any, dtype: str) -> dict[str, Any]:
    """What ``counts.json`` holds: the run, counts per node, per sample and totals."""
    from neuro.engine.counts import FIELDS

    return {
        "backend": result.backend,
        "dtype": dtype,
        "dt": result.dt,
        "n_steps": result.n_steps,
        "batch": result.batch,
        "nodes": result.counts.to_dict(),
        "per_sample": result.counts.per_sample(),
        "totals": {f: result.counts.total(f) for f in FIELDS},
    }


def _sample_dense(ev: Any, sample: int) -> np.ndarray:
    """``(T, *shape)`` values of one sample of ``ev``."""
    t, b = ev.frames()
    keep = b == sample
    out = np.zeros((ev.n_steps, ev.size), np.float32)
    out[t[keep], ev.idx[keep]] = ev.values(np.float32)[keep]
    return out.reshape(ev.n_steps, *ev.shape)


def write_raster(result: Any, inputs: Any, graph: Any, path: Path, sample: int = 0) -> Path:
    """Raster of the input and of every spiking node for one sample (the report's plot)."""
    import torch

    from neuro.engine.inputs import to_events
    from neuro.report.run import plot_raster

    shape = tuple(graph.shapes[graph.inputs[0]])
    inp = _sample_dense(to_events(inputs, shape, result.dt, result.n_steps), sample)
    spikes = {n: torch.from_numpy(_sample_dense(ev, sample)[:, None]) for n, ev in result.spikes.items()}
    title = f"engine ({result.backend}), sample {sample} of {result.batch}, {result.n_steps} steps"
    return plot_raster(spikes, torch.from_numpy(inp), result.dt, path, title)


def simulate_to_folder(
    graph: Any, inputs: Any, out: Path, *, dt: float | None, n_steps: int | None, backend: str, dtype: str
) -> tuple[Any, Written]:
    """Run ``graph`` on ``inputs`` and write spikes, counts and a raster into ``out``."""
    from neuro import engine

    if dtype not in ("float32", "float64"):
        raise SimulationInputError(f"--dtype must be float32 or float64, got {dtype!r}", "dtype")
    result = engine.run(graph, inputs, dt, backend, n_steps=n_steps, dtype=np.dtype(dtype))
    out.mkdir(parents=True, exist_ok=True)
    written = Written(out / "spikes.npz", out / "counts.json", out / "raster.png")
    save_spikes(result, written.spikes)
    atomic_write_text(written.counts, json.dumps(counts_document(result, dtype), indent=1))
    write_raster(result, inputs, graph, written.raster)
    return result, written


def _fail(exc: BaseException) -> typer.Exit:
    message = " ".join(str(exc).split())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``neuro simulate`` to ``app``."""

    @app.command()
    def simulate(
        graph_file: Path = typer.Argument(..., metavar="GRAPH", help="Graph file: .nir (NIR HDF5) or .json (neuro IR)."),
        input_file: Path | None = typer.Option(None, "--input", help=".npy/.npz of frames (T, B, ...) or sensor events."),
        poisson: float | None = typer.Option(None, help="Poisson input: rate in Hz on every input (needs --steps)."),
        dataset: str | None = typer.Option(None, help="Generated dataset whose sample --index is the input."),
        index: int = typer.Option(0, help="Sample index for --dataset."),
        split: str = typer.Option("test", help="Split for --dataset."),
        option: list[str] = typer.Option([], "--option", "-o", help="Dataset option KEY=VALUE (repeatable)."),
        root: Path | None = typer.Option(None, help="Dataset cache folder."),
        dt: float | None = typer.Option(None, help="Time step in seconds (default: the graph's dt)."),
        steps: int | None = typer.Option(None, help="Number of time steps (needed by --poisson; cuts longer inputs)."),
        batch: int = typer.Option(1, help="Samples for --poisson."),
        seed: int = typer.Option(0, help="Seed for --poisson."),
        backend: str = typer.Option("numba", help="Engine backend: numba, numpy or cuda (needs the gpu extra and a GPU)."),
        dtype: str = typer.Option("float32", help="float32 or float64."),
        out: Path = typer.Option(Path("simulation"), help="Output folder."),
    ) -> None:
        """Simulate a graph on the event-driven engine; write spikes, counts and a raster plot."""
        from rich.console import Console

        from neuro.cli.data import parse_options
        from neuro.engine import PoissonInput

        chosen = [n for n, v in (("--input", input_file), ("--poisson", poisson), ("--dataset", dataset)) if v is not None]
        try:
            if len(chosen) != 1:
                raise SimulationInputError(
                    f"give exactly one of --input, --poisson, --dataset (got {chosen or 'none'})", "input"
                )
            graph = read_graph(graph_file)
            if input_file is not None:
                inputs: Any = read_input_file(input_file)
            elif poisson is not None:
                if steps is None:
                    raise SimulationInputError("--poisson needs --steps", "steps")
                inputs = PoissonInput(poisson, steps, batch, seed)
            else:
                shape = tuple(graph.shapes[graph.inputs[0]]) if graph.inputs else ()
                inputs = dataset_sample(str(dataset), index, split, root, parse_options(option), shape)
            result, written = simulate_to_folder(graph, inputs, out, dt=dt, n_steps=steps, backend=backend, dtype=dtype)
        except (NeuroError, FileNotFoundError, typer.BadParameter) as exc:
            raise _fail(exc) from None
        console = Console()
        console.print(result.counts.table(), highlight=False, soft_wrap=True)
        spikes = sum(len(ev) for ev in result.spikes.values())
        console.print(
            f"{result.n_steps} steps x {result.batch} samples at dt={result.dt:g} s on {result.backend} ({dtype}): "
            f"{spikes} spikes, {result.counts.total('synops')} synops, {result.counts.total('macs')} MACs"
        )
        console.print(f"wrote {written.spikes}, {written.counts}, {written.raster}")

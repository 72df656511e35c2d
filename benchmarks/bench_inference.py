"""Inference of the trained n-digits network: the event-driven engine vs the same network dense in torch.

The network is the one ``neuro run`` trains (``runs/default/model.ir.json``, written by the
export step of ``make demo``); without it the script trains one quickly with the default config
and ``--epochs`` epochs into ``--run`` (about a minute per epoch on two cores). The inputs are the
test split's frames exactly as the pipeline feeds torch (event counts, 16 bins per sample).

Measured, with the engine (numba, float32) and ``neuro.torch.build(graph)`` (float32, eval,
``torch.no_grad``) taking turns pass by pass, medians of ``--repeats`` passes after a warm-up:

* throughput in samples/s at batch 1 and batch 64, with 1 thread (``torch.set_num_threads(1)``,
  ``numba.set_num_threads(1)``) and with 2;
* the compile time of the engine's Numba code (a fresh process with an empty Numba cache);
* the crossover in input sparsity (batch 1, 1 thread): the test frames thinned (each event kept
  with probability ``keep``) and denser random frames, engine time vs torch time per sample;
* where the engine's time goes: per node, time in the compiled kernel and around it.

Usage:
    .venv/bin/python benchmarks/bench_inference.py             # print the results
    .venv/bin/python benchmarks/bench_inference.py --write     # and replace the section in docs/benchmarks.md
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", str(min(2, os.cpu_count() or 1)))  # before numba is imported

import argparse
import contextlib
import itertools
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_docs.py
from _docs import update_section

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Engine inference vs torch"


@dataclass
class Timing:
    """Seconds per pass over ``samples`` samples, for the engine and torch."""

    batch: int
    threads: int
    samples: int
    engine: list[float]
    torch: list[float]
    load: float = 0.0

    def per_second(self, side: str) -> float:
        return self.samples / statistics.median(getattr(self, side))

    @property
    def ratio(self) -> float:
        """Engine speed over torch speed (> 1: the engine is faster)."""
        return statistics.median(self.torch) / statistics.median(self.engine)


def load_network(run: Path, epochs: int) -> tuple[Any, np.ndarray, str]:
    """``(graph, test frames (N, T, P, H, W) float32, where the graph came from)``."""
    from neuro import ir
    from neuro.pipeline import load_config, run_pipeline
    from neuro.pipeline.steps import RunContext, step_data

    path = run / "model.ir.json"
    shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    if path.is_file():
        source = f"`{shown}` (trained by `neuro run`)"
        cfg = load_config(run / "config.yaml" if (run / "config.yaml").is_file() else None)
        cfg = cfg.model_copy(update={"out_dir": str(run)})
    else:
        cfg = load_config({"out_dir": str(run), "train": {"epochs": epochs}})
        run_pipeline(cfg, steps=["data", "train", "export"])
        source = f"`{shown}` (trained by this script, {epochs} epochs)"
    ctx = RunContext(cfg, run)
    step_data(ctx)
    return ir.read_json(path), ctx.splits["test"].frames.numpy(), source


def set_threads(n: int) -> None:
    import numba

    torch.set_num_threads(n)
    numba.set_num_threads(n)


def batches(frames: np.ndarray, batch: int) -> list[np.ndarray]:
    """Time-major, contiguous ``(T, b, ...)`` float32 chunks of ``frames`` ``(N, T, ...)``."""
    return [np.ascontiguousarray(frames[i : i + batch].swapaxes(0, 1), dtype=np.float32) for i in range(0, len(frames), batch)]


def passes(graph: Any, net: torch.nn.Module, chunks: list[np.ndarray]) -> dict[str, Callable[[], None]]:
    from neuro import engine

    tensors = [torch.from_numpy(c) for c in chunks]

    def run_engine() -> None:
        for c in chunks:
            engine.run(graph, c)

    def run_torch() -> None:
        with torch.no_grad():
            for t in tensors:
                net(t)

    return {"engine": run_engine, "torch": run_torch}


def interleaved(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """One warm-up call each, then ``repeats`` timed rounds taking turns."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def throughput(graph: Any, net: torch.nn.Module, frames: np.ndarray, batch: int, threads: int, repeats: int) -> Timing:
    set_threads(threads)
    times = interleaved(passes(graph, net, batches(frames, batch)), repeats)
    return Timing(batch, threads, len(frames), times["engine"], times["torch"], load_average())


def load_average() -> float:
    """The 1-minute load average (this process counts about 1 per busy thread)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def thinned(frames: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """Each event (one count of a frame entry) kept with probability ``keep``."""
    rng = np.random.default_rng(seed)
    return rng.binomial(frames.astype(np.int64), keep).astype(np.float32)


def random_frames(shape: tuple[int, ...], p: float, seed: int) -> np.ndarray:
    """Binary frames with each entry on with probability ``p``."""
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def sparsity_sweep(graph: Any, net: torch.nn.Module, frames: np.ndarray, repeats: int, seed: int) -> list[dict[str, float]]:
    """Engine and torch time per sample (batch 1, 1 thread) over input densities."""
    set_threads(1)
    inputs = [(f"test frames, keep {keep:g}", thinned(frames, keep, seed)) for keep in (0.01, 0.03, 0.1, 0.3)]
    inputs.append(("test frames as they are", frames))
    inputs += [(f"random binary, p = {p:g}", random_frames(frames.shape, p, seed)) for p in (0.2, 0.5, 0.8, 1.0)]
    rows = []
    for label, x in inputs:
        times = interleaved(passes(graph, net, batches(x, 1)), repeats)
        engine_ms, torch_ms = (1e3 * statistics.median(times[k]) / len(x) for k in ("engine", "torch"))
        rows.append(
            {
                "input": label,
                "density": float(np.count_nonzero(x)) / x.size,
                "events": float(x.sum()) / len(x),
                "engine_ms": engine_ms,
                "torch_ms": torch_ms,
                "ratio": torch_ms / engine_ms,
                "load": load_average(),
            }
        )
    return rows


def crossover(rows: list[dict[str, float]]) -> float | None:
    """Input density where engine time equals torch time (log-linear interpolation), or None."""
    ordered = sorted(rows, key=lambda r: r["density"])
    for a, b in itertools.pairwise(ordered):
        if (a["ratio"] - 1) * (b["ratio"] - 1) <= 0 and a["ratio"] != b["ratio"] and a["density"] > 0:
            la, lb = np.log(a["density"]), np.log(b["density"])
            w = (1 - a["ratio"]) / (b["ratio"] - a["ratio"])
            return float(np.exp(la + w * (lb - la)))
    return None


def compile_seconds(graph_path: Path) -> dict[str, float]:
    """First and second ``engine.run`` of one sample in a fresh process with an empty Numba
    cache: the difference is the JIT compile time."""
    code = (
        "import json, time, numpy as np\nfrom neuro import engine, ir\n"
        f"g = ir.read_json({str(graph_path)!r})\nx = np.zeros((16, 1, *g.shapes[g.inputs[0]]), np.float32)\n"
        "x[:, 0, 0, ::3, ::3] = 1\nt = []\nfor _ in range(2):\n    s = time.perf_counter(); engine.run(g, x)\n"
        "    t.append(time.perf_counter() - s)\nprint(json.dumps(t))\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "NEURO_CACHE": cache}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    first, second = json.loads(out.stdout.strip().splitlines()[-1])
    return {"first_call_s": first, "second_call_s": second, "compile_s": first - second}


@contextlib.contextmanager
def node_timers(graph: Any, dtype: Any = np.float32) -> Iterator[dict[str, list[float]]]:
    """Wall time per node of the engine: ``<node>`` for its whole step and ``<node>/kernel`` for
    the compiled kernel or population loop inside it; a fused convolution group (one compiled
    loop for a convolution, its neuron population and pooling node) is timed as one entry named
    by its members joined with ``+`` (instruments the engine's prepared ops; a benchmark-only
    probe, restored on exit; the ops must have run once so that the fused loops are loaded)."""
    import importlib

    from neuro.engine import kernels, populations

    engine_run = importlib.import_module("neuro.engine.run")  # the module (neuro.engine.run is also the function)

    times: dict[str, list[float]] = {}
    current: list[str] = []

    def timed(fn: Callable[..., Any], key: Callable[[], str]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times.setdefault(key(), []).append(time.perf_counter() - start)

        return wrapper

    ops = engine_run._prepared(graph, graph.dt, dtype, "exact")
    groups = engine_run._fused(graph, graph.dt, dtype, "exact")
    saved_loops = {name: g._run for name, g in groups.items()}
    names = ("dense_events", "conv_events", "pool_events", "sparse_events", "dense_to_events", "events_to_dense")
    saved_kernels = {k: getattr(kernels, k) for k in names}
    saved_runner = populations.POPULATION_RUNNERS["numba"]
    saved_steps = {name: op.step for name, op in ops.items()}
    try:
        for k, fn in saved_kernels.items():
            # outside a node (the input frames to events, the Output node's dense values): "run/kernel"
            setattr(kernels, k, timed(fn, lambda: f"{current[-1] if current else 'run'}/kernel"))
        populations.POPULATION_RUNNERS["numba"] = timed(saved_runner, lambda: f"{current[-1]}/kernel")
        for name, op in ops.items():

            def step(*args: Any, _name: str = name, _fn: Callable[..., Any] = saved_steps[name], **kw: Any) -> Any:
                current.append(_name)
                try:
                    return timed(_fn, lambda: _name)(*args, **kw)
                finally:
                    current.pop()

            op.step = step  # type: ignore[method-assign]
        for g in groups.values():
            key = "+".join(g.names)
            g._run = timed(g._run, lambda key=key: f"{key}/kernel")
            g.step = timed(g.step, lambda key=key: key)  # type: ignore[method-assign]
        yield times
    finally:
        for k, fn in saved_kernels.items():
            setattr(kernels, k, fn)
        populations.POPULATION_RUNNERS["numba"] = saved_runner
        for name, op in ops.items():
            op.step = saved_steps[name]  # type: ignore[method-assign]
        for name, loop in saved_loops.items():
            vars(groups[name]).pop("step", None)  # the class's method again
            groups[name]._run = loop


def profile(graph: Any, frames: np.ndarray, batch: int, repeats: int) -> list[dict[str, Any]]:
    """Median milliseconds per sample per node (whole step, kernel, the rest), and the run total."""
    from neuro import engine

    set_threads(1)
    chunks = batches(frames, batch)
    engine.run(graph, chunks[0])
    totals = []
    with node_timers(graph) as times:
        for _ in range(repeats):
            start = time.perf_counter()
            for c in chunks:
                engine.run(graph, c)
            totals.append(time.perf_counter() - start)
    scale = 1e3 / len(frames) / repeats  # summed over every call of every repeat -> ms per sample
    rows = []
    keys = {k.split("+")[0]: k for k in times if "/" not in k}
    for name in (n for n in graph.nodes if n in keys):
        key = keys[name]
        step, kernel = sum(times[key]), sum(times.get(f"{key}/kernel", []))
        kind = " → ".join(graph.nodes[n].node_type for n in key.split("+")) + (" (fused)" if "+" in key else "")
        rows.append({"node": key.replace("+", " + "), "type": kind, "step_ms": step * scale,
                     "kernel_ms": kernel * scale, "other_ms": (step - kernel) * scale})  # fmt: skip
    stepped = sum(r["step_ms"] for r in rows)
    total = sum(totals) * scale
    outside = sum(times.get("run/kernel", [])) * scale  # the input conversion, the Output node's values
    rows.append({"node": "engine.run outside the nodes", "type": "", "step_ms": total - stepped,
                 "kernel_ms": outside, "other_ms": total - stepped - outside})  # fmt: skip
    return rows


def machine() -> str:
    """CPU model, cores, load and versions (from lscpu and nproc where available)."""
    import numba

    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "neuro/engine"], capture_output=True, text=True, cwd=ROOT).stdout
    return (
        f"{cpu}, {os.cpu_count()} logical cores (1-minute load average at the end: {load}); Python "
        f"{platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, numba {numba.__version__}; "
        f"neuro at {commit or '?'}" + (" (neuro/engine has uncommitted or untracked files)" if dirty.strip() else "")
    )


def remaining(rows: list[dict[str, Any]]) -> str:
    """Where the batch-1 time goes, and why the obvious shortcuts do not apply."""
    fused = [r for r in rows if "(fused)" in r["type"]]
    compiled = sum(r["kernel_ms"] for r in rows)
    python = sum(r["other_ms"] for r in rows)
    return (
        f"Where the time goes at batch 1 (profile below; the probes add some Python time of their own): "
        f"{compiled:.2f} ms per sample in compiled code, of which "
        + " and ".join(f"{r['kernel_ms']:.2f} ms in the fused loop of {r['node'].split(' + ')[0]}" for r in fused)
        + f", and {python:.2f} ms of Python and numpy around the compiled calls (the input check, the per-node "
        "bookkeeping, the counts, the result). Inside the fused loops (cycle counters around each part of the "
        "generated loops, 200 samples, in the commit that wrote this text) the kernel scatter of the input events "
        "took about half, the update of every neuron at every step an eighth (the convolution's bias makes every "
        "input non-zero) and the per-spike work (listing, placing and pooling the spikes, emitting the window "
        "sums) a third. Two shortcuts do not apply to this network: skipping "
        "neurons that no input event has reached yet (they follow one precomputed trajectory) would skip under a "
        "tenth of the neuron-steps, because 92% of the first layer's and 93% of the second layer's neuron-steps "
        "come after the neuron's first input event (measured on 40 test samples); and skipping neurons at the "
        "floating-point fixed point of v = a·v + b never triggers, since with a = exp(-dt/τ) = 0.819 reaching it "
        "takes about 80 steps and a sample has 16."
    )


def format_section(
    command: str, source: str, timings: list[Timing], compiled: dict[str, float], sweep: list[dict[str, float]],
    profiles: dict[int, list[dict[str, Any]]], n_test: int, repeats: int,
) -> str:  # fmt: skip
    """The markdown section for docs/benchmarks.md."""
    lines = [
        SECTION, "",
        "Inference of the trained n-digits network (Conv(2→12, 5) → LIF → SumPool 2 → Conv(12→32, 5) → LIF → "
        "SumPool 2 → Linear(800→10) → LI readout; 16 frames of (2, 34, 34) event counts per sample) on the "
        f"event-driven engine (`neuro.engine.run`, numba, float32) and dense in torch (`neuro.torch.build(graph)`, "
        f"float32, eval, `torch.no_grad`), on the {n_test} test samples, the same frames for both. Medians of "
        f"{repeats} passes after a warm-up pass, the engine and torch taking turns. Network: {source}.", "",
        "How the engine runs it (numba backend): the input frames become events in one compiled pass, their "
        "non-zero entries listed without a branch per entry (16 entries at a time as a bit mask, each byte of it "
        "turned into its indices by a table row and one 8-wide store). Each convolution, the LIF population it "
        "alone feeds and the pooling node after it run as one compiled loop per sequence "
        "(`neuro/engine/fused.py`), generated for the convolution's sizes: per frame, the input events scatter "
        "one kernel each into a channels-last scratch (per event and kernel row, one contiguous run of up to "
        "kw × C_out outputs, added in explicit 8- and 4-wide vectors, bitwise the scalar sums; an event away from "
        "the borders adds the whole kernel in code unrolled for these sizes); every neuron is updated from the "
        "scratch plus the bias by the model's own `update` (compiled by Numba in the run's dtype, the state kept "
        "channels-last, coefficients equal over the population hoisted out of the loop or, when 0 or 1, folded "
        "away, the counts taken in the same vectorised pass, the scratch cleared on the way); the spikes are "
        "listed like the input, counted by channel, written in channel-major order and added to their pooling "
        "windows, and the non-zero window sums are listed and emitted as events for the next convolution. No "
        "convolution output or spike frame is ever written densely. The results and counts are bitwise those of "
        "the node-by-node path (tests/engine/test_fused.py). The readout (Affine, LI) runs node by node. The "
        "counts come from the kernels (effective synops from per-input fan-out tables), not from passes over "
        "the outputs.", "",
        f"Command: `{command}`", "", f"Machine: {machine()}.", "",
        "| batch | threads | engine samples/s | torch samples/s | engine / torch | load after |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for t in timings:
        lines.append(
            f"| {t.batch} | {t.threads} | {t.per_second('engine'):,.0f} | {t.per_second('torch'):,.0f} | {t.ratio:.2f}× "
            f"| {t.load:.1f} |"
        )
    single = next((t for t in timings if (t.batch, t.threads) == (1, 1)), None)
    if single is not None:
        verdict = "met" if single.ratio >= 5 else "not met"
        lines += ["", f"Goal of issue 5, the engine at least 5× faster than torch at batch 1: **{verdict}** "
                  f"({single.ratio:.2f}× with one thread)."]  # fmt: skip
        if 1 in profiles:
            lines += ["", remaining(profiles[1])]
    lines += [
        "",
        f"Numba compile (excluded above): the first `engine.run` in a fresh process with an empty cache took "
        f"{compiled['first_call_s']:.1f} s, the second {1e3 * compiled['second_call_s']:.0f} ms: "
        f"**{compiled['compile_s']:.1f} s of compilation**, paid once per machine (the loops are cached on disk).",
        "",
        "Input sparsity (batch 1, 1 thread): the test frames thinned (each event kept with probability `keep`) "
        "and denser random binary frames. Density is the fraction of non-zero input entries. "
        "Load after: the 1-minute load average after the row (this process adds about 1 per thread).",
        "",
        "| input | density | input events / sample | engine ms / sample | torch ms / sample | engine / torch | load after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sweep:
        lines.append(f"| {r['input']} | {r['density']:.4f} | {r['events']:,.0f} | {r['engine_ms']:.2f} | "
                     f"{r['torch_ms']:.2f} | {r['ratio']:.2f}× | {r['load']:.1f} |")  # fmt: skip
    cross = crossover(sweep)
    lines += ["", "Crossover: " + (f"engine time equals torch time at an input density of about **{cross:.3f}**." if cross
              else "none in the range measured (the engine is " + ("faster" if sweep[0]["ratio"] > 1 else "slower")
              + " everywhere).")]  # fmt: skip
    for batch, rows in profiles.items():
        lines += ["", f"Where the engine's time goes at batch {batch} (1 thread, ms per sample; kernel: the compiled "
                  "event kernel, population loop or fused loop, and outside the nodes the compiled conversion of the "
                  "input frames to events and of the readout's values to the Output array; other: the Python and "
                  "numpy work around it):", "",
                  "| node | type | step | kernel | other |", "|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            lines.append(f"| {r['node']} | {r['type']} | {r['step_ms']:.3f} | {r['kernel_ms']:.3f} | {r['other_ms']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "default", help="run folder with model.ir.json")
    parser.add_argument("--epochs", type=int, default=2, help="epochs if the script must train the network")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per measurement")
    parser.add_argument("--samples", type=int, default=0, help="test samples (0: the whole split)")
    parser.add_argument("--sweep-samples", type=int, default=32, help="samples per input density")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="replace the section in docs/benchmarks.md")
    args = parser.parse_args(argv)
    from neuro.torch import build

    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 1.5:
        print(f"warning: load average {os.getloadavg()[0]:.2f} > 1.5: timings will be noisy", file=sys.stderr)
    graph, frames, source = load_network(args.run, args.epochs)
    frames = frames[: args.samples] if args.samples else frames
    net = build(graph, dtype=torch.float32).eval()
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    timings = []
    for threads in (1, 2):
        for batch in (1, 64):
            timings.append(throughput(graph, net, frames, batch, threads, args.repeats))
            t = timings[-1]
            log(f"batch {batch}, {threads} thread(s): engine {t.per_second('engine'):.0f}/s, "
                f"torch {t.per_second('torch'):.0f}/s, ratio {t.ratio:.2f}")  # fmt: skip
    compiled = compile_seconds(args.run / "model.ir.json")
    log(f"compile {compiled}")
    sweep = sparsity_sweep(graph, net, frames[: args.sweep_samples], args.repeats, args.seed)
    for r in sweep:
        log(f"{r['input']}: density {r['density']:.4f}, engine {r['engine_ms']:.2f} ms, torch {r['torch_ms']:.2f} ms")
    profiles = {b: profile(graph, frames[: max(b, args.sweep_samples)], b, args.repeats) for b in (1, 64)}
    shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write"]
    command = "python benchmarks/bench_inference.py " + " ".join(shown)
    section = format_section(command.strip(), source, timings, compiled, sweep, profiles, len(frames), args.repeats)
    print(section)
    if args.write:
        update_section(ROOT / "docs" / "benchmarks.md", section, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

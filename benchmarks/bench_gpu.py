"""GPU benchmarks of the engine's ``cuda`` backend (issue 8), each against the CPU in the same run.

Parts (``--parts``, default all):

* ``bandwidth``: the device's peak memory bandwidth from its attributes (2 × memory clock × bus
  width, ``cupy.cuda.runtime``) and a measured device-to-device copy (bytes read + written);
* ``cuba``: the CUBA network (:mod:`neuro.models.cuba`) for 1 s of biological time at dt 0.1 ms,
  ``run_block`` on ``cuda`` and on ``numba`` (float32): setup, loop, seconds per biological
  second, synaptic events per second, rates (which must match), compile time separately; and the
  HBM-bandwidth bound of that run (:data:`BOUND`) with the achieved fraction. On ``cuda`` the
  block delivers event-driven (:mod:`neuro.engine.cuda.blocks`' default: per step only the rows
  of the neurons that spiked are read, with atomic adds), as the numba loop does;
* ``accumulate``: the three accumulations of :mod:`neuro.engine.cuda.kernels` (gather, atomic
  scatter, sort-then-segment-reduce) for the CUBA network's sparse projection, fed Poisson
  spikes at the network's rate, and the numba kernel;
* ``inference``: batched inference of the trained n-digits network (``runs/default``, see
  ``bench_inference.py``) on ``cuda``, on ``numba`` and dense in torch on the GPU;
* ``training``: training throughput of ``bench_training.py``'s network on the GPU and on the CPU
  (neuro, and snnTorch where installed).

On a machine with an NVIDIA GPU (cupy and numba-cuda importable, neuro installed)::

    python benchmarks/bench_gpu.py --results runs/bench_gpu.json --write

Results accumulate in ``--results`` (JSON; rows measured again replace theirs, other sizes are
kept), so the parts can run as separate commands; ``--render --write`` rewrites the docs section
from that file without measuring.

With the device tool of this project (10 minutes per command; its image has torch, cupy-cuda13x,
numba and numba-cuda but not nir, pydantic or lz4): download those wheels here for Python 3.12
into ``.whl`` (ignored through ``.git/info/exclude``; the tool's README gives the ``pip
download`` line; add snntorch for the training comparison), carry ``.whl`` and
``runs/default`` (the trained network), and run, in one call or one per line::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
    python3 -m pip install -q --no-deps --no-build-isolation -e .
    python3 benchmarks/bench_gpu.py --parts bandwidth cuba accumulate inference training --sizes 40000 400000 \
        --results runs/bench_gpu.json; cp runs/bench_gpu.json $OUT/
    python3 benchmarks/bench_gpu.py --parts cuba --sizes 4000000 --results runs/bench_gpu.json; cp runs/bench_gpu.json $OUT/
    python3 benchmarks/bench_gpu.py --parts accumulate --sizes 4000000 --accumulate-steps 100 \
        --results runs/bench_gpu.json; cp runs/bench_gpu.json $OUT/

(``runs/`` persists between calls while the machine stays warm; ``--skip-cpu 4000000`` leaves out
the numba run at 4M if the call would pass its limit), then here
``python benchmarks/bench_gpu.py --render --results <the fetched bench_gpu.json> --write``.
Setting ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0`` in a second run shows what Numba's per-launch
stream synchronisation on CuPy arguments costs (docs/engine.md).

``--smoke`` runs every part at tiny sizes; under ``NUMBA_ENABLE_CUDASIM=1`` (the Numba CUDA
simulator) it runs on a CPU, torch then on CPU tensors, and tests the script, not the hardware
(tests/benchmarks/test_bench_gpu.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_docs.py and the CPU benchmarks
from _docs import update_section

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## GPU: the cuda backend"
PARTS = ("bandwidth", "cuba", "accumulate", "inference", "training")
GOAL = 0.30  # issue 8: at least 30 % of the HBM-bandwidth bound at N = 4M
DT = 1e-4
BOUND = """Bound (HBM bytes a CUBA step must move, float32): per delivered synaptic event the target's
column index (int32, 4 B), the weight (4 B) and a read and a write of the target's input
accumulator (2 × 4 B): **16 B**; per neuron and step its state (CubaEILIF: v, i_exc, i_inh,
refractory counter) read and written (4 × 2 × 4 B) and its two input accumulators read and
cleared (2 × 2 × 4 B): **48 B**. Coefficients (uniform over the population), spikes and counters
are not counted, nor any index or pointer beyond the column index: a lower bound on the traffic
of any implementation with 32-bit state, so its time (bytes / peak bandwidth) is an upper bound
on speed. Fraction = bound time / measured loop time, for the attribute peak and for the
measured copy bandwidth."""
EVENT_BYTES = 4 + 4 + 2 * 4
NEURON_STEP_BYTES = 4 * 2 * 4 + 2 * 2 * 4


# ---------------------------------------------------------------- device and timing


def simulated() -> bool:
    from neuro.engine.cuda import arrays

    return arrays.simulated()


def sync() -> None:
    """Wait for the device (nothing to wait for under the simulator)."""
    if not simulated():
        import cupy  # type: ignore[import-not-found]

        cupy.cuda.Device().synchronize()


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Seconds of ``repeats`` calls of ``fn`` (each synchronised), and its last result."""
    times, out = [], None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - start)
    return times, out


def _version(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_name() -> str:
    with contextlib.suppress(OSError, StopIteration):
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    return platform.processor() or platform.machine()


def device_info() -> dict[str, Any]:
    """What ran: device name, driver and runtime, versions, CPU, commit, load."""
    import numba

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    info: dict[str, Any] = {
        "cpu": f"{cpu_name()}, {os.cpu_count()} logical cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_cuda": _version("numba-cuda"),
        "commit": commit.strip() or "?",
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
        "simulated": simulated(),
        # under the CUDA array interface v3 numba synchronises on the stream a CuPy argument
        # exports at each launch unless this is 0: it may decide whether launches queue up
        "cai_sync": os.environ.get("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "1 (default)"),
    }
    if info["simulated"]:
        info["device"] = "none: the Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1) on the CPU; timings say nothing"
        return info
    import cupy  # type: ignore[import-not-found]

    rt = cupy.cuda.runtime
    props = rt.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    info.update(
        device=name,
        driver=_cuda_version(rt.driverGetVersion()),
        runtime=_cuda_version(rt.runtimeGetVersion()),
        cupy=cupy.__version__,
        multiprocessors=int(props["multiProcessorCount"]),
        memory_gib=props["totalGlobalMem"] / 2**30,
        l2_mib=props["l2CacheSize"] / 2**20,
    )
    with contextlib.suppress(Exception):
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        )
        info["driver"] += f" (driver {smi.stdout.strip()})" if smi.returncode == 0 else ""
    return info


def _cuda_version(v: int) -> str:
    return f"CUDA {v // 1000}.{v % 1000 // 10}"


def bandwidth(smoke: bool) -> dict[str, Any]:
    """Peak bandwidth from the memory clock and bus width, and a measured copy (read + write)."""
    nbytes = 4 * 2**20 if smoke else 2 * 2**30
    out: dict[str, Any] = {"copy_bytes": nbytes}
    if simulated():
        src = np.ones(nbytes // 4, np.float32)
        dst = np.empty_like(src)
        times, _ = timed(lambda: np.copyto(dst, src), 5)
        out.update(peak_gbs=None, copy_gbs=2 * nbytes / statistics.median(times) / 1e9, note="host memory copy (simulator)")
        return out
    import cupy

    rt = cupy.cuda.runtime
    clock_khz = _attribute(rt, "memoryClockRate", 36)
    bus_bits = _attribute(rt, "memoryBusWidth", 37)
    src = cupy.ones(nbytes // 4, cupy.float32)
    dst = cupy.empty_like(src)
    dst[...] = src  # warm-up
    times, _ = timed(lambda: dst.__setitem__(Ellipsis, src), 20)
    out.update(
        memory_clock_mhz=clock_khz / 1e3,
        bus_width_bits=bus_bits,
        peak_gbs=2 * clock_khz * 1e3 * bus_bits / 8 / 1e9,
        copy_gbs=2 * nbytes / statistics.median(times) / 1e9,
        note="device-to-device copy, median of 20",
    )
    return out


def _attribute(rt: Any, key: str, attr: int) -> int:
    """A device property by name (CUDA 12 headers) or by attribute number (cudaDevAttr: 36 memory
    clock rate in kHz, 37 global memory bus width in bits; CUDA 13 dropped the fields)."""
    props = rt.getDeviceProperties(0)
    if props.get(key):
        return int(props[key])
    return int(rt.deviceGetAttribute(attr, 0))


# ---------------------------------------------------------------- CUBA


@contextlib.contextmanager
def phase_timers() -> Iterator[dict[str, float]]:
    """Seconds spent planning the block (``plan_block``) and making the cuda backend's device
    buffers (``blocks._buffers``: synapse tables built and copied), summed over calls. A
    benchmark-only probe, restored on exit."""
    from neuro.engine import recurrent
    from neuro.engine.cuda import blocks

    spent = {"plan": 0.0, "buffers": 0.0}
    saved = recurrent.plan_block, blocks._buffers

    def wrap(fn: Callable[..., Any], key: str) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        return inner

    recurrent.plan_block, blocks._buffers = wrap(saved[0], "plan"), wrap(saved[1], "buffers")  # type: ignore[assignment]
    try:
        yield spent
    finally:
        recurrent.plan_block, blocks._buffers = saved  # type: ignore[assignment]


_GRAPHS: dict[int, Any] = {}


def cuba_network(n: int) -> tuple[Any, Any, float]:
    """``(graph, initial state, build seconds)`` of ``cuba(n, seed=0)``, built once per size."""
    from neuro.models.cuba import cuba

    if n not in _GRAPHS:
        start = time.perf_counter()
        graph, init = cuba(n, seed=0)
        _GRAPHS[n] = (graph, init, time.perf_counter() - start)
    return _GRAPHS[n]


def run_cuba_block(graph: Any, init: Any, n_steps: int, backend: str) -> Any:
    """The CUBA block without emitted outputs (a dense ``(T, n)`` spike array would not fit at
    4M on a GPU); spikes and events come from the exact counts."""
    from neuro.engine.recurrent import run_block

    return run_block(graph, ["pop", "rec"], {}, n_steps, 1, DT, backend=backend, dtype=np.float32, initial_state=init, emit=[])


def compile_seconds(backend: str, n: int) -> float:
    """First call minus second call of a 2-step run at ``n`` neurons in this process."""
    from neuro.models.cuba import cuba

    graph, init = cuba(n, seed=1)
    times, _ = timed(lambda: run_cuba_block(graph, init, 2, backend), 2)
    return times[0] - times[1]


def cuba_part(sizes: list[int], duration: float, cpu_skip: set[int], smoke: bool, log: Callable[[str], None]) -> dict[str, Any]:

    n_steps = round(duration / DT)
    backends = ["cuda", "numba"]
    compile_n = 100 if smoke else 4000
    compiled = {b: compile_seconds(b, compile_n) for b in backends}
    result: dict[str, Any] = {
        "duration_s": duration,
        "n_steps": n_steps,
        "rows": [],
        "compile_s": compiled,
        "compile_n": compile_n,
    }
    log(f"cuba compile: {result['compile_s']}")
    for n in sizes:
        graph, init, build = cuba_network(n)
        n_syn = len(graph.nodes["rec"].indices)
        for backend in backends:
            if backend == "numba" and n in cpu_skip:
                continue
            load = os.getloadavg()[0]
            with phase_timers() as spent:
                times, res = timed(lambda: run_cuba_block(graph, init, n_steps, backend), 1)  # noqa: B023
            setup = spent["plan"] + spent["buffers"]
            loop = times[0] - setup
            events = int(res.counts["rec"].synops)
            spikes = int(res.counts["pop"].out_spikes)
            row = {"n": n, "synapses": n_syn, "backend": backend, "build_s": build, "setup_s": setup, "loop_s": loop,
                   "s_per_bio_s": loop / duration, "events": events, "events_per_s": events / loop,
                   "rate_hz": spikes / n / duration, "load": load}  # fmt: skip
            result["rows"].append(row)
            log(f"cuba {n:,} {backend}: setup {setup:.2f} s, loop {loop:.3f} s, {row['events_per_s']:.3g} events/s, "
                f"{row['rate_hz']:.2f} Hz")  # fmt: skip
    return result


def rates_match(rows: list[dict[str, Any]], n: int, tolerance: float = 0.1) -> bool | None:
    """cuda and numba rates within ``tolerance`` (relative) at ``n``; None if one is missing.
    float32 runs of this chaotic network diverge spike by spike, so rates, not spikes, are
    compared (Brian2 and numba differ by up to 7 % between seeds, docs/benchmarks.md)."""
    by = {r["backend"]: r["rate_hz"] for r in rows if r["n"] == n}
    if "cuda" not in by or "numba" not in by:
        return None
    return abs(by["cuda"] - by["numba"]) <= tolerance * max(by["numba"], 1e-12)


def bound(cuba_rows: list[dict[str, Any]], n_steps: int, bw: dict[str, Any]) -> list[dict[str, Any]]:
    """The bandwidth bound of each cuda CUBA row and the fraction of it achieved."""
    rows = []
    for r in (r for r in cuba_rows if r["backend"] == "cuda"):
        syn_bytes = r["events"] * EVENT_BYTES
        neuron_bytes = r["n"] * n_steps * NEURON_STEP_BYTES
        row = {"n": r["n"], "syn_gb": syn_bytes / 1e9, "neuron_gb": neuron_bytes / 1e9, "loop_s": r["loop_s"]}
        for key in ("peak_gbs", "copy_gbs"):
            if bw.get(key):
                t = (syn_bytes + neuron_bytes) / (bw[key] * 1e9)
                row[f"bound_s_{key}"] = t
                row[f"fraction_{key}"] = t / r["loop_s"]
                row[f"syn_fraction_{key}"] = syn_bytes / (bw[key] * 1e9) / r["loop_s"]
        rows.append(row)
    return rows


# ---------------------------------------------------------------- accumulation


def poisson_events(n: int, n_steps: int, rate_hz: float, seed: int) -> Any:
    """Binary Events ``(n_steps, 1, n)``: each neuron spikes in a step with probability ``rate * dt``."""
    from neuro.engine.signals import Events

    rng = np.random.default_rng(seed)
    counts = rng.binomial(n, min(rate_hz * DT, 1.0), n_steps)
    idx = [np.sort(rng.choice(n, int(k), replace=False)).astype(np.int32) for k in counts]
    ptr = np.zeros(n_steps + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return Events(ptr, np.concatenate(idx) if idx else np.zeros(0, np.int32), None, n_steps, 1, (n,))


def accumulate_part(
    sizes: list[int], n_steps: int, rates: dict[int, float], repeats: int, log: Callable[[str], None]
) -> dict[str, Any]:
    from neuro.engine.cuda import arrays, kernels
    from neuro.engine.ops import make_op

    strategies: dict[str, kernels.Accumulation] = {
        "gather": kernels.Gather(),
        "scatter (atomic)": kernels.Scatter(),
        "sort + segment reduce": kernels.SortReduce(),
    }
    result: dict[str, Any] = {"n_steps": n_steps, "rows": []}
    for n in sizes:
        rec = cuba_network(n)[0].nodes["rec"]
        op: Any = make_op("rec", rec, (n,), (2 * n,), DT, np.float32, "exact")  # a SparseOp
        rate = rates.get(n, 5.6)
        ev = poisson_events(n, n_steps, rate, seed=n)
        fanout = np.diff(op.indptr)
        events = int(fanout[ev.idx].sum())
        ref = None
        for name, strategy in strategies.items():
            start = time.perf_counter()
            first = arrays.to_host(kernels.sparse(op, ev, strategy))  # weights to the device, layout built
            first_s = time.perf_counter() - start
            times, out = timed(lambda: kernels.sparse(op, ev, strategy), repeats)  # noqa: B023
            out = arrays.to_host(out)
            ref = first if ref is None else ref
            scale = float(np.abs(ref).max(initial=0.0)) or 1.0
            diff = float(np.abs(out - ref).max(initial=0.0)) / scale
            row: dict[str, Any] = {"n": n, "method": name, "first_s": first_s, "median_s": statistics.median(times),
                                   "events": events, "rate_hz": rate, "max_rel_diff": diff}  # fmt: skip
            row["events_per_s"] = events / row["median_s"]
            result["rows"].append(row)
            log(
                f"accumulate {n:,} {name}: {row['median_s'] * 1e3:.2f} ms for {n_steps} steps, "
                f"{row['events_per_s']:.3g} events/s"
            )
        times, _ = timed(lambda: op.project(ev, "numba"), repeats)  # noqa: B023
        result["rows"].append({"n": n, "method": "numba (CPU)", "first_s": None, "median_s": statistics.median(times),
                               "events": events, "rate_hz": rate, "max_rel_diff": None,
                               "events_per_s": events / statistics.median(times)})  # fmt: skip
    return result


# ---------------------------------------------------------------- inference


def inference_network(smoke: bool, run: Path, epochs: int, samples: int) -> tuple[Any, np.ndarray, str]:
    """``(graph, frames (N, T, C, H, W) float32, where they came from)``."""
    if not smoke:
        from bench_inference import load_network

        graph, frames, source = load_network(run, epochs)
        return graph, frames[:samples] if samples else frames, source
    import torch

    from neuro.models.conv_snn import ConvSNNConfig, build_conv_snn
    from neuro.torch import to_ir

    torch.manual_seed(0)
    cfg = ConvSNNConfig.model_validate({"channels": (3,), "kernel_size": 3, "hidden": 0})
    net = build_conv_snn(cfg, input_shape=(2, 8, 8), n_classes=3)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)  # some spikes in an untrained net
    frames = (np.random.default_rng(0).random((2, 3, 2, 8, 8)) < 0.3).astype(np.float32)
    return to_ir(net, (2, 8, 8)), frames, "an untrained conv net, 2×8×8 input (smoke)"


def inference_part(smoke: bool, run: Path, epochs: int, samples: int, batch_sizes: list[int], repeats: int,
                   log: Callable[[str], None]) -> dict[str, Any]:  # fmt: skip
    import torch

    from neuro import engine
    from neuro.torch import build

    graph, frames, source = inference_network(smoke, run, epochs, samples)
    device = "cuda" if torch.cuda.is_available() and not simulated() else "cpu"
    net = build(graph, dtype=torch.float32).eval().to(device)
    result: dict[str, Any] = {"source": source, "samples": len(frames), "torch_device": device, "rows": [],
                              "numba_threads": _numba_threads()}  # fmt: skip
    for batch in batch_sizes:
        chunks = [np.ascontiguousarray(frames[i : i + batch].swapaxes(0, 1)) for i in range(0, len(frames), batch)]
        tensors = [torch.from_numpy(c).to(device) for c in chunks]
        outs: dict[str, list[np.ndarray]] = {}

        def engine_pass(backend: str) -> None:
            outs[backend] = [next(iter(engine.run(graph, c, backend=backend).outputs.values())) for c in chunks]  # noqa: B023

        def torch_pass() -> None:
            with torch.no_grad():
                outs["torch"] = [net(t) for t in tensors]  # noqa: B023
            if device == "cuda":
                torch.cuda.synchronize()

        passes = {"cuda": lambda: engine_pass("cuda"), "numba": lambda: engine_pass("numba"), f"torch ({device})": torch_pass}
        for name, fn in passes.items():
            fn()  # warm-up (compiles)
            times, _ = timed(fn, repeats)
            result["rows"].append({"batch": batch, "runner": name, "samples_per_s": len(frames) / statistics.median(times)})
            log(f"inference batch {batch} {name}: {result['rows'][-1]['samples_per_s']:.1f} samples/s")
        a, b = np.concatenate(outs["cuda"], axis=1), np.concatenate(outs["numba"], axis=1)
        result.setdefault("max_abs_diff_cuda_numba", {})[str(batch)] = float(np.abs(a - b).max(initial=0.0))
    return result


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


# ---------------------------------------------------------------- training


def training_part(smoke: bool, batch_size: int, n_batches: int, time_bins: int, repeats: int,
                  log: Callable[[str], None]) -> dict[str, Any]:  # fmt: skip
    import bench_training as bt
    import torch
    import torch.nn.functional as F

    devices = ["cuda", "cpu"] if torch.cuda.is_available() and not simulated() else ["cpu"]
    builders: dict[str, Callable[[Any], Any]] = {"neuro": bt.build_neuro}
    skipped = []
    try:
        import snntorch  # type: ignore[import-untyped]  # noqa: F401

        builders["snnTorch"] = bt.build_snntorch
    except ImportError as exc:
        skipped.append(f"snnTorch skipped: not installed ({exc})")
    x, y = bt.random_frames(batch_size * n_batches, time_bins, seed=0)
    reference = bt.reference_layers(seed=0)
    result: dict[str, Any] = {"batch_size": batch_size, "batches": n_batches, "time_bins": time_bins, "rows": [],
                              "skipped": skipped, "torch": torch.__version__,
                              "cpu_threads": torch.get_num_threads(),
                              "note": "" if "cuda" in devices else "no CUDA device for torch: CPU tensors only"}  # fmt: skip
    batches = bt.make_batches(x, y, batch_size, seed=0)
    for device in devices:
        on_device = [(a.to(device), b.to(device)) for a, b in batches]
        for name, builder in builders.items():
            model = builder(reference).model.to(device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def epoch() -> None:
                for xs, ys in on_device:  # noqa: B023
                    opt.zero_grad(set_to_none=True)  # noqa: B023
                    F.cross_entropy(model(xs).sum(0), ys).backward()  # noqa: B023
                    opt.step()  # noqa: B023
                if device == "cuda":  # noqa: B023
                    torch.cuda.synchronize()

            epoch()  # warm-up
            times, _ = timed(epoch, repeats)
            per_batch = statistics.median(times) / len(on_device)
            result["rows"].append({"device": device, "framework": name, "ms_per_batch": 1e3 * per_batch,
                                   "samples_per_s": batch_size / per_batch})  # fmt: skip
            log(f"training {name} on {device}: {1e3 * per_batch:.1f} ms per batch of {batch_size}")
    return result


# ---------------------------------------------------------------- report


def render(results: dict[str, Any], command: str) -> str:
    info = results.get("device", {})
    parts = results.get("parts", {})
    lines = [SECTION, "", "The engine's `cuda` backend (CuPy arrays, Numba-CUDA kernels) against the CPU backend in the "
             "same run, `benchmarks/bench_gpu.py`.", ""]  # fmt: skip
    lines += [f"Device: **{info.get('device', '?')}**" + (f", {info['multiprocessors']} SMs, {info['memory_gib']:.0f} GiB, "
              f"L2 {info['l2_mib']:.0f} MiB; {info['driver']}, runtime {info['runtime']}; cupy {info['cupy']}"
              if "cupy" in info else "") + f"; numba {info.get('numba')}, numba-cuda {info.get('numba_cuda')}. "
              f"CPU: {info.get('cpu')}; Python {info.get('python')}, numpy {info.get('numpy')}; neuro at "
              f"{info.get('commit')}; load {info.get('load', float('nan')):.2f} at the start; "
              f"NUMBA_CUDA_ARRAY_INTERFACE_SYNC={info.get('cai_sync', '?')}.", "",
              f"Command: `{command}`", ""]  # fmt: skip
    if info.get("simulated"):
        lines += ["**Smoke run under the Numba CUDA simulator: the numbers below test the script, not a GPU.**", ""]
    bw = parts.get("bandwidth")
    if bw:
        peak = f"{bw['peak_gbs']:,.0f} GB/s" if bw.get("peak_gbs") else "n/a"
        attrs = f" ({bw['memory_clock_mhz']:,.0f} MHz × 2 × {bw['bus_width_bits']} bit)" if bw.get("bus_width_bits") else ""
        lines += [f"Memory bandwidth: attribute peak {peak}{attrs}; measured {bw['copy_gbs']:,.0f} GB/s "
                  f"({bw['note']}, {bw['copy_bytes'] / 2**20:,.0f} MiB, read + write counted).", ""]  # fmt: skip
    cuba = parts.get("cuba")
    if cuba:
        lines += _render_cuba(cuba, bw)
    acc = parts.get("accumulate")
    if acc:
        lines += [f"### Synaptic accumulation (CUBA's SparseLinear, Poisson spikes at the network's rate, {acc['n_steps']} "
                  "steps, float32)", "",
                  "`neuro.engine.cuda.kernels.sparse` with each accumulation; first call includes building the synapse "
                  "layout and copying it to the device; median of the following calls, synchronised. Each call copies "
                  "the events to the device and allocates and zeroes the dense (steps, 2N) output; gather also builds "
                  "a dense (steps, N) copy of the input.", "",
                  "| N | method | first call [s] | median [ms] | events/s | max rel. diff vs gather |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for r in acc["rows"]:
            diff = "–" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"
            first = "–" if r["first_s"] is None else f"{r['first_s']:.2f}"
            lines.append(
                f"| {r['n']:,} | {r['method']} | {first} | {1e3 * r['median_s']:.2f} | {r['events_per_s']:.3g} | {diff} |"
            )
        lines.append("")
    inf = parts.get("inference")
    if inf:
        lines += [f"### Batched inference ({inf['source']}, {inf['samples']} samples, float32)", "",
                  f"engine.run on `cuda` and on `numba` ({inf['numba_threads']} threads), and the same graph dense in torch "
                  f"(`neuro.torch.build`, eval, no_grad) on `{inf['torch_device']}`; inputs already on the device for "
                  "torch.", "",
                  "| batch | runner | samples/s |", "|---|---|---|"]  # fmt: skip
        lines += [f"| {r['batch']} | {r['runner']} | {r['samples_per_s']:,.1f} |" for r in inf["rows"]]
        diffs = ", ".join(f"batch {b}: {d:.1e}" for b, d in inf["max_abs_diff_cuda_numba"].items())
        lines += ["", f"Readout agreement cuda vs numba (max |Δ|): {diffs}.", ""]
    tr = parts.get("training")
    if tr:
        lines += [f"### Training throughput (bench_training.py's network, batch {tr['batch_size']}, T = {tr['time_bins']}, "
                  f"{tr['batches']} batches per epoch, random frames of the n-digits shape; torch {tr['torch']}, "
                  f"{tr['cpu_threads']} CPU threads)", "", "| device | framework | ms / batch | samples/s |",
                  "|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {r['device']} | {r['framework']} | {r['ms_per_batch']:.1f} | {r['samples_per_s']:,.0f} |" for r in tr["rows"]
        ]
        notes = [tr["note"], *tr["skipped"]]
        lines += ["", *(f"{n}." for n in notes if n), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _render_cuba(cuba: dict[str, Any], bw: dict[str, Any] | None) -> list[str]:
    rows = cuba["rows"]
    lines = [f"### CUBA, {cuba['duration_s']:g} s of biological time, dt 0.1 ms, float32", "",
             "`run_block` of `neuro.models.cuba` without emitted outputs (spikes and events from the exact counts). "
             "setup: planning the block and making the backend's buffers (cuda: synapse tables built and copied); loop: "
             "the rest of the call, synchronised. Compile (first minus second call of a 2-step run at "
             f"N = {cuba['compile_n']:,}): " + ", ".join(f"{b} {s:.2f} s" for b, s in cuba["compile_s"].items()) + ".", "",
             "| N | synapses | backend | setup [s] | loop [s] | s per bio-s | events/s | rate [Hz] | load |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['n']:,} | {r['synapses']:,} | {r['backend']} | {r['setup_s']:.2f} | {r['loop_s']:.3f} | "
                     f"{r['s_per_bio_s']:.3f} | {r['events_per_s']:.3g} | {r['rate_hz']:.2f} | {r['load']:.1f} |")  # fmt: skip
    sizes = sorted({r["n"] for r in rows})
    speed = []
    for n in sizes:
        by = {r["backend"]: r for r in rows if r["n"] == n}
        match = rates_match(rows, n)
        if "cuda" in by and "numba" in by:
            speed.append(f"N = {n:,}: cuda {by['numba']['loop_s'] / by['cuda']['loop_s']:.3g}× numba, rates "
                         + ("match" if match else "**do not match**") + " (within 10 %)")  # fmt: skip
        elif "cuda" in by:
            speed.append(f"N = {n:,}: CPU run skipped")
    lines += ["", "; ".join(speed) + ".", "", BOUND, ""]
    if bw:
        brows = bound(rows, cuba["n_steps"], bw)
        lines += ["| N | synaptic GB | neuron-state GB | loop [s] | bound [s] (peak / copy) | fraction of bound (peak / copy) "
                  "| synaptic-only fraction (peak) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in brows:
            b = " / ".join(f"{r[k]:.4f}" if k in r else "n/a" for k in ("bound_s_peak_gbs", "bound_s_copy_gbs"))
            f = " / ".join(f"{100 * r[k]:.1f} %" if k in r else "n/a" for k in ("fraction_peak_gbs", "fraction_copy_gbs"))
            s = f"{100 * r['syn_fraction_peak_gbs']:.2f} %" if "syn_fraction_peak_gbs" in r else "n/a"
            lines.append(f"| {r['n']:,} | {r['syn_gb']:.3f} | {r['neuron_gb']:.3f} | {r['loop_s']:.3f} | {b} | {f} | {s} |")
        at4m = next((r for r in brows if r["n"] >= 4_000_000), None)
        if at4m is not None and "fraction_peak_gbs" in at4m:
            verdict = "met" if at4m["fraction_peak_gbs"] >= GOAL else "not met"
            lines += ["", f"Goal of issue 8, at least {GOAL:.0%} of the bound at N = 4M: **{verdict}** "
                      f"({100 * at4m['fraction_peak_gbs']:.1f} % of the attribute peak)."]  # fmt: skip
        else:
            lines += ["", "Goal of issue 8 (at least 30 % of the bound at N = 4M): not measured in this run."]
        lines.append("")
    return lines


# ---------------------------------------------------------------- main


def merge(parts: dict[str, Any], name: str, new: dict[str, Any], key: tuple[str, ...]) -> None:
    """Put ``new`` as part ``name``, keeping the earlier rows whose ``key`` it did not measure
    again (so that sizes can run as separate commands) when the run settings are the same."""
    old = parts.get(name)
    settings = [k for k in new if k not in ("rows", "compile_s")]
    if old is not None and all(old.get(k) == new[k] for k in settings):
        measured = {tuple(r[k] for k in key) for r in new["rows"]}
        new = {**new, "rows": [r for r in old["rows"] if tuple(r[k] for k in key) not in measured] + new["rows"]}
        new["rows"].sort(key=lambda r: tuple(r[k] for k in key))
    parts[name] = new


def load_results(path: Path | None) -> dict[str, Any]:
    if path is not None and path.is_file():
        return json.loads(path.read_text())
    return {"parts": {}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--smoke", action="store_true", help="every part at tiny sizes (works under the simulator)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="CUBA sizes (default 40k 400k 4M)")
    parser.add_argument("--accumulate-sizes", type=int, nargs="+", default=None, help="default: --sizes")
    parser.add_argument("--duration", type=float, default=None, help="CUBA biological seconds (default 1)")
    parser.add_argument("--skip-cpu", type=int, nargs="*", default=[], help="CUBA sizes without the numba run (e.g. 4000000)")
    parser.add_argument("--accumulate-steps", type=int, default=None, help="steps of Poisson spikes (default 200)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None, help="inference batches (default 64 256)")
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "default", help="run folder with model.ir.json")
    parser.add_argument("--epochs", type=int, default=2, help="epochs if the inference network must be trained")
    parser.add_argument("--samples", type=int, default=0, help="inference test samples (0: all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    parser.add_argument("--results", type=Path, default=None, help="JSON file the results accumulate in")
    parser.add_argument("--render", action="store_true", help="measure nothing: render --results")
    parser.add_argument("--write", action="store_true", help="replace the section in --docs")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    log = lambda text: print(f"[{time.perf_counter() - t0:7.1f} s] {text}", file=sys.stderr, flush=True)  # noqa: E731
    smoke = args.smoke
    sizes = args.sizes or ([100] if smoke else [40_000, 400_000, 4_000_000])
    repeats = args.repeats or (1 if smoke else 5)
    results = load_results(args.results)
    if not args.render:
        from neuro.engine.cuda import arrays

        arrays.require()  # a device, or the simulator: say what is missing otherwise
        results["device"] = device_info()
        parts = results.setdefault("parts", {})
        if "bandwidth" in args.parts:
            parts["bandwidth"] = bandwidth(smoke)
            log(f"bandwidth: {parts['bandwidth']}")
        if "cuba" in args.parts:
            duration = args.duration or (1e-3 if smoke else 1.0)
            merge(parts, "cuba", cuba_part(sizes, duration, set(args.skip_cpu), smoke, log), ("n", "backend"))
        if "accumulate" in args.parts:
            rates = {r["n"]: r["rate_hz"] for r in parts.get("cuba", {}).get("rows", []) if r["backend"] == "cuda"}
            steps = args.accumulate_steps or (4 if smoke else 200)
            acc = accumulate_part(args.accumulate_sizes or sizes, steps, rates, repeats, log)
            merge(parts, "accumulate", acc, ("n", "method"))
        if "inference" in args.parts:
            batch_sizes = args.batch_sizes or ([1, 2] if smoke else [64, 256])
            parts["inference"] = inference_part(smoke, args.run, args.epochs, args.samples, batch_sizes, repeats, log)
        if "training" in args.parts:
            batch, n_batches, bins = (2, 1, 2) if smoke else (64, 6, 20)
            parts["training"] = training_part(smoke, batch, n_batches, bins, repeats, log)
        shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write"]
        results.setdefault("commands", []).append("python benchmarks/bench_gpu.py " + " ".join(shown))
        if args.results is not None:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=1))
    commands = results.get("commands", ["python benchmarks/bench_gpu.py"])
    section = render(results, "`; `".join(dict.fromkeys(commands)))
    print(section)
    if args.write:
        update_section(args.docs, section, SECTION)
        log(f"wrote {args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CUBA (Vogels-Abbott) 1 s of biological time, dt 0.1 ms, one thread: neuro's engine (numba,
float32 and float64) against Brian2 cpp_standalone, measured in the same run.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cuba.py [--sizes 4000 40000 400000]

Timers (docs/benchmarks.md, "CUBA vs Brian2"): neuro: perf_counter around run_block after a
1-step warm-up that compiles (or loads from the cache); Brian2: ``_last_run_time`` of the
standalone binary (the C++ timer around ``network.run()``), build time reported separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from neuro.models.cuba import W_EXC, W_INH, cuba, run_cuba


def bench_neuro(n: int, dtype: type, repeats: int) -> dict[str, float]:
    t0 = time.perf_counter()
    graph, init = cuba(n, seed=0)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_cuba(graph, init, duration=1e-4, dtype=dtype)
    compile_s = time.perf_counter() - t0
    loops, spikes = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = run_cuba(graph, init, duration=1.0, dtype=dtype)
        loops.append(time.perf_counter() - t0)
        spikes = res.counts["pop"].out_spikes
    return {"loop": statistics.median(loops), "min": min(loops), "compile": compile_s, "build": build, "rate": spikes / n}


def bench_brian2(n: int, repeats: int) -> dict[str, float]:
    """Brian2 cpp_standalone in a temporary project directory (removed afterwards): built once,
    run ``repeats`` times (warm ``make``)."""
    with tempfile.TemporaryDirectory(prefix=f"neuro_cuba{n}_") as directory:
        return _bench_brian2(n, repeats, directory)


def _bench_brian2(n: int, repeats: int, directory: str) -> dict[str, float]:
    import brian2 as b2

    graph, init = cuba(n, seed=0)
    rec = graph.nodes["rec"]
    pre = np.repeat(np.arange(n), np.diff(rec.indptr))
    post = np.asarray(rec.indices) % n
    inh = np.asarray(rec.indices) >= n
    loops, builds, rate = [], [], 0.0
    for r in range(repeats):
        b2.device.reinit()
        b2.device.activate()
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        b2.defaultclock.dt = 0.1 * b2.ms
        ns = {"taum": 20 * b2.ms, "taue": 5 * b2.ms, "taui": 10 * b2.ms, "El": -49 * b2.mV, "Vt": -50 * b2.mV,
              "Vr": -60 * b2.mV, "we": W_EXC * b2.volt, "wi": W_INH * b2.volt}  # fmt: skip
        eqs = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt"""
        group = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * b2.ms, method="exact", namespace=ns)
        group.v = init["pop"][0] * b2.volt
        se = b2.Synapses(group, group, on_pre="ge += we", namespace=ns)
        se.connect(i=pre[~inh], j=post[~inh])
        si = b2.Synapses(group, group, on_pre="gi += wi", namespace=ns)
        si.connect(i=pre[inh], j=post[inh])
        mon = b2.SpikeMonitor(group, record=False)
        b2.run(1 * b2.second)
        t0 = time.perf_counter()
        b2.device.build(directory=directory, run=True, compile=True, clean=(r == 0))  # default: ./output
        builds.append(time.perf_counter() - t0)
        loops.append(float(b2.device._last_run_time))
        rate = mon.num_spikes / n
    return {"loop": statistics.median(loops), "min": min(loops), "build": builds[0], "rate": rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000, 400000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--repeats-large", type=int, default=2, help="repeats at N >= 400,000")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; load {os.getloadavg()[0]:.2f}")
    print(
        "| N | load | neuro f32 loop [s] | neuro f64 loop [s] | neuro build / compile [s] | Brian2 C++ loop [s] "
        "| Brian2 build [s] | rate neuro f32 / f64 / Brian2 [Hz] | Brian2 / neuro f32 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        reps = args.repeats if n < 400_000 else args.repeats_large
        load = os.getloadavg()[0]
        f32 = bench_neuro(n, np.float32, reps)
        f64 = bench_neuro(n, np.float64, reps)
        b2r = bench_brian2(n, reps)
        print(
            f"| {n:,} | {load:.2f} | {f32['loop']:.3f} ({f32['min']:.3f}) | {f64['loop']:.3f} ({f64['min']:.3f}) "
            f"| {f32['build']:.2f} / {f32['compile']:.2f} "
            f"| {b2r['loop']:.3f} ({b2r['min']:.3f}) | {b2r['build']:.1f} | {f32['rate']:.2f} / {f64['rate']:.2f} / "
            f"{b2r['rate']:.2f} | {b2r['loop'] / f32['loop']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Event transforms vs tonic: throughput (events/s) on the same random DVS128 recording.

Run from the repository root (tonic is GPL and only ever installed for this comparison):

    .venv/bin/pip install -c constraints.txt tonic
    .venv/bin/python benchmarks/bench_transforms.py

Each transform runs once as a warm-up (for the two Numba filters that call includes the
compilation, reported separately), then ``--repeats`` times; the table gives the median.
tonic's denoise and refractory filters are per-event Python loops, so they (and, for the
agreement check, ours) run on the first ``--loop-events`` events of the same recording. Every
tonic call gets a fresh copy of the input made outside the timer, because some tonic functions
write into their input (``ToVoxelGrid`` overwrites ``p``). Outputs are compared wherever the
two libraries define the same result; differences are reported with their reason. The script
prints a table and rewrites the section "Event transforms vs tonic" of docs/benchmarks.md.
Without tonic it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from neuro.core.events import make_events
from neuro.datasets import transforms as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_docs.py
from _docs import update_section

SENSOR = (128, 128, 2)
SECTION = "## Event transforms vs tonic"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
COMMAND = ".venv/bin/python benchmarks/bench_transforms.py"


@dataclass(frozen=True)
class Case:
    """One transform: our call, tonic's equivalent and how to compare their outputs.

    Attributes:
        name: row label.
        ours: ``(events, rng) -> output``.
        tonic: ``tonic module -> (events -> output)``, or None where tonic has no equivalent.
        compare: ``(events, ours_output, tonic_output) -> verdict``.
        python_loop: tonic runs a per-event Python loop (timed on a prefix of the recording).
    """

    name: str
    ours: Callable[[np.ndarray, np.random.Generator], Any]
    tonic: Callable[[ModuleType], Callable[[np.ndarray], Any]] | None
    compare: Callable[[np.ndarray, Any, Any], str]
    python_loop: bool = False


@dataclass(frozen=True)
class Result:
    name: str
    n_ours: int
    ours_events_per_s: float
    compile_s: float | None
    n_tonic: int | None
    tonic_events_per_s: float | None
    agreement: str


def make_recording(n_events: int, rng: np.random.Generator, sensor: tuple[int, int, int] = SENSOR) -> np.ndarray:
    """Uniformly random pixels and polarities over 1 s, sorted, starting at ``t = 0``."""
    t = np.sort(rng.integers(0, 1_000_000, n_events))
    t -= t[0] if n_events else 0
    return make_events(
        x=rng.integers(0, sensor[0], n_events), y=rng.integers(0, sensor[1], n_events), t=t, p=rng.integers(0, 2, n_events)
    )


def _rows(events: np.ndarray) -> Counter:
    return Counter(zip(*(events[f].astype(np.int64).tolist() for f in ("x", "y", "t", "p")), strict=True))


def _exact(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
    if len(ours) == len(theirs) and all(np.array_equal(ours[f], theirs[f]) for f in ("x", "y", "t", "p")):
        return "identical"
    only_ours, only_theirs = _rows(ours) - _rows(theirs), _rows(theirs) - _rows(ours)
    if not only_ours and not only_theirs:
        return "same events, different order"
    return f"DIFFERENT: {sum(only_ours.values())} events only in ours, {sum(only_theirs.values())} only in tonic"


def _denoise_verdict(filter_time: int) -> Callable[[np.ndarray, Any, Any], str]:
    def compare(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
        verdict = _exact(events, ours, theirs)
        if verdict == "identical":
            return verdict
        late = _exact(events, ours[ours["t"] >= filter_time], theirs[theirs["t"] >= filter_time])
        early = int((ours["t"] < filter_time).sum()), int((theirs["t"] < filter_time).sum())
        return (
            f"{late} from t = filter_time on; before it ours keeps {early[0]} and tonic {early[1]} events (tonic starts "
            "every pixel memory at filter_time, so early events count neighbours that never fired)"
        )

    return compare


def _refractory_verdict(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
    return (
        f"{_exact(events, ours, theirs)}: different rule (ours measures from the pixel's last kept event and keeps "
        f"dt >= delta; tonic from its last event, kept or not, with dt > delta); kept {len(ours)} vs {len(theirs)}"
    )


def _fraction_verdict(expected: float) -> Callable[[np.ndarray, Any, Any], str]:
    def compare(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
        n = max(len(events), 1)
        return (
            f"random, compared in distribution: kept {len(ours) / n:.4f} (ours, Binomial) vs {len(theirs) / n:.4f} "
            f"(tonic, exact count); expected {expected:.4f}"
        )

    return compare


def _jitter_verdict(std: float) -> Callable[[np.ndarray, Any, Any], str]:
    def compare(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
        # Event by event the outputs cannot match (different generators, and sorting loses the pairing), so
        # both jitter a probe of 100,000 simultaneous events at t = 1 s, whose output times minus 1 s are the draws.
        import tonic

        n, t0 = 100_000, 1_000_000
        probe = make_events(x=np.zeros(n), y=np.zeros(n), t=np.full(n, t0), p=np.ones(n))
        a = tf.TimeJitter(std)(probe, rng=np.random.default_rng(3))["t"] - t0
        b = tonic.transforms.TimeJitter(std=std, clip_negative=True, sort_timestamps=True)(probe.copy())["t"] - t0
        sorted_ok = bool(np.all(np.diff(ours["t"]) >= 0) and np.all(np.diff(theirs["t"]) >= 0))
        return (
            f"random, compared in distribution: outputs sorted = {sorted_ok}; probe shift mean {a.mean():+.2f} vs "
            f"{b.mean():+.2f} µs, std {a.std():.1f} vs {b.std():.1f} µs (tonic truncates the jittered time toward "
            "zero, a -0.5 µs bias; ours rounds)"
        )

    return compare


def _crop_verdict(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
    return (
        f"random position, not compared event by event (kept {len(ours)} vs {len(theirs)}); CenterCrop of both: "
        f"{_center_crop_agreement(events)}; tonic draws the corner in [0, W - w), ours in [0, W - w]"
    )


def _center_crop_agreement(events: np.ndarray) -> str:
    try:
        import tonic
    except ImportError:
        return "tonic missing"
    ours = tf.CenterCrop(SENSOR, (64, 64))(events)
    return _exact(events, ours, tonic.transforms.CenterCrop(sensor_size=SENSOR, size=(64, 64))(events.copy()))


def _dense_verdict(reason: str, explain: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable[..., str]:
    def compare(events: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str:
        if ours.shape != theirs.shape:
            return f"DIFFERENT shapes {ours.shape} vs {theirs.shape}" + (f" ({reason})" if reason else "")
        diff = float(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max()) if ours.size else 0.0
        if diff == 0:
            return f"identical {ours.shape}"
        verdict = f"DIFFERENT values, max abs difference {diff:.3g}" + (f" ({reason})" if reason else "")
        if explain is not None:
            same = np.array_equal(explain(events), theirs)
            verdict += "; with tonic's scaling the same grid " + ("equals tonic's exactly" if same else "still differs")
        return verdict

    return compare


def _voxel_with_tonic_scaling(events: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Our voxel grid with time scaled to ``[0, n_bins]`` (tonic 1.7) instead of ``[0, n_bins - 1]``."""
    w, h, _ = SENSOR
    t = events["t"].astype(np.float64)
    tn = n_bins * (t - t[0]) / max(t[-1] - t[0], 1)
    lower = np.floor(tn).astype(np.int64)
    frac = tn - lower
    pol = np.where(events["p"] > 0, 1.0, -1.0)
    flat = events["y"].astype(np.int64) * w + events["x"]
    grid = np.zeros((n_bins + 2, h * w))
    np.add.at(grid, (lower, flat), pol * (1 - frac))
    np.add.at(grid, (lower + 1, flat), pol * frac)
    return grid[:n_bins].reshape(n_bins, 1, h, w)


def cases(sensor: tuple[int, int, int] = SENSOR) -> list[Case]:
    """The compared transforms, with the parameters used in the docs table."""
    w, h, _ = sensor
    ft, delta, p_drop, std = 10_000, 1_000, 0.3, 100.0
    return [
        Case("denoise", tf.Denoise(sensor, ft), lambda T: T.transforms.Denoise(filter_time=ft), _denoise_verdict(ft), True),
        Case(
            "refractory",
            tf.RefractoryFilter(sensor, delta),
            lambda T: T.transforms.RefractoryPeriod(delta=delta),
            _refractory_verdict,
            True,
        ),
        Case(
            "time jitter",
            tf.TimeJitter(std),
            lambda T: T.transforms.TimeJitter(std=std, clip_negative=True, sort_timestamps=True),
            _jitter_verdict(std),
        ),
        Case("drop events", tf.DropEvents(p_drop), lambda T: T.transforms.DropEvent(p=p_drop), _fraction_verdict(1 - p_drop)),
        Case(
            "downsample",
            tf.Downsample(sensor, spatial_factor=0.25),
            lambda T: T.transforms.Downsample(spatial_factor=0.25),
            _exact,
        ),
        Case(
            "random crop",
            tf.RandomCrop(sensor, (w // 2, h // 2)),
            lambda T: T.transforms.RandomCrop(sensor_size=sensor, target_size=(w // 2, h // 2)),
            _crop_verdict,
        ),
        Case("flip left-right", tf.RandomFlipLR(sensor, p=1.0), lambda T: T.transforms.RandomFlipLR(sensor, p=1.0), _exact),
        Case("time reversal", tf.RandomTimeReversal(p=1.0), lambda T: T.transforms.RandomTimeReversal(p=1.0), _exact),
        Case(
            "to-frames",
            tf.ToFrames(sensor, time_window=10_000),
            lambda T: T.transforms.ToFrame(sensor_size=sensor, time_window=10_000),
            _dense_verdict("last-window rule: tonic counts windows over t_last - t_first, ours up to t_last + 1"),
        ),
        Case(
            "to-voxel-grid",
            tf.ToVoxelGrid(sensor, 10),
            lambda T: T.transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=10),
            _dense_verdict(
                "tonic 1.7 scales time to [0, n_bins] and drops the last event's bin, ours to [0, n_bins - 1] as in "
                "Zhu et al. / rpg_e2vid",
                _voxel_with_tonic_scaling,
            ),
        ),
    ]


def _time(fn: Callable[[np.ndarray], Any], inputs: list[np.ndarray]) -> tuple[float, list[float], Any]:
    """First-call time, the times of the other calls, and the first call's output."""
    t0 = time.perf_counter()
    out = fn(inputs[0])
    first = time.perf_counter() - t0
    times = []
    for x in inputs[1:]:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return first, times, out


def run_benchmarks(
    n_events: int = 500_000, repeats: int = 5, tonic: ModuleType | None = None, seed: int = 0, loop_events: int = 100_000
) -> list[Result]:
    """Time every case on one recording; compare with tonic when it is given."""
    rng = np.random.default_rng(seed)
    events = make_recording(n_events, rng)
    prefix = events[: min(loop_events, n_events)]
    results = []
    for case in cases():
        run_rng = np.random.default_rng(seed + 1)
        first, times, _ = _time(lambda e, c=case, g=run_rng: c.ours(e, g), [events] * (repeats + 1))
        ours_s = statistics.median(times) if times else first
        compile_s = max(first - ours_s, 0.0) if case.python_loop else None
        n_tonic = tonic_rate = None
        verdict = "tonic not installed"
        if tonic is not None and case.tonic is not None:
            data = prefix if case.python_loop else events
            np.random.seed(seed + 2)  # noqa: NPY002 -- tonic draws from numpy's global generator
            fn = case.tonic(tonic)
            _, t_times, theirs = _time(fn, [data.copy() for _ in range(repeats + 1)])
            n_tonic, tonic_rate = len(data), len(data) / statistics.median(t_times)
            ours_out = case.ours(data, np.random.default_rng(seed + 1))
            verdict = case.compare(data, ours_out, theirs)
        results.append(Result(case.name, len(events), len(events) / ours_s, compile_s, n_tonic, tonic_rate, verdict))
    return results


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:.3g} M"


def format_table(results: list[Result]) -> str:
    """Markdown table: events/s for both libraries, the ratio and the agreement verdict."""
    lines = [
        "| transform | neuro events/s | tonic events/s | neuro / tonic | Numba compile (first call) | agreement |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = "–" if r.tonic_events_per_s is None else f"{r.ours_events_per_s / r.tonic_events_per_s:.2f}×"
        compile_s = "–" if r.compile_s is None else f"{r.compile_s:.2f} s"
        tonic_rate = _rate(r.tonic_events_per_s) + (
            f" (on {r.n_tonic:,} events)" if r.n_tonic and r.n_tonic != r.n_ours else ""
        )
        lines.append(f"| {r.name} | {_rate(r.ours_events_per_s)} | {tonic_rate} | {ratio} | {compile_s} | {r.agreement} |")
    return "\n".join(lines)


def machine_description(tonic: ModuleType | None) -> str:
    """CPU model, cores, load and library versions."""
    import numba

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{cpu}, {os.cpu_count()} logical cores (1-minute load average at the end: {load.split(',')[0]}); "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"tonic {getattr(tonic, '__version__', 'missing')}"
    )


def render_section(results: list[Result], args: argparse.Namespace, tonic: ModuleType) -> str:
    command = COMMAND + (
        "" if args.events == 500_000 and args.repeats == 5 else f" --events {args.events} --repeats {args.repeats}"
    )
    return f"""{SECTION}

Throughput of `neuro.datasets.transforms` against tonic's equivalents in the same process, on one
random DVS128 recording (128 × 128 × 2, {args.events:,} events with uniform pixels and polarities over
1 s, starting at t = 0). Events per second, median of {args.repeats} calls after a warm-up call (M = 10⁶). The
Numba compile time is the warm-up call minus the median; the first row's also includes compiling the
one-pass input validation that every transform shares. tonic's denoise and refractory
filters are per-event Python loops and were timed on the first {min(args.loop_events, args.events):,}
events (events/s is per event either way). Our times include validating the input (sorted time,
coordinates inside the sensor), which tonic does not do. Agreement compares the outputs of the two
libraries on the same input; random transforms are compared in distribution only.

Command: `{command}`

Machine: {machine_description(tonic)}. The machine is shared, so treat ratios near 1 as equal.

{format_table(results)}

Parameters: denoise filter_time = 10 ms (4-neighbourhood); refractory delta = 1 ms; jitter std =
100 µs (negative times dropped, re-sorted); drop p = 0.3; downsample factor 0.25; crop 64 × 64;
flip and time reversal with p = 1; frames of 10 ms; voxel grid of 10 bins.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000, help="events in the recording")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per transform (after one warm-up)")
    parser.add_argument("--loop-events", type=int, default=100_000, help="events for tonic's Python-loop filters")
    parser.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS}")
    args = parser.parse_args(argv)
    try:
        import tonic
    except ImportError:
        print("tonic is not installed: nothing to compare against (.venv/bin/pip install -c constraints.txt tonic).")
        return 0
    results = run_benchmarks(args.events, args.repeats, tonic, loop_events=args.loop_events)
    print(format_table(results))
    if not args.no_docs:
        update_section(DOCS, render_section(results, args, tonic), SECTION)
        print(f"\nwrote the section {SECTION!r} of {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

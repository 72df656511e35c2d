"""Generation time per sample of the offline datasets, and the DVS emulator against a frame-wise peer.

There is no external generator to race (tonic ships no generators; v2e needs torch, OpenCV and
dv-processing), so the emulator is compared in the same run with the plain frame-by-frame numpy
formulation of the same pixel model (v2e's structure without timestamp interpolation), and the
per-sample generation times of n-digits (render + emulate) are reported. Medians over repeats.

Run: ``.venv/bin/python benchmarks/bench_generation.py [--samples 40] [--write]``; ``--write``
replaces the "Dataset generation" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Dataset generation"


def framewise_dvs(frames: np.ndarray, times: np.ndarray, c: np.ndarray, eps: float) -> int:
    """The same contrast-threshold model evaluated per frame in numpy (events at frame times)."""
    log_i = np.log(eps + frames.reshape(len(frames), -1))
    ref = log_i[0].copy()
    count = 0
    for k in range(1, len(frames)):
        diff = log_i[k] - ref
        n_on = np.floor(np.maximum(diff, 0) / c)
        n_off = np.floor(np.maximum(-diff, 0) / c)
        ref += (n_on - n_off) * c
        count += int(n_on.sum() + n_off.sum())
    return count


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from neuro.datasets import ndigits as nd
    from neuro.encoders.dvs import DVSParams, emulate_dvs

    params = nd.NDigitsParams()
    images, _ = nd.load_digit_images()
    times, offsets = nd.saccade_path(params)
    digits = [nd.upsample_digit(images[i]) for i in range(args.samples)]
    frames = [nd.render(d, offsets) for d in digits]
    dvs = DVSParams(threshold_on=params.threshold, threshold_off=params.threshold, threshold_sigma=0.0, log_eps=params.log_eps)

    start = time.perf_counter()
    emulate_dvs(frames[0], times, dvs, rng=np.random.default_rng(0))
    first_call = time.perf_counter() - start

    def per_sample(fn) -> float:
        return median_time(lambda: [fn(i) for i in range(args.samples)], 3) / args.samples

    render_s = per_sample(lambda i: nd.render(digits[i], offsets))
    emulate_s = per_sample(lambda i: emulate_dvs(frames[i], times, dvs, rng=np.random.default_rng(i)))
    c = np.full(34 * 34, params.threshold)
    framewise_s = per_sample(lambda i: framewise_dvs(frames[i], times, c, params.log_eps))
    total_s = per_sample(lambda i: nd.sample_events(images[i], i, params))
    n_events = np.mean([len(nd.sample_events(images[i], i, params)) for i in range(args.samples)])

    import numba

    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python benchmarks/bench_generation.py --samples {args.samples} --write`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}. "
        f"Medians of 3 runs over {args.samples} n-digits samples (316 frames of 34x34, ~{n_events:.0f} events each).",
        "",
        "| step | time per sample | note |",
        "|---|---|---|",
        f"| render the saccades (bilinear, separable) | {render_s * 1e3:.2f} ms | |",
        f"| DVS emulator (interpolated timestamps, Numba) | {emulate_s * 1e3:.2f} ms | "
        f"first call incl. compile {first_call:.2f} s |",
        f"| frame-wise numpy peer (same model, events at frame times only) | {framewise_s * 1e3:.2f} ms | "
        f"ratio peer / ours = {framewise_s / emulate_s:.2f} |",
        f"| whole n-digits sample (upsample, render, emulate, noise) | {total_s * 1e3:.2f} ms | "
        f"1,797 samples ≈ {total_s * 1797:.0f} s on one core |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        path = ROOT / "docs" / "benchmarks.md"
        old = path.read_text() if path.exists() else "# Benchmarks\n"
        if SECTION in old:
            head, _, rest = old.partition(SECTION)
            tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
            old = head.rstrip() + "\n\n" + tail.lstrip("\n")
        path.write_text(old.rstrip() + "\n\n" + text)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

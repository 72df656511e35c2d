"""Held-out-engine accuracy of a linear readout on ``spoken-digits`` cochlea events.

Features: per sample, the event counts in ``channels x bins`` cells, with the bins spanning the
sample's own 5 %-95 % quantiles of event time (time-normalised, so speaking rate and onset matter little),
``log1p``-compressed and standardised. Readout: multinomial logistic regression (scikit-learn),
its regularisation picked on the training engine's validation voices.

For each engine E: train on the other engine's train voices (clean + augmented copies), test on
every sample of E (all voices, clean and augmented). Also reported: the mixture's
speaker-independent split. Chance is 10 %.

Run from the repository root::

    .venv/bin/python benchmarks/spoken_digits_readout.py            # default dataset (cached)
    .venv/bin/python benchmarks/spoken_digits_readout.py --voices 6 # a quick, smaller run
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import asdict

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from neuro.datasets import cache
from neuro.datasets import spoken_digits as sd
from neuro.datasets.base import PackedEventDataset


def count_features(ds: PackedEventDataset, n_bins: int = 20, span: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    """``(N, channels * n_bins)`` log event counts over each sample's own time span.

    The span runs between the ``span`` quantiles of the sample's event times (robust to noise
    events in the leading and trailing silence); events outside it are dropped.
    """
    n_ch = ds.sensor_size[0]
    out = np.zeros((len(ds), n_ch * n_bins))
    for i in range(len(ds)):
        ev, _ = ds[i]
        if len(ev) == 0:
            continue
        t = ev["t"].astype(np.float64)
        lo, hi = np.quantile(t, span)
        keep = (t >= lo) & (t <= hi)
        b = np.clip(((t[keep] - lo) / max(hi - lo, 1.0) * n_bins).astype(np.int64), 0, n_bins - 1)
        out[i] = np.bincount(ev["x"][keep].astype(np.int64) * n_bins + b, minlength=n_ch * n_bins)
    return np.log1p(out)


def fit(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray) -> tuple[float, Pipeline]:
    """Pick C on ``val``, refit on train + val; return (best val accuracy, fitted model)."""
    best_c, best_val = 1.0, -1.0
    for c in (0.01, 0.1):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x[train], y[train])
        acc = float(model.score(x[val], y[val])) if len(val) else 0.0
        if acc > best_val:
            best_c, best_val = c, acc
    both = np.concatenate([train, val])
    return best_val, make_pipeline(StandardScaler(), LogisticRegression(C=best_c, max_iter=2000)).fit(x[both], y[both])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=None, help="voices per engine (default: all)")
    parser.add_argument("--bins", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print("command:", shlex.join([".venv/bin/python", "benchmarks/spoken_digits_readout.py", *(argv or sys.argv[1:])]))
    params = sd.SpokenDigitsParams(voices_per_engine=args.voices)
    start = time.perf_counter()

    def report(done: int, total: int) -> None:
        print(f"\r  generating: {done}/{total} samples, {time.perf_counter() - start:.0f} s", end="", file=sys.stderr)

    ds = cache.cached(sd.NAME, asdict(params), lambda: sd.generate(params, workers=args.workers, progress=report))
    print(file=sys.stderr)
    per_sample = len(ds.events) / max(len(ds), 1)
    print(f"dataset: {len(ds)} samples, {per_sample:.0f} events/sample, ready in {time.perf_counter() - start:.1f} s")
    x, y = count_features(ds, args.bins), ds.labels
    copy = np.asarray(ds.extras["copy"])
    rows = [("mixture (speaker-independent split)", None)] + [(f"held-out engine: {e}", e) for e in ("flite", "espeak-ng")]
    for title, holdout in rows:
        train, val, test = (sd.select(ds, s, holdout) for s in ("train", "val", "test"))
        val_acc, model = fit(x, y, train, val)
        test_acc = model.score(x[test], y[test])
        clean = test[copy[test] == 0]
        clean_acc = model.score(x[clean], y[clean])
        print(
            f"{title:40s} train {len(train):5d}  val acc {val_acc:6.1%}  test {len(test):5d} acc {test_acc:6.1%}"
            f"  (clean test {len(clean)} acc {clean_acc:6.1%})"
        )


if __name__ == "__main__":
    main()

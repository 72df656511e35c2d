"""Generation time and a nearest-neighbour baseline for the ``vpr-traverse`` dataset.

For each query traverse, every query image is matched to the reference image at the smallest sum
of absolute differences (SAD), either on the raw grey images or after the paper's 7×7 patch
normalisation (Hussaini et al., ICRA 2023). Recall@N: the true place is among the N best
matches (zero tolerance: a neighbouring place counts as wrong). The "2 refs" column matches
against both reference traverses (the gallery the paper's networks train on) and takes the best
of the two distances per place. Chance Recall@1 is 1 / n_places.

Run from the repository root::

    .venv/bin/python benchmarks/vpr_baseline.py                          # 1,000 places, severity 0.5
    .venv/bin/python benchmarks/vpr_baseline.py --severity 0.25 1.0      # several severities
    .venv/bin/python benchmarks/vpr_baseline.py --n-places 200 --image-size 32
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
from scipy.spatial.distance import cdist

from neuro.datasets.vpr import VPRParams, VPRTraverse, generate, patch_normalise


def recall_at(distances: np.ndarray, truth: np.ndarray, n: int) -> float:
    """Fraction of queries (rows) whose true reference column is among the ``n`` smallest distances."""
    best = np.argpartition(distances, min(n, distances.shape[1] - 1), axis=1)[:, :n] if n > 1 else distances.argmin(1)[:, None]
    return float(np.mean(np.any(best == truth[:, None], axis=1)))


def sad(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``(n_queries, n_gallery)`` sums of absolute differences of flattened images."""
    return cdist(queries.reshape(len(queries), -1), gallery.reshape(len(gallery), -1), metric="cityblock")


def evaluate(data: VPRTraverse) -> list[tuple[str, float, float, float, float]]:
    """Rows ``(traverse, R@1 raw, R@1 patch-normalised, R@5 patch-normalised, R@1 pn with 2 refs)``."""
    ref = data.split("reference")
    ref_pn = patch_normalise(ref.images)
    ref2_pn = patch_normalise(data.split("reference-2").images) if "reference-2" in data.traverse_names else None
    rows = []
    for name in data.traverse_names[1:]:
        query = data.split(name)
        q_pn = patch_normalise(query.images)
        d_pn = sad(q_pn, ref_pn)
        two = np.nan
        if ref2_pn is not None and name != "reference-2":
            two = recall_at(np.minimum(d_pn, sad(q_pn, ref2_pn)), query.places, 1)
        rows.append(
            (
                name,
                recall_at(sad(query.images, ref.images), query.places, 1),
                recall_at(d_pn, query.places, 1),
                recall_at(d_pn, query.places, 5),
                two,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-places", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--severity", type=float, nargs="+", default=[0.5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("command:", shlex.join([".venv/bin/python", "benchmarks/vpr_baseline.py", *(sys.argv[1:] if argv is None else argv)]))
    for k, severity in enumerate(args.severity):
        params = VPRParams(n_places=args.n_places, image_size=args.image_size, severity=severity, seed=args.seed)
        start = time.perf_counter()
        arrays = generate(params)
        took = time.perf_counter() - start
        if k == 0:  # the first call also decodes the photos; time a warm run as well
            start = time.perf_counter()
            generate(params)
            warm = time.perf_counter() - start
            n_trav = len(params.traverse_names)
            print(f"generation, {params.n_places} places x {n_trav} traverses: {took:.2f} s cold, {warm:.2f} s warm")
        data = VPRTraverse.from_arrays(arrays, params.n_places)
        size = f"{params.image_size}x{params.image_size}"
        print(f"\nseverity {severity}, {params.n_places} places, {size}, chance R@1 {1 / params.n_places:.4f}")
        print(f"{'query traverse':20s} {'R@1 raw':>8s} {'R@1 pn':>8s} {'R@5 pn':>8s} {'R@1 pn 2 refs':>14s}")
        for name, raw, r1, r5, two in evaluate(data):
            print(f"{name:20s} {raw:8.3f} {r1:8.3f} {r5:8.3f} {two:14.3f}")


if __name__ == "__main__":
    main()

"""The ``engine`` step of ``neuro run``: the trained network on the event-driven engine.

The step takes the IR graph of the trained model (the export step's, or ``to_ir`` of the
checkpoint), feeds the engine exactly the frames the torch model sees in the evaluate step (the
first ``engine.samples`` test samples, ``(T, B, P, H, W)`` event counts) and compares it with the
torch module built from the same graph (``neuro.torch.build``) in the same dtype:

* per spiking layer, the spikes of each side and the neuron-steps where they differ
  (``mismatched``); ``identical_fraction`` is the share of the spikes (of either side) that
  both emit at the same neuron and step;
* the fraction of identical predictions and the largest absolute difference of the readout;
* the engine's test accuracy on those samples (and torch's, for reference);
* the exact counts per layer (summed in ``report/counts.json``, per sample in the results).

A second run on ``engine.float64_samples`` samples in float64 checks that the spikes are
identical to torch's there (the architecture's correctness rule); a difference is logged and
recorded as ``float64_check.spikes_identical = false``.

The step is resumable: its results are kept in ``<run>/engine.json`` under a key that hashes the
graph (weights included), the engine and data config; a later run with the same key reuses them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from neuro.core.io import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class Agreement:
    """Running tallies of an engine-vs-torch comparison over batches."""

    engine_spikes: dict[str, float] = field(default_factory=dict)
    torch_spikes: dict[str, float] = field(default_factory=dict)
    mismatched: dict[str, int] = field(default_factory=dict)
    readout_max_abs_diff: float = 0.0
    engine_predictions: list[int] = field(default_factory=list)
    torch_predictions: list[int] = field(default_factory=list)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: {"engine": 0.0, "torch": 0.0})

    def layers(self) -> dict[str, dict[str, float]]:
        """Per spiking layer: spikes of each side, mismatched neuron-steps, identical fraction."""
        out = {}
        for name, mism in self.mismatched.items():
            e, t = self.engine_spikes[name], self.torch_spikes[name]
            union = (e + t + mism) / 2  # |E ∪ T| for binary spikes: |E ∩ T| + |E Δ T|
            both = union - mism
            out[name] = {
                "engine": int(e),
                "torch": int(t),
                "mismatched": int(mism),
                "identical_fraction": 1.0 if union == 0 else both / union,
            }
        return out

    def add_counts(self, counts: Any) -> None:
        """Sum a batch's :class:`~neuro.engine.Counts` into the tallies."""
        from neuro.engine.counts import FIELDS

        for name, c in counts.items():
            entry = self.counts.setdefault(name, {**c.to_dict(), **dict.fromkeys(FIELDS, 0), "samples": 0})
            for f in (*FIELDS, "samples"):
                entry[f] += getattr(c, f)
            entry["binary_input"] = bool(entry["binary_input"] and c.binary_input)


def spiking_nodes(graph: Any) -> list[str]:
    """Names of the graph's spiking neuron nodes, in graph order."""
    from neuro.core.neurons import MODELS

    return [n for n, node in graph.nodes.items() if node.node_type in MODELS and MODELS[node.node_type].spiking]


def compare(graph: Any, frames: np.ndarray, *, decode: str, backend: str, dtype: str, batch: int) -> Agreement:
    """Run ``frames`` ``(T, N, ...)`` through the engine and through torch in batches of ``batch``."""
    from neuro import engine
    from neuro.torch import build
    from neuro.train import decode as decode_fn

    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    net = build(graph, dtype=torch_dtype).eval()
    layers = spiking_nodes(graph)
    recorded: dict[str, np.ndarray] = {}

    def hook(name: str) -> Any:
        def record(module: Any, inputs: Any, output: Any) -> None:
            recorded[name] = (output[0] if isinstance(output, tuple) else output).detach().numpy()

        return record

    handles = [net.module(n).register_forward_hook(hook(n)) for n in layers]  # type: ignore[union-attr]
    tally = Agreement()
    try:
        for start in range(0, frames.shape[1], batch):
            x = np.ascontiguousarray(frames[:, start : start + batch], dtype=dtype)
            t0 = time.perf_counter()
            result = engine.run(graph, x, backend=backend, dtype=np.dtype(dtype))
            t1 = time.perf_counter()
            with torch.no_grad():
                reference = net(torch.from_numpy(x)).numpy()
            tally.seconds["engine"] += t1 - t0
            tally.seconds["torch"] += time.perf_counter() - t1
            for name in layers:
                ours, theirs = result.spikes[name].to_dense(dtype), recorded[name]
                tally.engine_spikes[name] = tally.engine_spikes.get(name, 0.0) + float(ours.sum())
                tally.torch_spikes[name] = tally.torch_spikes.get(name, 0.0) + float(theirs.sum())
                tally.mismatched[name] = tally.mismatched.get(name, 0) + int(np.count_nonzero(ours != theirs))
            out = result.output()
            tally.readout_max_abs_diff = max(tally.readout_max_abs_diff, float(np.abs(out - reference).max()))
            tally.engine_predictions += decode_fn(torch.from_numpy(out), decode).tolist()
            tally.torch_predictions += decode_fn(torch.from_numpy(reference), decode).tolist()
            tally.add_counts(result.counts)
    finally:
        for handle in handles:
            handle.remove()
    return tally


def run_key(graph: Any, config: Any) -> str:
    """Hash of what the step's results depend on: the graph with its weights, and the config."""
    from neuro.ir import to_json

    parts = [to_json(graph), config.engine.model_dump_json(), config.data.model_dump_json(), config.train.decode]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def simulate_test_split(ctx: Any, graph: Any) -> dict[str, Any]:
    """The step's results (see the module docstring); writes ``report/counts.json`` and
    ``engine.json`` into the run folder, or reuses them when the key matches."""
    cfg = ctx.config.engine
    key = run_key(graph, ctx.config)
    saved = ctx.out / "engine.json"
    counts_path = ctx.out / "report" / "counts.json"
    if saved.is_file() and counts_path.is_file():
        previous = json.loads(saved.read_text())
        if previous.get("key") == key:
            log.info("engine step: reusing %s (same graph and config)", saved)
            return previous["results"]
    test = ctx.splits["test"]
    n = min(cfg.samples, len(test))
    frames = test.frames[:n].transpose(0, 1).numpy()  # (T, N, P, H, W): what the torch model sees
    labels = test.labels[:n].numpy()
    decode = ctx.config.train.decode
    tally = compare(graph, frames, decode=decode, backend=cfg.backend, dtype=cfg.dtype, batch=cfg.batch)
    layers = tally.layers()
    engine_pred, torch_pred = np.asarray(tally.engine_predictions), np.asarray(tally.torch_predictions)
    results: dict[str, Any] = {
        "samples": n,
        "backend": cfg.backend,
        "dtype": cfg.dtype,
        "accuracy": float((engine_pred == labels).mean()),
        "torch_accuracy": float((torch_pred == labels).mean()),
        "predictions_identical": float((engine_pred == torch_pred).mean()),
        "readout_max_abs_diff": tally.readout_max_abs_diff,
        "spikes_identical": all(v["mismatched"] == 0 for v in layers.values()),
        "layers": layers,
        "predictions": engine_pred.tolist(),
        "seconds": {k: round(v, 3) for k, v in tally.seconds.items()},
        "counts_per_sample": {
            name: {f: c[f] / max(c["samples"], 1) for f in ("in_events", "synops", "macs", "synops_dense", "out_spikes")}
            for name, c in tally.counts.items()
        },
        "counts_file": str(counts_path),
    }
    k = min(cfg.float64_samples, n)
    if k:
        exact = compare(graph, frames[:, :k], decode=decode, backend=cfg.backend, dtype="float64", batch=cfg.batch)
        mismatched = {name: v["mismatched"] for name, v in exact.layers().items()}
        results["float64_check"] = {
            "samples": k,
            "spikes_identical": not any(mismatched.values()),
            "mismatched": mismatched,
            "readout_max_abs_diff": exact.readout_max_abs_diff,
        }
        if any(mismatched.values()):
            log.warning("engine and torch spikes differ in float64: %s", mismatched)
    document = {"samples": n, "backend": cfg.backend, "dtype": cfg.dtype, "nodes": tally.counts}
    atomic_write_text(counts_path, json.dumps(document, indent=1))
    atomic_write_text(saved, json.dumps({"key": key, "results": results}, indent=1))
    return results

"""Run the configured steps in pipeline order and write the run folder.

The run folder holds ``config.yaml`` (the effective config), ``checkpoints/``,
``metrics.jsonl``, ``model.nir``, ``model.ir.json``, ``engine.json``, ``report/`` (with
``counts.json``) and ``summary.json``.

Example (a tiny run; the real default trains for a few minutes):
    >>> import tempfile
    >>> from neuro.pipeline import load_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cfg = load_config({"out_dir": tmp, "data": {"options": {"limit": 60}, "n_time_bins": 4, "workers": 1,
    ...                        "cache": tmp}, "model": {"channels": [2]},
    ...                        "train": {"epochs": 1, "progress": False}})
    ...     results = run_pipeline(cfg)
    >>> sorted(results)
    ['data', 'engine', 'evaluate', 'export', 'hardware', 'report', 'train']
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from neuro.core.io import atomic_write_text
from neuro.pipeline.config import STEP_NAMES, RunConfig, dump_config
from neuro.pipeline.steps import STEPS, RunContext, write_summary


def is_main_process() -> bool:
    """False on the non-zero ranks of a ``torchrun`` job (they train but write nothing)."""
    return int(os.environ.get("RANK", "0")) == 0


def run_pipeline(
    cfg: RunConfig,
    *,
    steps: Sequence[str] | None = None,
    resume: bool = True,
    on_step: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Run ``steps`` (default: the config's) and return every step's results.

    Args:
        cfg: the run config.
        steps: override the config's step list (pipeline order is kept).
        resume: let the train step continue from the run folder's last checkpoint.
        on_step: called as ``on_step(name, seconds)`` after each step.

    Returns:
        The results dict also written to ``summary.json``.
    """
    wanted = set(steps if steps is not None else cfg.steps)
    out = cfg.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    main = is_main_process()
    if main:
        atomic_write_text(out / "config.yaml", dump_config(cfg))
    ctx = RunContext(cfg, out)
    order = [s for s in STEP_NAMES if s in wanted]
    if order and order[0] != "data":
        order.insert(0, "data")  # every later step needs the data (shapes, test split)
    timings = {}
    for name in order:
        start = time.perf_counter()
        if name == "train":
            STEPS[name](ctx, resume=resume)
        else:
            STEPS[name](ctx)
        timings[name] = round(time.perf_counter() - start, 2)
        if on_step is not None and main:
            on_step(name, timings[name])
        ctx.results["seconds"] = timings
        if main:
            write_summary(ctx)
    results = dict(ctx.results)
    results.pop("seconds", None)
    return results

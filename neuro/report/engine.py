"""The engine section of the run report: engine-vs-torch agreement and the counts per layer."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from neuro.report.events import _pyplot

COUNT_COLUMNS = ("in_events", "synops", "macs", "synops_dense", "out_spikes")


def plot_operations(per_sample: dict[str, dict[str, float]], path: Path) -> Path | None:
    """Per layer and sample: effective synops + MACs next to the dense synops (log scale)."""
    layers = [n for n, c in per_sample.items() if c["synops_dense"] > 0]
    if not layers:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    xs = range(len(layers))
    effective = [per_sample[n]["synops"] + per_sample[n]["macs"] for n in layers]
    dense = [per_sample[n]["synops_dense"] for n in layers]
    ax.bar([x - 0.2 for x in xs], dense, width=0.4, color="tab:gray", label="dense synops")
    ax.bar([x + 0.2 for x in xs], effective, width=0.4, color="tab:red", label="effective synops + MACs")
    ax.set(xticks=list(xs), yscale="log", ylabel="operations / sample", title="operations per layer (engine)")
    ax.set_xticklabels(layers, fontsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table border='1' cellpadding='4' style='border-collapse:collapse'><tr>{cells}</tr>{body}</table>"


def engine_section(results: dict[str, Any], folder: Path) -> list[str]:
    """HTML parts of the report's engine section (and its plot, written into ``folder``)."""
    parts = ["<h2>Event-driven engine</h2>"]
    exact = results.get("float64_check")
    exact_text = (
        ""
        if exact is None
        else f" In float64 on {exact['samples']} samples the spikes are "
        f"<b>{'identical' if exact['spikes_identical'] else 'DIFFERENT'}</b> to torch's "
        f"(readout max |difference| {exact['readout_max_abs_diff']:.3g})."
    )
    parts.append(
        f"<p>{results['samples']} test samples on the <code>{html.escape(results['backend'])}</code> backend in "
        f"{html.escape(results['dtype'])}, fed the frames the torch model sees: engine accuracy "
        f"<b>{100 * results['accuracy']:.2f} %</b> (torch {100 * results['torch_accuracy']:.2f} %), "
        f"{100 * results['predictions_identical']:.1f} % identical predictions, readout max |difference| "
        f"{results['readout_max_abs_diff']:.3g}.{exact_text}</p>"
    )
    rows = [
        [name, str(v["engine"]), str(v["torch"]), str(v["mismatched"]), f"{100 * v['identical_fraction']:.3f} %"]
        for name, v in results["layers"].items()
    ]
    parts.append("<h3>Spikes, engine vs torch</h3>")
    parts.append(_table(["layer", "engine spikes", "torch spikes", "mismatched neuron-steps", "identical"], rows))
    per_sample = results["counts_per_sample"]
    rows = [[name, *(f"{c[f]:,.0f}" for f in COUNT_COLUMNS)] for name, c in per_sample.items()]
    parts.append("<h3>Counts per layer and sample</h3>")
    parts.append(_table(["layer", *COUNT_COLUMNS], rows))
    parts.append(f"<p>Totals over all samples: <code>{html.escape(Path(results['counts_file']).name)}</code>.</p>")
    image = plot_operations(per_sample, folder / "engine_operations.png")
    if image is not None:
        parts.append(f"<img src='{image.name}' style='max-width:100%'>")
    return parts

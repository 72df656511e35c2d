"""FPGA export: fixed-point memory images plus a JSON layer schedule for a time-multiplexed
HLS/RTL spiking accelerator (the one :mod:`neuro.hardware.fpga` prices).

Each layer runs the discrete CUBA form of :mod:`neuro.export._layers` in integers. Per layer
``k`` with ``f`` fractional bits (a power-of-two scale, the largest at which the weights fit
``weight_bits``, the same for the membrane so that a weight adds directly to ``v``):

- ``layer{k}_weight.mem``: one two's-complement word of ``weight_bits`` per line, in hex
  (``$readmemh`` format), row-major over ``(out, in)`` or ``(C_out, C_in / groups, kH, kW)``;
  ``layer{k}_weight.npy`` holds the same integers;
- ``layer{k}_bias_u.mem`` / ``layer{k}_bias_v.mem`` (when non-zero): ``state_bits`` words added
  to the current / membrane every step;
- ``network.json``: the schedule (layers in order, shapes, conv geometry, bit widths, ``frac_bits``,
  integer threshold, reset, leak of each stage as a shift ``v -= v >> s`` when ``1 - d = 2^-s``
  or else a multiplier ``v = (v * m) >> decay_bits``, file names, time steps).

:func:`read_fpga` rebuilds the IR graph of the quantised network from the ``.mem`` files and the
JSON (the real-valued dynamics of the stored integers; hardware that also truncates ``u`` and
``v`` each step differs by at most one LSB per step), and :func:`quantize_fpga` gives the same
graph straight from a float graph, so tests compare the two.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.errors import DataFormatError, ParameterError
from neuro.export._layers import CubaLayer, graph_from_layers, layers_from_graph
from neuro.export.errors import raise_for
from neuro.hardware.fpga import FpgaConfig
from neuro.hardware.violations import Kind, Violation

SCHEDULE = "network.json"
FORMAT = "neuro-fpga"
VERSION = 1


def _leak(decay: float, bits: int) -> tuple[dict[str, Any] | None, float]:
    """The leak of one stage and the decay it realises."""
    if decay == 1.0:
        return {"mode": "none"}, 1.0
    if decay == 0.0:
        return None, 0.0
    s = -math.log2(1.0 - decay)
    if s == round(s) and s >= 1:
        return {"mode": "shift", "shift": int(s)}, decay
    m = round(decay * 2**bits)
    return {"mode": "multiplier", "value": int(m), "bits": bits}, m / 2**bits


def _words(values: np.ndarray, bits: int, name: str, layer: str) -> tuple[np.ndarray, list[Violation]]:
    q = np.round(values).astype(np.int64)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if q.size and (q.min() < lo or q.max() > hi):
        need = int(np.ceil(np.log2(np.abs(q).max() + 1))) + 1
        return q, [Violation(layer, f"{name}_bits", need, bits, Kind.PRECISION,
                             f"{name} needs {need} bits at this scale; widen the word or lower frac_bits")]  # fmt: skip
    return q, []


def _quantise(layer: CubaLayer, cfg: FpgaConfig, decay_bits: int, frac_bits: int | None) -> tuple[dict, list[Violation]]:
    wmax = float(np.abs(layer.weight).max(initial=0.0))
    f = frac_bits
    if f is None:
        f = math.floor(math.log2((2 ** (cfg.weight_bits - 1) - 1) / wmax)) if wmax > 0 else 0
    scale = 2.0**f
    w, bad = _words(layer.weight * scale, cfg.weight_bits, "weight", layer.name)
    th, more = _words(np.array([layer.threshold * scale]), cfg.state_bits, "threshold", layer.name)
    bad += more
    if int(th[0]) < 1 and not more:
        bad.append(Violation(layer.name, "threshold", float(th[0]), 1, Kind.PRECISION,
                             f"the threshold rounds to {int(th[0])} at 2^{f}; the weights are too large for it"))  # fmt: skip
    bu, more = _words(layer.bias_u * scale, cfg.state_bits, "bias_u", layer.name)
    bad += more
    bv, more = _words(layer.bias_v * scale, cfg.state_bits, "bias_v", layer.name)
    bad += more
    cur, d_u = _leak(layer.current_decay, decay_bits)
    vol, d_v = _leak(layer.voltage_decay, decay_bits)
    return {"frac_bits": f, "weight": w, "threshold": int(th[0]), "bias_u": bu, "bias_v": bv,
            "current": cur, "voltage": vol, "d_u": d_u, "d_v": d_v}, bad  # fmt: skip


def _rebuilt(layer: CubaLayer, q: dict) -> CubaLayer:
    s = 2.0 ** -q["frac_bits"]
    return CubaLayer(
        name=layer.name, nodes=layer.nodes, weight=q["weight"] * s, bias_u=q["bias_u"] * s, bias_v=q["bias_v"] * s,
        current_decay=q["d_u"], voltage_decay=q["d_v"], threshold=q["threshold"] * s, reset=layer.reset,
        in_shape=layer.in_shape, out_shape=layer.out_shape, flatten=layer.flatten, conv=layer.conv,
        exact=layer.exact, note=layer.note,
    )  # fmt: skip


def _prepare(graph, config, dt, method, decay_bits, frac_bits):
    dt = graph.dt if dt is None else float(dt)
    if dt is None:
        raise ParameterError("no time step: pass dt= or record 'dt' in the graph metadata", "dt")
    method = method or str(graph.metadata.get("method", "exact"))
    layers = layers_from_graph(graph, dt, method)
    pairs, bad = [], []
    for layer in layers:
        q, v = _quantise(layer, config, decay_bits, frac_bits)
        pairs.append((layer, q))
        bad += v
    raise_for(bad, f"FPGA export of {len(layers)} layers")
    return dt, method, pairs


def quantize_fpga(
    graph: ir.Graph, config: FpgaConfig | None = None, *, dt: float | None = None, method: str | None = None,
    decay_bits: int = 12, frac_bits: int | None = None,
) -> ir.Graph:  # fmt: skip
    """The IR graph of ``graph`` with every value rounded as :func:`write_fpga` stores it."""
    dt, method, pairs = _prepare(graph, config or FpgaConfig(), dt, method, decay_bits, frac_bits)
    shape = tuple(graph.shapes[graph.inputs[0]])
    return graph_from_layers(shape, [_rebuilt(lay, q) for lay, q in pairs], dt, method, {"source_format": FORMAT})


def _hex(values: np.ndarray, bits: int) -> str:
    mask = (1 << bits) - 1
    digits = (bits + 3) // 4
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in values.reshape(-1))


def write_fpga(
    graph: ir.Graph, out_dir: str | Path, config: FpgaConfig | None = None, *, dt: float | None = None,
    method: str | None = None, decay_bits: int = 12, frac_bits: int | None = None, time_steps: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the memory images and ``network.json`` of ``graph`` into ``out_dir``.

    Args:
        config: word widths (``weight_bits``, ``state_bits``) and the accelerator's reuse factor.
        decay_bits: width of a leak multiplier (used when a decay is not ``1 - 2^-s``).
        frac_bits: fixed fractional bits of every layer (None: the most the weights allow).
        time_steps: steps per inference, recorded for the controller.

    Returns:
        The schedule written to ``network.json``.

    Raises:
        UnsupportedNodeError: a node type or structure without a layer form (names the nodes).
        ExportPrecisionError: a weight, threshold or bias that does not fit its word.
        ParameterError: per-neuron decays or thresholds, a non-zero reset value.
    """
    cfg = config or FpgaConfig()
    dt, method, pairs = _prepare(graph, cfg, dt, method, decay_bits, frac_bits)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, (layer, q) in enumerate(pairs):
        files = {}
        for key, bits in (("weight", cfg.weight_bits), ("bias_u", cfg.state_bits), ("bias_v", cfg.state_bits)):
            if key != "weight" and not np.any(q[key]):
                continue
            stem = f"layer{k}_{key}"
            (out / f"{stem}.mem").write_text(_hex(q[key], bits))
            np.save(out / f"{stem}.npy", q[key])
            files[key] = {"mem": f"{stem}.mem", "npy": f"{stem}.npy", "shape": list(q[key].shape), "bits": bits}
        entries.append({
            "name": layer.name, "source_nodes": list(layer.nodes), "kind": layer.kind,
            "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape), "flatten_input": layer.flatten,
            "conv": layer.conv, "files": files, "frac_bits": q["frac_bits"], "state_bits": cfg.state_bits,
            "threshold": q["threshold"], "threshold_real": q["threshold"] * 2.0 ** -q["frac_bits"],
            "reset": {"value": "to_zero", "subtract": "subtract_threshold"}[layer.reset],
            "current_leak": q["current"], "voltage_leak": q["voltage"], "exact": layer.exact,
            "input_kind": "graded" if k == 0 else "binary_spikes",
        })  # fmt: skip
    schedule = {
        "format": FORMAT, "version": VERSION, "dt": dt, "method": method, "time_steps": time_steps,
        "input_shape": list(graph.shapes[graph.inputs[0]]), "weight_bits": cfg.weight_bits,
        "state_bits": cfg.state_bits, "reuse_factor": cfg.reuse_factor, "decay_bits": decay_bits,
        "equations": "u = leak_u(u) + W x + bias_u; v = leak_v(v) + u + bias_v; spike if v > threshold; reset",
        "layers": entries,
    }  # fmt: skip
    (out / SCHEDULE).write_text(json.dumps(schedule, indent=1))
    return schedule


def _read_mem(path: Path, bits: int, shape: list[int], where: str) -> np.ndarray:
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise DataFormatError(f"{where}: cannot read memory image ({exc.strerror})", str(path)) from None
    if len(lines) != math.prod(shape):
        raise DataFormatError(f"{where}: {len(lines)} words, expected {math.prod(shape)} for shape {shape}", str(path))
    try:
        raw = np.array([int(ln, 16) for ln in lines], dtype=np.int64)
    except ValueError:
        bad = next(i for i, ln in enumerate(lines) if not all(c in "0123456789abcdefABCDEF" for c in ln))
        raise DataFormatError(f"{where}: word {bad} ({lines[bad]!r}) is not hex", str(path)) from None
    if raw.max(initial=0) >= 1 << bits:
        raise DataFormatError(f"{where}: a word exceeds {bits} bits", str(path))
    signed = np.where(raw >= 1 << (bits - 1), raw - (1 << bits), raw)
    return signed.reshape(shape)


def _leak_decay(leak: dict | None, where: str, path: str) -> float:
    if leak is None:
        return 0.0
    mode = leak.get("mode")
    if mode == "none":
        return 1.0
    if mode == "shift":
        return 1.0 - 2.0 ** -int(leak["shift"])
    if mode == "multiplier":
        return int(leak["value"]) / 2 ** int(leak["bits"])
    raise DataFormatError(f"{where}: unknown leak mode {mode!r}", path)


def read_fpga(path: str | Path) -> ir.Graph:
    """Rebuild the quantised IR graph from a folder written by :func:`write_fpga` (or its JSON).

    Raises:
        DataFormatError: a missing or malformed file; the message names the layer and file.
    """
    path = Path(path)
    folder, sched_path = (path, path / SCHEDULE) if path.is_dir() else (path.parent, path)
    try:
        schedule = json.loads(sched_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"cannot read the schedule: {exc}", str(sched_path)) from None
    if schedule.get("format") != FORMAT:
        raise DataFormatError(f"'format' is {schedule.get('format')!r}, expected {FORMAT!r}", str(sched_path))
    layers = []
    for k, e in enumerate(schedule["layers"]):
        where = f"layers[{k}] ({e.get('name')})"
        arrays = {}
        for key in ("weight", "bias_u", "bias_v"):
            spec = e["files"].get(key)
            if spec is None:
                arrays[key] = np.zeros(e["out_shape"][0], dtype=np.int64)
                continue
            arrays[key] = _read_mem(folder / spec["mem"], int(spec["bits"]), spec["shape"], f"{where}.{key}")
            npy = folder / spec.get("npy", "")
            if spec.get("npy") and npy.exists() and not np.array_equal(np.load(npy), arrays[key]):
                raise DataFormatError(f"{where}.{key}: {spec['npy']} disagrees with {spec['mem']}", str(npy))
        s = 2.0 ** -int(e["frac_bits"])
        layers.append(CubaLayer(
            name=e["name"], nodes=tuple(e.get("source_nodes", ())), weight=arrays["weight"] * s,
            bias_u=arrays["bias_u"] * s, bias_v=arrays["bias_v"] * s,
            current_decay=_leak_decay(e["current_leak"], where, str(sched_path)),
            voltage_decay=_leak_decay(e["voltage_leak"], where, str(sched_path)),
            threshold=int(e["threshold"]) * s, reset="subtract" if e["reset"] == "subtract_threshold" else "value",
            in_shape=tuple(e["in_shape"]), out_shape=tuple(e["out_shape"]), flatten=bool(e["flatten_input"]),
            conv=e["conv"], exact=bool(e.get("exact", True)),
        ))  # fmt: skip
    return graph_from_layers(
        tuple(schedule["input_shape"]), layers, float(schedule["dt"]), schedule["method"], {"source_format": FORMAT}
    )

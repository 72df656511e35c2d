"""Run an exported NIR graph in another tool's own simulator, one step at a time.

Each runner returns, per neuron node, the ``(T, B, *shape)`` spikes and membrane (in the
tool's units) that the tool's modules produced. Tools are imported here, lazily, so that
``import neuro.interop`` works without them. Samples run one at a time because snnTorch 1.0.0
and Norse 1.1.0 import ``Flatten`` without the batch offset (SpikingJelly 2.0.0 adds it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from neuro.core.errors import MissingToolError
from neuro.interop.errors import UnsupportedByToolError

NEURONS = ("LIF", "IF", "CubaLIF")


def _require(module: str, tool: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingToolError(
            f"{tool} is not installed ({exc}); install the interop extra: "
            "make test's setup (see docs/interop.md: some tools install with --no-deps)"
        ) from None


def _neuron_names(nir_graph: Any) -> list[str]:
    return [n for n, v in nir_graph.nodes.items() if type(v).__name__ in NEURONS]


Recorded = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def _record(
    model: Any, names: list[str], read: Callable[[Any, Any], tuple[Any, Any]], drive: Callable[[], None], rows: int
) -> Recorded:
    """Call ``drive()`` (the tool's time loop over ``model``) with a forward hook on each neuron
    module; ``read(module, output) -> (z, v)`` picks the tool's spikes and membrane. Returns per
    node the ``(T, rows, n)`` spikes and membranes as float64."""
    import torch

    mods = dict(model.named_modules())
    zs: dict[str, list[np.ndarray]] = {n: [] for n in names}
    vs: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def hook(mod: Any, args: Any, out: Any, n: str) -> None:
        z, v = read(mod, out)
        zs[n].append(z.detach().numpy().astype(np.float64).reshape(rows, -1))
        vs[n].append(v.detach().numpy().astype(np.float64).reshape(rows, -1))

    handles = [mods[n].register_forward_hook(lambda m, a, o, n=n: hook(m, a, o, n)) for n in names]
    try:
        with torch.no_grad():
            drive()
    finally:
        for h in handles:
            h.remove()
    return {n: np.stack(v) for n, v in zs.items()}, {n: np.stack(v) for n, v in vs.items()}


def _per_sample(batch: int, one: Callable[[int], Recorded]) -> Recorded:
    """``one(b)`` for every sample ``b`` (each ``(T, 1, n)``), joined into ``(T, batch, n)``."""
    runs = [one(b) for b in range(batch)]
    return tuple(  # type: ignore[return-value]
        {n: np.concatenate([r[k][n] for r in runs], axis=1) for n in runs[0][k]} for k in (0, 1)
    )


def run_snntorch(nir_graph: Any, x: np.ndarray) -> Recorded:
    """Simulate with ``snntorch.import_nir.import_from_nir``; returns ``(spikes, membranes)``."""
    torch = _require("torch", "torch")
    _require("snntorch", "snntorch")
    import contextlib
    import io

    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # the importer prints warnings
        model = import_from_nir(nir_graph)
    names = _neuron_names(nir_graph)

    def one(b: int) -> Recorded:
        for m in model.modules():
            if hasattr(m, "reset_mem"):
                m.reset_mem()

        def drive() -> None:
            for t in range(x.shape[0]):
                model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32))

        return _record(model, names, lambda mod, out: (out[0] if isinstance(out, tuple) else out, mod.mem), drive, 1)

    return _per_sample(x.shape[1], one)


def run_norse(nir_graph: Any, x: np.ndarray) -> Recorded:
    """Simulate with ``norse.torch.from_nir`` (its defaults: dt = 1e-3, reset to value)."""
    torch = _require("torch", "torch")
    norse_torch = _require("norse.torch", "norse")
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    names = _neuron_names(nir_graph)

    def read(mod: Any, out: Any) -> tuple[Any, Any]:
        z, state = out
        return z, state[1].v if isinstance(state, tuple) and not hasattr(state, "v") else state.v

    def one(b: int) -> Recorded:
        model = norse_torch.from_nir(nir_graph)

        def drive() -> None:
            state = None
            for t in range(x.shape[0]):
                _, state = model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32), state)

        return _record(model, names, read, drive, 1)

    return _per_sample(x.shape[1], one)


def run_spikingjelly(nir_graph: Any, x: np.ndarray) -> Recorded:
    """Simulate with SpikingJelly's own importer,
    ``spikingjelly.activation_based.nir_exchange.import_from_nir`` (its default ``dt = 1e-4``,
    float32, single-step mode), passing the returned state back at every step as its docstring
    requires. The membrane is ``state[node][0]`` (after the reset). Its ``Flatten`` adds the
    batch offset, so the whole batch runs at once.
    """
    torch = _require("torch", "torch")
    nir_exchange = _require("spikingjelly.activation_based.nir_exchange", "spikingjelly")
    names = _neuron_names(nir_graph)
    try:
        model = nir_exchange.import_from_nir(nir_graph)
    except (ValueError, NotImplementedError) as exc:
        kind = str(exc).split(".")[1] if str(exc).startswith("nir.") else None
        refused = [n for n, v in nir_graph.nodes.items() if type(v).__name__ == kind] or names
        raise UnsupportedByToolError(f"spikingjelly 2.0.0 refused the graph: {exc}", refused) from exc

    def drive() -> None:
        state = None
        for t in range(x.shape[0]):
            _, state = model(torch.as_tensor(x[t], dtype=torch.float32), state)

    return _record(model, names, lambda mod, out: (out[0], out[1][0]), drive, x.shape[1])


def run_sinabs(nir_graph: Any, x: np.ndarray) -> Recorded:
    """Simulate with ``sinabs.nir.from_nir(graph, batch_size=B)`` (its defaults: MultiSpike,
    MembraneSubtract, IF clamped at ``-v_threshold``), one step per call; the layers keep their
    state between calls. The membrane is ``v_mem`` after the reset."""
    torch = _require("torch", "torch")
    sinabs_nir = _require("sinabs.nir", "sinabs")
    model = sinabs_nir.from_nir(nir_graph, batch_size=x.shape[1])

    def drive() -> None:
        for t in range(x.shape[0]):
            model(torch.as_tensor(x[t], dtype=torch.float32))

    return _record(model, _neuron_names(nir_graph), lambda mod, out: (out, mod.v_mem), drive, x.shape[1])


def run_rockpool(nir_graph: Any, x: np.ndarray) -> Recorded:
    """Simulate with ``rockpool.nn.modules.torch.nir.from_nir`` (LIFTorch: subtractive reset,
    floor(v/threshold) spikes, dt = tau_mem/(1 + r)). Rockpool keeps the state of batch element 0
    only between calls, so each sample runs alone, one step per call; the membrane is ``vmem``
    after the reset."""
    torch = _require("torch", "torch")
    rockpool_nir = _require("rockpool.nn.modules.torch.nir", "rockpool")
    import warnings

    names = _neuron_names(nir_graph)

    def one(b: int) -> Recorded:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = rockpool_nir.from_nir(nir_graph)

        def drive() -> None:
            for t in range(x.shape[0]):
                model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32).reshape(1, 1, -1))

        return _record(model, names, lambda mod, out: (out, mod.vmem), drive, 1)

    return _per_sample(x.shape[1], one)


RUNNERS = {
    "snntorch": run_snntorch,
    "norse": run_norse,
    "spikingjelly": run_spikingjelly,
    "sinabs": run_sinabs,
    "rockpool": run_rockpool,
}

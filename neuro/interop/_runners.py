"""Run an exported NIR graph in another tool's own simulator, one step at a time.

Each runner returns, per neuron node, the ``(T, B, *shape)`` spikes and membrane (in the
tool's units) that the tool's modules produced. Tools are imported here, lazily, so that
``import neuro.interop`` works without them. Samples run one at a time because snnTorch 1.0.0
and Norse 1.1.0 import ``Flatten`` without the batch offset (SpikingJelly 2.0.0 adds it).
"""

from __future__ import annotations

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


def run_snntorch(nir_graph: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate with ``snntorch.import_nir.import_from_nir``; returns ``(spikes, membranes)``."""
    torch = _require("torch", "torch")
    _require("snntorch", "snntorch")
    import contextlib
    import io

    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # the importer prints warnings
        model = import_from_nir(nir_graph)
    names = _neuron_names(nir_graph)
    mods = dict(model.named_modules())
    T, B = x.shape[:2]
    spikes: dict[str, list[np.ndarray]] = {n: [] for n in names}
    mems: dict[str, list[np.ndarray]] = {n: [] for n in names}
    per_sample_z = {n: [] for n in names}
    per_sample_v = {n: [] for n in names}
    for b in range(B):
        for m in mods.values():
            if hasattr(m, "reset_mem"):
                m.reset_mem()
        for n in names:
            spikes[n], mems[n] = [], []
        hooks = []
        for n in names:

            def hook(mod: Any, args: Any, out: Any, n: str = n) -> None:
                z = out[0] if isinstance(out, tuple) else out
                spikes[n].append(z.detach().numpy().astype(np.float64).reshape(-1))
                mems[n].append(mod.mem.detach().numpy().astype(np.float64).reshape(-1))

            hooks.append(mods[n].register_forward_hook(hook))
        with torch.no_grad():
            for t in range(T):
                model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32))
        for h in hooks:
            h.remove()
        for n in names:
            per_sample_z[n].append(np.stack(spikes[n]))
            per_sample_v[n].append(np.stack(mems[n]))
    return (
        {n: np.stack(v, axis=1) for n, v in per_sample_z.items()},
        {n: np.stack(v, axis=1) for n, v in per_sample_v.items()},
    )


def run_norse(nir_graph: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate with ``norse.torch.from_nir`` (its defaults: dt = 1e-3, reset to value)."""
    torch = _require("torch", "torch")
    norse_torch = _require("norse.torch", "norse")
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    names = _neuron_names(nir_graph)
    T, B = x.shape[:2]
    per_sample_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
    per_sample_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for b in range(B):
        model = norse_torch.from_nir(nir_graph)
        mods = dict(model.named_modules())
        store_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
        store_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for n in names:

            def hook(mod: Any, args: Any, out: Any, n: str = n, zs: Any = store_z, vs: Any = store_v) -> None:
                z, state = out
                v = state[1].v if isinstance(state, tuple) and not hasattr(state, "v") else state.v
                zs[n].append(z.detach().numpy().astype(np.float64).reshape(-1))
                vs[n].append(v.detach().numpy().astype(np.float64).reshape(-1))

            mods[n].register_forward_hook(hook)
        state = None
        with torch.no_grad():
            for t in range(T):
                _, state = model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32), state)
        for n in names:
            per_sample_z[n].append(np.stack(store_z[n]))
            per_sample_v[n].append(np.stack(store_v[n]))
    return (
        {n: np.stack(v, axis=1) for n, v in per_sample_z.items()},
        {n: np.stack(v, axis=1) for n, v in per_sample_v.items()},
    )


def run_spikingjelly(nir_graph: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
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
    store_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
    store_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
    mods = dict(model.named_modules())
    for n in names:

        def hook(mod: Any, args: Any, out: Any, n: str = n) -> None:
            z, state = out
            store_z[n].append(z.detach().numpy().astype(np.float64).reshape(z.shape[0], -1))
            store_v[n].append(state[0].detach().numpy().astype(np.float64).reshape(z.shape[0], -1))

        mods[n].register_forward_hook(hook)
    state = None
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = model(torch.as_tensor(x[t], dtype=torch.float32), state)
    return {n: np.stack(v) for n, v in store_z.items()}, {n: np.stack(v) for n, v in store_v.items()}


def run_sinabs(nir_graph: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate with ``sinabs.nir.from_nir(graph, batch_size=B)`` (its defaults: MultiSpike,
    MembraneSubtract, IF clamped at ``-v_threshold``), one step per call; the layers keep their
    state between calls. The membrane is ``v_mem`` after the reset."""
    torch = _require("torch", "torch")
    sinabs_nir = _require("sinabs.nir", "sinabs")
    names = _neuron_names(nir_graph)
    T, B = x.shape[:2]
    model = sinabs_nir.from_nir(nir_graph, batch_size=B)
    mods = dict(model.named_modules())
    store_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
    store_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for n in names:

        def hook(mod: Any, args: Any, out: Any, n: str = n) -> None:
            store_z[n].append(out.detach().numpy().astype(np.float64).reshape(B, -1))
            store_v[n].append(mod.v_mem.detach().numpy().astype(np.float64).reshape(B, -1))

        mods[n].register_forward_hook(hook)
    with torch.no_grad():
        for t in range(T):
            model(torch.as_tensor(x[t], dtype=torch.float32))
    return {n: np.stack(v) for n, v in store_z.items()}, {n: np.stack(v) for n, v in store_v.items()}


def run_rockpool(nir_graph: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate with ``rockpool.nn.modules.torch.nir.from_nir`` (LIFTorch: subtractive reset,
    floor(v/threshold) spikes, dt = tau_mem/(1 + r)). Rockpool keeps the state of batch element 0
    only between calls, so each sample runs alone, one step per call; the membrane is ``vmem``
    after the reset."""
    torch = _require("torch", "torch")
    rockpool_nir = _require("rockpool.nn.modules.torch.nir", "rockpool")
    import warnings

    names = _neuron_names(nir_graph)
    T, B = x.shape[:2]
    per_sample_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
    per_sample_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for b in range(B):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = rockpool_nir.from_nir(nir_graph)
        mods = dict(model.named_modules())
        store_z: dict[str, list[np.ndarray]] = {n: [] for n in names}
        store_v: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for n in names:

            def hook(mod: Any, args: Any, out: Any, n: str = n, zs: Any = store_z, vs: Any = store_v) -> None:
                zs[n].append(out.detach().numpy().astype(np.float64).reshape(-1))
                vs[n].append(mod.vmem.detach().numpy().astype(np.float64).reshape(-1))

            mods[n].register_forward_hook(hook)
        with torch.no_grad():
            for t in range(T):
                model(torch.as_tensor(x[t, b : b + 1], dtype=torch.float32).reshape(1, 1, -1))
        for n in names:
            per_sample_z[n].append(np.stack(store_z[n]))
            per_sample_v[n].append(np.stack(store_v[n]))
    return (
        {n: np.stack(v, axis=1) for n, v in per_sample_z.items()},
        {n: np.stack(v, axis=1) for n, v in per_sample_v.items()},
    )


RUNNERS = {
    "snntorch": run_snntorch,
    "norse": run_norse,
    "spikingjelly": run_spikingjelly,
    "sinabs": run_sinabs,
    "rockpool": run_rockpool,
}

"""NIR files through the ``nir`` package: a thin adapter over :mod:`neuro.ir.serialize`.

Writing: neuron parameters are expanded to arrays of the population's shape (NIR breaks on
0-d parameters), there is no batch dimension, and the time step and reset strategies go into
the graph metadata, because NIR nodes carry neither: ``metadata["dt"]`` (s) and
``metadata["reset"]``, either one name (``"value"`` or ``"subtract"``) when every spiking node
shares it, or a mapping node name -> name. Nodes NIR cannot express are refused.

Reading accepts files written by other tools: nested subgraphs are flattened (inner nodes are
named ``"<subgraph>.<node>"``), ``dt`` comes from the argument, else the metadata, else
:data:`DEFAULT_DT` with a :class:`NIRMetadataWarning`; resets likewise default to reset to
value (NIR's own semantics).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import numpy as np

from neuro.core.errors import SerializationError, UnsupportedNodeError
from neuro.core.io import atomic_path
from neuro.core.neurons._common import AbstractParams
from neuro.ir.graph import Graph
from neuro.ir.nodes import NIR_TYPES
from neuro.ir.serialize import graph_from_dict, graph_to_dict

DEFAULT_DT = 1e-3
"""Time step (s) assumed for NIR files without ``dt`` metadata (Norse's convention; snnTorch
writes its parameters for 1e-4 s: pass ``dt=1e-4`` for its files)."""


class NIRMetadataWarning(UserWarning):
    """A NIR file lacks metadata neuro needs and a documented default was used."""


def _nir() -> Any:
    import nir

    return nir


def to_nir(graph: Graph) -> Any:
    """Convert ``graph`` to a ``nir.NIRGraph``.

    Raises:
        UnsupportedNodeError: the graph has node types NIR cannot express (``.nodes`` lists
            them by name).
    """
    nir = _nir()
    bad = [f"{n} ({type(v).node_type})" for n, v in graph.nodes.items() if type(v).node_type not in NIR_TYPES]
    if bad:
        raise UnsupportedNodeError(
            f"NIR cannot express these nodes: {', '.join(bad)}; keep them in neuro's JSON format",
            [b.split(" ")[0] for b in bad],
        )
    data = graph_to_dict(graph)
    resets: dict[str, str] = {}
    nir_nodes = {}
    for name, nd in data["nodes"].items():
        kind = nd.pop("type")
        node = graph.nodes[name]
        in_shape = graph.input_shape(name)
        if isinstance(node, AbstractParams):
            if "reset" in nd:
                resets[name] = nd.pop("reset")
            shape = graph.shapes[name]
            nd = {k: np.array(np.broadcast_to(v, shape), dtype=np.float64) for k, v in nd.items()}
        elif kind == "Input":
            nd = {"input_type": np.array(nd["shape"])}
        elif kind == "Output":
            nd = {"output_type": np.array(graph.shapes[name])}
        elif kind == "Flatten":
            nd["input_type"] = {"input": np.array(in_shape)}
        elif kind in ("Conv1d", "Conv2d"):
            spatial = tuple(in_shape[1:]) if in_shape else nd["input_shape"]
            nd["input_shape"] = int(spatial[0]) if kind == "Conv1d" else np.array(spatial)
            for key in ("stride", "dilation") + (() if isinstance(nd["padding"], str) else ("padding",)):
                nd[key] = int(nd[key][0]) if kind == "Conv1d" else np.array(nd[key])
        elif kind in ("SumPool2d", "AvgPool2d"):
            nd = {k: np.array(v) for k, v in nd.items()}
        elif kind in ("Scale", "Delay", "Threshold"):
            nd = {k: np.array(np.broadcast_to(v, graph.shapes[name]), dtype=np.float64) for k, v in nd.items()}
        nir_nodes[name] = getattr(nir, kind)(**nd)
    metadata = dict(data["metadata"])
    if resets:
        names = set(resets.values())
        metadata["reset"] = names.pop() if len(names) == 1 else resets
    # neuro's Graph has validated every shape already. nir 1.0.8's own type check is skipped: it
    # takes a convolution's input channels from weight.shape[1] and so rejects grouped convs.
    return nir.NIRGraph(
        nodes=nir_nodes, edges=[tuple(e) for e in data["edges"]], metadata=metadata, type_check=False
    )


def write_nir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` as a NIR HDF5 file, atomically (see the module docstring)."""
    nir_graph = to_nir(graph)
    with atomic_path(path) as tmp:
        _nir().write(str(tmp), nir_graph)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "SUO":
        return [_plain(v) for v in value.tolist()]
    return value


def _flatten(graph: Any, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Inline nested NIRGraphs; their Input/Output nodes become pass-throughs and vanish."""
    nir = _nir()
    nodes: dict[str, Any] = {}
    edges = [(prefix + str(a), prefix + str(b)) for a, b in graph.edges]
    for name, node in graph.nodes.items():
        full = prefix + name
        if not isinstance(node, nir.NIRGraph):
            nodes[full] = node
            continue
        inner_nodes, inner_edges = _flatten(node, full + ".")
        ins = [k for k, v in inner_nodes.items() if isinstance(v, nir.Input)]
        outs = [k for k, v in inner_nodes.items() if isinstance(v, nir.Output)]
        entry = [b for a, b in inner_edges if a in ins]
        exit_ = [a for a, b in inner_edges if b in outs]
        rewired = []
        for a, b in edges:
            sources = exit_ if a == full else [a]
            targets = entry if b == full else [b]
            rewired += [(s, t) for s in sources for t in targets]
        edges = rewired
        edges += [(a, b) for a, b in inner_edges if a not in ins and b not in outs]
        nodes.update({k: v for k, v in inner_nodes.items() if k not in ins and k not in outs})
    return nodes, edges


def from_nir(nir_graph: Any, dt: float | None = None, reset: str | dict[str, str] | None = None) -> Graph:
    """Convert a ``nir.NIRGraph`` (from neuro or another tool) to a :class:`Graph`.

    Args:
        nir_graph: the graph.
        dt: time step (s); overrides the metadata.
        reset: reset strategy name for all spiking nodes, or a mapping node -> name;
            overrides the metadata.

    Raises:
        SerializationError: a node type neuro does not know, or invalid fields.
    """
    _nir()
    metadata = _plain(dict(getattr(nir_graph, "metadata", {}) or {}))
    if dt is None and "dt" not in metadata:
        warnings.warn(
            f"NIR graph has no 'dt' metadata; assuming dt = {DEFAULT_DT} s. Pass dt= to override "
            "(snnTorch exports assume 1e-4 s).",
            NIRMetadataWarning,
            stacklevel=3,
        )
    metadata["dt"] = float(dt if dt is not None else metadata.get("dt", DEFAULT_DT))
    reset_spec = reset if reset is not None else metadata.get("reset", "value")
    nodes, edges = _flatten(nir_graph)
    out_nodes: dict[str, dict[str, Any]] = {}
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in NIR_TYPES:
            raise SerializationError(f"NIR node {name!r} has type {kind!r}, which neuro cannot read")
        fields = {
            f.name: getattr(node, f.name)
            for f in dataclasses.fields(node)
            if f.name not in ("metadata", "input_type", "output_type")
        }
        if kind == "Input":
            fields = {"shape": tuple(int(s) for s in np.atleast_1d(node.input_type["input"]))}
        elif kind == "Output":
            shape = node.output_type.get("output") if node.output_type else None
            fields = {"shape": None if shape is None or np.size(shape) == 0 else tuple(int(s) for s in np.atleast_1d(shape))}
        elif kind in ("Conv1d", "Conv2d"):
            for key in ("stride", "padding", "dilation"):
                value = fields[key]
                fields[key] = value if isinstance(value, str) else np.atleast_1d(np.asarray(value)).astype(np.int64)
            if isinstance(fields.get("padding"), bytes):
                fields["padding"] = fields["padding"].decode()
            fields["groups"] = int(fields["groups"])
            shape = fields.get("input_shape")
            fields["input_shape"] = None if shape is None else np.atleast_1d(np.asarray(shape)).astype(np.int64)
        elif kind in ("SumPool2d", "AvgPool2d"):
            fields = {k: np.atleast_1d(np.asarray(v)).astype(np.int64) for k, v in fields.items()}
        elif kind == "Flatten":
            fields = {"start_dim": int(fields["start_dim"]), "end_dim": int(fields["end_dim"])}
        if kind in ("IF", "LIF", "CubaLIF"):
            name_of_reset = reset_spec if isinstance(reset_spec, str) else reset_spec.get(name, "value")
            fields["reset"] = name_of_reset
        out_nodes[name] = {"type": kind, **fields}
    metadata.pop("reset", None)
    return graph_from_dict(
        {"format": "neuro.ir", "version": 1, "nodes": out_nodes, "edges": [list(e) for e in edges], "metadata": metadata}
    )


def read_nir(path: str | os.PathLike[str], dt: float | None = None, reset: str | dict[str, str] | None = None) -> Graph:
    """Read a NIR HDF5 file (see :func:`from_nir` for ``dt`` and ``reset``).

    Raises:
        SerializationError: the file cannot be read as NIR, or holds nodes neuro cannot read.
        FileNotFoundError: ``path`` does not exist.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no NIR file at {os.fspath(path)!r}")
    try:
        nir_graph = _nir().read(str(path), type_check=False)
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise SerializationError(f"cannot read {os.fspath(path)!r} as NIR: {type(exc).__name__}: {exc}") from None
    return from_nir(nir_graph, dt=dt, reset=reset)

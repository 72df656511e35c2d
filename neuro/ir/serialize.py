"""The one serializer of the IR: ``graph_to_dict`` / ``graph_from_dict``.

The dict form is plain data: ``{"format": "neuro.ir", "version": 1, "nodes": {name: {"type":
..., <field>: <value>}}, "edges": [[src, dst], ...], "metadata": {...}}``. Array fields stay
numpy arrays (so the NIR adapter writes them with their dtype); reset strategies become their
names. JSON (this module) and NIR HDF5 (:mod:`neuro.ir.nir_io`) are thin adapters over it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from neuro.core.errors import NeuroError, SerializationError
from neuro.core.io import atomic_write_text
from neuro.core.reset import ResetSubtract, ResetToValue, reset_from_name
from neuro.ir.graph import Graph
from neuro.ir.nodes import NODE_TYPES, Node, node_fields

FORMAT = "neuro.ir"
VERSION = 1


def node_to_dict(node: Node) -> dict[str, Any]:
    """``{"type": <node type>, <field>: <value>, ...}``."""
    out: dict[str, Any] = {"type": node.node_type}
    for name in node_fields(node):
        value = getattr(node, name)
        if isinstance(value, ResetToValue | ResetSubtract):
            value = value.name
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def node_from_dict(data: Mapping[str, Any], name: str = "?") -> Node:
    """Build a node from :func:`node_to_dict` output.

    Raises:
        SerializationError: no or unknown ``type``, unknown fields, or invalid values (the
            message names the node and, where known, the field).
    """
    if not isinstance(data, Mapping) or "type" not in data:
        raise SerializationError(f"node {name!r} has no 'type' entry")
    kind = data["type"]
    cls = NODE_TYPES.get(kind)
    if cls is None:
        raise SerializationError(f"node {name!r} has unknown type {kind!r}; known: {sorted(NODE_TYPES)}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    allowed = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise SerializationError(f"node {name!r} ({kind}) has unknown fields {unknown}")
    try:
        if "reset" in kwargs:
            kwargs["reset"] = reset_from_name(kwargs["reset"])
        return cls(**kwargs)
    except NeuroError as exc:
        field = getattr(exc, "field", None)
        where = f" field {field!r}" if field else ""
        raise SerializationError(f"node {name!r} ({kind}){where}: {exc}") from exc
    except TypeError as exc:
        raise SerializationError(f"node {name!r} ({kind}): {exc}") from exc


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """The plain-data form of ``graph``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {name: node_to_dict(node) for name, node in graph.nodes.items()},
        "edges": [[a, b] for a, b in graph.edges],
        "metadata": dict(graph.metadata),
    }


def graph_from_dict(data: Mapping[str, Any]) -> Graph:
    """Inverse of :func:`graph_to_dict`.

    Raises:
        SerializationError: wrong format tag or version, missing sections, bad nodes or edges.
        GraphError, ShapeError: the decoded graph is invalid.
    """
    if not isinstance(data, Mapping):
        raise SerializationError(f"a graph dict must be a mapping, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SerializationError(f"not a neuro IR dict: format is {data.get('format')!r}, expected {FORMAT!r}")
    if data.get("version") != VERSION:
        raise SerializationError(f"unsupported IR version {data.get('version')!r}; this neuro reads {VERSION}")
    for key in ("nodes", "edges"):
        if key not in data:
            raise SerializationError(f"graph dict has no {key!r} section")
    nodes = {name: node_from_dict(nd, name) for name, nd in data["nodes"].items()}
    edges = []
    for i, e in enumerate(data["edges"]):
        if not (isinstance(e, list | tuple) and len(e) == 2):
            raise SerializationError(f"edge {i} must be a [source, target] pair, got {e!r}")
        edges.append((e[0], e[1]))
    return Graph(nodes, edges, dict(data.get("metadata", {})))


def dicts_equal(a: Any, b: Any) -> bool:
    """Structural equality with arrays compared by dtype, shape and bits."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        return a_arr.dtype == b_arr.dtype and a_arr.shape == b_arr.shape and np.array_equal(a_arr, b_arr)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(dicts_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(dicts_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# JSON adapter --------------------------------------------------------------------------------

def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.ravel().tolist(), "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def _decode(obj: dict[str, Any]) -> Any:
    if "__ndarray__" in obj:
        try:
            return np.array(obj["__ndarray__"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
        except (TypeError, ValueError, KeyError) as exc:
            raise SerializationError(f"invalid array in JSON: {exc}") from None
    return obj


def to_json(graph: Graph, indent: int | None = None) -> str:
    """The graph as a JSON string (arrays keep dtype and shape; floats round-trip exactly)."""
    return json.dumps(graph_to_dict(graph), default=_encode, indent=indent)


def from_json(text: str) -> Graph:
    """Inverse of :func:`to_json`.

    Raises:
        SerializationError: the text is not valid JSON or not a graph.
    """
    try:
        data = json.loads(text, object_hook=_decode)
    except json.JSONDecodeError as exc:
        raise SerializationError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return graph_from_dict(data)


def write_json(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` to ``path`` as JSON, atomically."""
    atomic_write_text(path, to_json(graph, indent=1))


def read_json(path: str | os.PathLike[str]) -> Graph:
    """Read a graph written by :func:`write_json`."""
    with open(path, encoding="utf-8") as fh:
        return from_json(fh.read())
